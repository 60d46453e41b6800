"""The clips the judge is measured and trained on: real test clips, and clips it must judge wrong."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vidfuse.errors import InputError
from vidfuse.evaluate.judge import JUDGE_FRAMES, JUDGE_SIZE


def real_test_clips(n: int, *, level: int = 1, seed: int = 0, lang: str = "both"):
    """``n`` real test clips (test glyphs, seen and held-out pairs): uint8 (n, T, H, W, 3), captions, attrs."""
    from vidfuse.data.moving_digits import MovingDigits

    ds = MovingDigits("test", level=level, lang=lang, size=n, seed=seed)
    clips, captions, attrs = zip(*(ds.clip(i) for i in range(n)))
    return np.stack(clips), list(captions), list(attrs)


def occluded(attrs: dict[str, Any], threshold: float = 0.5) -> bool:
    """Whether a level-2 clip's two 28×28 glyph boxes overlap by more than ``threshold`` of a box in
    *every* frame: then no frame shows both digits apart, and even a person may misread them."""
    pos = np.asarray(attrs["positions"], np.float32)  # (T, n, 2)
    if pos.shape[1] < 2:
        return False
    from vidfuse.data.moving_digits import GLYPH_SIZE

    gap = np.abs(pos[:, 0] - pos[:, 1])  # (T, 2)
    overlap = np.clip(GLYPH_SIZE - gap, 0, None).prod(-1) / GLYPH_SIZE**2  # (T,)
    return bool(overlap.min() > threshold)


def invalid_clips(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` clips uint8 ``(n, 16, 64, 64, 3)`` that show no digit: ``black``, ``noise`` (uniform),
    ``gauss`` (Gaussian noise of random mean and spread), ``blobs`` (smooth coloured noise) or ``plain``
    (one random colour). The judge learns these as "invalid"; frozen clips are :func:`freeze`."""
    shape = (n, JUDGE_FRAMES, JUDGE_SIZE, JUDGE_SIZE, 3)
    if kind == "black":
        return np.zeros(shape, np.uint8)
    if kind == "noise":
        return rng.integers(0, 256, shape, dtype=np.uint8)
    if kind == "gauss":
        mean, std = rng.uniform(0, 160, (n, 1, 1, 1, 1)), rng.uniform(5, 90, (n, 1, 1, 1, 1))
        return np.clip(rng.normal(mean, std, shape), 0, 255).astype(np.uint8)
    if kind == "plain":
        return np.broadcast_to(rng.integers(0, 256, (n, 1, 1, 1, 3), dtype=np.uint8), shape).copy()
    if kind == "blobs":
        cells = int(rng.choice([4, 8, 16]))
        steps = int(rng.choice([1, 4, 16]))  # 1: a still pattern; 16: a new pattern every frame
        low = torch.from_numpy(rng.random((n, 3, steps, cells, cells), dtype=np.float32))
        up = F.interpolate(low, size=shape[1:4], mode="trilinear", align_corners=False)
        up = up * torch.from_numpy(rng.uniform(0.3, 1.0, (n, 1, 1, 1, 1)).astype(np.float32))
        return (up.permute(0, 2, 3, 4, 1) * 255).round().clamp(0, 255).to(torch.uint8).numpy()
    raise InputError(f"unknown invalid-clip kind {kind!r}; one of black, noise, gauss, blobs, plain")


INVALID_KINDS = ("black", "noise", "gauss", "blobs", "plain")


def freeze(clips: np.ndarray) -> np.ndarray:
    """Clips ``(B, T, H, W, 3)`` whose every frame is their first: the judge must call the motion ``static``."""
    return np.repeat(clips[:, :1], clips.shape[1], axis=1)
