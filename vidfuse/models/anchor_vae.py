"""Y = VideoVAE(Z) in the anchor space: a conditional VAE with a learned prior given Z, decoded in one pass.

The latent is one code z (B, z_dim) per clip; the decoder is the anchor Transformer applied once
(``OnePassAnchor.draw``), as the GAN's generator is.

- Posterior q(z | clip, Z): an :class:`AnchorReader` over the clip's own representation, mean-pooled, a
  Gaussian per dimension of z.
- Prior p(z | Z): a Gaussian per dimension from pooled Z (a small MLP). A learned conditional prior rather than
  N(0, I): the caption fixes most of a clip here (digit, colour, direction), and a prior that knows it leaves z
  only what the caption leaves open (where the digit starts, how it is written); samples then come from
  where the posteriors are.
- Loss: the representation's mean squared error (anchor latent and path, each a mean over its elements) +
  ``kl_weight`` × KL(q ‖ p) summed over z's dimensions. The weight is the exchange rate between a nat of code
  and a unit of mean squared error: lower keeps more detail in z and lets q drift from the prior.

Sampling: z = μ_p + ``temperature`` · σ_p · ε, then one decoder pass: a prior MLP and one Transformer pass.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from vidfuse.config import ModelConfig
from vidfuse.models.anchor_onepass import AnchorReader, OnePassAnchor
from vidfuse.models.base import Condition, Noise

LOGVAR_RANGE = (-10.0, 4.0)


class AnchorVAE(OnePassAnchor):
    phases = ("ae", "main")
    cond_phase = "main"
    unconditional_phases = ("ae",)
    phase_lr_fields = {"ae": "lr_ae"}

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        width, z_dim, dim = cfg.gen.flow_width, cfg.gen.z_dim, cfg.dim
        self.encoder = AnchorReader.sized_like(self)
        self.posterior_head = nn.Linear(width, 2 * z_dim)
        self.prior = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, 2 * z_dim))
        for layer in (self.posterior_head, self.prior[-1]):  # q and p start as N(0, I): the KL starts at zero
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def inference_modules(self) -> list[str]:
        return [name for name, _ in self.named_children() if name not in ("encoder", "posterior_head")]

    def phase_parameters(self, phase: str) -> list[nn.Parameter]:
        if phase == "ae":
            return [p for p in self.autoencoder.parameters() if p.requires_grad]
        return [p for name, p in self.named_parameters() if not name.startswith("autoencoder.") and p.requires_grad]

    # ---- the two Gaussians ----------------------------------------------------------------------
    @staticmethod
    def _gaussian(stats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = stats.float().chunk(2, dim=-1)
        return mu, logvar.clamp(*LOGVAR_RANGE)

    def posterior(self, cond: Condition, a: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance (B, z_dim) of q(z | the clip's representation, Z)."""
        return self._gaussian(self.posterior_head(self.encoder(a, m, cond).mean(dim=1)))

    def prior_of(self, cond: Condition) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance (B, z_dim) of p(z | Z)."""
        return self._gaussian(self.prior(cond.pooled))

    def draw_parts(self, cond: Condition, noise: Noise, *, uncond, guidance_scale, steps):
        mu, logvar = self.prior_of(cond)
        return self.draw(cond, mu + self.cfg.gen.temperature * (0.5 * logvar).exp() * noise["z"])

    # ---- training ---------------------------------------------------------------------------
    def loss(self, video: torch.Tensor, cond: Condition, *, phase: str) -> dict[str, torch.Tensor]:
        if phase == "ae":
            return self.autoencoder_loss(video)
        if phase != "main":
            raise ValueError(f"unknown phase {phase!r}; AnchorVAE phases are {self.phases}")
        a1, m1 = self.real(video)
        mq, lq = self.posterior(cond, a1, m1)
        mp, lp = self.prior_of(cond)
        z = mq + (0.5 * lq).exp() * torch.randn_like(mq)
        a, m = self.draw(cond, z)
        recon_a = (a - a1).pow(2).mean()
        recon_m = (m - m1).pow(2).mean()
        kl = (0.5 * (lp - lq + (lq.exp() + (mq - mp).pow(2)) / lp.exp() - 1)).sum(dim=-1).mean()
        loss = recon_a + recon_m + self.cfg.gen.kl_weight * kl
        return {"loss": loss, "recon_anchor": recon_a.detach(), "recon_path": recon_m.detach(), "kl": kl.detach()}
