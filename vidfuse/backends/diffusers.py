"""Pretrained diffusers video pipelines (a folder with ``model_index.json``) as vidfuse models.

:func:`load_diffusers_folder` checks the folder, then loads it offline (``local_files_only``, Hugging Face
offline mode) from safetensors only; :class:`DiffusersVideoPipeline` is called like
:class:`vidfuse.pipeline.TextToVideoPipeline`: prompt(s), ``negative_prompt``, ``image``, ``num_frames``,
``height``, ``width``, ``fps``, ``num_inference_steps``, ``guidance_scale``, ``seed`` → ``uint8 (B, T, H, W, 3)``.

Each family's constraints are met by rounding, then the result is brought back to exactly what was asked:

================  =========================  ====================  ===========================================
family            frames generated           size generated        notes
================  =========================  ====================  ===========================================
Wan               next 4k + 1 ≥ asked         nearest multiple 16   image→video needs a Wan image-to-video folder
LTX-Video         next 8k + 1 ≥ asked         nearest multiple 32   image→video from the same text-to-video folder
CogVideoX         next 4k + 1 ≥ asked         nearest multiple 16   at most the transformer's ``sample_frames``
                                                                    (49 for CogVideoX 2b/5b) unless it uses rotary
                                                                    positions; more → :class:`InputError`
HunyuanVideo 1.5  next 4k + 1 ≥ asked         nearest multiple 16
Mochi             next 6k + 1 ≥ asked         nearest multiple 16
SANA-Video        next 4k + 1 ≥ asked         nearest multiple 32
================  =========================  ====================  ===========================================

The extra frames are cut from the end and a rounded size is resized back (bilinear), so the output always has
the asked ``num_frames``, ``height`` and ``width``. Left out, each is the pipeline's own default.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from vidfuse.data.vocabulary import STRICT_UNCHECKED, StrictUncheckedWarning
from vidfuse.errors import InputError, MissingDependencyError, first_line
from vidfuse.inputs import check_device

MODEL_INDEX = "model_index.json"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
OFFLOADS = ("none", "model", "sequential", "group")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


@dataclass(frozen=True)
class Family:
    name: str
    frame_step: int  # frames = frame_step * k + 1
    size_step: int  # height and width are multiples of this
    fps: float  # the frame rate its models were trained at
    image_to_video: str | None = None  # the twin pipeline that takes a first frame from the same weights


# text-to-video pipeline → its family; image-to-video pipelines map to the same family
FAMILIES = {
    "WanPipeline": Family("Wan", 4, 16, 16.0),
    "WanImageToVideoPipeline": Family("Wan", 4, 16, 16.0),
    "LTXPipeline": Family("LTX-Video", 8, 32, 25.0, image_to_video="LTXImageToVideoPipeline"),
    "LTXImageToVideoPipeline": Family("LTX-Video", 8, 32, 25.0),
    "CogVideoXPipeline": Family("CogVideoX", 4, 16, 8.0),
    "CogVideoXImageToVideoPipeline": Family("CogVideoX", 4, 16, 8.0),
    "HunyuanVideo15Pipeline": Family("HunyuanVideo 1.5", 4, 16, 24.0),
    "HunyuanVideo15ImageToVideoPipeline": Family("HunyuanVideo 1.5", 4, 16, 24.0),
    "MochiPipeline": Family("Mochi", 6, 16, 30.0),
    "SanaVideoPipeline": Family("SANA-Video", 4, 32, 16.0),
    "SanaImageToVideoPipeline": Family("SANA-Video", 4, 32, 16.0),
}
_NOT_MODELS = ("Tokenizer", "Scheduler", "Processor", "FeatureExtractor")


def is_diffusers_folder(folder: str | os.PathLike | None) -> bool:
    return folder is not None and (Path(folder) / MODEL_INDEX).is_file()


def _import_diffusers():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is downloaded at run time
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import diffusers
    except ImportError as e:
        raise MissingDependencyError(
            "pretrained video models need diffusers and accelerate: .venv/bin/pip install diffusers accelerate"
        ) from e
    return diffusers


def read_model_index(folder: Path) -> tuple[str, dict[str, tuple[str, str]]]:
    """The pipeline class and its components ``{name: (library, class)}`` of ``folder/model_index.json``."""
    try:
        index = json.loads((folder / MODEL_INDEX).read_text(encoding="utf-8"))
        cls = index["_class_name"]
        components = {
            k: (v[0], v[1])
            for k, v in index.items()
            if not k.startswith("_") and isinstance(v, list) and len(v) == 2 and v[0] and v[1]
        }
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise InputError(
            f"model folder {folder}: {MODEL_INDEX} is not a diffusers pipeline index ({e}); "
            "restore it from where the model came from"
        ) from e
    if not isinstance(cls, str):
        raise InputError(f"model folder {folder}: {MODEL_INDEX} has no pipeline class (_class_name)")
    return cls, components


def check_components(folder: Path, components: dict[str, tuple[str, str]]) -> None:
    """Every component folder present, every model's weights safetensors and readable; else one
    :class:`InputError` naming the missing, pickled or corrupt components."""
    from safetensors import SafetensorError, safe_open

    missing, pickled, corrupt = [], [], []
    for name, (_, cls) in sorted(components.items()):
        sub = folder / name
        if not sub.is_dir():
            missing.append(name)
            continue
        if any(word in cls for word in _NOT_MODELS):
            continue
        weights = sorted(sub.glob("*.safetensors"))
        if not weights:
            pickles = [p.name for p in sub.iterdir() if p.suffix in PICKLE_SUFFIXES]
            (pickled if pickles else missing).append(f"{name} ({', '.join(pickles)})" if pickles else name)
            continue
        if not (sub / "config.json").is_file():
            missing.append(f"{name}/config.json")
        for w in weights:
            try:
                with safe_open(w, "pt") as f:
                    f.keys()
            except (SafetensorError, OSError, ValueError) as e:
                corrupt.append(
                    f"{name}/{w.name} ({str(e).strip().splitlines()[0] if str(e).strip() else 'unreadable'})"
                )
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if pickled:
        problems.append(
            f"pickled weights only in {', '.join(pickled)} (vidfuse loads safetensors only: convert "
            "them, e.g. save_pretrained(..., safe_serialization=True) in a trusted environment)"
        )
    if corrupt:
        problems.append(f"corrupt {', '.join(corrupt)}")
    if problems:
        raise InputError(f"model folder {folder} is incomplete: {'; '.join(problems)}")


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """``auto``: bfloat16 on a GPU that has it (float16 on one that has not), float32 on a CPU."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, "auto"):
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if dtype not in DTYPES:
        raise InputError(f"dtype {dtype!r} is not one of auto, {', '.join(DTYPES)}")
    return DTYPES[dtype]


