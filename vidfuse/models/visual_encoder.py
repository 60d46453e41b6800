"""V = CNN(I): a ResNet-style visual encoder turning an image (or a clip's first frame) into visual tokens."""

from __future__ import annotations

import torch
import torch.nn as nn
from einops import rearrange

from vidfuse.models.layers import ResBlock2d, group_norm


class VisualEncoder(nn.Module):
    """Residual stages with GroupNorm, each halving the size; tokens = the last feature map's pixels.

    forward(image (B, C, H, W) in [-1, 1]) -> tokens (B, N, D) with N = (H / 2^stages) · (W / 2^stages).
    For 64×64 input and three stages: 8×8 = 64 tokens.
    """

    def __init__(self, *, in_channels: int, channels: tuple[int, ...], dim: int, height: int, width: int):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, channels[0], 3, padding=1)
        stages, c_prev = [], channels[0]
        for c in channels:
            stages += [ResBlock2d(c_prev, c), nn.Conv2d(c, c, 4, stride=2, padding=1)]  # residual, then /2
            c_prev = c
        self.stages = nn.Sequential(*stages)
        self.norm = group_norm(c_prev)
        self.proj = nn.Linear(c_prev, dim)
        n = (height // 2 ** len(channels)) * (width // 2 ** len(channels))
        self.pos = nn.Parameter(torch.randn(n, dim) * 0.02)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.stages(self.stem(image)))  # (B, C, h, w)
        return self.proj(rearrange(x, "b c h w -> b (h w) c")) + self.pos
