"""The frame contract of vidfuse, checked in one place: uint8 RGB arrays shaped ``(T, H, W, 3)``.

Shared by the codecs (:mod:`vidfuse.media.video_io`) and the contact sheet (:mod:`vidfuse.media.sheets`).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from vidfuse.errors import InputError

__all__ = ["check_frames", "even_indices", "is_int", "is_positive_number"]


def is_int(value: object) -> bool:
    """A whole number (any integer type, numpy's included), but not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_positive_number(value: object) -> bool:
    """A finite real number above 0 (any numeric type, numpy's included), but not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def check_frames(frames: object) -> np.ndarray:
    """``frames`` when it is a uint8 ``(T, H, W, 3)`` array with ``T, H, W >= 1``, else :class:`InputError`
    saying how to convert it."""
    if not isinstance(frames, np.ndarray):
        raise InputError(
            f"frames must be a numpy uint8 array shaped (T, H, W, 3), got {type(frames).__name__}; "
            "convert a torch tensor with `t.cpu().numpy()`."
        )
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise InputError(
            f"frames must be shaped (T, H, W, 3) RGB, got shape {frames.shape}; "
            "add a time axis with frames[None] for one image, drop alpha with frames[..., :3]."
        )
    if frames.dtype != np.uint8:
        raise InputError(
            f"frames must be uint8 in 0..255, got dtype {frames.dtype}; convert floats in [0, 1] "
            "with (frames.clip(0, 1) * 255).round().astype(np.uint8)."
        )
    if min(frames.shape[:3]) < 1:
        raise InputError(f"frames must hold at least one non-empty frame, got shape {frames.shape}.")
    return frames


def even_indices(total: int, count: int) -> list[int]:
    """``count`` frame indices spread evenly over ``range(total)``, ends included, repeats if short."""
    return np.linspace(0, total - 1, count).round().astype(int).tolist()
