"""Y = VideoVAE(Z): the seed's conditional video VAE ("sampling from the prior given the text").

Latents: one content code per clip ``z_c`` (B, z_content) and one motion code per frame ``z_m``
(B, T, z_motion). Frame t is decoded from ``concat(z_c, z_m[t])`` by the shared :class:`FrameDecoder`
(the GAN's generator), which also cross-attends to Z.

    posterior  q(z_c, z_m | x, Z) = q(z_c | x, Z) · Π_t q(z_m[t] | x, Z)     per-frame convs + temporal convs
    prior      p(z_c, z_m | Z)    = p(z_c | Z)    · Π_t p(z_m[t] | z_c, Z)   MLP; time queries attending to Z

The motion prior also reads ``z_c``: frames are independent *given* the clip code, so everything random
about a clip as a whole (a bouncing digit's start, speed and direction) can live in ``z_c`` and the
per-frame draws need not agree with each other by luck. The KL keeps its closed form per level:
``KL(q ‖ p) = KL(q_c ‖ p_c) + E_{z_c ~ q_c} KL(q_m ‖ p_m(· | z_c))``, estimated with the same
reparameterised ``z_c`` the decoder sees; a motion prior without ``z_c`` needs a larger code for jerkier,
less often captioned motion (docs/decisions/generators.md#motion-prior-given-the-clip-code). The heads
start at N(0, I) (KL = 0) and the learned prior moves to meet the posterior; on sparse 64 × 64 frames the
code can still collapse to nothing, hence ``gen.kl_free_nats`` (free bits that leave the prior's gradient
alone; docs/decisions/generators.md#free-nats).

Loss scaling. ``recon`` is a mean over pixels and ``kl`` a sum over latent dimensions (content + every
frame's motion) in nats, averaged over the batch; ``loss = recon + kl_weight · kl`` (``gen.kl_weight``).
So ``kl_weight`` prices one nat of a clip's code in mean per-pixel error, whatever the frame size: with the default
1e-3, a nat is worth keeping when it lowers the mean error by more than 0.001. Multiplied by the
P = C·T·H·W values of a clip this is ``Σ_pixels err + β · KL`` with β = kl_weight · P (small preset:
P = 196,608, β ≈ 197 against a unit-scale likelihood): a tightly budgeted code of a few tens of nats
per clip — positions, speeds, glyph style — while what the caption says is read from Z. More frames
mean more motion dimensions: the KL grows with T while recon does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
from einops import rearrange

from vidfuse.config import ModelConfig
from vidfuse.models.base import Condition, FrameDecoder, Noise, VideoGenerator
from vidfuse.models.layers import (
    ResBlock2d,
    TemporalConv,
    TransformerBlock,
    content_weighted_errors,
    group_norm,
    sinusoidal_positions,
)

LOGVAR_LIMIT = 10.0  # log σ² is soft-bounded to ±10 (σ ∈ [0.007, 150]): exp() in the KL stays finite and smooth


def gaussian_kl(
    mean_q: torch.Tensor, logvar_q: torch.Tensor, mean_p: torch.Tensor, logvar_p: torch.Tensor
) -> torch.Tensor:
    """KL(N(mean_q, exp(logvar_q)) ‖ N(mean_p, exp(logvar_p))) per element, in nats, computed in float32.

    ``½ [logvar_p − logvar_q + (σ_q² + (mean_q − mean_p)²) / σ_p² − 1]``; all four tensors broadcast.
    """
    mean_q, logvar_q, mean_p, logvar_p = (t.float() for t in (mean_q, logvar_q, mean_p, logvar_p))
    return 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mean_q - mean_p) ** 2) * (-logvar_p).exp() - 1.0)


@dataclass
class DiagonalGaussian:
    """N(mean, diag(exp(logvar))) over the last dimension; float32 tensors of any leading shape."""

    mean: torch.Tensor
    logvar: torch.Tensor

    @property
    def std(self) -> torch.Tensor:
        return (0.5 * self.logvar).exp()

    def sample(self, eps: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """Reparameterised draw ``mean + temperature · σ · ε`` for standard normal ``eps``."""
        return self.mean + temperature * self.std * eps

    def kl(self, other: "DiagonalGaussian") -> torch.Tensor:
        """Elementwise KL(self ‖ other), same shape as ``mean``."""
        return gaussian_kl(self.mean, self.logvar, other.mean, other.logvar)

    def detach(self) -> "DiagonalGaussian":
        return DiagonalGaussian(self.mean.detach(), self.logvar.detach())


def _code_kl(
    q_content: DiagonalGaussian, p_content: DiagonalGaussian, q_motion: DiagonalGaussian, p_motion: DiagonalGaussian
) -> tuple[torch.Tensor, torch.Tensor]:
    """KL of a clip's content code and of its motion codes (nats, summed over dimensions and frames),
    each averaged over the batch."""
    return q_content.kl(p_content).sum(dim=-1).mean(), q_motion.kl(p_motion).sum(dim=(-2, -1)).mean()


class GaussianHead(nn.Module):
    """Features (..., in_dim) → :class:`DiagonalGaussian` over ``z_dim``, in float32 even under autocast.

    Zero-initialised, so every head starts at N(0, I): at step 0 the posterior equals the prior (KL = 0).
    """

    def __init__(self, in_dim: int, z_dim: int):
        super().__init__()
        self.proj = nn.Linear(in_dim, 2 * z_dim)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, h: torch.Tensor) -> DiagonalGaussian:
        # bf16 keeps ~3 significant digits: too coarse for means compared across q and p, and for exp(logvar)
        with torch.autocast(h.device.type, enabled=False):
            mean, raw = self.proj(h.float()).chunk(2, dim=-1)
        return DiagonalGaussian(mean, LOGVAR_LIMIT * torch.tanh(raw / LOGVAR_LIMIT))


class VideoEncoder(nn.Module):
    """Per-frame features of a video: the :class:`FrameDecoder` run backwards.

    A 3×3 stem, then per level a 2-D residual block and a 1-D temporal convolution across frames, with
    a stride-2 convolution between levels, down to the decoder's starting grid (h0, w0) (4×4 for 64×64
    frames and 5 levels). The last map is flattened before the projection, so *where* things are — what
    motion is about — survives.

    forward(video (B, C, T, H, W)) -> features (B, T, dim)
    """

    def __init__(self, *, in_channels: int, channels: tuple[int, ...], height: int, width: int, dim: int):
        super().__init__()
        scale = 2 ** (len(channels) - 1)
        if height % scale or width % scale:
            raise ValueError(
                f"frame size {height}x{width} must be divisible by {scale} for {len(channels)} encoder levels"
            )
        self.stem = nn.Conv2d(in_channels, channels[0], 3, padding=1)
        self.downs = nn.ModuleList()
        self.blocks = nn.ModuleList()
        self.temporal = nn.ModuleList()
        c_prev = channels[0]
        for i, c in enumerate(channels):
            if i > 0:
                self.downs.append(nn.Conv2d(c_prev, c_prev, 3, stride=2, padding=1))
            self.blocks.append(ResBlock2d(c_prev, c))
            self.temporal.append(TemporalConv(c))
            c_prev = c
        self.out = nn.Sequential(
            group_norm(c_prev), nn.SiLU(), nn.Flatten(), nn.Linear(c_prev * (height // scale) * (width // scale), dim)
        )

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        b, _, t = video.shape[:3]
        x = self.stem(rearrange(video, "b c t h w -> (b t) c h w"))  # (B*T, c0, H, W)
        for i, (block, temporal) in enumerate(zip(self.blocks, self.temporal)):
            if i > 0:
                x = self.downs[i - 1](x)
            x = temporal(block(x), t)
        return rearrange(self.out(x), "(b t) d -> b t d", b=b)  # (B, T, dim)


class Posterior(nn.Module):
    """q(z_c | x, Z) from the time-pooled features, q(z_m[t] | x, Z) from frame t's; both also read pooled Z.

    forward(video (B, C, T, H, W), cond) -> (q_content over (B, z_content), q_motion over (B, T, z_motion))
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.dim
        self.encoder = VideoEncoder(
            in_channels=cfg.channels,
            channels=tuple(reversed(cfg.gen.gen_channels)),
            height=cfg.height,
            width=cfg.width,
            dim=d,
        )
        self.content = nn.Sequential(nn.Linear(2 * d, d), nn.SiLU(), GaussianHead(d, cfg.gen.z_content))
        self.motion = nn.Sequential(nn.Linear(2 * d, d), nn.SiLU(), GaussianHead(d, cfg.gen.z_motion))

    def forward(self, video: torch.Tensor, cond: Condition) -> tuple[DiagonalGaussian, DiagonalGaussian]:
        feats = self.encoder(video)  # (B, T, D)
        pooled = cond.pooled  # (B, D)
        q_content = self.content(torch.cat([feats.mean(dim=1), pooled], dim=-1))
        q_motion = self.motion(torch.cat([feats, pooled[:, None].expand_as(feats)], dim=-1))
        return q_content, q_motion