def load_diffusers_folder(
    folder: str | os.PathLike,
    *,
    device=None,
    dtype="auto",
    offload: str = "none",
    vae_tiling: bool = False,
    vae_slicing: bool = False,
) -> "DiffusersVideoPipeline":
    """Check and load a diffusers pipeline folder offline; see the module docstring."""
    folder = Path(folder)
    if offload not in OFFLOADS:
        raise InputError(f"offload {offload!r} is not one of {', '.join(OFFLOADS)}")
    device = check_device(device)
    if offload != "none" and device.type != "cuda":
        raise InputError(
            f"--offload {offload} moves weights between CPU and GPU memory; it needs a GPU device "
            f"(this one is {device.type}): use --offload none"
        )
    torch_dtype = resolve_dtype(dtype, device)
    cls_name, components = read_model_index(folder)
    if cls_name not in FAMILIES:
        raise InputError(
            f"model folder {folder} holds a {cls_name}, which vidfuse does not run; it runs "
            f"{', '.join(sorted(FAMILIES))}"
        )
    check_components(folder, components)
    diffusers = _import_diffusers()
    cls = getattr(diffusers, cls_name, None)
    if cls is None:
        raise MissingDependencyError(
            f"model folder {folder} needs diffusers' {cls_name}, which diffusers "
            f"{diffusers.__version__} lacks: .venv/bin/pip install -U diffusers"
        )
    from diffusers.utils import deprecation_utils  # diffusers that deprecate torch_dtype take dtype

    dtype_arg = "dtype" if hasattr(deprecation_utils, "_TORCH_DTYPE_DEPRECATION_MESSAGE") else "torch_dtype"
    try:
        with _quiet_loading():
            pipe = cls.from_pretrained(folder, local_files_only=True, use_safetensors=True, **{dtype_arg: torch_dtype})
    except (OSError, ValueError, RuntimeError, TypeError, KeyError, AttributeError, ImportError) as e:
        raise InputError(
            f"model folder {folder}: diffusers could not load the {cls_name} ({first_line(e)[:300]}); "
            "check that it is complete and made for this diffusers version"
        ) from e
    pipe.set_progress_bar_config(disable=True)
    place(pipe, device, offload)
    vae = getattr(pipe, "vae", None)
    if vae_tiling and hasattr(vae, "enable_tiling"):
        vae.enable_tiling()
    if vae_slicing and hasattr(vae, "enable_slicing"):
        vae.enable_slicing()
    return DiffusersVideoPipeline(pipe, folder, cls_name, device=device, dtype=torch_dtype)


