"""Atomic file writes: a user's output or a checkpoint is either the old file or the new one, never half.

Every writer in vidfuse (videos, images, checkpoints, model folders, subtitles) goes through
:func:`atomic_path`: it hands out a temporary path in the destination's folder and renames it over
the destination only when the block finishes without an exception. A crash (even ``kill -9``)
leaves at most a stray ``*.tmp`` file beside the old output.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; on success fsync and rename it to ``dest``.

    ``suffix`` defaults to the destination's own suffix so that tools that pick a format by
    extension (PyAV, Pillow) see the right one, e.g. ``story.mp4`` → ``.story.XXXX.tmp.mp4``.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    suffix = dest.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=f".tmp{suffix}", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; outputs should read like any other file
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(dest: str | os.PathLike, data: bytes) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(dest: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(dest, text.encode("utf-8"))
