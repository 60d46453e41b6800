"""Y = VideoGAN(Z), distilled: a one-step anchor generator made from a trained anchor flow and a critic.

Adversarial diffusion distillation (ADD, Sauer et al., 2023), on the anchor representation. The student is the
teacher's own velocity Transformer, started from its weights and evaluated once at t = 0: noise (ε_anchor,
ε_path) → (ε + v(ε, 0)), the first Euler step of the flow with step size 1, which for the untrained student is
the blurred mean of the teacher's answers. Two losses make that one step the teacher's whole answer:

- distillation: the squared distance to the teacher's sample from the same noise (``gen.sample_steps`` Euler
  steps with classifier-free guidance ``gen.teacher_guidance``, the teacher's own settings): every training
  step is a paired regression target, which a GAN from scratch does not have;
- adversarial: the one-pass GAN's critic (``anchor_gan``: relativistic pairing, matching-aware, R1 + R2), which
  pulls the student from the teacher's answers' average to real clips' detail.

Z's encoders (text, image, fusion) and the per-frame autoencoder are the teacher's and stay frozen: no phase
trains them (``cond_phase`` is None), so the teacher's targets are computed on the same Z the
student sees. Training starts from a flow folder: ``vidfuse train --generator anchor-add --init-from FOLDER``.
Sampling is one Transformer pass and one decode, like the GAN's.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidfuse.config import ModelConfig
from vidfuse.models.anchor import AnchorFlow
from vidfuse.models.anchor_gan import AnchorCritic, critic_loss, generator_adversarial_loss, spread
from vidfuse.models.anchor_onepass import AnchorReader
from vidfuse.models.base import Condition, Noise


class AnchorDistilled(AnchorFlow):
    phases = ("d", "g")
    cond_phase = None  # no phase trains Z's encoders: they are the teacher's, frozen
    unconditional_phases = ()
    supports_guidance = False
    iterative = False
    wants_uncond = True  # the teacher's targets use classifier-free guidance: the model passes Z without text
    phase_lr_fields = {"d": "lr_d"}
    starts_from = ("anchor",)  # the teacher is the starting folder's Transformer: it must be a trained flow

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.teacher = copy.deepcopy(self.transformer).requires_grad_(False)
        self.critic = AnchorCritic(AnchorReader.sized_like(self), cfg.gen.flow_width, cfg.dim)
        self.autoencoder.requires_grad_(False)

    def after_init_from(self) -> None:
        """The run's weights were just loaded from a trained flow: the teacher is a frozen copy of its
        Transformer (the student starts as the same network)."""
        self.teacher.load_state_dict(self.transformer.state_dict())

    def inference_modules(self) -> list[str]:
        return [name for name, _ in self.named_children() if name not in ("critic", "teacher")]

    def active_phases(self, step: int) -> tuple[str, ...]:
        """Both, unless the critic's verdict has no weight: then training it would cost a third of each step for
        nothing the student reads (distillation alone, ``gen.adv_weight`` 0)."""
        return self.phases if self.cfg.gen.adv_weight > 0 else ("g",)

    def phase_start(self, phase: str) -> int:
        return 0

    def phase_parameters(self, phase: str) -> list[nn.Parameter]:
        module = {"d": self.critic, "g": self.transformer}[phase]
        return [p for p in module.parameters() if p.requires_grad]

    # ---- one step and the teacher's many ----------------------------------------------------------
    def one_step(
        self, cond: Condition, a0: torch.Tensor, m0: torch.Tensor, given_parts: tuple | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The student: one Euler step of size 1 from the noise at t = 0 (a given image pins its parts;
        ``given_parts``: :meth:`_given`'s answer when the caller has it)."""
        given_parts = given_parts or self._given(cond)
        a0, m0 = self.pin(given_parts, a0, m0)
        t = torch.zeros(a0.shape[0], device=a0.device)
        va, vm = self.transformer(a0, m0, t, cond, given_parts[2])
        return self.pin(given_parts, a0 + va.float(), m0 + vm.float())

    @torch.no_grad()
    def teacher_sample(
        self, cond: Condition, uncond: Condition | None, a0: torch.Tensor, m0: torch.Tensor, given_parts: tuple
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The teacher's answer from the same noise: its own steps and guidance (guidance 1 without ``uncond``)."""
        guidance = self.cfg.gen.teacher_guidance if uncond is not None else 1.0
        a, m = self.integrate(
            self.teacher,
            cond,
            (a0, m0),
            uncond=uncond if guidance != 1.0 else None,
            guidance_scale=guidance,
            steps=self.cfg.gen.sample_steps,
            given_parts=given_parts,
        )
        return a.float(), m.float()

    def draw_parts(self, cond: Condition, noise: Noise, *, uncond, guidance_scale, steps):
        return self.one_step(cond, noise["anchor"], noise["path"])

    # ---- training ---------------------------------------------------------------------------
    def loss(
        self, video: torch.Tensor, cond: Condition, *, phase: str, uncond: Condition | None = None
    ) -> dict[str, torch.Tensor]:
        real = self.representation(video)
        a0, m0 = torch.randn_like(real[0]), torch.randn_like(real[1])
        if phase == "d":
            with torch.no_grad():
                fake = self.one_step(cond, a0, m0)
            return critic_loss(self.critic, real, fake, cond, self.cfg.gen)
        if phase != "g":
            raise ValueError(f"unknown phase {phase!r}; AnchorDistilled phases are {self.phases}")
        given_parts = self._given(cond)  # encodes the given images once for the student and the teacher
        fake = self.one_step(cond, a0, m0, given_parts)
        target = self.teacher_sample(cond, uncond, a0, m0, given_parts)
        distill = F.mse_loss(fake[0], target[0]) + F.mse_loss(fake[1], target[1])
        g = self.cfg.gen
        adversarial = (
            generator_adversarial_loss(self.critic, real, fake, cond) if g.adv_weight > 0 else distill.new_zeros(())
        )
        loss = g.distill_weight * distill + g.adv_weight * adversarial
        return {
            "loss": loss,
            "distill": distill.detach(),
            "g_adversarial": adversarial.detach(),
            **spread(fake[0], real[0]),
        }
