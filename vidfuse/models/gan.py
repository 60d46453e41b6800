"""Y = VideoGAN(Z): a text-conditional video GAN in the manner of MoCoGAN and TGANs-C.

Generator (what ships in a model folder)
    content  z_c ~ N(0, I)                      (B, z_content)  one per clip: *what* is in it
    motion   m_t = GRU([ε_t, pooled Z]), ε_t ~ N(0, I)   (B, T, z_motion)  *how* it moves, driven by the text
    codes    [z_c, m_t]                          (B, T, z_content + z_motion)
    video    FrameDecoder(codes, Z)              (B, C, T, H, W) in [-1, 1]; cross-attends to Z's tokens
    The GRU unrolls for any number of frames, so a model trained on 16 frames can render 32.

Discriminators (training only)
    video D  3-D convolutions over the whole clip: is the motion real?
    frame D  2-D convolutions over a few random frames of each clip: is each frame real? (MoCoGAN's
             image discriminator; cheap, and it sharpens appearance without the cost of a 3-D net)

Design choices
    Hinge loss + spectral norm (Miyato et al. 2018, SNGAN; also BigGAN): spectral norm makes every layer
    1-Lipschitz, so the discriminator cannot blow up its logits and the generator always receives a useful
    gradient; the hinge loss stops pushing on samples already classified with a margin, which keeps the
    discriminator from over-fitting a small data set. Together they train stably without normalisation
    layers in D, gradient penalties (R1 is available through ``gen.r1_gamma``) or careful lr tuning.
    Projection conditioning (Miyato & Koyama 2018): the condition enters as an inner product with the
    final feature, score = w·φ + <φ, proj(c)>, which is the form the optimal conditional discriminator
    takes (a log density ratio) and works much better than concatenating the condition to the input.
    The discriminators read ``pooled Z`` *detached* through their own small MLP: the text encoder and
    fusion learn only from the generator's loss (``cond_phase = "g"``), never from the discriminator's.
    Mismatched captions (TGANs-C): real clips paired with the batch's rolled captions are extra negatives,
    so the discriminator must check that a clip matches its text, not only that it looks real.
    Initialisation: orthogonal weights and zero biases in the discriminators (BigGAN), set before spectral
    norm is attached so its power iteration starts from the final weights; the motion GRU gets orthogonal
    recurrent weights (the standard stable choice for RNNs). The FrameDecoder keeps its own initialisation.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

from vidfuse.config import ModelConfig
from vidfuse.models.base import Condition, FrameDecoder, Noise, VideoGenerator
from vidfuse.models.layers import frozen

FRAMES_PER_CLIP = 4  # frames the frame discriminator judges per clip (MoCoGAN samples a few, not all)


def _sn(layer: nn.Module) -> nn.Module:
    """Orthogonal weight, zero bias, then spectral norm (its power iteration starts from this weight)."""
    nn.init.orthogonal_(layer.weight)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return spectral_norm(layer)


class ProjectionHead(nn.Module):
    """Conditional score by projection: ``w·φ + b + <φ, proj(c)>`` with ``c = MLP(pooled Z)``.

    forward(phi (B, ..., F), pooled (B, D)) -> scores (B, ...) float32. The condition is detached here:
    the discriminator's text pathway is its own and sends no gradient into the text encoder or fusion.
    """

    def __init__(self, feat_dim: int, cond_dim: int):
        super().__init__()
        self.embed = nn.Sequential(_sn(nn.Linear(cond_dim, cond_dim)), nn.LeakyReLU(0.2))
        self.proj = _sn(nn.Linear(cond_dim, feat_dim, bias=False))
        self.linear = _sn(nn.Linear(feat_dim, 1))

    def forward(self, phi: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        proj = self.proj(self.embed(pooled.detach()))  # (B, F)
        proj = proj.view(proj.shape[0], *([1] * (phi.dim() - 2)), -1)  # (B, 1.., F) broadcasts over frames
        # float32 for the reductions: a bf16 sum over F channels would lose the score's low bits
        return self.linear(phi).float().squeeze(-1) + (phi.float() * proj.float()).sum(-1)


class VideoDiscriminator(nn.Module):
    """Judges whole clips: one 3-D conv per ``disc_channels`` entry, kernel (3, 4, 4), stride 2 in time and
    space (small: 16×64×64 → 1×4×4), LeakyReLU(0.2), spectral norm, no normalisation, global sum-pool.

    features(video (B, C, T, H, W)) -> φ (B, F);  head(φ, pooled (B, D)) -> scores (B,)
    """

    def __init__(self, in_channels: int, channels: tuple[int, ...], cond_dim: int):
        super().__init__()
        layers: list[nn.Module] = []
        c_prev = in_channels
        for c in channels:
            layers += [_sn(nn.Conv3d(c_prev, c, (3, 4, 4), stride=2, padding=1)), nn.LeakyReLU(0.2)]
            c_prev = c
        self.body = nn.Sequential(*layers)
        self.head = ProjectionHead(c_prev, cond_dim)

    def features(self, video: torch.Tensor) -> torch.Tensor:
        return self.body(video).sum(dim=(2, 3, 4))  # (B, F) sum-pool, as in SNGAN


class FrameDiscriminator(nn.Module):
    """Judges single frames: ``frames_per_clip`` distinct random frames of each clip through one 2-D conv per
    ``disc_channels`` entry, kernel 4, stride 2 (64×64 → 4×4), LeakyReLU(0.2), spectral norm, sum-pool.

    features(video (B, C, T, H, W)) -> φ (B, k, F);  head(φ, pooled (B, D)) -> scores (B, k)
    """

    def __init__(
        self, in_channels: int, channels: tuple[int, ...], cond_dim: int, frames_per_clip: int = FRAMES_PER_CLIP
    ):
        super().__init__()
        self.frames_per_clip = frames_per_clip
        layers: list[nn.Module] = []
        c_prev = in_channels
        for c in channels:
            layers += [_sn(nn.Conv2d(c_prev, c, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            c_prev = c
        self.body = nn.Sequential(*layers)
        self.head = ProjectionHead(c_prev, cond_dim)

    def features(self, video: torch.Tensor) -> torch.Tensor:
        b, _, t = video.shape[:3]
        k = min(self.frames_per_clip, t)
        idx = torch.rand(b, t, device=video.device).argsort(dim=1)[:, :k]  # (B, k) distinct frames per clip
        frames = video.transpose(1, 2)[torch.arange(b, device=video.device)[:, None], idx]  # (B, k, C, H, W)
        phi = self.body(frames.flatten(0, 1)).sum(dim=(2, 3))  # (B*k, F)
        return phi.view(b, k, -1)


def _hinge_d(
    real: torch.Tensor, fake: torch.Tensor, mismatch: torch.Tensor, negative: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """TGANs-C discriminator hinge loss from scores (B, ...) of real|c, fake|c and real|c_mismatched.

    ``negative`` (B,) bool marks rows whose rolled caption really differs (a batch may repeat a caption,
    and a real clip with its own caption must not be pushed down). Returns (total, mismatch term).
    """
    per_row = F.relu(1 + mismatch).reshape(len(mismatch), -1).mean(1)  # (B,)
    l_mismatch = (per_row * negative).sum() / negative.sum().clamp(min=1)
    total = F.relu(1 - real).mean() + 0.5 * F.relu(1 + fake).mean() + 0.5 * l_mismatch
    return total, l_mismatch


class VideoGAN(VideoGenerator):
    """Conditional video GAN: GRU motion + per-clip content → FrameDecoder; video and frame projection
    discriminators with spectral norm, trained with the hinge loss (see the module docstring).

    Phases: ``"d"`` updates the discriminators, ``"g"`` the generator (and, through ``cond_phase``, the text
    encoder and fusion). ``inference_modules()`` names only the generator's parts.
    """

    phases = ("d", "g")
    cond_phase = "g"
    phase_lr_fields = {"d": "lr_d"}
    generator_modules = ("motion_rnn", "decoder")
    discriminator_modules = ("video_disc", "frame_disc")

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        g = cfg.gen
        self.z_content, self.z_motion, self.r1_gamma = g.z_content, g.z_motion, g.r1_gamma
        # input: per-frame noise ε_t (z_motion) + pooled condition (dim); hidden state = motion code m_t
        self.motion_rnn = nn.GRU(g.z_motion + cfg.dim, g.z_motion, batch_first=True)
        for name, w in self.motion_rnn.named_parameters():
            if name.startswith("weight_hh"):
                for gate in w.chunk(3, dim=0):  # reset, update, new: one each
                    nn.init.orthogonal_(gate)
            elif name.startswith("bias"):
                nn.init.zeros_(w)
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
        self.video_disc = VideoDiscriminator(cfg.channels, g.disc_channels, cfg.dim)
        self.frame_disc = FrameDiscriminator(cfg.channels, g.disc_channels, cfg.dim)

    # ---- generation ------------------------------------------------------------------------
    def noise_shapes(self, batch: int, num_frames: int) -> dict[str, tuple[int, ...]]:
        """Content (B, z_content) and motion (B, T, z_motion) noise."""
        return {"content": (batch, self.z_content), "motion": (batch, num_frames, self.z_motion)}

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
        """One pass: motion codes from the GRU over the noise and pooled Z, then the frame decoder."""
        content, motion = noise["content"], noise["motion"]
        pooled = cond.pooled[:, None, :].expand(-1, num_frames, -1)  # (B, T, D)
        m, _ = self.motion_rnn(torch.cat([motion, pooled.to(motion.dtype)], dim=-1))  # (B, T, z_motion)
        codes = torch.cat([content[:, None, :].expand(-1, num_frames, -1), m], dim=-1)  # (B, T, zc + zm)
        return self.decoder(codes, cond)

    # ---- training --------------------------------------------------------------------------
    def loss(self, video: torch.Tensor, cond: Condition, *, phase: str) -> dict[str, torch.Tensor]:
        """One phase on a batch of real clips (B, C, T, H, W) in [-1, 1] with their conditions.

        ``"d"``: fakes from ``cond.detach()`` without gradients; per discriminator the TGANs-C hinge loss
        ``relu(1 - D(x, c)) + ½ relu(1 + D(G(z, c), c)) + ½ relu(1 + D(x, c_mismatched))``, plus R1 when
        ``gen.r1_gamma > 0``. Returns ``loss = d_video + d_frame + r1`` and, detached, ``d_video``,
        ``d_frame``, ``d_mismatch`` (both mismatch terms, already inside d_video / d_frame), ``r1``,
        ``d_real_score`` and ``d_fake_score`` (mean raw scores over both discriminators).
        ``"g"``: fakes with gradients; ``loss = g_video + g_frame`` with ``g = -D(G(z, c), c)``; the
        discriminators' parameters get no gradient.
        """
        if phase == "d":
            return self._discriminator_loss(video, cond)
        if phase == "g":
            return self._generator_loss(video, cond)
        raise ValueError(f"unknown phase {phase!r}; VideoGAN phases are {self.phases}")

    def _discriminator_loss(self, video: torch.Tensor, cond: Condition) -> dict[str, torch.Tensor]:
        b, t = video.shape[0], video.shape[2]
        cond = cond.detach()
        with torch.no_grad():
            fake = self.generate(cond, num_frames=t)  # (B, C, T, H, W)
        real = video.detach().requires_grad_(self.r1_gamma > 0)
        both = torch.cat([real, fake.to(real.dtype)])  # (2B, C, T, H, W) one pass for both
        pooled, mismatched = cond.pooled, cond.roll(1).pooled  # (B, D)
        negative = ~torch.isclose(pooled, mismatched, rtol=1e-3, atol=1e-5).all(dim=-1)  # (B,)
        heads_cond = torch.cat([pooled, pooled, mismatched])  # (3B, D)

        out: dict[str, torch.Tensor] = {}
        total, mismatch_sum, r1 = (torch.zeros((), device=video.device) for _ in range(3))
        real_scores, fake_scores = [], []
        for name, disc in (("video", self.video_disc), ("frame", self.frame_disc)):
            phi = disc.features(both)  # (2B, .., F)
            # real|c, fake|c, real|c_mismatched; the real features are shared by the matched and mismatched heads
            s_real, s_fake, s_mis = disc.head(torch.cat([phi[:b], phi[b:], phi[:b]]), heads_cond).chunk(3)
            d_loss, l_mis = _hinge_d(s_real, s_fake, s_mis, negative)
            if self.r1_gamma > 0:
                # R1 (Mescheder et al. 2018): γ/2 · E‖∇_x D(x, c)‖² on real clips, per discriminator; the frame
                # D's frames are disjoint, so its gradient's norm is the sum over frames: divide by k for a mean
                (grad,) = torch.autograd.grad(s_real.sum(), real, create_graph=True)
                r1 = r1 + 0.5 * self.r1_gamma * grad.float().pow(2).flatten(1).sum(1).mean() / s_real[0].numel()
            total = total + d_loss
            mismatch_sum = mismatch_sum + l_mis.detach()
            out[f"d_{name}"] = d_loss.detach()
            real_scores.append(s_real.detach().mean())
            fake_scores.append(s_fake.detach().mean())
        out.update(
            loss=total + r1,
            d_mismatch=mismatch_sum,
            r1=r1.detach(),
            d_real_score=torch.stack(real_scores).mean(),
            d_fake_score=torch.stack(fake_scores).mean(),
        )
        return out

    def _generator_loss(self, video: torch.Tensor, cond: Condition) -> dict[str, torch.Tensor]:
        d_params = [p for name in self.discriminator_modules for p in getattr(self, name).parameters()]
        with frozen(d_params):  # D is a fixed critic here: gradients flow through it, not into it
            fake = self.generate(cond, num_frames=video.shape[2])  # (B, C, T, H, W)
            g_video = -self.video_disc.head(self.video_disc.features(fake), cond.pooled).mean()
            g_frame = -self.frame_disc.head(self.frame_disc.features(fake), cond.pooled).mean()
        return {"loss": g_video + g_frame, "g_video": g_video.detach(), "g_frame": g_frame.detach()}

    # ---- parameter groups ------------------------------------------------------------------
    def phase_parameters(self, phase: str) -> list[nn.Parameter]:
        if phase not in self.phases:
            raise ValueError(f"unknown phase {phase!r}; VideoGAN phases are {self.phases}")
        names = self.discriminator_modules if phase == "d" else self.generator_modules
        return [p for name in names for p in getattr(self, name).parameters() if p.requires_grad]

    def inference_modules(self) -> list[str]:
        return list(self.generator_modules)
