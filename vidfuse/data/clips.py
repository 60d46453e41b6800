"""The base of the real-data loaders (:mod:`vidfuse.data.folder`): an in-memory index of clips, the
read that skips an unreadable clip, and the checks every index gets (files present, inside the data folder).

Every dataset here yields the same triple as the built-in Moving Digits dataset::

    (video float32 (C, T, H, W) in [-1, 1], caption str, attributes dict)

so the training loop and :func:`vidfuse.data.collate.collate` treat them alike.

Robustness contract:

- The whole index is parsed when the dataset is built. A malformed row (missing column, bad
  JSON, empty caption) raises one :class:`InputError` naming the index file and line; files
  listed but absent on disk are found in the same pass and reported together (the first few,
  with their lines, and the total).
- At read time an unreadable clip (corrupt or truncated file) is skipped: a warning with its
  path goes to the ``"vidfuse.data"`` logger, the path is added to ``skipped_paths`` (the count is
  ``skipped``) and the next readable clip is returned instead, wrapping around, so an epoch is
  never cut short. Only when no clip at all can be read is :class:`InputError` raised. The
  record is per process: with ``DataLoader(num_workers>0)`` each worker keeps its own.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidfuse.data.augment import hflip_clip
from vidfuse.errors import InputError
from vidfuse.media.video_io import read_video

__all__ = [
    "ClipDataset",
    "Entry",
    "VideoClipDataset",
    "check_files",
    "check_inside",
    "missing_error",
    "positive_int",
    "resolve_path",
    "size_hw",
]

log = logging.getLogger("vidfuse.data")

MAX_LISTED_MISSING = 5  # missing files named in the error; the rest are counted


@dataclass(frozen=True)
class Entry:
    """One clip of an index: where it is, what it shows, and where it was listed."""

    path: Path
    caption: str
    where: str  # where the index lists it: "line 12" (CSV/JSONL) or "annotations[3]" (COCO)
    attributes: dict[str, Any] = field(default_factory=dict)


def resolve_path(path: str, base: Path) -> Path:
    """An index's file name as a path: ``~`` expanded, a relative one joined to ``base``."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else base / p


