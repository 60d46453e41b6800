"""TextToVideoPipeline: text (and optionally a first frame) in, frames ``uint8 (B, T, H, W, 3)`` out.

A model folder is ``config.json`` + ``model.safetensors`` (+ ``tokenizer.json`` for the from-scratch
text encoder): :meth:`TextToVideoPipeline.from_pretrained` rebuilds it with no other code and loads no
pickles. The default model ships inside the package (``vidfuse/default_model/``).

Documented behaviours for awkward inputs:

- an empty or whitespace-only prompt, one holding a control character (U+0000-U+001F except tab and
  newlines, U+007F-U+009F) or a lone surrogate, or a prompt longer than the tokenizer's limit (unless
  ``on_overflow="truncate"``) → :class:`InputError`;
- a word or character the model never saw is encoded anyway (byte fallback, no "unknown" token) and the
  model does its best with it, but :meth:`TextToVideoPipeline.unknown_words` names such words (rule:
  :mod:`vidfuse.data.vocabulary`) and a call warns with :class:`UnknownWordsWarning` ("this model was trained
  on Moving Digits captions; it does not know: cat, piano"), or raises :class:`UnknownWordsError` (an
  :class:`InputError`) with ``strict=True``;
- an image of another size is resized (short side) and centre-cropped to the model's native size; an
  image that is not RGB is converted; one smaller than 8 px, larger than ``MAX_IMAGE_PIXELS`` (50
  megapixels), corrupt or not an image → :class:`InputError`;
- ``num_frames`` 1 to ``MAX_FRAMES`` (512); ``seed`` 0 to 2**63 - 1; ``guidance_scale`` a finite number from 0
  to ``MAX_GUIDANCE`` (20); anything else → :class:`InputError`;
- a model folder whose config.json has a wrong type, an out-of-range size or an unknown generator, or whose
  weights are not a valid safetensors file → :class:`InputError` naming the folder, before anything is built;
- ``height``/``width`` other than the native size: frames are generated natively then resized (bilinear).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from vidfuse.config import MAX_FRAMES, ModelConfig
from vidfuse.data.durations import LengthOverriddenWarning, LengthWarning, length_asked, model_text
from vidfuse.data.vocabulary import (
    OPEN_DOMAIN_HINT,
    STRICT_UNCHECKED,
    StrictUncheckedWarning,
    TooManyDigitsError,
    TooManyDigitsWarning,
    UnknownWordsError,
    UnknownWordsWarning,
    Vocabulary,
    unknown_words_message,
)
from vidfuse.errors import InputError, first_line
from vidfuse.inputs import (
    DIFFUSERS_ONLY,
    MAX_IMAGE_PIXELS,  # noqa: F401 (re-exported)
    MEMORY_HINT,
    ONE_PASS_GUIDANCE,
    check_batch_size,
    check_device,
    check_flag,
    check_options,
    check_prompt,
    image_to_tensor,  # noqa: F401 (API)
    is_int,
)
from vidfuse.models.base import Noise
from vidfuse.models.compose import least_overlap, stack_layer
from vidfuse.models.model import VidFuseModel
from vidfuse.models.registry import supports_guidance
from vidfuse.userdirs import user_data_dir

# draws of each further layer of a scene, the one crossing least of the layers below kept: level 2 (judged,
# 300 clips) 95.7% both digits right with one draw, 99.0% with four (README "Two digits as layers")
LAYER_CANDIDATES = 4
SHIPPED_MODEL_DIR = Path(__file__).resolve().parent / "default_model"  # inside the package, never written by users
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
            raise InputError(
                "no default model is installed in this copy of vidfuse "
                f"({SHIPPED_MODEL_DIR} is empty); train one with `make train-default` "
                "or pass --model DIR"
            )
        raise InputError(
            f"{folder} is not a vidfuse model folder: it needs {CONFIG_NAME} and {WEIGHTS_NAME} "
            "(written by save_pretrained or by `vidfuse train` in RUN_DIR/model), or a diffusers "
            "pipeline's model_index.json"
        )
    return folder


def build_model(cfg: ModelConfig) -> VidFuseModel:
    """The network for ``cfg``, randomly initialised, with a pretrained text encoder's backbone loaded from
    its folder when the config names one (the models layer reads no files)."""
    backbone = None
    if cfg.text_encoder != "scratch":
        from vidfuse.data.pretrained_text import load_text_backbone

        backbone = load_text_backbone(cfg.text_encoder)
    return VidFuseModel(cfg, text_backbone=backbone)


def load_tokenizer(cfg: ModelConfig, folder: str | Path | None):
    """The tokenizer that goes with ``cfg.text_encoder``: the char tokenizer saved in the folder, or the HF one."""
    if cfg.text_encoder == "scratch":
        from vidfuse.data.tokenizer import CharTokenizer

        return CharTokenizer.from_pretrained(folder)
    if cfg.text_encoder == "e5":
        from vidfuse.data.e5 import E5Tokenizer

        return E5Tokenizer.from_pretrained(folder, max_length=cfg.max_text_len)
    from vidfuse.data.pretrained_text import HFTokenizer

    return HFTokenizer(cfg.text_encoder, max_length=cfg.max_text_len)


def video_to_uint8(video: torch.Tensor) -> np.ndarray:
    """(B, C, T, H, W) in [-1, 1] → uint8 (B, T, H, W, C)."""
    # one float copy, the rest in place: at 64 clips a pass is 50 MB, and a fresh buffer per step cost more in
    # page faults than the arithmetic (four passes were ≈ 200 ms of a 1.3 s batch on a 2-core CPU)
    x = video.float().clamp(-1, 1).add_(1).mul_(127.5).round_().to(torch.uint8)
    return x.permute(0, 2, 3, 4, 1).cpu().numpy()


def autocast_for(device: torch.device):
    """bf16 autocast on CUDA and on CPUs with AVX-512 bf16 (≈3× faster matmuls here); never fp16 on CPU."""
    from vidfuse.sysinfo import cpu_supports_bf16

    enabled = device.type == "cuda" or cpu_supports_bf16()
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


# control characters other than tab and newlines (C0, DEL, C1) and lone surrogates: not text a model can read


def read_safetensors(path: Path, what: str, fix: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata of a safetensors file; a truncated, empty or foreign file (a pickle renamed)
    is an :class:`InputError`: "``what`` is not a valid safetensors file (why); ``fix``"."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, "pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise InputError(f"{what} is not a valid safetensors file ({first_line(e)}); {fix}") from e


class TextToVideoPipeline:
    def __init__(self, model: VidFuseModel, tokenizer, *, device: str | torch.device | None = None):
        self.device = check_device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.config: ModelConfig = model.cfg
        self._vocabulary: Vocabulary | None | bool = False  # built on first use

    # ---- what every backend tells its callers (the story composer, the server) -------------------
    fps = 8.0  # the Moving Digits clips' frame rate: motion plays at the speed it was learnt at
    long_clips = True  # one call makes any number of frames (to MAX_FRAMES) with no jump
    continues_from_last_frame = True  # image= continues a clip from its last frame

    @property
    def native_size(self) -> tuple[int, int]:
        """``(height, width)`` the model draws."""
        return self.config.native_size

    @property
    def num_frames(self) -> int:
        """Frames a call makes when not told."""
        return self.config.num_frames

    def fits_prompt(self, text: str) -> bool:
        """Whether the tokenizer takes ``text`` whole (False: it is over the token limit)."""
        try:
            self.tokenizer.encode(text)
            return True
        except InputError:
            return False

    # ---- what the model knows --------------------------------------------------------------
    @property
    def vocabulary(self) -> Vocabulary | None:
        """The training vocabulary of a from-scratch text encoder; ``None`` for a pretrained one (no record)."""
        if self._vocabulary is False:
            self._vocabulary = Vocabulary.from_tokenizer(self.tokenizer)
        return self._vocabulary

    @property
    def trained_on(self) -> str | None:
        """What the model was trained on, for messages ("Moving Digits captions"); ``None`` when unknown."""
        return self.vocabulary.trained_on if self.vocabulary is not None else None

    def model_text(self, prompt: str) -> str:
        """The part of ``prompt`` the model reads: a clip length in words ("for 3 seconds", 两秒) is taken out
        (:mod:`vidfuse.data.durations`): the model reads no lengths, and 两秒 was read as the digit 2; put in the
        words it was taught (:mod:`vidfuse.data.wording`: "navy" → "navy blue", "falls from the top" → "falls",
        "rigth" → "right")."""
        return self._spelled(model_text(check_prompt(prompt)))

    def _spelled(self, text: str) -> str:
        """``text`` with a typing slip read as the word the model knows (:meth:`Vocabulary.spelled`)."""
        return self.vocabulary.spelled(text) if self.vocabulary is not None else text

    def _length_in_words(self, asked: list, *, fps: float | None = None, stacklevel: int = 1) -> int | None:
        """The clip length the prompts state in words, in frames at ``fps`` (default :attr:`fps`), when every
        prompt states the same one (else a :class:`LengthWarning` and None: the model's own length); at most
        ``MAX_FRAMES``."""
        fps = self.fps if fps is None else float(fps)
        lengths = [a.num_frames(fps) if a is not None else None for a in asked]
        if not any(lengths):
            return None
        if len(set(lengths)) > 1:
            said = ", ".join(f"#{i}: {n} frames" if n else f"#{i}: none" for i, n in enumerate(lengths))
            warnings.warn(
                LengthWarning(
                    f"the prompts ask for different clip lengths ({said}); every clip has the model's "
                    f"{self.config.num_frames} frames — pass num_frames (--frames), or one prompt per call"
                ),
                stacklevel=stacklevel + 2,
            )
            return None
        n = lengths[0]
        if n > MAX_FRAMES:
            warnings.warn(
                LengthWarning(
                    f"the prompt asks for {n} frames ({n / fps:g} s at {fps:g} fps); clips are at most "
                    f"{MAX_FRAMES} frames, so it has {MAX_FRAMES}"
                ),
                stacklevel=stacklevel + 2,
            )
            n = MAX_FRAMES
        return n

    def _lengths_said_twice(self, asked: list, *, fps: float | None = None, stacklevel: int = 1) -> None:
        """A :class:`LengthWarning` for a prompt that states more than one length ("for 3 seconds … for 5
        seconds"): the first is the one asked for (all are taken out of what the model reads)."""
        fps = self.fps if fps is None else float(fps)
        for i, a in enumerate(asked):
            others = a.others_differ(fps) if a is not None else []
            if others:
                which = "the prompt" if len(asked) == 1 else f"prompt #{i}"
                said = ", ".join(f"{n} frames" for n in others)
                warnings.warn(
                    LengthWarning(
                        f"{which} states more than one length ({a.num_frames(fps)} frames, then {said}): the first "
                        f"is used — say one length, or give --frames"
                    ),
                    stacklevel=stacklevel + 2,
                )

    def _option_over_words(self, asked: list, num_frames: int, *, fps: float | None = None, stacklevel: int = 1):
        """A :class:`LengthWarning` where a prompt states a length in words other than ``num_frames`` given as an
        option: the option wins, said rather than silently (a review found "for 3 seconds" with --frames 16 quietly
        drawn 16 frames)."""
        fps = self.fps if fps is None else float(fps)
        said = sorted({a.num_frames(fps) for a in asked if a is not None} - {int(num_frames)})
        if said:
            warnings.warn(
                LengthOverriddenWarning(
                    f"the prompt{'s' if len(asked) > 1 else ''} ask{'' if len(asked) > 1 else 's'} for "
                    f"{' or '.join(map(str, said))} frames in words, but num_frames={int(num_frames)} (--frames) was "
                    f"given: the clip has {int(num_frames)} — leave --frames out to have the length in the words"
                ),
                stacklevel=stacklevel + 2,
            )

    def unknown_words(self, prompt: str) -> list[str]:
        """The words (or Chinese character runs) of ``prompt`` the model never saw in training, in order
        (``[]`` when all are known or the model has no record); the rule is :mod:`vidfuse.data.vocabulary`'s."""
        return self.vocabulary.unknown_words(self.model_text(prompt)) if self.vocabulary is not None else []

    def digits_beyond(self, prompt: str):
        """How ``prompt`` asks for more digits at once than the model draws (a :class:`DigitsAsked`), or
        ``None`` (it does not, or the model keeps no record of how many it draws)."""
        return self.vocabulary.digits_beyond(self.model_text(prompt)) if self.vocabulary is not None else None

    def subject_layers(self, prompt: str) -> list[str] | None:
        """The clauses ``prompt`` is drawn as, one layer each, when it asks for more digits at once than the
        model draws and splits into one clause per digit (:meth:`Vocabulary.subject_layers`); else ``None``."""
        return self.vocabulary.subject_layers(self.model_text(prompt)) if self.vocabulary is not None else None

    def check_vocabulary(
        self, prompts: Sequence[str], *, strict: bool = False, stacklevel: int = 1, layered: bool = True
    ) -> list[str]:
        """Warn (attributed ``stacklevel`` frames above the caller), or with ``strict`` raise, when ``prompts``
        ask for more digits at once than the model draws (:class:`TooManyDigitsWarning` /
        :class:`TooManyDigitsError`; with ``layered``, only those that cannot be drawn one layer per digit)
        or hold words the model never saw (:class:`UnknownWordsWarning` / :class:`UnknownWordsError`);
        returns those words."""
        check_flag("strict", strict)
        if strict and self.vocabulary is None:
            warnings.warn(StrictUncheckedWarning(STRICT_UNCHECKED), stacklevel=stacklevel + 2)
        texts = [self.model_text(p) for p in prompts]
        message = self.vocabulary.digits_message(texts, layered=layered) if self.vocabulary else None
        if message:
            if strict:
                raise TooManyDigitsError(message)
            warnings.warn(TooManyDigitsWarning(message), stacklevel=stacklevel + 2)
        per_prompt = [self.unknown_words(p) for p in prompts]
        words = list(dict.fromkeys(w for ws in per_prompt for w in ws))
        if not words:
            return []
        which = None if len(prompts) == 1 else [i for i, ws in enumerate(per_prompt) if ws]
        message = unknown_words_message(self.trained_on, words, which)
        if strict:
            raise UnknownWordsError(
                f"{message}; rephrase with words it knows, or {OPEN_DOMAIN_HINT}", words, self.trained_on
            )
        warnings.warn(
            UnknownWordsWarning(f"{message} — {OPEN_DOMAIN_HINT}", words, self.trained_on), stacklevel=stacklevel + 2
        )
        return words

    # ---- persistence -----------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike | None = None,
        *,
        device=None,
        dtype="auto",
        offload: str = "none",
        vae_tiling: bool = False,
        vae_slicing: bool = False,
    ):
        """Load a model folder, or a model by its name in the models folder (:mod:`vidfuse.catalog`); ``None``
        or ``"default"`` loads the default model (:func:`default_model_dir`: the one installed by
        ``vidfuse install-model``, else the one shipped inside the package).

        A diffusers pipeline folder (``model_index.json``: Wan, LTX-Video, CogVideoX, …) loads as a
        :class:`vidfuse.backends.diffusers.DiffusersVideoPipeline`, called the same way; ``dtype`` (auto,
        float32, bfloat16, float16), ``offload`` (none, model, sequential, group) and the VAE options apply to it
        only (vidfuse's own models are small: float32 weights, bf16 autocast where the hardware has it)."""
        from vidfuse.backends.diffusers import is_diffusers_folder, load_diffusers_folder
        from vidfuse.catalog import find_model

        check_device(device)  # before anything is read: a bad --device is the user's first mistake to hear of
        path = find_model(path)  # a folder, or a name in the models folder (`vidfuse models`)
        if path is not None and is_diffusers_folder(path):
            return load_diffusers_folder(
                path, device=device, dtype=dtype, offload=offload, vae_tiling=vae_tiling, vae_slicing=vae_slicing
            )
        given = {
            "dtype": dtype != "auto",
            "offload": offload != "none",
            "vae_tiling": vae_tiling,
            "vae_slicing": vae_slicing,
        }
        if any(given.values()):  # silently ignored before: `--dtype int8` on the default model exited 0
            names = ", ".join(k for k, v in given.items() if v)
            raise InputError(
                f"{names}: for pretrained diffusers models; vidfuse's own models keep float32 weights (bf16 autocast "
                "where the CPU has it) and need no offloading: leave it out"
            )
        folder = resolve_model_dir(path)
        fix = "re-install or re-train the model"
        try:
            cfg = ModelConfig.from_dict(json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as e:
            raise InputError(f"model folder {folder}: {CONFIG_NAME} is not valid JSON ({e}); {fix}") from e
        except InputError as e:  # types, bounds and generator checked before anything is built
            raise InputError(f"model folder {folder}: {CONFIG_NAME}: {e}; {fix}") from e
        state, _ = read_safetensors(folder / WEIGHTS_NAME, f"model folder {folder}: {WEIGHTS_NAME}", fix)
        tokenizer = load_tokenizer(cfg, folder)
        model = build_model(cfg)
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as e:  # a tensor of another shape than the config builds
            first = str(e).split("\n\t", 2)[1:2] or [str(e)]
            raise InputError(
                f"model folder {folder}: {WEIGHTS_NAME} does not match its {CONFIG_NAME} ({first[0].strip()}); {fix}"
            ) from e
        allowed = set(model.state_dict()) - set(model.inference_state_dict())  # training-only / shipped elsewhere
        missing = [k for k in missing if k not in allowed]
        if missing or unexpected:
            raise InputError(
                f"{folder / WEIGHTS_NAME} does not match its config.json: "
                f"missing {missing[:5]}, unexpected {unexpected[:5]}"
            )
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
    def warmup(self) -> "TextToVideoPipeline":
        """Generate two throw-away clips (a short and a longer prompt: the two most common token buckets) so
        that first-call costs — kernels chosen and compiled per shape, the allocator growing — are paid at
        load rather than by the first request. Long-lived processes (the server's workers) call it."""
        with warnings.catch_warnings():  # the throw-away prompts' words are no user's business
            warnings.simplefilter("ignore", UnknownWordsWarning)
            self("warm up", seed=0)
            self(" ".join(["warm up the model before the first request"] * 3), seed=0, on_overflow="truncate")
        return self

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | Sequence[str],
        image=None,
        *,
        num_frames: int | None = None,
        height: int | None = None,
        width: int | None = None,
        seed: int | None = None,
        guidance_scale: float | None = None,
        batch_size: int = 64,
        on_overflow: str = "error",
        strict: bool = False,
        layered: bool = True,
        fps: float | None = None,
        progress: Callable[[int, int], None] | None = None,
        negative_prompt: str | None = None,
        num_inference_steps: int | None = None,
    ) -> np.ndarray:
        """Frames ``uint8 (B, T, H, W, 3)`` for one prompt or a list (B = number of prompts).

        The call the pretrained backend takes too: ``fps`` is the rate a length in words ("for 3 seconds") is
        counted at (default :attr:`fps`; the frames drawn do not depend on it), ``progress(step, total)`` is told
        (0, 1) before drawing and (1, 1) after (one pass); ``negative_prompt`` and ``num_inference_steps``
        belong to denoising pipelines and are refused here.

        ``image``: a first frame (path, PIL image or uint8 array (H, W, 3)), one for all prompts or a list.
        ``num_frames``: 1 to ``MAX_FRAMES`` (default: the model's). ``seed``: 0 to 2**63 - 1; same seed, same
        prompts → same frames. ``guidance_scale``: 0 to ``MAX_GUIDANCE``; > 1 strengthens the text
        (supported by generators with ``supports_guidance``); ``None``: the model's own default
        (``config.guidance_scale``, chosen when it was trained). ``on_overflow="truncate"`` cuts a prompt
        longer than the tokenizer's limit to it instead of refusing it. Prompts with words the model never
        saw in training warn (:class:`UnknownWordsWarning`, once for the call) or, with ``strict``, are
        refused (:class:`UnknownWordsError`) before anything is generated. A prompt naming more digits than
        the model draws at once ("a red 3 moving left and a blue 7 moving up") is drawn one layer per digit when
        it splits into one clause per digit (:meth:`subject_layers`; ``layered=False``: drawn whole, with a
        :class:`TooManyDigitsWarning`); each further layer is the least crossing of ``LAYER_CANDIDATES`` draws,
        drawn from the seed and the prompt's place in the batch alone, so a layered prompt's frames do not change with
        which of the prompts beside it are layered.
        """
        prompts = list(prompt) if isinstance(prompt, (list, tuple)) else [prompt]
        if not prompts:
            raise InputError("no prompt given")
        for i, p in enumerate(prompts):
            check_prompt(p, "the prompt" if len(prompts) == 1 else f"prompt #{i}")
        for name, value in (("negative_prompt", negative_prompt), ("num_inference_steps", num_inference_steps)):
            if value is not None:
                raise InputError(f"{name}={value!r} {DIFFUSERS_ONLY}")
        if progress is not None and not callable(progress):
            raise InputError(f"progress must be a function progress(step, total), got {type(progress).__name__}")
        if fps is not None:
            from vidfuse.media.video_io import check_fps

            check_fps(fps)
        asked = [length_asked(p) for p in prompts]
        self._lengths_said_twice(asked, fps=fps, stacklevel=2)
        # what is drawn: a stated length is an option
        prompts = [self._spelled(model_text(p, a)) for p, a in zip(prompts, asked)]
        given = num_frames
        if num_frames is None:
            num_frames = self._length_in_words(asked, fps=fps, stacklevel=2) or self.config.num_frames
        if guidance_scale is None:
            guidance_scale = self.config.guidance_scale if self.model.generator.supports_guidance else 1.0
        check_options(num_frames=num_frames, seed=seed, guidance_scale=guidance_scale)
        if given is not None:
            self._option_over_words(asked, given, fps=fps, stacklevel=2)
        check_size(height, width)
        check_batch_size(batch_size)
        if guidance_scale != 1.0 and not self.model.generator.supports_guidance:
            raise InputError(
                f"guidance_scale={guidance_scale}: the {self.config.generator} generator {ONE_PASS_GUIDANCE}"
            )
        # a prompt naming more digits than the model draws is drawn one layer per digit (no first frame given)
        layers = [self.subject_layers(p) if image is None and layered else None for p in prompts]
        if any(layers):  # a prompt over the token limit is refused as the user wrote it, with its own number
            self.tokenizer.encode(prompts, on_overflow=on_overflow)
            on_overflow = "truncate"  # and a clause of a prompt that fits is never refused
        drawn = [ls[0] if ls else p for p, ls in zip(prompts, layers)]
        self.check_vocabulary(prompts, strict=strict, stacklevel=2, layered=image is None and layered)
        self._check_memory(len(prompts), num_frames, height, width)
        images = self._prepare_images(image, len(prompts))
        base = int(seed) if seed is not None else torch.seed() % 2**63
        gen = torch.Generator(device="cpu").manual_seed(base)
        draw = dict(
            num_frames=num_frames,
            gen=gen,
            guidance_scale=guidance_scale,
            batch_size=batch_size,
            on_overflow=on_overflow,
        )
        if progress is not None:
            progress(0, 1)
        video = self._generate(drawn, images, **draw)
        for k in range(1, max((len(ls) for ls in layers if ls), default=1)):
            rows = [i for i, ls in enumerate(layers) if ls and len(ls) > k]
            # LAYER_CANDIDATES draws of layer k of each scene, from a generator of its own (the seed, the prompt's
            # place in the batch, the layer): a scene's video does not hang on which other prompts were layered
            # (one prompt more or less split shifted every later scene's draws). The least crossing is kept.
            # The noise is drawn row by row and the clips in one batch, as the per-row calls were but faster.
            texts = [layers[i][k] for i in rows for _ in range(LAYER_CANDIDATES)]
            if self.model.draws_once(num_frames):
                noise = Noise.cat(
                    [
                        self.model.generator.sample_noise(
                            LAYER_CANDIDATES, num_frames, generator=_layer_generator(base, i, k)
                        )
                        for i in rows
                    ]
                )
                flat = self._generate(texts, None, **draw, noise=noise)
            else:  # a clip drawn in windows draws its noise window by window: one call per row
                flat = torch.cat(
                    [
                        self._generate(
                            texts[j : j + LAYER_CANDIDATES], None, **(draw | {"gen": _layer_generator(base, i, k)})
                        )
                        for j, i in zip(range(0, len(texts), LAYER_CANDIDATES), rows)
                    ]
                )
            candidates = flat.unflatten(0, (len(rows), LAYER_CANDIDATES)).transpose(0, 1)  # (candidate, row, ...)
            video[rows] = stack_layer(video[rows], least_overlap(video[rows], candidates))
        frames = video_to_uint8(resize_video(video, height, width))
        if progress is not None:
            progress(1, 1)
        return frames

    def _check_memory(self, batch: int, num_frames: int, height: int | None, width: int | None) -> None:
        """Refuse, before anything is drawn, clips that could not be held in memory: each option may be in range
        (4096 × 4096 pixels, 512 frames) and together ask for 100 GB. The estimate is the clips as float32 at
        the asked size twice (resizing) and once as uint8, against what the system has available."""
        from vidfuse.sysinfo import available_memory

        h = self.config.height if height is None else height
        w = self.config.width if width is None else width
        need = batch * num_frames * self.config.channels * max(h * w, self.config.height * self.config.width) * 9
        have = available_memory()
        if have is not None and need > have:
            raise InputError(
                f"{batch} clip(s) of {num_frames} frames at {w}×{h} need about {need / 2**30:.1f} GB of memory and "
                f"{have / 2**30:.1f} GB is available: {MEMORY_HINT}"
            )

    def _generate(
        self, prompts, images, *, num_frames, gen, guidance_scale, batch_size, on_overflow, noise: Noise | None = None
    ) -> torch.Tensor:
        """``(B, C, T, H, W)`` float clips at the native size for ``prompts``, ``batch_size`` at a time; ``noise``
        (one draw per prompt) instead of drawing from ``gen``."""
        ids, mask = pad_tokens(*self.tokenizer.encode(prompts, on_overflow=on_overflow))
        outs = []
        for i in range(0, len(prompts), batch_size):
            sl = slice(i, i + batch_size)
            with autocast_for(self.device):
                video = self.model.generate(
                    ids[sl].to(self.device),
                    mask[sl].to(self.device),
                    None if images is None else images[sl],
                    num_frames=num_frames,
                    generator=gen,
                    guidance_scale=guidance_scale,
                    noise=None if noise is None else Noise({k: v[sl] for k, v in noise.parts.items()}),
                )
            outs.append(video.float())
        return outs[0] if len(outs) == 1 else torch.cat(outs)


def _layer_generator(seed: int, row: int, layer: int) -> torch.Generator:
    """The generator of layer ``layer`` of the ``row``-th prompt of a call with ``seed``."""
    state = np.random.SeedSequence([seed, row, layer]).generate_state(2, np.uint32)
    return torch.Generator(device="cpu").manual_seed(int(state[0]) << 31 | int(state[1]) >> 1)


TOKEN_BUCKET = 16


def pad_tokens(
    ids: torch.Tensor, mask: torch.Tensor, multiple: int = TOKEN_BUCKET
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad token ids (B, L) and their mask to a multiple of ``multiple`` (masked, so the result is
    the same up to rounding). Prompts of different lengths then share a few tensor shapes, and CPU
    kernels that are compiled per shape (oneDNN's bf16/AMX ones) are built once, not for every prompt."""
    extra = -ids.shape[1] % multiple
    if extra == 0:
        return ids, mask
    return F.pad(ids, (0, extra), value=0), F.pad(mask, (0, extra), value=False)


def check_size(height, width) -> None:
    """A frame size asked for: whole numbers of 8 to 4096 pixels a side (None: the model's own)."""
    for name, v in (("height", height), ("width", width)):
        if v is None:
            continue
        if not is_int(v):
            raise InputError(f"{name}={v!r} is not a whole number of pixels; ask for 8 to 4096")
        if not 8 <= v <= 4096:
            raise InputError(f"{name}={v} is out of range; ask for 8 to 4096 pixels a side")


def resize_video(video: torch.Tensor, height: int | None, width: int | None) -> torch.Tensor:
    """(B, C, T, H, W) resized in space (bilinear) when a different size is asked for."""
    b, c, t, h, w = video.shape
    height, width = h if height is None else height, w if width is None else width
    if (height, width) == (h, w):
        return video
    check_size(height, width)
    frames = video.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
    frames = F.interpolate(frames, size=(height, width), mode="bilinear", align_corners=False)
    return frames.reshape(b, t, c, height, width).permute(0, 2, 1, 3, 4)


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


def install_default_model(
    src: str | os.PathLike,
    dest: str | os.PathLike | None = None,
    *,
    force: bool = False,
    max_mb: float = MAX_DEFAULT_MODEL_MB,
) -> Path:
    """Install the model folder ``src`` as the default model, in ``dest`` (default:
    :func:`installed_model_dir`, beside the shipped model, which stays untouched; ``make train-default``
    passes ``SHIPPED_MODEL_DIR`` to replace the one in the package).

    A model already at ``dest`` is replaced only with ``force`` (else :class:`InputError`); it is kept as
    ``<dest>.previous-<time>`` (:func:`_keep_aside`; never deleted by vidfuse), so nothing is lost. Weights
    are stored as float16 (half the size; loading casts them back to float32); the installed folder must hold
    at most ``max_mb`` MB. The
    run's ``eval.json`` (beside ``src`` or inside it), when present, goes along so the numbers travel with
    the weights. Every step writes beside ``dest`` and renames, so a crash never leaves half a model."""
    from vidfuse.backends.diffusers import is_diffusers_folder

    src = Path(src)
    if is_diffusers_folder(src):
        raise InputError(
            f"{src} is a diffusers pipeline folder; install-model takes vidfuse models (at most "
            f"{max_mb} MB): use the folder where it is, with --model {src}"
        )
    dest = Path(dest) if dest is not None else installed_model_dir()
    if is_model_folder(dest) and not force:
        raise InputError(
            f"a model is already installed at {dest}; add --force to replace it (it is kept as "
            f"{dest.name}.previous-<time>), or `vidfuse install-model --restore` to go back to the "
            "shipped model"
        )
    pipe = TextToVideoPipeline.from_pretrained(resolve_model_dir(src), device="cpu")  # validates the folder
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".staged", dir=dest.parent))
    try:
        pipe.save_pretrained(staged, dtype=torch.float16)
        size_mb = sum(f.stat().st_size for f in staged.iterdir() if f.is_file()) / 1e6
        if size_mb > max_mb:
            raise InputError(
                f"{src} takes {size_mb:.1f} MB even as float16; the default model ships inside "
                f"the package and may be at most {max_mb} MB: train a smaller preset"
            )
        for report in (src / "eval.json", src.parent / "eval.json"):
            if report.is_file():
                shutil.copyfile(report, staged / "eval.json")
                break
        TextToVideoPipeline.from_pretrained(staged, device="cpu")  # loads back
        if dest.exists():
            _keep_aside(dest)
        os.replace(staged, dest)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return dest


def _keep_aside(folder: Path) -> Path:
    """Rename ``folder`` to ``<name>.previous-<UTC time>`` beside it (a fresh name each time, so an earlier
    one is never replaced) and return the new path."""
    import datetime

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
    kept = folder.with_name(f"{folder.name}.previous-{stamp}")
    os.replace(folder, kept)
    return kept


def restore_default_model() -> Path:
    """Undo ``vidfuse install-model``: the installed model moves to ``<name>.previous-<time>`` (not lost)
    and the model shipped inside the package is the default again. Returns the default model's folder."""
    installed = installed_model_dir()
    if installed.exists():
        _keep_aside(installed)
    return default_model_dir()


def model_info(path: str | os.PathLike | None = None, *, tokenizer: bool = False) -> dict:
    """What a vidfuse model folder is, from its config alone (checked by :meth:`ModelConfig.from_dict` as
    :meth:`TextToVideoPipeline.from_pretrained` checks it; no weights are read, nothing is built): ``height``
    and ``width`` (native size), ``frames``, ``generator``, ``text_encoder``, ``max_text_len`` (tokens a
    prompt may take) and ``guidance`` (whether it takes a guidance scale); with ``tokenizer=True`` also its
    ``tokenizer``, so that a caller (the server) can check prompts before any model is loaded. ``None`` or
    ``"default"``: the default model. :class:`InputError` when the folder or its config is unusable."""
    folder = resolve_model_dir(path)
    try:
        cfg = ModelConfig.from_dict(json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as e:
        raise InputError(f"model folder {folder}: {CONFIG_NAME} is not valid JSON ({e})") from e
    except InputError as e:
        raise InputError(f"model folder {folder}: {CONFIG_NAME}: {e}") from e
    info = {
        "height": cfg.height,
        "width": cfg.width,
        "frames": cfg.num_frames,
        "generator": cfg.generator,
        "text_encoder": cfg.text_encoder,
        "max_text_len": cfg.max_text_len,
        "guidance": supports_guidance(cfg.generator),
    }
    if tokenizer:
        info["tokenizer"] = load_tokenizer(cfg, folder)
    return info
