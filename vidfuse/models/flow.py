"""Y = LatentFlow(Z): a latent flow-matching video Transformer, the modern generator family.

Two parts, trained in one run by two phases of the same step:

``ae``   a per-frame convolutional autoencoder, 64×64×3 ↔ 8×8×c (48× fewer numbers), trained on
         frame reconstruction for the first ``ae_steps`` steps and then frozen. Generating in its
         latent space is what makes training and sampling fast on a CPU: the Transformer sees
         16 frames × 16 tokens instead of 16 × 4,096 pixels.
``main`` a rectified-flow Transformer over the clip's latents (Lipman et al. 2023, Liu et al. 2023):
         x_t = (1 − t)·ε + t·x₁ with x₁ the encoded clip; the network predicts the velocity x₁ − ε.
         Each block: spatial self-attention within a frame, temporal self-attention across frames at
         each position (factorised space/time, as in Latte / VDT), cross-attention to Z's tokens
         (the fused text and image), MLP; timestep and pooled Z modulate every block through
         adaLN-zero (DiT). Classifier-free guidance comes from the fusion's modality dropout.

Sampling integrates the ODE from noise to data with ``sample_steps`` Euler steps, then decodes
each frame. Nothing here knows about digits or trajectories: the same preset trains on any video.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from vidfuse.config import ModelConfig
from vidfuse.models.base import Condition, VideoGenerator
from vidfuse.models.layers import (Attention, FeedForward, ResBlock2d, content_weighted_errors, group_norm,
                                   sinusoidal_positions)


class FrameAutoencoder(nn.Module):
    """Per-frame autoencoder. encode (N, C, H, W) in [-1, 1] → (N, c + C, H/2^k, W/2^k); decode back.

    A latent is ``c`` learned channels (tanh-bounded, so their scale cannot drift while the flow learns
    on them) plus the frame's ``C`` colour channels average-pooled to the latent grid — a fixed low-pass
    image. The decoder adds its output to that low-pass image upsampled, so it only learns detail. Why:
    a purely learned 8-channel latent learned shape within a few hundred steps but still drew every
    digit grey after 800 (measured): colour is a small fraction of the pixel loss on sparse frames.
    The low-pass channels carry colour (and coarse position) from the first step, for any video.

    The last upsampling is a sub-pixel convolution (PixelShuffle): full-resolution convolutions are the
    most expensive part of a decoder on a CPU, and frames here need no full-resolution processing.
    """

    def __init__(self, *, in_channels: int, channels: tuple[int, ...], latent_channels: int):
        super().__init__()
        self.down, self.in_channels = 2 ** len(channels), in_channels
        self.out_channels = latent_channels + in_channels
        enc, c_prev = [nn.Conv2d(in_channels, channels[0], 3, padding=1)], channels[0]
        for c in channels:
            enc += [nn.SiLU(), nn.Conv2d(c_prev, c, 4, stride=2, padding=1)]
            c_prev = c
        self.encoder = nn.Sequential(*enc, ResBlock2d(c_prev, c_prev), group_norm(c_prev), nn.SiLU(),
                                     nn.Conv2d(c_prev, latent_channels, 1))
        dec = [nn.Conv2d(self.out_channels, c_prev, 3, padding=1), ResBlock2d(c_prev, c_prev)]
        for c in reversed(channels[:-1]):
            dec += [nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(c_prev, c, 3, padding=1), nn.SiLU(),
                    nn.Conv2d(c, c, 3, padding=1), nn.SiLU()]
            c_prev = c
        dec += [nn.Conv2d(c_prev, in_channels * 4, 3, padding=1), nn.PixelShuffle(2)]
        self.decoder = nn.Sequential(*dec)

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        low = F.avg_pool2d(frames, self.down)
        return torch.cat([torch.tanh(self.encoder(frames)), low.to(frames.dtype)], dim=1)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Unbounded output: a tanh here saturates on the mostly-black frames of sparse scenes (pre-activations
        drift to −25 within a few hundred steps and the decoder stops learning: measured). Clamp for display."""
        low = F.interpolate(latents[:, -self.in_channels:], scale_factor=float(self.down), mode="nearest")
        return self.decoder(latents) + low


def _modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale[:, None]) + shift[:, None]


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
        m = self.ada(F.silu(c)).chunk(9, dim=-1)                                          # 9 × (B, W)
        h = _modulate(self.norms[0](x), m[0], m[1])
        h = self.spatial(rearrange(h, "b (t s) w -> (b t) s w", t=t))
        x = x + m[2][:, None] * rearrange(h, "(b t) s w -> b (t s) w", t=t)
        h = _modulate(self.norms[1](x), m[3], m[4])
        h = self.temporal(rearrange(h, "b (t s) w -> (b s) t w", t=t))
        x = x + m[5][:, None] * rearrange(h, "(b s) t w -> b (t s) w", s=s)
        x = x + self.cross(self.cross_norm(x), cond.tokens, cond.mask)
        return x + m[8][:, None] * self.ff(_modulate(self.norms[2](x), m[6], m[7]))