class ConditionalPrior(nn.Module):
    """p(z_c | Z) by an MLP on pooled Z; p(z_m[t] | z_c, Z) from one query token per frame.

    A frame's query is its sinusoidal time position (so any number of frames works) plus a projection of
    (pooled Z, z_c); the T queries attend to each other and cross-attend to Z's tokens under Z's mask.
    """

    def __init__(self, *, dim: int, heads: int, z_content: int, z_motion: int, layers: int = 2):
        super().__init__()
        self.dim = dim
        self.content = nn.Sequential(
            nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim), nn.SiLU(), GaussianHead(dim, z_content)
        )
        self.time_in = nn.Linear(dim, dim)
        self.clip_in = nn.Linear(dim + z_content, dim)
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads, cross=True, context_dim=dim) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.motion = GaussianHead(dim, z_motion)

    def content_dist(self, cond: Condition) -> DiagonalGaussian:
        return self.content(cond.pooled)  # over (B, z_content)

    def motion_dist(self, z_content: torch.Tensor, cond: Condition, num_frames: int) -> DiagonalGaussian:
        time = sinusoidal_positions(num_frames, self.dim).to(cond.tokens.device)  # (T, D)
        clip = self.clip_in(torch.cat([cond.pooled, z_content], dim=-1))  # (B, D)
        x = self.time_in(time)[None] + clip[:, None]  # (B, T, D)
        for block in self.blocks:
            x = block(x, context=cond.tokens, context_mask=cond.mask)
        return self.motion(self.norm(x))  # over (B, T, z_motion)


