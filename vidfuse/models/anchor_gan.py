"""Y = VideoGAN(Z) in the anchor space: the seed's GAN, drawing a clip in one generator pass.

Generator: the anchor Transformer applied once to a noise code z (``OnePassAnchor.draw``: bounded first-frame
latent + translation path), then the shared autoencoder's decoder and the translation: one pass, no guidance loop.

Critic: an :class:`AnchorReader` over the same representation, mean-pooled, scored by a linear head plus a
projection onto pooled Z (Miyato & Koyama's projection discriminator).

Loss: the relativistic pairing loss with R1 and R2 penalties, R3GAN's "modern baseline" (Huang et al., 2025):
``softplus(D(fake) − D(real))`` for the critic, the reverse for the generator, each real paired with a fake
drawn for its own caption; γ/2 (‖∇D(real)‖² + ‖∇D(fake)‖²) on the critic's inputs. Plus the matching-aware
term of TGANs-C / GAN-INT-CLS: a real clip under a mismatched caption (the batch rolled by one, where the
captions differ) is paired against the same clip under its own caption, so the critic must read the text.

The text encoder and fusion train with the critic (``cond_phase = "d"``): its matching term is a contrastive
text–video signal from real clips from the first step, which the generator's adversarial signal is not. The
generator reads Z without moving it.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidfuse.config import ModelConfig
from vidfuse.models.anchor_onepass import AnchorReader, OnePassAnchor
from vidfuse.models.base import Condition, Noise
from vidfuse.models.layers import frozen
from vidfuse.models.sampling import cat_conditions

PENALTY_SHARE = 0.25  # share of the batch the R1/R2 penalty is estimated on


class AnchorCritic(nn.Module):
    """score(anchor, path, Z) → (B,): a reader, mean-pooled, a linear score + projection on pooled Z."""

    def __init__(self, reader: nn.Module, width: int, cond_dim: int):
        super().__init__()
        self.reader = reader
        self.out = nn.Linear(width, 1)
        self.proj = nn.Linear(cond_dim, width)

    def forward(self, anchor: torch.Tensor, path: torch.Tensor, cond: Condition) -> torch.Tensor:
        h = self.reader(anchor, path, cond).mean(dim=1)
        return (self.out(h).squeeze(-1) + (h * self.proj(cond.pooled.to(h.dtype))).sum(-1)).float()


def _gradient_penalty(score: torch.Tensor, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Mean over the batch of ‖∂score/∂inputs‖² (a graph is kept when gradients are on, so it trains)."""
    grads = torch.autograd.grad(score.sum(), inputs, create_graph=torch.is_grad_enabled())
    return sum(g.float().pow(2).flatten(1).sum(1) for g in grads).mean()


class AnchorGAN(OnePassAnchor):
    phases = ("ae", "d", "g")
    cond_phase = "d"
    unconditional_phases = ("ae",)
    phase_lr_fields = {"ae": "lr_ae", "d": "lr_d"}

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.critic = AnchorCritic(AnchorReader.sized_like(self), cfg.gen.flow_width, cfg.dim)

    def inference_modules(self) -> list[str]:
        return [name for name, _ in self.named_children() if name != "critic"]

    def phase_parameters(self, phase: str) -> list[nn.Parameter]:
        if phase == "g":  # everything that draws but the frozen autoencoder
            return [p for n, p in self.named_parameters() if n.split(".")[0] not in ("autoencoder", "critic")]
        module = {"ae": self.autoencoder, "d": self.critic}[phase]
        return [p for p in module.parameters() if p.requires_grad]

    def draw_parts(self, cond: Condition, noise: Noise, *, uncond, guidance_scale, steps):
        return self.draw(cond, noise["z"])

    def fake(self, cond: Condition) -> tuple[torch.Tensor, torch.Tensor]:
        return self.draw(cond, self.random_code(cond.batch_size))

    # ---- training ---------------------------------------------------------------------------
    def loss(self, video: torch.Tensor, cond: Condition, *, phase: str) -> dict[str, torch.Tensor]:
        if phase == "ae":
            return self.autoencoder_loss(video)
        if phase == "d":
            return self.critic_loss(video, cond)
        if phase == "g":
            return self.generator_loss(video, cond)
        raise ValueError(f"unknown phase {phase!r}; AnchorGAN phases are {self.phases}")

    def critic_loss(self, video: torch.Tensor, cond: Condition) -> dict[str, torch.Tensor]:
        real = self.real(video)
        with torch.no_grad():
            fake = self.fake(cond.detach())
        return critic_loss(self.critic, real, fake, cond, self.cfg.gen)

    def generator_loss(self, video: torch.Tensor, cond: Condition) -> dict[str, torch.Tensor]:
        real = self.real(video)
        fake = self.fake(cond)
        loss = generator_adversarial_loss(self.critic, real, fake, cond)
        return {"loss": loss, "g_adversarial": loss.detach(), **spread(fake[0], real[0])}


