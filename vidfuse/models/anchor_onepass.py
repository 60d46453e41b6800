"""What the one-pass anchor families (``anchor-gan``, ``anchor-vae``) share: the anchor representation drawn by one
pass of the anchor Transformer from a per-clip code, bounded to where real representations lie, and a network
that reads one.

The representation is the anchor flow's (``anchor.py``): a centred first frame's latent in the shared per-frame
autoencoder, plus the translation path that carries it over the clip. A flow reaches it by integrating a
velocity from noise; these families map a code z (B, z_dim) to it in one network evaluation, ``draw``: one
Transformer pass and one autoencoder decode per clip, which is what makes them the fast path.

The code is one vector per clip, as StyleGAN's z and MoCoGAN's content code are, not a tensor the shape of the
representation: a first VAE with an element-wise code copied its path from per-frame codes, so samples from
the prior jumped from place to place every frame (their independent noise became the path); a global code
must be turned into a whole path by the network. It enters twice: as one more token of Z that every block
cross-attends to (``z_token``), and added to Z's pooled vector (``z_embed``), which modulates every block
(adaLN). The token is the path that works from the first step: adaLN's weights start at zero, so through them
alone the code had no effect on the output and no gradient, and a VAE's posterior collapsed onto its prior
(an hour's run: posterior σ 1.0 on every dimension, bouncing digits drawn static). The Transformer's inputs are
a learned constant (``canvas``, ``path_canvas``), or a given image's anchor and starting point (image to video).

Bounds: a one-pass network has nothing that keeps its outputs where real latents lie, and a GAN's critic never
penalises a generator for leaving that range (a first pilot drew paths of hundreds of pixels and latents with a
standard deviation of 64: black clips; NOTES.md). So ``draw`` squashes each output channel into ±its bound,
``bound · tanh(x / bound)``: the identity near zero, the real range at most. The bounds are measured on the
first batch of real representations (1.25 × the largest magnitude per channel), as the latent statistics are.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from einops import rearrange

from vidfuse.config import ModelConfig
from vidfuse.models.anchor import AnchorFlow
from vidfuse.models.base import Condition
from vidfuse.models.layers import TransformerBlock

BOUND_MARGIN = 1.25  # bounds = this × the largest magnitude seen on the first batch


class AnchorReader(nn.Module):
    """(anchor (B, c, h, w), path (B, T, 2), Z) → token features (B, S + T, width).

    The anchor's latent in ``patch × patch`` blocks and one token per frame of the path, with learned positions,
    read by pre-norm Transformer blocks with cross-attention to Z's tokens. Plain pre-norm blocks rather than
    the generator's adaLN-zero ones: a reader must use its input from the first step, and adaLN-zero blocks
    start as the identity (the first GAN pilot's critic barely read its input: NOTES.md).
    """

    @classmethod
    def sized_like(cls, generator: AnchorFlow) -> "AnchorReader":
        """A reader with ``generator``'s sizes (latent, patch, width, heads, Z), ``gen.reader_depth`` blocks deep."""
        sizes = {**generator.transformer_sizes(), "depth": generator.cfg.gen.reader_depth}
        return cls(**sizes, motion_tokens=generator.cfg.num_frames)

    def __init__(self, *, latent_channels, latent_hw, patch, motion_tokens, width, depth, heads, cond_dim):
        super().__init__()
        self.patch = patch
        self.patch_dim = latent_channels * patch * patch
        self.n_anchor = (latent_hw[0] // patch) * (latent_hw[1] // patch)
        self.anchor_embed = nn.Linear(self.patch_dim, width)
        self.anchor_pos = nn.Parameter(torch.randn(self.n_anchor, width) * 0.02)
        self.motion_embed = nn.Linear(2, width)
        self.motion_pos = nn.Parameter(torch.randn(motion_tokens, width) * 0.02)
        self.blocks = nn.ModuleList(
            TransformerBlock(width, heads, cross=True, context_dim=cond_dim) for _ in range(depth)
        )
        self.norm = nn.LayerNorm(width)

    def forward(self, anchor: torch.Tensor, path: torch.Tensor, cond: Condition) -> torch.Tensor:
        p = self.patch
        a = self.anchor_embed(rearrange(anchor, "b c (h p1) (w p2) -> b (h w) (c p1 p2)", p1=p, p2=p))
        m = self.motion_embed(path.to(a.dtype)) + self.motion_pos[: path.shape[1]].to(a.dtype)
        x = torch.cat([a + self.anchor_pos.to(a.dtype), m], dim=1)
        for block in self.blocks:
            x = block(x, context=cond.tokens, context_mask=cond.mask)
        return self.norm(x)


class OnePassAnchor(AnchorFlow):
    """Base of the one-pass anchor families: ``draw`` (one bounded Transformer pass), ``real`` (a clip's
    representation, measuring the bounds on the first batch), and the ``ae`` phase first. Subclasses add their
    training-only networks, their phases after ``ae`` and their losses; sampling and rendering are
    :class:`AnchorFlow`'s."""

    supports_guidance = False
    iterative = False

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        # per latent channel and per path axis, in the units the Transformer sees (normalised latents, path /
        # motion_scale); measured on the first batch of real representations
        self.register_buffer("anchor_bound", torch.full((self.latent_channels,), 4.0))
        self.register_buffer("path_bound", torch.full((2,), 4.0))
        self.register_buffer("bounds_set", torch.zeros((), dtype=torch.bool))
        z_dim, dim = cfg.gen.z_dim, cfg.dim
        self.z_embed = nn.Sequential(nn.Linear(z_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.z_token = nn.Linear(z_dim, dim)
        # the Transformer's input where nothing is given: a learned constant, random at the start, as StyleGAN's
        # 4×4 input is. Zeros made every anchor token the same but for a small position embedding, and a first
        # GAN pilot drew one flat latent for 200 steps
        self.canvas = nn.Parameter(torch.randn(self.latent_channels, *self.latent_hw))
        self.path_canvas = nn.Parameter(torch.randn(cfg.num_frames, 2))

    def noise_shapes(self, batch: int, num_frames: int) -> dict[str, tuple[int, ...]]:
        """One code per window, (B, z_dim), whatever ``num_frames``: longer clips are carried on (AnchorFlow)."""
        return {"z": (batch, self.cfg.gen.z_dim)}

    def active_phases(self, step: int) -> tuple[str, ...]:
        return ("ae",) if step < self.cfg.gen.ae_steps else self.phases[1:]

    def phase_start(self, phase: str) -> int:
        return 0 if phase == "ae" else self.cfg.gen.ae_steps

    # ---- the representation ---------------------------------------------------------------------
    @torch.no_grad()
    def real(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A clip's representation in the Transformer's units: anchor latent (B, c, h, w), path (B, T, 2)."""
        a1, m1 = self.representation(video)
        if not bool(self.bounds_set):
            stats = torch.cat([a1.abs().amax(dim=(0, 2, 3)), m1.abs().amax(dim=(0, 1))])
            # about the largest magnitude on any process (a plain mean of per-process maxima understates it):
            # the 16-power mean, within a factor world_size^(1/16) of the max
            stats = self.mean_across_processes(stats.clamp_min(1e-3).pow(16)).pow(1 / 16)
            self.anchor_bound.copy_(BOUND_MARGIN * stats[: self.latent_channels])
            self.path_bound.copy_(BOUND_MARGIN * stats[self.latent_channels :])
            self.bounds_set.fill_(True)
        return a1, m1

    def draw(self, cond: Condition, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(anchor (B, c, h, w), path (B, T, 2)) for the code z (B, z_dim), in one pass; a given image is the
        input and pins the anchor and the path's first point (image to video)."""
        b = z.shape[0]
        given_parts = self._given(cond)
        a_in, m_in = self.pin(
            given_parts, self.canvas[None].expand(b, -1, -1, -1), self.path_canvas[None].expand(b, -1, -1)
        )
        zc = z.to(cond.pooled.dtype)
        tokens = torch.cat([cond.tokens, self.z_token(zc)[:, None].to(cond.tokens.dtype)], dim=1)
        mask = torch.cat([cond.mask, cond.mask.new_ones(b, 1)], dim=1)
        coded = Condition(tokens, mask, cond.pooled + self.z_embed(zc), cond.image, cond.has_image)
        t = torch.zeros(b, device=z.device)
        va, vm = self.transformer(a_in, m_in, t, coded, given_parts[2])
        ab = self.anchor_bound[None, :, None, None]
        pb = self.path_bound[None, None, :]
        return self.pin(given_parts, ab * torch.tanh(va.float() / ab), pb * torch.tanh(vm.float() / pb))

    def random_code(self, batch: int) -> torch.Tensor:
        """Standard-normal codes (B, z_dim) on the model's device, from the global RNG (training draws)."""
        return torch.randn(batch, self.cfg.gen.z_dim, device=self.device)
