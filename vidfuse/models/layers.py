"""Building blocks shared by the encoders, the fusion Transformer and the generators.

Everything here is plain PyTorch: attention is ``F.scaled_dot_product_attention`` so that the
same code runs fused kernels on a GPU and bf16 matmuls on a CPU.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange


class Attention(nn.Module):
    """Multi-head attention: self-attention when ``context`` is None, cross-attention otherwise.

    ``forward(x, context=None, mask=None)``: x (B, N, D), context (B, M, D), mask (B, M) bool with
    True = attend. A row whose mask is all False would give NaNs; callers always keep one token.
    """

    def __init__(self, dim: int, heads: int, *, context_dim: int | None = None):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} must be divisible by heads {heads}")
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_kv = nn.Linear(context_dim or dim, 2 * dim, bias=False)
        self.to_out = nn.Linear(dim, dim)

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        context = x if context is None else context
        q = rearrange(self.to_q(x), "b n (h d) -> b h n d", h=self.heads)
        k, v = rearrange(self.to_kv(context), "b m (two h d) -> two b h m d", two=2, h=self.heads)
        attn_mask = None if mask is None else mask[:, None, None, :]  # (B, 1, 1, M)
        if x.device.type == "cpu" and q.shape[-2] * k.shape[-2] <= _CPU_MATH_ATTENTION_MAX:
            out = _math_attention(q, k, v, attn_mask)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)  # (B, h, N, d)
        return self.to_out(rearrange(out, "b h n d -> b n (h d)"))


# Below this many query × key pairs, attention on a CPU is computed as plain matmuls + softmax: PyTorch's
# fused CPU kernel is several times slower forward + backward at the short sequences of this project
# (docs/decisions/generators.md#cpu-attention), and the score matrix is small.
_CPU_MATH_ATTENTION_MAX = 1 << 16


def _math_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    scores = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5  # (B, h, N, M)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return scores.softmax(dim=-1) @ v


class FeedForward(nn.Sequential):
    def __init__(self, dim: int, mult: int = 4):
        super().__init__(nn.Linear(dim, dim * mult), nn.GELU(), nn.Linear(dim * mult, dim))


class TransformerBlock(nn.Module):
    """Pre-norm block: self-attention, optional cross-attention to a context, MLP."""

    def __init__(self, dim: int, heads: int, *, cross: bool = False, context_dim: int | None = None):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.cross = cross
        if cross:
            self.norm_x = nn.LayerNorm(dim)
            self.cross_attn = Attention(dim, heads, context_dim=context_dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(
        self,
        x: torch.Tensor,
        *,
        mask: torch.Tensor | None = None,
        context: torch.Tensor | None = None,
        context_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), mask=mask)
        if self.cross:
            x = x + self.cross_attn(self.norm_x(x), context, context_mask)
        return x + self.ff(self.norm2(x))


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(32, max(1, channels // 4)), channels)


class ResBlock2d(nn.Module):
    """Residual 3×3 conv block with GroupNorm; optional FiLM (scale, shift) from a conditioning vector."""

    def __init__(self, c_in: int, c_out: int, *, cond_dim: int | None = None):
        super().__init__()
        self.norm1 = group_norm(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm2 = group_norm(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.film = nn.Linear(cond_dim, 2 * c_out) if cond_dim else None
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (N, C_out, H, W)
        h = self.norm2(h)
        if self.film is not None and cond is not None:
            scale, shift = self.film(cond)[:, :, None, None].chunk(2, dim=1)
            h = h * (1 + scale) + shift
        h = self.conv2(F.silu(h))
        return self.skip(x) + h


class TemporalConv(nn.Module):
    """Residual depthwise-separable 1-D convolution over time at every pixel (factorised space/time).

    forward(x (B*T, C, H, W), T) -> same shape. Zero-initialised output so a new block starts as identity.
    """

    def __init__(self, channels: int, kernel: int = 3):
        super().__init__()
        self.norm = group_norm(channels)
        self.depthwise = nn.Conv1d(channels, channels, kernel, padding=kernel // 2, groups=channels)
        self.pointwise = nn.Conv1d(channels, channels, 1)
        nn.init.zeros_(self.pointwise.weight)
        nn.init.zeros_(self.pointwise.bias)

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        bt, c, h, w = x.shape
        y = rearrange(F.silu(self.norm(x)), "(b t) c h w -> (b h w) c t", t=num_frames)
        y = self.pointwise(F.silu(self.depthwise(y)))
        return x + rearrange(y, "(b h w) c t -> (b t) c h w", h=h, w=w)


def sinusoidal_positions(n: int, dim: int) -> torch.Tensor:
    """Fixed sinusoidal position table (n, dim); used where a sequence may grow beyond training length."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    freqs = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    table = torch.zeros(n, dim)
    table[:, 0::2] = torch.sin(pos * freqs)
    table[:, 1::2] = torch.cos(pos * freqs[: dim // 2])
    return table


def content_weight(frames: torch.Tensor, extra: float, threshold: float = 0.1) -> torch.Tensor:
    """Per-pixel loss weights (N, 1, H, W) with mean 1: ``1 + extra`` where a pixel differs from its frame's
    background (the per-channel median) by more than ``threshold`` in some channel, else 1.

    Used by the pixel reconstruction losses: the latent families' frame autoencoder and the VideoVAE.
    Why: on sparse scenes (a digit on black) the content is a few percent of the pixels, so a plain pixel
    loss is nearly all background and the reconstructions wash colours out
    (docs/decisions/generators.md#content-weighting). On a busy frame most pixels differ from the median
    and the weights are near uniform.
    """
    if not extra:
        return torch.ones_like(frames[:, :1])
    x = frames.float()
    background = x.flatten(2).median(dim=2).values[..., None, None]  # (N, C, 1, 1)
    content = ((x - background).abs().amax(dim=1, keepdim=True) > threshold).float()  # (N, 1, H, W)
    w = 1 + extra * content
    return w / w.mean()


def content_weighted_errors(
    pred: torch.Tensor, target: torch.Tensor, extra: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean :func:`content_weight`-ed absolute and squared errors of frames (N, C, H, W), in float32.

    The pixel reconstruction loss of the latent families' frame autoencoder and of the VideoVAE (``l1 + mse``);
    ``extra`` = 0 gives the plain means.
    """
    w = content_weight(target, extra)
    err = (pred.float() - target.float()).abs()
    return (err * w).mean(), (err.pow(2) * w).mean()


@contextlib.contextmanager
def frozen(params: Iterable[nn.Parameter]) -> Iterator[None]:
    """Inside the block the parameters get no gradient (a GAN's critic while the generator's loss flows through
    it); their ``requires_grad`` flags are restored after, also on an exception."""
    params = list(params)
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)
