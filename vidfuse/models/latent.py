"""What the latent families share: a per-frame autoencoder, normalised latents, and the timestep-conditioned
Transformer base of their velocity networks.

:class:`LatentGenerator` trains in two phases, one after the other: ``ae``, the per-frame autoencoder alone for
the first ``gen.ae_steps`` steps (then frozen), and ``main``, the family's flow on its frozen latents. A flow
trained on latents that still move wastes its steps, and an autoencoder step costs a fraction of a flow step
(docs/decisions/generators.md#autoencoder-first).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from vidfuse.config import ModelConfig
from vidfuse.models.base import Condition, VideoGenerator
from vidfuse.models.layers import ResBlock2d, content_weighted_errors, group_norm, sinusoidal_positions


class FrameAutoencoder(nn.Module):
    """Per-frame autoencoder. encode (N, C, H, W) in [-1, 1] → (N, c + C, H/2^k, W/2^k); decode back.

    A latent is ``c`` learned channels (tanh-bounded, so their scale cannot drift while the flow learns
    on them) plus the frame's ``C`` colour channels average-pooled to the latent grid — a fixed low-pass
    image. The decoder adds its output to that low-pass image upsampled, so it only learns detail. Why:
    colour is a small fraction of the pixel loss on sparse frames, and a purely learned latent learns
    shape long before colour (docs/decisions/generators.md#low-pass-colour-channels). The low-pass
    channels carry colour (and coarse position) from the first step, for any video.

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
        self.encoder = nn.Sequential(
            *enc, ResBlock2d(c_prev, c_prev), group_norm(c_prev), nn.SiLU(), nn.Conv2d(c_prev, latent_channels, 1)
        )
        dec = [nn.Conv2d(self.out_channels, c_prev, 3, padding=1), ResBlock2d(c_prev, c_prev)]
        for c in reversed(channels[:-1]):
            dec += [
                nn.Upsample(scale_factor=2.0, mode="nearest"),
                nn.Conv2d(c_prev, c, 3, padding=1),
                nn.SiLU(),
                nn.Conv2d(c, c, 3, padding=1),
                nn.SiLU(),
            ]
            c_prev = c
        dec += [nn.Conv2d(c_prev, in_channels * 4, 3, padding=1), nn.PixelShuffle(2)]
        self.decoder = nn.Sequential(*dec)

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        low = F.avg_pool2d(frames, self.down)
        return torch.cat([torch.tanh(self.encoder(frames)), low.to(frames.dtype)], dim=1)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Unbounded output: a tanh here saturates on the mostly-black frames of sparse scenes and the decoder
        stops learning (docs/decisions/generators.md#unbounded-autoencoder-output). Clamp for display."""
        low = F.interpolate(latents[:, -self.in_channels :], scale_factor=float(self.down), mode="nearest")
        return self.decoder(latents) + low


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: ``x · (1 + scale) + shift`` with per-sample (B, W) shift and scale over x (B, N, W)."""
    return x * (1 + scale[:, None]) + shift[:, None]


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


class LatentGenerator(VideoGenerator):
    """A generator in the latent space of a per-frame autoencoder (see the module docstring).

    Subclasses build ``self.transformer`` and implement the ``main`` phase's loss, ``noise_shapes`` and
    ``sample``; the autoencoder, the latent statistics and the phase schedule live here.
    """

    phases = ("ae", "main")
    cond_phase = "main"
    unconditional_phases = ("ae",)
    supports_guidance = True
    iterative = True
    phase_lr_fields = {"ae": "lr_ae"}
    no_ema_prefixes = ("autoencoder.",)  # the flow learns on the live encoder's latents; decode with the same

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        g = cfg.gen
        self.autoencoder = FrameAutoencoder(
            in_channels=cfg.channels, channels=g.ae_channels, latent_channels=g.latent_channels
        )
        down = self.autoencoder.down
        self.latent_hw = (cfg.height // down, cfg.width // down)
        self.latent_channels = self.autoencoder.out_channels
        # per-channel shift and scale that give the flow zero-mean, unit-variance latents (as Stable Diffusion's
        # scale factor, per channel), computed on the first flow step's batch and then fixed: raw latents sit
        # far from unit scale, which puts the whole picture in the last part of the path
        self.register_buffer("latent_shift", torch.zeros(self.latent_channels))
        self.register_buffer("latent_scale", torch.ones(self.latent_channels))
        self.register_buffer("latent_stats_set", torch.zeros((), dtype=torch.bool))

    def transformer_sizes(self) -> dict:
        """The velocity network's sizes every latent family shares: latent shape, patch, width, depth, heads, Z."""
        g = self.cfg.gen
        return dict(
            latent_channels=self.latent_channels,
            latent_hw=self.latent_hw,
            patch=g.flow_patch,
            width=g.flow_width,
            depth=g.flow_depth,
            heads=self.cfg.heads,
            cond_dim=self.cfg.dim,
        )

    @property
    def native_frames(self) -> int:
        return self.cfg.num_frames

    def active_phases(self, step: int) -> tuple[str, ...]:
        return ("ae",) if step < self.cfg.gen.ae_steps else ("main",)

    def phase_start(self, phase: str) -> int:
        return self.cfg.gen.ae_steps if phase == "main" else 0

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
        """Per-channel mean and std of a batch of latents (averaged over processes in distributed training)."""
        stats = torch.stack([z.mean(dim=(0, 1, 3, 4)), z.pow(2).mean(dim=(0, 1, 3, 4))])
        mean, sq = self.mean_across_processes(stats)
        self.latent_shift.copy_(mean)
        self.latent_scale.copy_((sq - mean**2).clamp_min(1e-6).sqrt())
        self.latent_stats_set.fill_(True)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """normalised latents (B, T, c, h, w) → video (B, C, T, H, W)."""
        b = latents.shape[0]
        shift, scale = self._bcast(self.latent_shift), self._bcast(self.latent_scale)
        latents = latents * scale.to(latents.dtype) + shift.to(latents.dtype)
        frames = self.autoencoder.decode(rearrange(latents, "b t c h w -> (b t) c h w")).clamp(-1, 1)
        return rearrange(frames, "(b t) c h w -> b c t h w", b=b)

    # ---- training --------------------------------------------------------------------------
    def loss(self, video: torch.Tensor, cond: Condition, *, phase: str) -> dict[str, torch.Tensor]:
        if phase == "ae":
            return self.autoencoder_loss(video)
        if phase == "main":
            return self.flow_loss(video, cond)
        raise ValueError(f"unknown phase {phase!r}; {type(self).__name__} phases are {self.phases}")

    def autoencoder_loss(self, video: torch.Tensor) -> dict[str, torch.Tensor]:
        b, _, t = video.shape[:3]
        k = min(t, 4)  # a few random frames per clip are plenty for a per-frame autoencoder
        idx = torch.rand(b, t).argsort(dim=1)[:, :k].to(video.device)  # (B, k)
        frames = rearrange(video, "b c t h w -> b t c h w")[torch.arange(b, device=video.device)[:, None], idx]
        frames = rearrange(frames, "b k c h w -> (b k) c h w")
        recon = self.autoencoder.decode(self.autoencoder.encode(frames))
        l1, mse = content_weighted_errors(recon, frames, self.cfg.gen.ae_content_weight)
        return {"loss": l1 + mse, "ae_l1": l1.detach(), "ae_mse": mse.detach()}

    def flow_loss(self, video: torch.Tensor, cond: Condition) -> dict[str, torch.Tensor]:
        raise NotImplementedError