def place(pipe, device: torch.device, offload: str) -> None:
    """Put a loaded pipeline's weights where ``offload`` says: all on ``device`` (none); in CPU memory, moved to
    ``device`` one component at a time (model, accelerate's hooks) or one layer at a time (sequential); or
    group offloading (group): diffusers' own hooks move each leaf layer to ``device`` just before it runs, its
    copy overlapped with the previous layer's compute on a CUDA stream, so it needs about as little GPU memory
    as sequential and runs close to model offload's speed."""
    if offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    elif offload == "group":
        if not hasattr(pipe, "enable_group_offload"):
            import diffusers

            raise MissingDependencyError(
                f"--offload group needs diffusers 0.33 or newer (this is "
                f"{diffusers.__version__}): .venv/bin/pip install -U diffusers"
            )
        pipe.enable_group_offload(
            onload_device=device,
            offload_device=torch.device("cpu"),
            offload_type="leaf_level",
            use_stream=device.type == "cuda",
        )
    else:
        pipe.to(device)


@contextlib.contextmanager
def _quiet_loading():
    """No loading bars or info-level chatter from diffusers/transformers while a folder loads; errors still raise."""
    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog

    levels = dlog.get_verbosity(), tlog.get_verbosity()
    dlog.set_verbosity_error()
    tlog.set_verbosity_error()
    dlog.disable_progress_bar()
    tlog.disable_progress_bar()
    try:
        yield
    finally:
        dlog.set_verbosity(levels[0])
        tlog.set_verbosity(levels[1])
        dlog.enable_progress_bar()
        tlog.enable_progress_bar()


def frames_parameter(params) -> str:
    """The name a pipeline's ``__call__`` gives its frame count: ``num_frames``, or ``frames`` (SANA-Video)."""
    return "frames" if "frames" in params and "num_frames" not in params else "num_frames"


def pipeline_size_step(family: Family, pipe) -> int:
    """What height and width must be multiples of for a loaded pipeline: the VAE's spatial factor times the
    transformer's patch (Wan 2.2 5B: 16 × 2 = 32, where Wan 2.1 is 8 × 2), at least the family's step."""
    patch = getattr(getattr(getattr(pipe, "transformer", None), "config", None), "patch_size", None)
    scale = getattr(pipe, "vae_scale_factor_spatial", None)
    if isinstance(patch, (list, tuple)) and patch and isinstance(scale, int):
        return max(family.size_step, scale * int(patch[-1]))
    return family.size_step