def positive_int(value: int, name: str) -> int:
    """``value`` when it is an int >= 1 (not a bool), else :class:`InputError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return value


def size_hw(size: int | tuple[int, int]) -> tuple[int, int]:
    """``S`` or ``(H, W)`` → ``(H, W)``, checked at construction so that no read fails on it."""
    hw = (size, size) if isinstance(size, int) else size
    if not isinstance(hw, (tuple, list)) or len(hw) != 2:
        raise InputError(f"size must be an int or (height, width), got {size!r}")
    return positive_int(hw[0], "size"), positive_int(hw[1], "size")


def _is_outside(path: Path, folder: Path) -> bool:
    """True when ``path``, symlinks resolved, is not inside ``folder`` (symlinks resolved too)."""
    real, root = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([real, root]) != root


def check_inside(index: Path, entries: list[Entry], folder: Path, allow: bool) -> None:
    """Refuse entries whose file lies outside the data folder ``folder`` (unless ``allow``): a caption index
    must not make training read whatever file it names."""
    if allow:
        return
    outside = [(e.where, str(e.path)) for e in entries if _is_outside(e.path, folder)]
    if outside:
        shown = "; ".join(f"{where}: {what}" for where, what in outside[:MAX_LISTED_MISSING])
        more = f" (and {len(outside) - MAX_LISTED_MISSING} more)" if len(outside) > MAX_LISTED_MISSING else ""
        raise InputError(
            f"{index}: {len(outside)} of the {len(entries)} files it lists are outside the data folder {folder} "
            f"(absolute paths, ../ or symlinks leading out): {shown}{more}. Move them into the folder, or pass "
            "--allow-outside-paths (allow_outside_paths=True) to read them."
        )


def missing_error(index: Path, missing: list[tuple[str, str]], total: int, hint: str) -> InputError:
    """``missing``: ``(where, file)`` pairs, in index order."""
    shown = "; ".join(f"{where}: {what}" for where, what in missing[:MAX_LISTED_MISSING])
    more = f" (and {len(missing) - MAX_LISTED_MISSING} more)" if len(missing) > MAX_LISTED_MISSING else ""
    return InputError(
        f"{index}: {len(missing)} of the {total} files it lists are missing: {shown}{more}. "
        f"{hint} Download them, fix the paths, or remove those entries."
    )


class ClipDataset(torch.utils.data.Dataset):
    """Base of the loaders: an in-memory index of :class:`Entry` and the skip-on-error read.

    Subclasses check their options by calling ``super().__init__`` first (so a bad option fails
    before a long index is read), then parse their index and hand it to :meth:`_set_entries`,
    and implement :meth:`load` → uint8 ``(T, H, W, 3)``, raising :class:`InputError` for a clip
    that cannot be read.
    """

    def __init__(self, index: Path, *, hflip_p: float = 0.0, allow_outside_paths: bool = False) -> None:
        if isinstance(hflip_p, bool) or not isinstance(hflip_p, (int, float)) or not 0.0 <= hflip_p <= 1.0:
            raise InputError(f"hflip_p is a probability in [0, 1], got {hflip_p!r}")
        if not isinstance(allow_outside_paths, bool):
            raise InputError(f"allow_outside_paths must be True or False, got {allow_outside_paths!r}")
        self.index = index
        self.hflip_p = float(hflip_p)
        self.allow_outside_paths = allow_outside_paths
        self.entries: list[Entry] = []
        self.skipped_paths: list[str] = []  # unreadable clips met so far, in order
        self._bad: set[int] = set()  # indices of those clips, not tried again

    def _set_entries(self, entries: list[Entry]) -> None:
        if not entries:
            raise InputError(f"{self.index} lists no clips: add rows, or check the split you passed")
        self.entries = entries

    @property
    def skipped(self) -> int:
        """How many unreadable clips were skipped (in this process)."""
        return len(self.skipped_paths)

    def __len__(self) -> int:
        return len(self.entries)

    def load(self, entry: Entry) -> np.ndarray:
        """Decode one clip to uint8 ``(T, H, W, 3)``."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str, dict[str, Any]]:
        n = len(self.entries)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for a dataset of {n} clips")
        for k in range(n):
            i = (index + k) % n
            if i in self._bad:
                continue
            entry = self.entries[i]
            try:
                frames = self.load(entry)  # (T, H, W, 3) uint8
            except InputError as e:
                self._bad.add(i)
                self.skipped_paths.append(str(entry.path))
                log.warning(
                    "skipping unreadable clip %s (listed in %s, %s): %s", entry.path, self.index, entry.where, e
                )
                continue
            return self._sample(frames, entry)
        raise InputError(
            f"none of the {n} clips listed in {self.index} could be read (see the warnings of the "
            "'vidfuse.data' logger): check that the files are complete videos/images"
        )

    def _sample(self, frames: np.ndarray, entry: Entry) -> tuple[torch.Tensor, str, dict[str, Any]]:
        video = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2)  # (C, T, H, W) uint8
        video = video.float().div_(127.5).sub_(1.0)  # [-1, 1]
        caption = entry.caption
        # torch's generator, so DataLoader seeds each worker differently and reproducibly.
        flip = self.hflip_p > 0 and torch.rand(()).item() < self.hflip_p
        if flip:
            video, caption = hflip_clip(video, caption)
        return video, caption, {**entry.attributes, "path": str(entry.path), "hflip": flip}


class VideoClipDataset(ClipDataset):
    """A :class:`ClipDataset` whose clips are video files read by ``read_video``.

    Without ``fps``, ``num_frames`` frames are spread evenly over the whole clip (a short clip
    repeats frames). With ``fps``, the clip is resampled to that rate and a window of
    ``num_frames`` consecutive frames starts at a random frame (torch's generator); a clip
    shorter than the window holds its last frame to fill it.
    """

    def __init__(
        self,
        index: Path,
        *,
        num_frames: int,
        size: int | tuple[int, int],
        fps: float | None,
        hflip_p: float,
        allow_outside_paths: bool = False,
    ) -> None:
        super().__init__(index, hflip_p=hflip_p, allow_outside_paths=allow_outside_paths)
        self.num_frames = positive_int(num_frames, "num_frames")
        self.size = size_hw(size)
        if fps is not None and (isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0):
            raise InputError(f"fps must be a positive number or None, got {fps!r}")
        self.fps = fps

    def load(self, entry: Entry) -> np.ndarray:
        if self.fps is None:
            return read_video(entry.path, num_frames=self.num_frames, size=self.size, crop="center")
        frames = read_video(entry.path, fps=self.fps, size=self.size, crop="center")  # (T', H, W, 3)
        spare = len(frames) - self.num_frames
        if spare < 0:
            return np.concatenate([frames, np.repeat(frames[-1:], -spare, axis=0)])
        start = int(torch.randint(spare + 1, ())) if spare else 0
        return frames[start : start + self.num_frames]  # (T, H, W, 3)


def check_files(index: Path, entries: list[Entry], hint: str) -> None:
    missing = [(e.where, str(e.path)) for e in entries if not e.path.is_file()]
    if missing:
        raise missing_error(index, missing, len(entries), hint)
