"""Y = LatentFlow(Z): a latent flow-matching video Transformer, the modern generator family.

Two parts, trained one after the other in one run (the two phases of
:class:`~vidfuse.models.latent.LatentGenerator`):

``ae``   a per-frame convolutional autoencoder, 64×64×3 ↔ 8×8×(c + 3): ``gen.latent_channels`` = c learned
         channels plus the 3 colour channels low-passed (8×8×11 by default, 17× fewer numbers), trained
         on frame reconstruction for the first ``gen.ae_steps`` steps and then frozen. Generating in its
         latent space is what makes training and sampling fast on a CPU: the Transformer sees 16 frames ×
         16 tokens instead of 16 × 4,096 pixels.
``main`` a rectified-flow Transformer over the clip's latents (Lipman et al. 2023, Liu et al. 2023):
         x_t = (1 − t)·ε + t·x₁ with x₁ the encoded clip; the network predicts the velocity x₁ − ε.
         Each block: spatial self-attention within a frame, temporal self-attention across frames at
         each position (factorised space/time, as in Latte / VDT), cross-attention to Z's tokens
         (the fused text and image), MLP; timestep and pooled Z modulate every block through
         adaLN-zero (DiT). Classifier-free guidance comes from the fusion's modality dropout.

Sampling integrates the ODE from noise to data with ``gen.sample_steps`` Euler steps (or ``steps``; the
shared :func:`~vidfuse.models.sampling.euler_flow`), then decodes each frame. Nothing here knows about
digits or trajectories: the same preset trains on any video.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from vidfuse.config import ModelConfig
from vidfuse.models.base import Condition, Noise
from vidfuse.models.latent import LatentGenerator, TimestepConditioned, modulate
from vidfuse.models.layers import Attention, FeedForward, sinusoidal_positions
from vidfuse.models.sampling import euler_flow


class FlowBlock(nn.Module):
    """adaLN-zero block: spatial attn, temporal attn, cross-attn to Z, MLP. x (B, T·S, W)."""

    def __init__(self, width: int, heads: int, cond_dim: int):
        super().__init__()
        self.norms = nn.ModuleList(nn.LayerNorm(width, elementwise_affine=False) for _ in range(3))
        self.spatial = Attention(width, heads)
        self.temporal = Attention(width, heads)
        self.cross_norm = nn.LayerNorm(width)
        self.cross = Attention(width, heads, context_dim=cond_dim)
        self.ff = FeedForward(width)
        self.ada = nn.Linear(width, 9 * width)
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor, cond: Condition, t: int, s: int) -> torch.Tensor:
        m = self.ada(F.silu(c)).chunk(9, dim=-1)  # 9 × (B, W)
        h = modulate(self.norms[0](x), m[0], m[1])
        h = self.spatial(rearrange(h, "b (t s) w -> (b t) s w", t=t))
        x = x + m[2][:, None] * rearrange(h, "(b t) s w -> b (t s) w", t=t)
        h = modulate(self.norms[1](x), m[3], m[4])
        h = self.temporal(rearrange(h, "b (t s) w -> (b s) t w", t=t))
        x = x + m[5][:, None] * rearrange(h, "(b s) t w -> b (t s) w", s=s)
        x = x + self.cross(self.cross_norm(x), cond.tokens, cond.mask)
        return x + m[8][:, None] * self.ff(modulate(self.norms[2](x), m[6], m[7]))


class FlowTransformer(TimestepConditioned):
    """Velocity network. forward(x (B, T, c, h, w), t (B,), cond) -> velocity, same shape as x.

    A token is a ``time_patch × patch × patch`` block of latents (2 × 2 × 2: 16 frames of 8×8 latents
    → 8 × 16 = 128 tokens), so attention and MLP costs halve with time_patch 2. An odd frame count is
    padded by repeating the last frame's latents and cropped after.
    """

    def __init__(
        self,
        *,
        latent_channels: int,
        latent_hw: tuple[int, int],
        patch: int,
        time_patch: int,
        width: int,
        depth: int,
        heads: int,
        cond_dim: int,
    ):
        super().__init__(width, cond_dim)
        self.patch, self.time_patch = patch, time_patch
        self.tokens_per_frame = (latent_hw[0] // patch) * (latent_hw[1] // patch)
        patch_dim = latent_channels * patch * patch * time_patch
        self.embed = nn.Linear(patch_dim, width)
        self.pos = nn.Parameter(torch.randn(self.tokens_per_frame, width) * 0.02)
        self.blocks = nn.ModuleList(FlowBlock(width, heads, cond_dim) for _ in range(depth))
        self.final_norm = nn.LayerNorm(width, elementwise_affine=False)
        self.final_ada = nn.Linear(width, 2 * width)
        self.out = nn.Linear(width, patch_dim)
        for layer in (self.final_ada, self.out):  # zero-init: the untrained network predicts zero velocity
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: Condition) -> torch.Tensor:
        b, frames, c, h, w = x.shape
        p, q = self.patch, self.time_patch
        pad = (-frames) % q
        if pad:
            x = torch.cat([x, x[:, -1:].expand(b, pad, c, h, w)], dim=1)
        n_t = x.shape[1] // q
        tokens = rearrange(x, "b (t q) c (h p1) (w p2) -> b (t h w) (c q p1 p2)", q=q, p1=p, p2=p)
        time_pos = sinusoidal_positions(n_t, self.width).to(x.device, x.dtype)  # (T/q, W)
        pos = (time_pos[:, None, :] + self.pos[None].to(x.dtype)).reshape(1, -1, self.width)
        tokens = self.embed(tokens) + pos  # (B, T·S, W)
        c_vec = self.conditioning_vector(t, cond.pooled, x.dtype)  # (B, W)
        for block in self.blocks:
            tokens = block(tokens, c_vec, cond, n_t, self.tokens_per_frame)
        shift, scale = self.final_ada(F.silu(c_vec)).chunk(2, dim=-1)
        out = self.out(modulate(self.final_norm(tokens), shift, scale))  # (B, T·S, c·q·p·p)
        out = rearrange(out, "b (t h w) (c q p1 p2) -> b (t q) c (h p1) (w p2)", t=n_t, h=h // p, q=q, p1=p, p2=p)
        return out[:, :frames]


class LatentFlow(LatentGenerator):
    """Latent rectified flow over every frame's latents (see the module docstring)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.transformer = FlowTransformer(**self.transformer_sizes(), time_patch=cfg.gen.flow_time_patch)

    def flow_loss(self, video: torch.Tensor, cond: Condition) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            x1 = self.encode(video).float()  # (B, T, c, h, w)
        x0 = torch.randn_like(x1)
        t = torch.sigmoid(torch.randn(x1.shape[0], device=x1.device))  # logit-normal: more weight mid-path (SD3)
        tt = t[:, None, None, None, None]
        xt = (1 - tt) * x0 + tt * x1
        v = self.transformer(xt, t, cond).float()
        fm = F.mse_loss(v, x1 - x0)
        return {"loss": fm, "flow_mse": fm.detach()}

    def noise_shapes(self, batch: int, num_frames: int) -> dict[str, tuple[int, ...]]:
        return {"latents": (batch, num_frames, self.latent_channels, *self.latent_hw)}

    def sample(
        self,
        cond: Condition,
        noise: Noise,
        *,
        num_frames: int,
        uncond: Condition | None,
        guidance_scale: float,
        steps: int | None,
    ) -> torch.Tensor:
        """Euler integration of dx/dt = v(x, t, Z) from noise (t = 0) to latents (t = 1), then per-frame decode."""

        def velocity(state, t, c, doubled):
            return (self.transformer(state[0], t, c),)

        (x,) = euler_flow(
            velocity,
            (noise["latents"],),
            cond=cond,
            uncond=uncond,
            guidance_scale=guidance_scale,
            steps=steps or self.cfg.gen.sample_steps,
        )
        return self.decode(x.to(cond.tokens.dtype)).float()