def native_shape(family: Family, params, transformer_config, vae_scale: int) -> tuple[int, int, int, int | None]:
    """``(height, width, frames, max_frames)`` a pipeline makes when not told: its ``__call__`` defaults
    (``params``: the signature's parameters), else its transformer's ``sample_*`` sizes (``transformer_config``,
    a mapping) times the VAE's spatial factor, else 480 × 832 × 49. ``max_frames`` is CogVideoX 1.0's
    ``sample_frames`` (its positions are fixed tables of that length; 1.5 uses rotary positions), else None."""
    h, w, t = (
        params[k].default if k in params and params[k].default is not inspect.Parameter.empty else None
        for k in ("height", "width", frames_parameter(params))
    )
    cfg = transformer_config or {}
    if h is None and cfg.get("sample_height"):
        h, w = cfg["sample_height"] * vae_scale, cfg["sample_width"] * vae_scale
    if t is None and cfg.get("sample_frames"):
        t = cfg["sample_frames"]
    max_frames = (
        cfg["sample_frames"]
        if family.name == "CogVideoX"
        and cfg.get("sample_frames")
        and not cfg.get("use_rotary_positional_embeddings", False)
        else None
    )
    return int(h or 480), int(w or 832), int(t or 49), max_frames


def describe_folder(folder: str | os.PathLike) -> dict:
    """What a diffusers pipeline folder is, read from its JSON files without loading any weights: pipeline
    class, family, tasks (``text→video``, ``image→video``), native height/width/frames, fps and the family's
    rounding steps. :class:`InputError` for a folder vidfuse cannot run."""
    folder = Path(folder)
    cls_name, _ = read_model_index(folder)
    if cls_name not in FAMILIES:
        raise InputError(f"model folder {folder} holds a {cls_name}, which vidfuse does not run")
    family = FAMILIES[cls_name]

    def config(name: str) -> dict:
        try:
            return json.loads((folder / name / "config.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return {}

    cls = getattr(_import_diffusers(), cls_name, None)
    params = inspect.signature(cls.__call__).parameters if cls is not None else {}
    vae = config("vae")
    scale = 2 ** (len(vae["block_out_channels"]) - 1) if isinstance(vae.get("block_out_channels"), list) else 8
    h, w, t, max_frames = native_shape(family, params, config("transformer"), scale)
    patch = config("transformer").get("patch_size")
    step = max(family.size_step, scale * int(patch[-1])) if isinstance(patch, list) and patch else family.size_step
    tasks = (
        ("image→video",)
        if "ImageToVideo" in cls_name
        else ("text→video", "image→video")
        if family.image_to_video
        else ("text→video",)
    )
    return {
        "pipeline_class": cls_name,
        "family": family.name,
        "tasks": tasks,
        "height": h,
        "width": w,
        "frames": t,
        "fps": family.fps,
        "max_frames": max_frames,
        "frame_step": family.frame_step,
        "size_step": step,
    }


def _resized(video: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, T, h, w, 3) → (B, T, height, width, 3), bilinear; unchanged when already that size."""
    b, t, h, w, _ = video.shape
    if (h, w) == (height, width):
        return video
    flat = video.reshape(b * t, h, w, 3).permute(0, 3, 1, 2)
    flat = torch.nn.functional.interpolate(flat, size=(height, width), mode="bilinear", align_corners=False)
    return flat.permute(0, 2, 3, 1).reshape(b, t, height, width, 3)


def _round_up(n: int, step: int) -> int:
    """The smallest step·k + 1 ≥ n."""
    return step * max(1, math.ceil((n - 1) / step)) + 1


def _round_size(n: int, step: int) -> int:
    return max(step, math.floor(n / step + 0.5) * step)  # halves round up


class DiffusersVideoPipeline:
    """A loaded diffusers video pipeline behind vidfuse's pipeline call (see the module docstring)."""

    is_diffusers = True
    trained_on = None  # open-domain: no vocabulary record, never warns about words
    long_clips = False  # a call makes a few seconds (its native frames); more costs memory and time

    @property
    def continues_from_last_frame(self) -> bool:
        """Whether ``image=`` can start a clip from another's last frame (an image-to-video pipeline or twin)."""
        return self.takes_image or self.family.image_to_video is not None

    def fits_prompt(self, text: str) -> bool:
        return True  # its own tokenizer truncates a long prompt

    def __init__(self, pipe, folder: Path, cls_name: str, *, device: torch.device, dtype: torch.dtype):
        self.pipe = pipe
        self.folder = folder
        self.pipeline_class = cls_name
        self.family = FAMILIES[cls_name]
        self.device, self.dtype = device, dtype
        self.takes_image = "ImageToVideo" in cls_name
        params = inspect.signature(type(pipe).__call__).parameters
        self._params = params
        self.default_steps = params["num_inference_steps"].default if "num_inference_steps" in params else 50
        self.default_guidance = params["guidance_scale"].default if "guidance_scale" in params else None
        cfg = getattr(getattr(pipe, "transformer", None), "config", None)
        h, w, t, self.max_frames = native_shape(self.family, params, cfg, getattr(pipe, "vae_scale_factor_spatial", 8))
        self.native_size = (h, w)
        self.num_frames = t
        self.fps = self.family.fps
        self.size_step = pipeline_size_step(self.family, pipe)

    def __repr__(self) -> str:
        return f"DiffusersVideoPipeline({self.pipeline_class} from {self.folder}, {self.device}, {self.dtype})"

    # the vocabulary interface of TextToVideoPipeline: an open-domain model knows no fixed word list
    def unknown_words(self, prompt: str) -> list[str]:
        return []

    def check_vocabulary(
        self, prompts: Sequence[str], *, strict: bool = False, stacklevel: int = 1, layered: bool = True
    ) -> list[str]:
        if strict:
            warnings.warn(StrictUncheckedWarning(STRICT_UNCHECKED), stacklevel=stacklevel + 2)
        return []

    def generation_shape(self, num_frames: int, height: int, width: int) -> tuple[int, int, int]:
        """The (frames, height, width) this family generates for a request (see the module docstring)."""
        fam = self.family
        frames = _round_up(num_frames, fam.frame_step)
        if self.max_frames is not None and frames > self.max_frames:
            raise InputError(
                f"{self.pipeline_class} makes at most {self.max_frames} frames (its position table); "
                f"asked for {num_frames}: ask for 1 to {self.max_frames}"
            )
        return frames, _round_size(height, self.size_step), _round_size(width, self.size_step)

    def _pipe_for_image(self):
        if self.takes_image:
            return self.pipe
        twin = self.family.image_to_video
        if twin is None:
            raise InputError(
                f"this {self.pipeline_class} folder makes video from text only; for --image use "
                f"a {self.family.name} image-to-video model folder"
            )
        if not hasattr(self, "_image_pipe"):
            self._image_pipe = getattr(_import_diffusers(), twin).from_pipe(self.pipe)
            self._image_pipe.set_progress_bar_config(disable=True)
        return self._image_pipe

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
        negative_prompt: str | None = None,
        num_inference_steps: int | None = None,
        fps: float | None = None,
        batch_size: int = 4,
        on_overflow: str = "error",
        strict: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Frames ``uint8 (B, T, H, W, 3)``; ``progress(step, total)`` is called after every denoising step of
        every batch (``total`` counts all of them). ``on_overflow`` and ``strict`` are accepted for the
        common call; the pipeline's own tokenizer truncates long prompts."""
        from vidfuse.inputs import check_options, check_prompt, image_to_tensor

        prompts = list(prompt) if isinstance(prompt, (list, tuple)) else [prompt]
        if not prompts:
            raise InputError("no prompt given")
        for i, p in enumerate(prompts):
            if not isinstance(p, str) or not p.strip():
                raise InputError(
                    f"the prompt{'' if len(prompts) == 1 else f' #{i}'} is empty: write what the video should show"
                )
            check_prompt(p, "the prompt" if len(prompts) == 1 else f"prompt #{i}")
        num_frames = self.num_frames if num_frames is None else num_frames
        height = self.native_size[0] if height is None else height
        width = self.native_size[1] if width is None else width
        check_options(num_frames=num_frames, seed=seed, guidance_scale=guidance_scale)
        for name, v in (("height", height), ("width", width)):
            if not isinstance(v, int) or isinstance(v, bool) or not 8 <= v <= 4096:
                raise InputError(f"{name}={v!r} is out of range; ask for 8 to 4096 pixels")
        steps = self.default_steps if num_inference_steps is None else num_inference_steps
        if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= 1000:
            raise InputError(f"steps={steps!r} is out of range; ask for 1 to 1000 denoising steps")
        if negative_prompt is not None and not isinstance(negative_prompt, str):
            raise InputError("negative_prompt must be a string")
        frames, gen_h, gen_w = self.generation_shape(num_frames, height, width)
        if self.takes_image and image is None:
            raise InputError(f"this {self.pipeline_class} makes video from a first frame: give an image (--image)")
        pipe = self._pipe_for_image() if image is not None else self.pipe
        params = inspect.signature(type(pipe).__call__).parameters
        if guidance_scale is not None and "guidance_scale" not in params:
            raise InputError(f"{type(pipe).__name__} takes no guidance scale; leave --guidance-scale out")
        kwargs: dict = {frames_parameter(params): frames, "num_inference_steps": steps, "output_type": "np"}
        kwargs.update({k: v for k, v in (("height", gen_h), ("width", gen_w)) if k in params})  # else: the image's
        if "guidance_scale" in params and (guidance_scale is not None or self.default_guidance is not None):
            kwargs["guidance_scale"] = float(guidance_scale if guidance_scale is not None else self.default_guidance)
        if "frame_rate" in params:
            kwargs["frame_rate"] = int(round(fps or self.fps))
        cfg = getattr(getattr(self.pipe, "transformer", None), "config", None)
        if self.family.name == "CogVideoX" and cfg is not None and getattr(cfg, "max_text_seq_length", None):
            kwargs["max_sequence_length"] = cfg.max_text_seq_length  # its positions cover this many tokens
        images = None
        if image is not None:
            from PIL import Image

            pics = list(image) if isinstance(image, (list, tuple)) else [image] * len(prompts)
            if len(pics) != len(prompts):
                raise InputError(
                    f"got {len(pics)} images for {len(prompts)} prompts; give one image, or one per prompt"
                )
            images = [
                Image.fromarray(
                    ((image_to_tensor(im, gen_h, gen_w).permute(1, 2, 0) + 1) * 127.5)
                    .round()
                    .clamp(0, 255)
                    .to(torch.uint8)
                    .numpy()
                )
                for im in pics
            ]
        gen = torch.Generator(device="cpu").manual_seed(int(seed) if seed is not None else torch.seed() % 2**63)
        chunks = [(i, prompts[i : i + batch_size]) for i in range(0, len(prompts), batch_size)]
        total, done = steps * len(chunks), [0]

        def on_step(_pipe, _i, _t, _kw):
            done[0] += 1
            if progress is not None:
                progress(min(done[0], total), total)
            return {}

        outs = []
        for start, chunk in chunks:
            call = dict(kwargs, prompt=chunk, generator=gen)
            if negative_prompt is not None and "negative_prompt" in params:
                call["negative_prompt"] = [negative_prompt] * len(chunk)
            if "callback_on_step_end" in params:
                call["callback_on_step_end"] = on_step
            if images is not None:
                call["image"] = images[start : start + len(chunk)] if len(chunk) > 1 else images[start]
            try:
                video = pipe(**call).frames
            except (TypeError, ValueError) as e:  # the pipeline's own checks: one line, not a traceback
                raise InputError(f"{type(pipe).__name__} refused the request: {str(e).strip().splitlines()[0]}") from e
            video = torch.as_tensor(np.asarray(video, dtype=np.float32))[:, :num_frames]  # (b, T, H, W, 3) in [0, 1]
            outs.append(_resized(video, height, width))  # from the size it made, which the pipeline may round
        video = torch.cat(outs)
        if video.shape[1:] != (num_frames, height, width, 3):
            raise InputError(
                f"{type(pipe).__name__} made {tuple(video.shape[1:4])} (frames, height, width) where "
                f"{(num_frames, height, width)} was asked; ask for at most {frames} frames"
            )
        return (video.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
