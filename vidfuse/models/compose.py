"""Stacking clips drawn separately into one scene: each subject of a prompt is drawn as its own clip by the
same model (:meth:`vidfuse.data.vocabulary.Vocabulary.subject_layers`), and the clips are laid over one another.

A layer's alpha is how far each pixel is from the layer's own background, the median colour of each of its
frames: ``alpha = clamp(max_c |x − bg_t| / SOFTNESS, 0, 1)``. Nothing here knows what is drawn: on the black of
Moving Digits a glyph's pixels are opaque and the rest clear; the same holds for any small subjects on a plain
ground (a subject covering more than half a frame would be taken for the background). Where two layers'
subjects would cross, :func:`least_overlap` picks, among candidate draws of a layer, the one that covers least
of what is already there (the judge reads two digits apart at 98.4% against
96.4% over all real level-2 clips; README "Two digits as layers").
"""

from __future__ import annotations

import torch

__all__ = ["SOFTNESS", "layer_alpha", "stack_layer", "least_overlap"]

SOFTNESS = 0.6  # in the [-1, 1] range of a video: a pixel 30% of full scale from the background is opaque


def layer_alpha(video: torch.Tensor) -> torch.Tensor:
    """``(B, 1, T, H, W)`` in [0, 1]: how much of each pixel of ``video`` ``(B, C, T, H, W)`` (in [-1, 1]) is
    the layer's subject rather than its background (each frame's per-channel median: a background that fades
    stays background). A subject covering more than half a frame would be taken for the background: this is
    for small subjects on a plain ground, as in Moving Digits."""
    b, c, t = video.shape[:3]
    background = video.reshape(b, c, t, -1).median(dim=-1).values.view(b, c, t, 1, 1)
    return ((video - background).abs().amax(dim=1, keepdim=True) / SOFTNESS).clamp(0, 1)


def stack_layer(below: torch.Tensor, layer: torch.Tensor) -> torch.Tensor:
    """``layer`` laid over ``below`` (both ``(B, C, T, H, W)`` in [-1, 1]) by :func:`layer_alpha`."""
    alpha = layer_alpha(layer)
    return alpha * layer + (1 - alpha) * below


def least_overlap(below: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """Of ``candidates`` ``(N, B, C, T, H, W)`` (N draws of a layer for each of B scenes), the draw per scene
    whose subject covers least of ``below``'s over the whole clip: ``(B, C, T, H, W)`` (the first on ties)."""
    there = layer_alpha(below)
    cover = torch.stack([(layer_alpha(c) * there).flatten(1).sum(1) for c in candidates])  # (N, B)
    pick = cover.argmin(dim=0)
    return candidates[pick, torch.arange(candidates.shape[1])]