def critic_loss(critic: nn.Module, real: tuple, fake: tuple, cond: Condition, g) -> dict[str, torch.Tensor]:
    """The critic's loss on real and fake (anchor, path) pairs for the same captions (see the module docstring):
    relativistic pairing + the matching-aware term + γ/2 (R1 + R2). ``g``: the family's settings (r_gamma,
    match_weight)."""
    (a1, m1), (af, mf) = real, fake
    s_real = critic(a1, m1, cond)
    s_fake = critic(af, mf, cond)
    penalty = gradient_penalty(critic, cond, real, fake) if g.r_gamma > 0 else s_real.new_zeros(())
    adversarial = F.softplus(s_fake - s_real).mean()
    mismatched = cond.roll(1)
    negative = ~torch.isclose(cond.pooled, mismatched.pooled, rtol=1e-3, atol=1e-5).all(dim=-1)
    s_mis = critic(a1, m1, mismatched)
    match = (F.softplus(s_mis - s_real) * negative).sum() / negative.sum().clamp_min(1)
    loss = adversarial + g.match_weight * match + 0.5 * g.r_gamma * penalty
    return {
        "loss": loss,
        "d_real": s_real.detach().mean(),
        "d_fake": s_fake.detach().mean(),
        "d_mismatch": s_mis.detach().mean(),
        "d_adversarial": adversarial.detach(),
        "d_match": match.detach(),
        "penalty": penalty.detach(),
    }


def gradient_penalty(critic: nn.Module, cond: Condition, real: tuple, fake: tuple) -> torch.Tensor:
    """R1 + R2: the critic's squared input-gradient norm on real and on fake representations, on the first
    PENALTY_SHARE of the batch, in one pass (the double backward on the whole batch cost a quarter of a GAN step
    here, and the penalty only needs an unbiased estimate)."""
    n = max(1, round(PENALTY_SHARE * cond.batch_size))
    part = cat_conditions(cond.head(n), cond.head(n))
    a = torch.cat([real[0][:n], fake[0][:n]]).detach()
    m = torch.cat([real[1][:n], fake[1][:n]]).detach()
    with torch.enable_grad():  # input gradients are needed even where the caller evaluates without
        a, m = a.requires_grad_(True), m.requires_grad_(True)
        return 2 * _gradient_penalty(critic(a, m, part), (a, m))  # R1 + R2: each a mean over n


def generator_adversarial_loss(critic: nn.Module, real: tuple, fake: tuple, cond: Condition) -> torch.Tensor:
    """softplus(D(real) − D(fake)) with the critic's weights fixed (they get no gradient)."""
    with frozen(critic.parameters()):
        s_fake = critic(*fake, cond)
        with torch.no_grad():
            s_real = critic(*real, cond)
    return F.softplus(s_real - s_fake).mean()


def spread(fake: torch.Tensor, real: torch.Tensor) -> dict[str, torch.Tensor]:
    """How much the generated anchors differ across a batch, relative to real ones: the per-element standard
    deviation over the batch, averaged, fake / real. Near 0 is a collapse (one picture for every caption)."""
    with torch.no_grad():
        ratio = fake.float().std(dim=0).mean() / real.float().std(dim=0).mean().clamp_min(1e-6)
    return {"spread": ratio}
