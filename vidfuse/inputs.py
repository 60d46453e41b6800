"""Checks of what a user asks for, before any model is loaded: generation options, prompts, first frames.

One rule each for the CLI, the Python API, the server and the pretrained backends (which is why this sits below
the pipeline): a bad value is an :class:`~vidfuse.errors.InputError` naming it and what it may be.
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from vidfuse.config import MAX_FRAMES, MAX_GUIDANCE, MAX_SEED
from vidfuse.errors import InputError
from vidfuse.media.frames import is_int
from vidfuse.text import EMPTY_PROMPT_HINT, first_bad_char, is_blank

# what a guidance scale given to a one-pass generator is told (the pipeline, `vidfuse eval` and the server)
ONE_PASS_GUIDANCE = (
    "draws a clip in one pass without classifier-free guidance; leave the guidance scale out (or give 1)"
)
# what an option that only pretrained (diffusers) pipelines take is told on a vidfuse model
DIFFUSERS_ONLY = "applies to pretrained diffusers models; this vidfuse model has no such option: leave it out"
# what a request too large for memory is told to do (the pipeline's estimate before drawing, the CLI after a failure)
MEMORY_HINT = "ask for fewer frames, a smaller size or fewer prompts at once"
MAX_IMAGE_PIXELS = 50_000_000  # a first frame larger than this (50 megapixels) is refused before it is decoded


def is_number(v: object) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def check_device(device: str | torch.device | None) -> torch.device:
    """The device to run on: ``device`` when this machine has it, else the best one here (``None``)."""
    if device is None:  # vidfuse.sysinfo.best_device's rule (that module sits beside this one, not below)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InputError(f"device {device!r} is not a device: give cpu, cuda or cuda:N") from None
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise InputError(f"device {device!r}: vidfuse runs on cpu or cuda (cuda:N)")
    if not torch.cuda.is_available():
        raise InputError(
            f"device {device!r}: no GPU is usable here (torch {torch.__version__}"
            f"{' is a CPU build' if torch.version.cuda is None else ' sees none'}); leave the device out or give cpu"
        )
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        n = torch.cuda.device_count()
        raise InputError(f"device {device!r}: this machine has {n} GPU(s), cuda:0 to cuda:{n - 1}")
    return dev


def check_options(*, num_frames=None, seed=None, guidance_scale=None) -> None:
    """Check the generation options given (``None``: the model's default, not checked here): ``num_frames``
    1 to ``MAX_FRAMES``, ``seed`` 0 to 2**63 - 1, ``guidance_scale`` a finite number from 0 to
    ``MAX_GUIDANCE``. :meth:`TextToVideoPipeline.__call__` runs it; callers may run it before loading a model."""

    def what(v, kind: str) -> str:  # the wrong type named as such ("seed=1.0 is not an integer"), else the range
        return "is out of range" if is_int(v) else f"is not {kind}"

    if num_frames is not None and (not is_int(num_frames) or not 1 <= num_frames <= MAX_FRAMES):
        said = what(num_frames, "a whole number")
        raise InputError(f"num_frames={num_frames!r} {said}; ask for 1 to {MAX_FRAMES} frames")
    if seed is not None and (not is_int(seed) or not 0 <= seed <= MAX_SEED):
        raise InputError(f"seed={seed!r} {what(seed, 'an integer')}; use an integer from 0 to 2**63 - 1 ({MAX_SEED})")
    if guidance_scale is not None and (not is_number(guidance_scale) or not 0 <= guidance_scale <= MAX_GUIDANCE):
        real = isinstance(guidance_scale, numbers.Real) and not isinstance(guidance_scale, bool)
        said = "is out of range" if real else "is not a number"
        raise InputError(
            f"guidance_scale={guidance_scale!r} {said}; use a number from 0 to "
            f"{MAX_GUIDANCE:g} (1 = off, higher follows the text more closely)"
        )


def check_batch_size(batch_size) -> None:
    """Clips drawn at once: a whole number of at least 1 (0 or less once made an empty batch file, silently)."""
    if not is_int(batch_size) or batch_size < 1:
        raise InputError(f"batch_size={batch_size!r}: give a whole number of clips of at least 1")


def check_flag(name: str, value) -> None:
    """A yes/no option given in Python: True or False (numpy's too). ``strict="no"`` is truthy, so anything
    else would quietly mean yes."""
    if not isinstance(value, (bool, np.bool_)):
        raise InputError(f"{name}={value!r}: give True or False")


def check_prompt(text: str, where: str = "the prompt") -> str:
    """Refuse an empty or whitespace-only prompt, and one that is not plain text (:func:`vidfuse.text.first_bad_char`:
    a control character, a lone surrogate, a private-use or unassigned code point), naming the code point and where
    it is; return it unchanged. The one check for the CLI, the Python API and the server:
    :meth:`TextToVideoPipeline.__call__` runs it on every prompt."""
    if not isinstance(text, str):  # None, a number, bytes, an array: say so, not a TypeError from deep inside
        raise InputError(f"{where} must be text (a str), got {type(text).__name__}")
    if is_blank(text):  # spaces, or only invisible characters such as zero-width spaces
        raise InputError(f"{where} is empty: {EMPTY_PROMPT_HINT}")
    bad = first_bad_char(text)
    if bad:
        i, ch, kind = bad
        raise InputError(
            f"{where} holds U+{ord(ch):04X}, {kind}, at character {i + 1}; remove it (a prompt is plain text)"
        )
    return text


def image_to_tensor(image, height: int, width: int) -> torch.Tensor:
    """A path, PIL image or uint8 array (H, W, 3 or 4) → (3, height, width) in [-1, 1] (short side resize + centre
    crop; any image mode, :func:`_as_rgb`)."""
    from PIL import Image, UnidentifiedImageError

    name = "the image"
    if isinstance(image, (str, os.PathLike)):
        path = image
        name = f"image {path}"
        if Path(path).is_dir():
            raise InputError(f"image {path} is a folder; give an image file (PNG, JPEG, WebP)")
        if Path(path).exists() and not Path(path).is_file():  # a pipe with no writer: opening it waits for ever
            raise InputError(f"image {path} is not a regular file (a device or a pipe); give an image file")
        try:
            with warnings.catch_warnings():  # Pillow warns from 89 megapixels; our own, lower limit follows
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(path)
            _check_pixels(image.size, path)
            image.load()
        except InputError:
            raise
        except FileNotFoundError as e:
            raise InputError(f"image file {path} does not exist") from e
        except Image.DecompressionBombError as e:
            raise InputError(
                f"image {path} is over {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels; images above "
                f"{MAX_IMAGE_PIXELS / 1e6:g} megapixels are refused: scale it down"
            ) from e
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as e:
            raise InputError(f"{path} is not an image Pillow can read ({e}); give a PNG, JPEG or WebP file") from e
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (1, 3, 4):
            raise InputError(
                f"an image array must be uint8 (H, W, 3), or (H, W, 4) with alpha, or (H, W, 1); "
                f"got {image.dtype} {image.shape}"
            )
        image = Image.fromarray(image.squeeze(-1) if image.shape[2] == 1 else image)
    if not isinstance(image, Image.Image):
        raise InputError(f"image must be a path, a PIL image or a uint8 array; got {type(image).__name__}")
    if min(image.size) < 8:
        raise InputError(f"{name} is {image.size[0]}×{image.size[1]} pixels; give at least 8 pixels a side")
    _check_pixels(image.size, name)
    image = _as_rgb(image)
    scale = max(height / image.height, width / image.width)
    rw, rh = max(width, round(image.width * scale)), max(height, round(image.height * scale))
    image = image.resize((rw, rh), Image.BILINEAR)
    left, top = (rw - width) // 2, (rh - height) // 2
    image = image.crop((left, top, left + width, top + height))
    arr = torch.from_numpy(np.asarray(image, dtype=np.float32)).permute(2, 0, 1)  # (3, H, W)
    return arr / 127.5 - 1.0


def _as_rgb(image):
    """A PIL image of any mode → 8-bit RGB: 16-bit and 32-bit greyscale scaled to 8 bits (Pillow's own conversion
    clips them, so a nearly black 16-bit PNG came out white), and transparency laid over black, the ground a
    first frame's subject stands on (converting drops alpha, showing whatever colour transparent pixels hide)."""
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(image, dtype=np.float64)
        peak = float(arr.max(initial=0))
        if image.mode.startswith("I;16"):
            top = 65535.0
        else:  # 32-bit integers or floats carry no range of their own: 0–1, 0–255 or 0–65535, by what they hold
            top = next(t for t in (1.0, 255.0, 65535.0, peak) if peak <= t)
        return Image.fromarray(np.clip(arr / top * 255 + 0.5, 0, 255).astype(np.uint8)).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
        return Image.fromarray((rgba[..., :3] * (rgba[..., 3:] / 255) + 0.5).astype(np.uint8))
    return image.convert("RGB")


def _check_pixels(size: tuple[int, int], what) -> None:
    """Refuse an image above ``MAX_IMAGE_PIXELS`` before it is decoded (a first frame is shrunk to the model's
    size anyway; a huge one costs seconds and gigabytes)."""
    w, h = size
    if w * h > MAX_IMAGE_PIXELS:
        raise InputError(
            f"{what} is {w}×{h} pixels ({w * h / 1e6:.0f} megapixels); images above "
            f"{MAX_IMAGE_PIXELS / 1e6:g} megapixels are refused: scale it down"
        )
