"""TextToVideoPipeline: text (and optionally a first frame) in, frames ``uint8 (B, T, H, W, 3)`` out.

A model folder is ``config.json`` + ``model.safetensors`` (+ ``tokenizer.json`` for the from-scratch
text encoder): :meth:`TextToVideoPipeline.from_pretrained` rebuilds it with no other code and loads no
pickles. The default model ships inside the package (``vidfuse/default_model/``).

Documented behaviours for awkward inputs:

- an empty or whitespace-only prompt, or a prompt longer than the tokenizer's limit → :class:`InputError`;
- a word or character the model never saw is encoded anyway (byte fallback, no "unknown" token); the
  model does its best with it;
- an image of another size is resized (short side) and centre-cropped to the model's native size; an
  image that is not RGB is converted; one smaller than 8 px or not an image → :class:`InputError`;
- ``height``/``width`` other than the native size: frames are generated natively then resized (bilinear).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from vidfuse.config import ModelConfig
from vidfuse.errors import InputError
from vidfuse.models.model import VidFuseModel
from vidfuse.userdirs import user_data_dir

SHIPPED_MODEL_DIR = Path(__file__).resolve().parent / "default_model"  # inside the package, never written by users
DEFAULT_MODEL_DIR = SHIPPED_MODEL_DIR
CONFIG_NAME, WEIGHTS_NAME = "config.json", "model.safetensors"


def installed_model_dir() -> Path:
    """The folder ``vidfuse install-model`` writes: beside the shipped model, never over it."""
    return user_data_dir() / "default_model"


def is_model_folder(folder: Path) -> bool:
    return (folder / CONFIG_NAME).is_file() and (folder / WEIGHTS_NAME).is_file()


def default_model_dir() -> Path:
    """The model used when none is named: the one the user installed, else the one shipped in the package."""
    installed = installed_model_dir()
    return installed if is_model_folder(installed) else SHIPPED_MODEL_DIR


def resolve_model_dir(path: str | os.PathLike | None) -> Path:
    """The model folder that ``path`` names (``None`` or ``"default"``: :func:`default_model_dir`), checked
    to hold a config and weights; :class:`InputError` saying what is missing otherwise."""
    folder = default_model_dir() if path in (None, "default") else Path(path)
    if not is_model_folder(folder):
        if path in (None, "default"):
            raise InputError("no default model is installed in this copy of vidfuse "
                             f"({SHIPPED_MODEL_DIR} is empty); train one with `make train-default` "
                             "or pass --model DIR")
        raise InputError(f"{folder} is not a vidfuse model folder: it needs {CONFIG_NAME} and {WEIGHTS_NAME} "
                         "(written by save_pretrained or by `vidfuse train` in RUN_DIR/model)")
    return folder


def load_tokenizer(cfg: ModelConfig, folder: str | Path | None):
    """The tokenizer that goes with ``cfg.text_encoder``: the char tokenizer saved in the folder, or the HF one."""
    if cfg.text_encoder == "scratch":
        from vidfuse.data.tokenizer import CharTokenizer

        return CharTokenizer.from_pretrained(folder)
    from vidfuse.models.text_encoder import HFTokenizer

    return HFTokenizer(cfg.text_encoder, max_length=cfg.max_text_len)


def video_to_uint8(video: torch.Tensor) -> np.ndarray:
    """(B, C, T, H, W) in [-1, 1] → uint8 (B, T, H, W, C)."""
    x = ((video.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 4, 1).cpu().numpy()


def autocast_for(device: torch.device):
    """bf16 autocast on CUDA and on CPUs with AVX-512 bf16 (≈3× faster matmuls here); never fp16 on CPU."""
    from vidfuse.sysinfo import cpu_supports_bf16

    enabled = device.type == "cuda" or cpu_supports_bf16()
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


class TextToVideoPipeline:
    def __init__(self, model: VidFuseModel, tokenizer, *, device: str | torch.device | None = None):
        from vidfuse.sysinfo import best_device

        self.device = torch.device(device or best_device())
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.config: ModelConfig = model.cfg

    # ---- persistence -----------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None, *, device=None) -> "TextToVideoPipeline":
        """Load a model folder; ``None`` or ``"default"`` loads the default model (:func:`default_model_dir`:
        the one installed by ``vidfuse install-model``, else the one shipped inside the package)."""
        folder = resolve_model_dir(path)
        try:
            cfg = ModelConfig.from_dict(json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8")))
        except (json.JSONDecodeError, TypeError) as e:
            raise InputError(f"{folder / CONFIG_NAME} is not a valid model config: {e}") from e
        tokenizer = load_tokenizer(cfg, folder)
        model = VidFuseModel(cfg)
        state = load_file(folder / WEIGHTS_NAME)
        missing, unexpected = model.load_state_dict(state, strict=False)
        allowed = set(model.state_dict()) - set(model.inference_state_dict())  # training-only / shipped elsewhere
        missing = [k for k in missing if k not in allowed]
        if missing or unexpected:
            raise InputError(f"{folder / WEIGHTS_NAME} does not match its config.json: "
                             f"missing {missing[:5]}, unexpected {unexpected[:5]}")
        return cls(model, tokenizer, device=device)

    def save_pretrained(self, path: str | os.PathLike, *, dtype: torch.dtype | None = None) -> Path:
        """Write config.json + model.safetensors (+ tokenizer.json) into ``path``, replacing it atomically.

        ``dtype`` (e.g. ``torch.float16``): store floating-point weights in it (half the size); loading casts
        them back to the model's float32, so compute is unchanged apart from the rounding of the weights."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        try:
            (tmp / CONFIG_NAME).write_text(json.dumps(self.config.to_dict(), indent=2), encoding="utf-8")
            state = {k: v.detach().to("cpu").contiguous() for k, v in self.model.inference_state_dict().items()}
            if dtype is not None:
                state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}
            save_file(state, tmp / WEIGHTS_NAME, metadata={"format": "pt", "vidfuse": "model"})
            self.tokenizer.save(tmp)
            _replace_dir(tmp, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return path

    # ---- inputs ----------------------------------------------------------------------------
    def _prepare_images(self, image, batch: int) -> torch.Tensor | None:
        if image is None:
            return None
        images = list(image) if isinstance(image, (list, tuple)) else [image] * batch
        if len(images) != batch:
            raise InputError(f"got {len(images)} images for {batch} prompts; give one image, or one per prompt")
        h, w = self.config.native_size
        return torch.stack([image_to_tensor(im, h, w) for im in images]).to(self.device)

    # ---- generation ------------------------------------------------------------------------
    @torch.no_grad()
    def __call__(self, prompt: str | Sequence[str], image=None, *, num_frames: int | None = None,
                 height: int | None = None, width: int | None = None, seed: int | None = None,
                 guidance_scale: float | None = None, batch_size: int = 64) -> np.ndarray:
        """Frames ``uint8 (B, T, H, W, 3)`` for one prompt or a list (B = number of prompts).

        ``image``: a first frame (path, PIL image or uint8 array (H, W, 3)), one for all prompts or a list.
        ``seed``: same seed, same prompts → same frames. ``guidance_scale`` > 1 strengthens the text
        (supported by generators with ``supports_guidance``); ``None``: the model's own default
        (``config.guidance_scale``, chosen when it was trained).
        """
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        if not prompts:
            raise InputError("no prompt given")
        num_frames = num_frames or self.config.num_frames
        if not 1 <= num_frames <= 512:
            raise InputError(f"num_frames={num_frames} is out of range; ask for 1 to 512 frames")
        if guidance_scale is None:
            guidance_scale = self.config.guidance_scale if self.model.generator.supports_guidance else 1.0
        if guidance_scale != 1.0 and not self.model.generator.supports_guidance:
            raise InputError(f"the {self.config.generator} generator has no guidance; use guidance_scale=1.0")
        ids, mask = self.tokenizer.encode(prompts)
        images = self._prepare_images(image, len(prompts))
        gen = torch.Generator(device="cpu").manual_seed(seed if seed is not None else torch.seed() % 2**63)
        outs = []
        for i in range(0, len(prompts), batch_size):
            sl = slice(i, i + batch_size)
            with autocast_for(self.device):
                video = self.model.generate(ids[sl].to(self.device), mask[sl].to(self.device),
                                            None if images is None else images[sl], num_frames=num_frames,
                                            generator=gen, guidance_scale=guidance_scale)
            outs.append(resize_video(video.float(), height, width))
        return video_to_uint8(torch.cat(outs))


def resize_video(video: torch.Tensor, height: int | None, width: int | None) -> torch.Tensor:
    """(B, C, T, H, W) resized in space (bilinear) when a different size is asked for."""
    b, c, t, h, w = video.shape
    height, width = height or h, width or w
    if (height, width) == (h, w):
        return video
    if not (8 <= height <= 4096 and 8 <= width <= 4096):
        raise InputError(f"height×width {height}×{width} is out of range; ask for 8 to 4096 pixels a side")
    frames = video.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
    frames = F.interpolate(frames, size=(height, width), mode="bilinear", align_corners=False)
    return frames.reshape(b, t, c, height, width).permute(0, 2, 1, 3, 4)


def image_to_tensor(image, height: int, width: int) -> torch.Tensor:
    """A path, PIL image or uint8 array (H, W, 3) → (3, height, width) in [-1, 1] (short side resize + centre crop)."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, (str, os.PathLike)):
        try:
            image = Image.open(image)
            image.load()
        except FileNotFoundError as e:
            raise InputError(f"image file {image} does not exist") from e
        except (UnidentifiedImageError, OSError) as e:
            raise InputError(f"{image} is not an image Pillow can read: {e}") from e
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (1, 3, 4):
            raise InputError(f"an image array must be uint8 (H, W, 3); got {image.dtype} {image.shape}")
        image = Image.fromarray(image[..., :3] if image.shape[2] == 4 else image.squeeze(-1) if image.shape[2] == 1
                                else image)
    if not isinstance(image, Image.Image):
        raise InputError(f"image must be a path, a PIL image or a uint8 array; got {type(image).__name__}")
    if min(image.size) < 8:
        raise InputError(f"the image is {image.size[0]}×{image.size[1]} pixels; give at least 8 pixels a side")
    image = image.convert("RGB")
    scale = max(height / image.height, width / image.width)
    rw, rh = max(width, round(image.width * scale)), max(height, round(image.height * scale))
    image = image.resize((rw, rh), Image.BILINEAR)
    left, top = (rw - width) // 2, (rh - height) // 2
    image = image.crop((left, top, left + width, top + height))
    arr = torch.from_numpy(np.asarray(image, dtype=np.float32)).permute(2, 0, 1)  # (3, H, W)
    return arr / 127.5 - 1.0


def _replace_dir(new: Path, dest: Path) -> None:
    """Put the folder ``new`` at ``dest``: the old one is moved aside first and removed after, so a crash
    leaves either folder whole at ``dest`` (or beside it as ``.NAME.old``), never a half-written one."""
    old = dest.with_name(f".{dest.name}.old")
    if dest.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dest, old)
    os.replace(new, dest)
    shutil.rmtree(old, ignore_errors=True)


MAX_DEFAULT_MODEL_MB = 20  # the default model ships inside the package


def install_default_model(src: str | os.PathLike, dest: str | os.PathLike | None = None, *, force: bool = False,
                          max_mb: float = MAX_DEFAULT_MODEL_MB) -> Path:
    """Install the model folder ``src`` as the default model, in ``dest`` (default:
    :func:`installed_model_dir`, beside the shipped model, which stays untouched; ``make train-default``
    passes ``SHIPPED_MODEL_DIR`` to replace the one in the package).

    A model already at ``dest`` is replaced only with ``force`` (else :class:`InputError`); it is kept as
    ``<dest>.previous``, so one step back is always possible. Weights are stored as float16 (half the
    size; loading casts them back to float32); the installed folder must hold at most ``max_mb`` MB. The
    run's ``eval.json`` (beside ``src`` or inside it), when present, goes along so the numbers travel with
    the weights. Every step writes beside ``dest`` and renames, so a crash never leaves half a model."""
    src = Path(src)
    dest = Path(dest) if dest is not None else installed_model_dir()
    if is_model_folder(dest) and not force:
        raise InputError(f"a model is already installed at {dest}; add --force to replace it (it is kept as "
                         f"{dest.name}.previous), or `vidfuse install-model --restore` to go back to the "
                         "shipped model")
    pipe = TextToVideoPipeline.from_pretrained(resolve_model_dir(src), device="cpu")  # validates the folder
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".staged", dir=dest.parent))
    try:
        pipe.save_pretrained(staged, dtype=torch.float16)
        size_mb = sum(f.stat().st_size for f in staged.iterdir() if f.is_file()) / 1e6
        if size_mb > max_mb:
            raise InputError(f"{src} takes {size_mb:.1f} MB even as float16; the default model ships inside "
                             f"the package and may be at most {max_mb} MB: train a smaller preset")
        for report in (src / "eval.json", src.parent / "eval.json"):
            if report.is_file():
                shutil.copyfile(report, staged / "eval.json")
                break
        TextToVideoPipeline.from_pretrained(staged, device="cpu")  # loads back
        if dest.exists():
            _replace_dir(dest, dest.with_name(f"{dest.name}.previous"))
        os.replace(staged, dest)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return dest


def restore_default_model() -> Path:
    """Undo ``vidfuse install-model``: the installed model moves to ``<name>.previous`` (so it is not lost)
    and the model shipped inside the package is the default again. Returns the default model's folder."""
    installed = installed_model_dir()
    if installed.exists():
        _replace_dir(installed, installed.with_name(f"{installed.name}.previous"))
    return default_model_dir()
