"""The models folder: named model folders a user keeps in one place, listed and resolved by name.

The models folder (:func:`vidfuse.userdirs.models_dir`: ``--models-dir``, else ``$VIDFUSE_MODELS``, else
``~/.cache/vidfuse/models``) holds one model per sub-folder; the sub-folder's name is the model's name. A
sub-folder is a model when it is a vidfuse folder (``config.json`` + ``model.safetensors``) or a diffusers
pipeline folder (``model_index.json``); anything else in it is ignored. The built-in model is always there
too, as ``default``.

:func:`list_models` describes each from its JSON files alone (no weights are loaded): family, what it does
(text→video, image→video), native size and frames, size on disk. :func:`find_model` turns ``--model`` into
a folder: an existing path first, else a name in the models folder, else an :class:`InputError` listing the
names it knows.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vidfuse.errors import InputError
from vidfuse.userdirs import models_dir

BUILTIN = "default"
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # a model name: one folder name, no path


@dataclass
class ModelInfo:
    """One model as :func:`list_models` sees it (JSON-ready with :meth:`to_json`)."""

    name: str
    path: Path
    backend: str  # "vidfuse" (config.json + model.safetensors) or "diffusers" (model_index.json)
    family: str  # e.g. "anchor flow", "Wan"
    tasks: tuple[str, ...]  # "text→video", "image→video"
    height: int
    width: int
    frames: int
    fps: float
    size_bytes: int
    frame_step: int = 1  # frames are frame_step·k + 1 (1: any number)
    size_step: int = 1  # height and width are multiples of this
    max_frames: int | None = None  # the most frames the model makes (None: vidfuse's own limit)
    trained_on: str | None = None  # a vidfuse model's training captions; None: open-domain or unknown
    builtin: bool = False
    problem: str | None = None  # why it cannot be used (a broken config); None when it can
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        out = asdict(self)
        out["path"] = str(self.path)
        out["tasks"] = list(self.tasks)
        return out


def folder_size(folder: Path) -> int:
    """Bytes of every file under ``folder`` (links followed: a Hugging Face cache links its blobs)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += (Path(root) / name).stat().st_size
            except OSError:
                pass
    return total


def is_model(folder: Path) -> bool:
    from vidfuse.backends.diffusers import is_diffusers_folder
    from vidfuse.pipeline import is_model_folder

    return folder.is_dir() and (is_model_folder(folder) or is_diffusers_folder(folder))


def describe(folder: str | os.PathLike, name: str | None = None, *, builtin: bool = False) -> ModelInfo:
    """A :class:`ModelInfo` for a model folder, read from its JSON files; a folder whose files cannot be
    read gets ``problem`` set instead of raising."""
    from vidfuse.backends.diffusers import describe_folder, is_diffusers_folder

    folder = Path(folder)
    name = name or folder.name
    size = folder_size(folder)
    if is_diffusers_folder(folder):
        try:
            d = describe_folder(folder)
        except InputError as e:
            return ModelInfo(name, folder, "diffusers", "?", (), 0, 0, 0, 0.0, size, builtin=builtin, problem=str(e))
        return ModelInfo(
            name,
            folder,
            "diffusers",
            d["family"],
            d["tasks"],
            d["height"],
            d["width"],
            d["frames"],
            d["fps"],
            size,
            frame_step=d["frame_step"],
            size_step=d["size_step"],
            max_frames=d["max_frames"],
            builtin=builtin,
            extra={"pipeline_class": d["pipeline_class"]},
        )
    from vidfuse.config import ModelConfig
    from vidfuse.models.registry import supports_guidance
    from vidfuse.pipeline import CONFIG_NAME

    try:
        cfg = ModelConfig.from_dict(json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError, InputError) as e:
        return ModelInfo(
            name,
            folder,
            "vidfuse",
            "?",
            (),
            0,
            0,
            0,
            0.0,
            size,
            builtin=builtin,
            problem=f"{CONFIG_NAME} cannot be read: {e}",
        )
    trained_on = None
    from vidfuse.data.vocabulary import VOCABULARY_FILE  # (vidfuse.data.e5 would import torch for a name)

    # a from-scratch tokenizer, or a pretrained encoder's record of the words its video model was taught
    if cfg.text_encoder == "scratch" or (folder / VOCABULARY_FILE).is_file():
        from vidfuse.data.vocabulary import Vocabulary
        from vidfuse.pipeline import load_tokenizer

        try:
            vocab = Vocabulary.from_tokenizer(load_tokenizer(cfg, folder))
            trained_on = vocab.trained_on if vocab is not None else None
        except (InputError, OSError, ValueError, KeyError):
            trained_on = None
    return ModelInfo(
        name,
        folder,
        "vidfuse",
        f"vidfuse {cfg.generator}",
        ("text→video", "image→video"),
        cfg.height,
        cfg.width,
        cfg.num_frames,
        8.0,
        size,
        trained_on=trained_on,
        builtin=builtin,
        extra={"guidance": supports_guidance(cfg.generator)},
    )


def list_models(folder: str | os.PathLike | None = None) -> list[ModelInfo]:
    """The built-in model (``default``), then every model folder under the models folder (``folder``, else
    :func:`vidfuse.userdirs.models_dir`), by name. A models folder that does not exist holds no models."""
    from vidfuse.pipeline import default_model_dir, is_model_folder

    out = []
    builtin = default_model_dir()
    if is_model_folder(builtin):
        out.append(describe(builtin, BUILTIN, builtin=True))
    root = models_dir(folder)
    if root.is_dir():
        for sub in sorted(root.iterdir(), key=lambda p: p.name.lower()):
            if _NAME_RE.fullmatch(sub.name) and sub.name != BUILTIN and is_model(sub):
                out.append(describe(sub))
    return out


def model_names(folder: str | os.PathLike | None = None) -> list[str]:
    """The names :func:`find_model` resolves: ``default`` and the model folders under the models folder."""
    root = models_dir(folder)
    names = [BUILTIN]
    if root.is_dir():
        names += sorted(
            (p.name for p in root.iterdir() if _NAME_RE.fullmatch(p.name) and p.name != BUILTIN and is_model(p)),
            key=str.lower,
        )
    return names


def find_model(model: str | os.PathLike | None, folder: str | os.PathLike | None = None) -> Path | None:
    """The folder ``--model`` names: ``None``/``"default"`` → ``None`` (the default model); an existing
    folder → itself; else a model name in the models folder (``folder``, else
    :func:`vidfuse.userdirs.models_dir`); else :class:`InputError` listing the known names."""
    if model is None or str(model) == BUILTIN:
        return None
    path = Path(model).expanduser()
    if path.exists():
        return path
    text = str(model)
    if not _NAME_RE.fullmatch(text):
        return path  # a path, not a name: the loader says what is wrong with it
    root = models_dir(folder)
    if is_model(root / text):
        return root / text
    raise InputError(
        f"{text} is not a vidfuse model folder nor a model name in {root}; the models there: "
        f"{', '.join(model_names(folder))} (`vidfuse models` lists them; --model takes a name or "
        "a folder)"
    )


def format_size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover
