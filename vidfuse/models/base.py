"""The contract between fusion and generators, and the frame decoder the pixel-space families share.

Z, the fused condition, is a :class:`Condition`: the fusion Transformer's output tokens (text and
visual, with a padding mask) plus a pooled vector. Every generator family is a :class:`VideoGenerator`
registered by name in :mod:`vidfuse.models.registry` with its settings class (``cfg.gen``):

- ``sample_noise(batch, num_frames, *, generator) -> Noise``: all of a clip's randomness, drawn on the
  seed's device (the CPU for the pipeline's seeds) and moved to the model's, so a seed gives the same
  clip on any device;
- ``generate(cond, *, num_frames, generator=None, guidance_scale=1.0, steps=None, uncond=None, noise=None)
  -> video (B, C, T, H, W) in [-1, 1]``; families without guidance refuse ``guidance_scale != 1``, one-pass
  families refuse ``steps``;
- ``loss(video, cond, *, phase) -> dict`` whose ``"loss"`` entry is what the phase back-propagates;
- ``phases``: the optimisation phases of one training step, in order (``("main",)`` for a VAE,
  ``("d", "g")`` for a GAN), read by the trainer together with ``active_phases``, ``phase_start``,
  ``phase_parameters`` and ``phase_lr_fields``. The conditioning encoders and fusion train in ``cond_phase``
  (None: in no phase, e.g. a student that keeps its teacher's).

The contract suite, tests/test_generator_contract.py, runs over every registered family.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from vidfuse.config import ModelConfig
from vidfuse.models.layers import Attention, ResBlock2d, TemporalConv, group_norm


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


@dataclass
class Condition:
    """Z = MultimodalTransformer(H, V)."""

    tokens: torch.Tensor  # (B, N, D) fused text + visual tokens
    mask: torch.Tensor  # (B, N) bool, True = a real token
    pooled: torch.Tensor  # (B, D) one vector per sample
    # the conditioning image itself (B, C, H, W) in [-1, 1], and which samples really have one (B,) bool:
    # for generators that start the clip from it (image-to-video); the others read it through ``tokens``
    image: torch.Tensor | None = None
    has_image: torch.Tensor | None = None

    @property
    def batch_size(self) -> int:
        return self.tokens.shape[0]

    def _map(self, fn) -> "Condition":
        return Condition(
            *(None if t is None else fn(t) for t in (self.tokens, self.mask, self.pooled, self.image, self.has_image))
        )

    def detach(self) -> "Condition":
        return self._map(lambda t: t.detach())

    def roll(self, shift: int = 1) -> "Condition":
        """The batch's conditions shifted by ``shift``: mismatched captions, negatives for text matching."""
        return self._map(lambda t: t.roll(shift, dims=0))

    def head(self, n: int) -> "Condition":
        """The first ``n`` samples' conditions."""
        return self._map(lambda t: t[:n])

    def repeat(self, n: int) -> "Condition":
        return self._map(lambda t: t.repeat_interleave(n, dim=0))