class TimestepConditioned(nn.Module):
    """Base of the flow Transformers: the vector that modulates every block, from the timestep and pooled Z."""

    def __init__(self, width: int, cond_dim: int):
        super().__init__()
        self.width = width
        # timestep table, built once (not saved: it is a pure function of the width)
        self.register_buffer("time_table", sinusoidal_positions(1000, width), persistent=False)
        self.time_mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        self.cond_mlp = nn.Sequential(nn.Linear(cond_dim, width), nn.SiLU(), nn.Linear(width, width))

    def conditioning_vector(self, t: torch.Tensor, pooled: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """t (B,) in [0, 1], pooled Z (B, D) → (B, width)."""
        t_idx = (t.float().clamp(0, 1) * 999).round().long()
        return self.time_mlp(self.time_table[t_idx].to(dtype)) + self.cond_mlp(pooled)


class FlowTransformer(TimestepConditioned):
    """Velocity network. forward(x (B, T, c, h, w), t (B,), cond) -> velocity, same shape as x.

    A token is a ``time_patch × patch × patch`` block of latents (2 × 2 × 2: 16 frames of 8×8 latents
    → 8 × 16 = 128 tokens), so attention and MLP costs halve with time_patch 2. An odd frame count is
    padded by repeating the last frame's latents and cropped after.
    """

    def __init__(self, *, latent_channels: int, latent_hw: tuple[int, int], patch: int, time_patch: int,
                 width: int, depth: int, heads: int, cond_dim: int):
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
        time_pos = sinusoidal_positions(n_t, self.width).to(x.device, x.dtype)           # (T/q, W)
        pos = (time_pos[:, None, :] + self.pos[None].to(x.dtype)).reshape(1, -1, self.width)
        tokens = self.embed(tokens) + pos                                                   # (B, T·S, W)
        c_vec = self.conditioning_vector(t, cond.pooled, x.dtype)                          # (B, W)
        for block in self.blocks:
            tokens = block(tokens, c_vec, cond, n_t, self.tokens_per_frame)
        shift, scale = self.final_ada(F.silu(c_vec)).chunk(2, dim=-1)
        out = self.out(_modulate(self.final_norm(tokens), shift, scale))                    # (B, T·S, c·q·p·p)
        out = rearrange(out, "b (t h w) (c q p1 p2) -> b (t q) c (h p1) (w p2)", t=n_t, h=h // p, q=q, p1=p, p2=p)
        return out[:, :frames]


class LatentFlow(VideoGenerator):
    """Latent rectified flow behind the generator interface (see the module docstring)."""

    phases = ("ae", "main")
    cond_phase = "main"
    unconditional_phases = ("ae",)
    supports_guidance = True
    phase_lr_fields = {"ae": "lr_ae"}
    no_ema_prefixes = ("autoencoder.",)  # the flow learns on the live encoder's latents; decode with the same

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.autoencoder = FrameAutoencoder(in_channels=cfg.channels, channels=cfg.ae_channels,
                                            latent_channels=cfg.latent_channels)
        down = self.autoencoder.down
        self.latent_hw = (cfg.height // down, cfg.width // down)
        self.latent_channels = self.autoencoder.out_channels
        # per-channel shift and scale that give the flow zero-mean, unit-variance latents (as Stable Diffusion's
        # scale factor, per channel): measured on the first flow step's batch, then fixed. Raw latents had
        # stds of 0.14-0.36 and means up to ±0.8, which puts the whole picture in the last 20% of the path.
        self.register_buffer("latent_shift", torch.zeros(self.latent_channels))
        self.register_buffer("latent_scale", torch.ones(self.latent_channels))
        self.register_buffer("latent_stats_set", torch.zeros((), dtype=torch.bool))
        self.transformer = self.build_transformer(cfg)

    def build_transformer(self, cfg: ModelConfig) -> nn.Module:
        return FlowTransformer(latent_channels=self.latent_channels, latent_hw=self.latent_hw,
                               patch=cfg.flow_patch, time_patch=cfg.flow_time_patch, width=cfg.flow_width,
                               depth=cfg.flow_depth, heads=cfg.heads, cond_dim=cfg.dim)

    @property
    def native_frames(self) -> int:
        return self.cfg.num_frames

    def active_phases(self, step: int) -> tuple[str, ...]:
        # the autoencoder alone first (≈ 10× cheaper a step), then the flow on its frozen latents: a flow
        # trained on latents that still move wastes its steps
        return ("ae",) if step < self.cfg.ae_steps else ("main",)

    def phase_start(self, phase: str) -> int:
        return self.cfg.ae_steps if phase == "main" else 0

    def phase_parameters(self, phase: str) -> list[nn.Parameter]:
        module = self.autoencoder if phase == "ae" else self.transformer
        return [p for p in module.parameters() if p.requires_grad]

    # ---- latents ---------------------------------------------------------------------------
    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) → normalised latents (B, T, c, h, w)."""
        b = video.shape[0]
        z = self.autoencoder.encode(rearrange(video, "b c t h w -> (b t) c h w"))
        z = rearrange(z, "(b t) c h w -> b t c h w", b=b)
        if not bool(self.latent_stats_set):
            self._set_latent_stats(z.float())
        return (z - self._bcast(self.latent_shift)) / self._bcast(self.latent_scale)

    @staticmethod
    def _bcast(v: torch.Tensor) -> torch.Tensor:
        return v[None, None, :, None, None]

    @torch.no_grad()
    def _set_latent_stats(self, z: torch.Tensor) -> None:
        """Per-channel mean and std of a batch of latents (averaged over processes under DDP)."""
        stats = torch.stack([z.mean(dim=(0, 1, 3, 4)), z.pow(2).mean(dim=(0, 1, 3, 4))])
        mean, sq = self.mean_across_processes(stats)
        self.latent_shift.copy_(mean)
        self.latent_scale.copy_((sq - mean ** 2).clamp_min(1e-6).sqrt())
        self.latent_stats_set.fill_(True)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """normalised latents (B, T, c, h, w) → video (B, C, T, H, W)."""
        b = latents.shape[0]
        latents = latents * self._bcast(self.latent_scale).to(latents.dtype) + self._bcast(self.latent_shift).to(latents.dtype)
        frames = self.autoencoder.decode(rearrange(latents, "b t c h w -> (b t) c h w")).clamp(-1, 1)
        return rearrange(frames, "(b t) c h w -> b c t h w", b=b)

    # ---- training --------------------------------------------------------------------------
    def loss(self, video: torch.Tensor, cond: Condition, *, phase: str) -> dict[str, torch.Tensor]:
        if phase == "ae":
            b, _, t = video.shape[:3]
            k = min(t, 4)  # a few random frames per clip are plenty for a per-frame autoencoder
            idx = torch.rand(b, t).argsort(dim=1)[:, :k].to(video.device)                  # (B, k)
            frames = rearrange(video, "b c t h w -> b t c h w")[torch.arange(b, device=video.device)[:, None], idx]
            frames = rearrange(frames, "b k c h w -> (b k) c h w")
            recon = self.autoencoder.decode(self.autoencoder.encode(frames))
            l1, mse = content_weighted_errors(recon, frames, self.cfg.ae_content_weight)
            return {"loss": l1 + mse, "ae_l1": l1.detach(), "ae_mse": mse.detach()}
        with torch.no_grad():
            x1 = self.encode(video).float()                                                 # (B, T, c, h, w)
        x0 = torch.randn_like(x1)
        t = torch.sigmoid(torch.randn(x1.shape[0], device=x1.device))  # logit-normal: more weight mid-path (SD3)
        tt = t[:, None, None, None, None]
        xt = (1 - tt) * x0 + tt * x1
        v = self.transformer(xt, t, cond).float()
        fm = F.mse_loss(v, x1 - x0)
        return {"loss": fm, "flow_mse": fm.detach()}

    # ---- sampling --------------------------------------------------------------------------
    def sample_noise(self, batch: int, num_frames: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(batch, num_frames, self.latent_channels, *self.latent_hw, generator=generator)

    def generate(self, cond: Condition, noise: torch.Tensor | None = None, *, num_frames: int | None = None,
                 generator: torch.Generator | None = None, uncond: Condition | None = None,
                 guidance_scale: float = 1.0, steps: int | None = None) -> torch.Tensor:
        """Euler integration of dx/dt = v(x, t, Z) from noise (t = 0) to latents (t = 1), then per-frame decode.

        With ``uncond`` and ``guidance_scale`` s ≠ 1: v = v_u + s·(v_c − v_u) (classifier-free guidance),
        both branches in one batched call.
        """
        b = cond.batch_size
        num_frames = num_frames or self.cfg.num_frames
        x = noise if noise is not None else self.sample_noise(b, num_frames, generator)
        x = x.to(cond.tokens.device)
        guided = uncond is not None and guidance_scale != 1.0
        both = _cat_conditions(cond, uncond) if guided else cond
        steps = steps or self.cfg.sample_steps
        for i in range(steps):
            t = torch.full((b,), i / steps, device=x.device)
            if guided:
                v_c, v_u = self.transformer(torch.cat([x, x]), torch.cat([t, t]), both).float().chunk(2)
                v = v_u + guidance_scale * (v_c - v_u)
            else:
                v = self.transformer(x, t, cond).float()
            x = x + v / steps
        return self.decode(x.to(cond.tokens.dtype)).float()


def _cat_conditions(a: Condition, b: Condition) -> Condition:
    """Stack two conditions along the batch, padding the token axis (masked) to the longer one."""
    n = max(a.tokens.shape[1], b.tokens.shape[1])

    def pad(c: Condition) -> tuple[torch.Tensor, torch.Tensor]:
        extra = n - c.tokens.shape[1]
        return F.pad(c.tokens, (0, 0, 0, extra)), F.pad(c.mask, (0, extra), value=False)

    (ta, ma), (tb, mb) = pad(a), pad(b)
    both = Condition(torch.cat([ta, tb]), torch.cat([ma, mb]), torch.cat([a.pooled, b.pooled]))
    if a.image is not None and b.image is not None:
        both.image, both.has_image = torch.cat([a.image, b.image]), torch.cat([a.has_image, b.has_image])
    return both