def _guided(p_cond: DiagonalGaussian, p_uncond: DiagonalGaussian, scale: float) -> DiagonalGaussian:
    """Classifier-free guidance on a prior: mean μ_u + s·(μ_c − μ_u), the conditional variance kept."""
    return DiagonalGaussian(p_uncond.mean + scale * (p_cond.mean - p_uncond.mean), p_cond.logvar)


class VideoVAE(VideoGenerator):
    """Conditional video VAE: posterior, text-conditioned prior and the shared frame decoder.

    ``generate`` draws z from the prior given Z and decodes; ``loss`` is the negative ELBO with a
    β-weighted KL (see the module docstring for its scaling). The posterior is training-only.
    """

    phases = ("main",)
    cond_phase = "main"
    supports_guidance = True

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        g = cfg.gen
        self.posterior = Posterior(cfg)
        self.prior = ConditionalPrior(dim=cfg.dim, heads=cfg.heads, z_content=g.z_content, z_motion=g.z_motion)
        self.decoder = FrameDecoder(
            code_dim=g.z_content + g.z_motion,
            cond_dim=cfg.dim,
            channels=g.gen_channels,
            height=cfg.height,
            width=cfg.width,
            heads=cfg.heads,
            out_channels=cfg.channels,
            out_activation=g.frame_out,
        )

    def inference_modules(self) -> list[str]:
        return ["prior", "decoder"]

    # ---- latents ---------------------------------------------------------------------------
    def noise_shapes(self, batch: int, num_frames: int) -> dict[str, tuple[int, ...]]:
        """Standard normal ε for the content (B, z_content) and motion (B, T, z_motion) latents."""
        return {"content": (batch, self.cfg.gen.z_content), "motion": (batch, num_frames, self.cfg.gen.z_motion)}

    def decode(self, z_content: torch.Tensor, z_motion: torch.Tensor, cond: Condition) -> torch.Tensor:
        """Latents (B, z_content) + (B, T, z_motion) → video (B, C, T, H, W) in [-1, 1]."""
        codes = torch.cat([z_content[:, None].expand(-1, z_motion.shape[1], -1), z_motion], dim=-1)  # (B, T, code)
        return self.decoder(codes, cond)

    # ---- sampling --------------------------------------------------------------------------
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
        """Video drawn from the prior given Z: z = μ_p + temperature·σ_p·ε (``gen.temperature``).

        With ``uncond``: classifier-free guidance on the prior means (``μ = μ_u + s·(μ_c − μ_u)`` for content,
        then for motion given the guided z_c). Only the prior is guided; the decoder always reads ``cond``.
        """
        temperature = self.cfg.gen.temperature
        p_content = self.prior.content_dist(cond)
        if uncond is not None:
            p_content = _guided(p_content, self.prior.content_dist(uncond), guidance_scale)
        z_content = p_content.sample(noise["content"], temperature)  # (B, z_content)
        p_motion = self.prior.motion_dist(z_content, cond, num_frames)
        if uncond is not None:
            p_motion = _guided(p_motion, self.prior.motion_dist(z_content, uncond, num_frames), guidance_scale)
        z_motion = p_motion.sample(noise["motion"], temperature)  # (B, T, z_motion)
        return self.decode(z_content, z_motion, cond)

    def reconstruct(self, video: torch.Tensor, cond: Condition) -> torch.Tensor:
        """The decoded posterior means of a video (B, C, T, H, W): what the latents capture."""
        q_content, q_motion = self.posterior(video, cond)
        return self.decode(q_content.mean, q_motion.mean, cond)

    # ---- training --------------------------------------------------------------------------
    def loss(
        self, video: torch.Tensor, cond: Condition, *, phase: str = "main", generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Negative ELBO of a real video (B, C, T, H, W) in [-1, 1]: ``recon + kl_weight · kl``.

        recon = mean of w · (|x − x̂| + (x − x̂)²): the negative log of a Laplace × Gaussian pixel density
        (up to constants), each pixel weighted by :func:`content_weight` (``gen.ae_content_weight``; 0 =
        unweighted). The L1 part keeps edges sharp where pure MSE averages them into blur; the squared
        part and the weights make the few lit pixels of a stroke on a black background count, where an
        unweighted loss settles on the all-black clip (docs/decisions/generators.md#free-nats).
        kl = nats per clip (content + motion), averaged over the batch. With ``gen.kl_free_nats`` = F > 0
        the KL's gradient is split: the prior always learns from KL(sg q ‖ p), the posterior from
        max(F, KL(q ‖ sg p)) — so a code of up to F nats is free to the encoder (free bits, on the batch
        mean) while the prior still moves to meet it; the loss counts max(F, kl). F = 0 gives exactly
        the plain KL's value and gradient. ``generator`` fixes the reparameterisation noise. Returns
        "loss" (with graph) and detached "recon", "kl", "kl_content", "kl_motion" for logging.
        """
        if phase != "main":
            raise ValueError(f"VideoVAE has one phase, 'main'; got {phase!r}")
        b, _, t = video.shape[:3]
        q_content, q_motion = self.posterior(video, cond)
        eps = Noise.draw(self.noise_shapes(b, t), generator=generator, device=video.device)
        z_content = q_content.sample(eps["content"])  # (B, z_content)
        z_motion = q_motion.sample(eps["motion"])  # (B, T, z_motion)
        p_content = self.prior.content_dist(cond)
        p_motion = self.prior.motion_dist(z_content, cond, t)

        video_hat = self.decode(z_content, z_motion, cond)  # (B, C, T, H, W)
        frames = "b c t h w -> (b t) c h w"
        l1, mse = content_weighted_errors(
            rearrange(video_hat, frames), rearrange(video, frames), self.cfg.gen.ae_content_weight
        )
        recon = l1 + mse
        kl_content, kl_motion = _code_kl(q_content, p_content, q_motion, p_motion)
        kl = kl_content + kl_motion
        kl_term = kl
        if self.cfg.gen.kl_free_nats > 0:
            p_motion_sg = self.prior.motion_dist(z_content.detach(), cond, t)  # no path into the posterior
            to_prior = sum(_code_kl(q_content.detach(), p_content, q_motion.detach(), p_motion_sg))
            to_posterior = sum(_code_kl(q_content, p_content.detach(), q_motion, p_motion.detach()))
            kl_term = to_prior + to_posterior.clamp(min=self.cfg.gen.kl_free_nats) - kl.detach()
        return {
            "loss": recon + self.cfg.gen.kl_weight * kl_term,
            "recon": recon.detach(),
            "kl": kl.detach(),
            "kl_content": kl_content.detach(),
            "kl_motion": kl_motion.detach(),
        }