@dataclass
class Noise:
    """The random input of one generation: named standard-normal tensors, each (B, ...), in a fixed order."""

    parts: dict[str, torch.Tensor]

    @classmethod
    def draw(
        cls,
        shapes: dict[str, tuple[int, ...]],
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> "Noise":
        """Draw every part in the order of ``shapes`` on the generator's device (the default RNG of
        ``device`` without one), then move it to ``device``: a CPU seed gives the same draw on any device."""
        source = generator.device if generator is not None else (device or "cpu")
        return cls(
            {
                name: torch.randn(*shape, generator=generator, device=source).to(device or source)
                for name, shape in shapes.items()
            }
        )

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.parts[name]

    @classmethod
    def cat(cls, draws: list["Noise"]) -> "Noise":
        """Draws with the same parts, joined along the batch."""
        return cls({k: torch.cat([d.parts[k] for d in draws]) for k in draws[0].parts})

    @property
    def batch_size(self) -> int:
        return next(iter(self.parts.values())).shape[0]

    def to(self, device: torch.device | str) -> "Noise":
        return Noise({k: v.to(device) for k, v in self.parts.items()})

    def check(self, shapes: dict[str, tuple[int, ...]]) -> None:
        """ValueError unless the parts are exactly ``shapes`` (names and sizes)."""
        got = {k: tuple(v.shape) for k, v in self.parts.items()}
        if got != {k: tuple(v) for k, v in shapes.items()}:
            raise ValueError(f"noise shapes {got} do not match the generator's {shapes}")


class VideoGenerator(nn.Module):
    """Base class of the generator families (see the module docstring for the contract).

    A family implements ``noise_shapes``, ``sample`` and ``loss``; ``generate`` checks the options, draws
    the noise and calls ``sample``."""

    phases: tuple[str, ...] = ("main",)
    cond_phase: str | None = "main"
    unconditional_phases: tuple[str, ...] = ()  # phases whose loss needs no condition (it is passed None)
    supports_guidance: bool = False
    iterative: bool = False  # samples in ``steps`` network evaluations (a flow) rather than one pass
    no_ema_prefixes: tuple[str, ...] = ()  # weights the EMA copies instead of averaging
    # phase -> the TrainConfig field holding its learning rate; phases not listed use ``lr``
    phase_lr_fields: dict[str, str] = {}
    # loss() also takes ``uncond`` (Z with the text dropped), e.g. for a guided teacher's targets
    wants_uncond: bool = False
    # sample() draws clips past native_frames itself (the anchor families' motion matching), so the model
    # does not continue them window by window from their last frame
    continues_itself: bool = False

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        # statistics a generator measures on its first training batch (e.g. latent mean and scale) must agree
        # across processes: the trainer sets this to an all-reduce mean under DDP. Models import no
        # distributed code themselves.
        self.mean_across_processes: Callable[[torch.Tensor], torch.Tensor] = _identity

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def native_frames(self) -> int | None:
        """Longest clip the network draws in one piece; None: any. Longer clips are carried on by the generator
        itself when it ``continues_itself``, else continued by the model (:meth:`VidFuseModel.generate`)."""
        return None

    def active_phases(self, step: int) -> tuple[str, ...]:
        """The phases that run at ``step`` (a generator may retire one, e.g. a frozen autoencoder)."""
        return tuple(p for p in self.phases if step >= self.phase_start(p))

    def phase_start(self, phase: str) -> int:
        """The step at which ``phase`` starts training: its learning-rate warm-up and the EMA of its
        weights count from here (a latent generator trains its autoencoder first)."""
        return 0

    # ---- sampling --------------------------------------------------------------------------
    def noise_shapes(self, batch: int, num_frames: int) -> dict[str, tuple[int, ...]]:
        raise NotImplementedError

    def sample_noise(self, batch: int, num_frames: int, *, generator: torch.Generator | None = None) -> Noise:
        return Noise.draw(self.noise_shapes(batch, num_frames), generator=generator, device=self.device)

    def generate(
        self,
        cond: Condition,
        *,
        num_frames: int,
        generator: torch.Generator | None = None,
        guidance_scale: float = 1.0,
        steps: int | None = None,
        uncond: Condition | None = None,
        noise: Noise | None = None,
    ) -> torch.Tensor:
        """Video (B, C, T, H, W) in [-1, 1] for Z. ``uncond`` (Z with the text dropped) and ``guidance_scale``
        s ≠ 1: classifier-free guidance; ``steps``: network evaluations of an iterative sampler (None: the
        config's); ``noise`` from :meth:`sample_noise` (drawn with ``generator`` when None)."""
        name = type(self).__name__
        if guidance_scale != 1.0:
            if not self.supports_guidance:
                raise ValueError(f"{name} has no classifier-free guidance; use guidance_scale=1")
            if uncond is None:
                raise ValueError(f"guidance_scale={guidance_scale} needs `uncond`, Z with the text dropped")
        if steps is not None and not self.iterative:
            raise ValueError(f"{name} samples in one pass; steps does not apply")
        if steps is not None and steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        shapes = self.noise_shapes(cond.batch_size, num_frames)
        if noise is None:
            noise = Noise.draw(shapes, generator=generator, device=cond.tokens.device)
        noise.check(shapes)
        return self.sample(
            cond,
            noise.to(cond.tokens.device),
            num_frames=num_frames,
            uncond=uncond if guidance_scale != 1.0 else None,
            guidance_scale=guidance_scale,
            steps=steps,
        )

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
        raise NotImplementedError

    # ---- training --------------------------------------------------------------------------
    def loss(self, video: torch.Tensor, cond: Condition, *, phase: str) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def phase_parameters(self, phase: str) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    # the families whose model folders a run of this family may start from (``--init-from``); None: any
    starts_from: tuple[str, ...] | None = None

    def after_init_from(self) -> None:
        """Called once the run's weights were loaded from another model folder (``--init-from``), e.g. to
        freeze a copy of them as a teacher. Nothing by default."""

    def inference_modules(self) -> list[str]:
        """Names of child modules needed to generate; others (discriminators) are training-only."""
        return [name for name, _ in self.named_children()]


class FrameDecoder(nn.Module):
    """Per-frame codes + Z → video, factorised in space and time.

    Each frame starts as a (c0, h0, w0) map from its code; every level is a 2-D residual block
    (FiLM-conditioned on the frame code + pooled Z), then a 1-D temporal convolution across frames;
    the two coarsest levels cross-attend from every pixel of every frame to Z's tokens (this is
    where the generator's own tokens read the fused text and image). Upsampling is nearest + conv.

    forward(codes (B, T, code_dim), cond) -> video (B, C, T, H, W) in [-1, 1]

    ``out_activation``: "linear" (the default) clamps the last convolution's output to [-1, 1] with a
    straight-through gradient (identity backward), so pixels never stop learning; "tanh" squashes it, and
    saturates on mostly-black scenes (docs/decisions/generators.md#frame-decoder-output). Version-1 GAN and
    VAE configs without ``frame_out`` load as "tanh", the output their weights were trained with.
    """

    def __init__(
        self,
        *,
        code_dim: int,
        cond_dim: int,
        channels: tuple[int, ...],
        height: int,
        width: int,
        heads: int,
        out_channels: int = 3,
        attn_levels: int = 2,
        out_activation: str = "linear",
    ):
        super().__init__()
        if out_activation not in ("linear", "tanh"):
            raise ValueError(f"out_activation must be 'linear' or 'tanh', not {out_activation!r}")
        self.out_activation = out_activation
        levels = len(channels)
        scale = 2 ** (levels - 1)
        if height % scale or width % scale:
            raise ValueError(f"frame size {height}x{width} must be divisible by {scale} for {levels} decoder levels")
        self.h0, self.w0 = height // scale, width // scale
        self.frame_cond = nn.Sequential(
            nn.Linear(code_dim + cond_dim, cond_dim), nn.SiLU(), nn.Linear(cond_dim, cond_dim)
        )
        self.stem = nn.Linear(cond_dim, channels[0] * self.h0 * self.w0)
        self.blocks = nn.ModuleList()
        self.temporal = nn.ModuleList()
        self.attn_norms = nn.ModuleList()
        self.attns = nn.ModuleList()
        c_prev = channels[0]
        for i, c in enumerate(channels):
            self.blocks.append(ResBlock2d(c_prev, c, cond_dim=cond_dim))
            self.temporal.append(TemporalConv(c))
            if i < attn_levels:
                self.attn_norms.append(nn.LayerNorm(c))
                self.attns.append(Attention(c, heads if c % heads == 0 else 1, context_dim=cond_dim))
            c_prev = c
        self.out = nn.Sequential(group_norm(c_prev), nn.SiLU(), nn.Conv2d(c_prev, out_channels, 3, padding=1))

    def forward(self, codes: torch.Tensor, cond: Condition) -> torch.Tensor:
        b, t, _ = codes.shape
        pooled = cond.pooled[:, None, :].expand(b, t, -1)
        frame_cond = self.frame_cond(torch.cat([codes, pooled], dim=-1))  # (B, T, D)
        frame_cond = rearrange(frame_cond, "b t d -> (b t) d")
        x = self.stem(frame_cond).view(b * t, -1, self.h0, self.w0)  # (B*T, c0, h0, w0)
        for i, (block, temporal) in enumerate(zip(self.blocks, self.temporal)):
            if i > 0:
                x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = temporal(block(x, frame_cond), t)
            if i < len(self.attns):
                h, w = x.shape[-2:]
                q = rearrange(x, "(b t) c h w -> b (t h w) c", b=b)
                q = self.attns[i](self.attn_norms[i](q), cond.tokens, cond.mask)
                x = x + rearrange(q, "b (t h w) c -> (b t) c h w", t=t, h=h, w=w)
        video = self.out(x)  # (B*T, C, H, W)
        if self.out_activation == "tanh":
            video = torch.tanh(video)
        else:  # clamped going forward, the identity going backward (straight-through): no dead pixels
            video = video + (video.clamp(-1, 1) - video).detach()
        return rearrange(video, "(b t) c h w -> b c t h w", b=b)
