"""Batching for every vidfuse dataset (Moving Digits, video folders, Kinetics, COCO).

Each dataset yields ``(video (C, T, H, W) float32 in [-1, 1], caption str, attributes dict)``;
:func:`collate` stacks the videos and keeps captions and attributes as lists, because captions
are tokenized by the model (its tokenizer or pretrained encoder) and attributes differ by source.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from vidfuse.errors import InputError

Sample = tuple[torch.Tensor, str, dict[str, Any]]


def collate(batch: Sequence[Sample]) -> tuple[torch.Tensor, list[str], list[dict[str, Any]]]:
    """``[(video, caption, attributes), ...]`` → ``(videos (B, C, T, H, W), captions, attributes)``.

    Usable as ``DataLoader(dataset, collate_fn=collate)``. All clips in a batch must share one
    shape; datasets guarantee it by resizing and sampling a fixed number of frames.
    """
    if not batch:
        raise InputError("cannot collate an empty batch")
    videos, captions, attributes = zip(*batch)
    shapes = {tuple(v.shape) for v in videos}
    if len(shapes) > 1:
        raise InputError(
            f"clips in one batch have different shapes {sorted(shapes)}: give the dataset a fixed "
            "num_frames and size so that every clip comes out the same"
        )
    return torch.stack(videos), list(captions), list(attributes)  # (B, C, T, H, W)
