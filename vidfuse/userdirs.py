"""Where vidfuse keeps a user's own files and caches (never inside the package, which may be read-only)."""

from __future__ import annotations

import os
from pathlib import Path


def user_data_dir() -> Path:
    """``$VIDFUSE_HOME``, else ``$XDG_DATA_HOME/vidfuse``, else ``~/.local/share/vidfuse``."""
    if os.environ.get("VIDFUSE_HOME"):
        return Path(os.environ["VIDFUSE_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base).expanduser() / "vidfuse"


def user_cache_dir() -> Path:
    """``$VIDFUSE_HOME/cache``, else ``$XDG_CACHE_HOME/vidfuse``, else ``~/.cache/vidfuse``: results that can
    be recomputed (deleting the folder costs time, never work)."""
    if os.environ.get("VIDFUSE_HOME"):
        return Path(os.environ["VIDFUSE_HOME"]).expanduser() / "cache"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "vidfuse"


def models_dir(override: str | os.PathLike | None = None) -> Path:
    """The models folder, one model folder per sub-folder (its name is the model's name): ``override``
    (``--models-dir``), else ``$VIDFUSE_MODELS``, else :func:`user_cache_dir` ``/models``
    (``~/.cache/vidfuse/models``). It may not exist."""
    if override not in (None, ""):
        return Path(override).expanduser()
    if os.environ.get("VIDFUSE_MODELS"):
        return Path(os.environ["VIDFUSE_MODELS"]).expanduser()
    return user_cache_dir() / "models"


def check_models_dir(given: str | os.PathLike | None) -> None:
    """A ``--models-dir`` given by hand must be a folder: a typo would list the built-in model alone, silently.
    (Left out, the default folder may not exist yet.)"""
    if given is not None and not Path(given).expanduser().is_dir():
        from vidfuse.errors import InputError

        raise InputError(f"--models-dir {given} is not a folder; give the folder that holds your model folders")
