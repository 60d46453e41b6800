"""The whole text-to-video network: the seed's four formulas wired together.

H = TextEncoder(X)          (B, L, D)
V = VisualEncoder(I)        (B, N, D)      optional: a reference image or the clip's first frame
Z = MultimodalFusion(H, V)  Condition      cross-attention; either modality may be absent
Y = Generator(Z, noise)     (B, C, T, H, W) in [-1, 1]

In training, ``align_weight`` > 0 adds a text–clip contrastive loss on pooled Z (:mod:`vidfuse.models.alignment`).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import torch
import torch.nn as nn

from vidfuse.config import ModelConfig
from vidfuse.models.alignment import TextClipAlignment
from vidfuse.models.base import Condition, Noise
from vidfuse.models.fusion import MultimodalFusion
from vidfuse.models.registry import build_generator
from vidfuse.models.text_encoder import PretrainedTextEncoder, build_text_encoder
from vidfuse.models.visual_encoder import VisualEncoder


class Encoded(NamedTuple):
    """What the encoders gave for a batch, besides Z: the text encoder's output dtype and V (or None)."""

    text_dtype: torch.dtype
    visual: torch.Tensor | None


class VidFuseModel(nn.Module):
    def __init__(self, cfg: ModelConfig, *, text_backbone: nn.Module | None = None):
        """``text_backbone``: the loaded pretrained encoder when ``cfg.text_encoder`` names one
        (:func:`vidfuse.pipeline.build_model` loads it)."""
        super().__init__()
        self.cfg = cfg
        self.text_encoder = build_text_encoder(cfg, text_backbone)
        self.visual_encoder = VisualEncoder(
            in_channels=cfg.channels, channels=cfg.visual_channels, dim=cfg.dim, height=cfg.height, width=cfg.width
        )
        self.fusion = MultimodalFusion(dim=cfg.dim, heads=cfg.heads, layers=cfg.fusion_layers)
        self.generator = build_generator(cfg)
        # training only: makes Z tell captions apart before the generator has learnt to listen to it
        wanted = cfg.align_weight > 0 and self.generator.cond_phase is not None  # a phase must train Z
        self.alignment = TextClipAlignment(dim=cfg.dim, in_channels=cfg.channels) if wanted else None

    # ---- conditioning ----------------------------------------------------------------------
    def condition(
        self,
        ids: torch.Tensor,
        mask: torch.Tensor,
        image: torch.Tensor | None = None,
        *,
        drop_text: torch.Tensor | None = None,
        has_image: torch.Tensor | None = None,
        visual: torch.Tensor | None = None,
    ) -> Condition:
        """Z from token ids (B, L) + mask and an optional image (B, C, H, W) in [-1, 1]. ``visual``: what
        :meth:`encode_images` gave for ``image`` when the caller already has it (models that share this one's
        frozen visual encoder: a text distillation's teacher and student)."""
        return self._encode(ids, mask, image, drop_text=drop_text, has_image=has_image, visual=visual)[0]

    def _encode(
        self, ids, mask, image, *, drop_text=None, has_image=None, text=None, visual=None
    ) -> tuple[Condition, Encoded]:
        """Z, and what the encoders gave (for an unconditional branch of the same samples). ``text`` and
        ``visual``: the encoders' outputs when the caller already has them (a continued clip's later windows;
        :meth:`condition`)."""
        text = self.text_encoder(ids, mask) if text is None else text  # (B, L, D)
        if visual is None and image is not None:
            visual = self.encode_images(image, has_image)  # (B, N, D)
        cond = self._fuse(text, mask, visual, image, drop_text=drop_text, has_image=has_image)
        return cond, Encoded(text.dtype, visual)

    def _fuse(self, text, mask, visual, image, *, drop_text=None, has_image=None) -> Condition:
        """Z from encoded text (B, L, D) and images (B, N, D) or None; ``image`` the pixels they came from."""
        cond = self.fusion(text, mask, visual, batch_size=text.shape[0], drop_text=drop_text, has_image=has_image)
        if image is not None:  # an image-to-video generator starts its clip from the image itself
            cond.image = image
            cond.has_image = (
                torch.ones(text.shape[0], dtype=torch.bool, device=text.device) if has_image is None else has_image
            )
        return cond

    def encode_images(self, image: torch.Tensor, has_image: torch.Tensor | None) -> torch.Tensor:
        """V = CNN(I) for the samples that have an image; zeros (masked out by fusion) for the rest, which
        saves the CNN's forward and backward for the 1 − ``p_image`` of a training batch without one."""
        if has_image is None or bool(has_image.all()):
            return self.visual_encoder(image)
        feats = self.visual_encoder(image[has_image])  # (B_img, N, D)
        out = feats.new_zeros(image.shape[0], *feats.shape[1:])
        out[has_image] = feats
        return out

    def training_condition(
        self, ids: torch.Tensor, mask: torch.Tensor, video: torch.Tensor
    ) -> tuple[Condition, torch.Tensor, Encoded]:
        """Z with modality dropout: text dropped with p_drop_text; the clip's own first frame given with p_image.
        Also which samples are conditioned on their text alone (B,) bool: those the alignment loss reads; and
        what the encoders gave (for an unconditional branch of the same samples)."""
        b = ids.shape[0]
        drop_text = torch.rand(b) < self.cfg.p_drop_text
        has_image = torch.rand(b) < self.cfg.p_image
        image = video[:, :, 0] if has_image.any() else None  # (B, C, H, W) first frames
        has = None if image is None else has_image.to(ids.device)
        cond, encoded = self._encode(ids, mask, image, drop_text=drop_text.to(ids.device), has_image=has)
        return cond, (~drop_text & ~has_image).to(ids.device), encoded

    # ---- training --------------------------------------------------------------------------
    def loss(self, ids: torch.Tensor, mask: torch.Tensor, video: torch.Tensor, *, phase: str) -> dict:
        """One phase of a training step on a batch: token ids (B, L), mask, real video (B, C, T, H, W)."""
        if phase in self.generator.unconditional_phases:  # e.g. a latent generator's autoencoder
            return self.generator.loss(video, None, phase=phase)
        with torch.set_grad_enabled(torch.is_grad_enabled() and phase == self.generator.cond_phase):
            cond, text_only, encoded = self.training_condition(ids, mask, video)
        if not self.generator.wants_uncond:
            out = self.generator.loss(video, cond, phase=phase)
        else:
            with torch.no_grad():  # the same samples' Z with the text dropped and the image (if any) kept
                visual = None if encoded.visual is None else encoded.visual.detach()
                uncond = self._unconditional(
                    mask, visual, cond.image, has_image=cond.has_image, dtype=encoded.text_dtype
                )
            out = self.generator.loss(video, cond, phase=phase, uncond=uncond)
        if self.alignment is not None and phase == self.generator.cond_phase:
            align = self.alignment(cond.pooled[text_only], video[text_only])
            out = {**out, "loss": out["loss"] + self.cfg.align_weight * align, "align": align.detach()}
        return out

    def conditioning_parameters(self) -> list[nn.Parameter]:
        mods = (self.text_encoder, self.visual_encoder, self.fusion, self.alignment)
        return [p for m in mods if m is not None for p in m.parameters() if p.requires_grad]

    def phase_parameters(self, phase: str) -> list[nn.Parameter]:
        params = self.generator.phase_parameters(phase)
        return params + self.conditioning_parameters() if phase == self.generator.cond_phase else params

    # ---- sampling --------------------------------------------------------------------------
    @torch.no_grad()
    def generate(
        self,
        ids: torch.Tensor,
        mask: torch.Tensor,
        image: torch.Tensor | None = None,
        *,
        num_frames: int,
        generator: torch.Generator | None = None,
        guidance_scale: float = 1.0,
        noise: Noise | None = None,
    ) -> torch.Tensor:
        """Video (B, C, T, H, W) in [-1, 1] for a batch of tokenised prompts (and first frames).

        ``noise``: the clip's randomness, from ``generator.sample_noise`` (drawn with ``generator`` when None); only
        where :meth:`draws_once` holds, since a continued clip draws each window's noise as it goes.

        A generator that is trained on clips of a fixed length (``generator.native_frames``, e.g. the latent
        flow's Transformer, which learns time positions only up to its training length) makes longer videos
        by continuation: a generator that ``continues_itself`` draws the whole length in its ``sample`` (the
        anchor families: motion matching on their own samples); one with an ``extend`` method carries the
        clip on after its first window (the layered flow: its layers keep their motions); otherwise each
        further segment is generated from the text with the previous segment's last frame as its first frame
        (the same text + image → video path the model is trained for), and that repeated frame is dropped.
        Generators with no native length (GAN, VAE) generate any length at once.
        """
        if self.draws_once(num_frames):
            return self._generate_once(
                ids, mask, image, num_frames=num_frames, generator=generator, guidance_scale=guidance_scale, noise=noise
            )
        if noise is not None:
            raise ValueError(f"noise applies to a clip drawn in one pass; {num_frames} frames are drawn in windows")
        native = self.generator.native_frames
        text = self.text_encoder(ids, mask)  # the prompt is the same in every window: encoded once
        once = functools.partial(
            self._generate_once, ids, mask, num_frames=native, generator=generator, guidance_scale=guidance_scale
        )
        extend = getattr(self.generator, "extend", None)
        if extend is not None:  # the generator carries its own motion on (vidfuse.models.layered)
            clip = once(image, text=text)
            cond, uncond = self._conditions(ids, mask, None, guidance_scale, text=text)
            more = extend(
                clip,
                cond,
                new_frames=num_frames - native,
                uncond=uncond,
                guidance_scale=guidance_scale,
                generator=generator,
            )
            return torch.cat([clip, more], dim=2)
        parts, have = [], 0
        while have < num_frames:
            clip = once(image, text=text)
            part = clip if not parts else clip[:, :, 1:]
            parts.append(part[:, :, : num_frames - have])
            have += parts[-1].shape[2]
            image = clip[:, :, -1]  # (B, C, H, W) in [-1, 1]: the next segment starts here
        return torch.cat(parts, dim=2)

    def draws_once(self, num_frames: int) -> bool:
        """Whether a clip of ``num_frames`` is one call of the generator (its noise drawn once, up front), rather
        than windows continued one after another."""
        native = self.generator.native_frames
        return native is None or num_frames <= native or native < 2 or self.generator.continues_itself

    def _generate_once(
        self,
        ids: torch.Tensor,
        mask: torch.Tensor,
        image: torch.Tensor | None,
        *,
        num_frames: int,
        generator: torch.Generator | None,
        guidance_scale: float,
        text: torch.Tensor | None = None,
        noise: Noise | None = None,
    ) -> torch.Tensor:
        cond, uncond = self._conditions(ids, mask, image, guidance_scale, text=text)
        return self.generator.generate(
            cond, num_frames=num_frames, generator=generator, guidance_scale=guidance_scale, uncond=uncond, noise=noise
        )

    def _conditions(self, ids, mask, image, guidance_scale: float, *, text=None) -> tuple[Condition, Condition | None]:
        """Z, and for guidance the unconditional branch: text replaced by the null token, the image kept."""
        cond, encoded = self._encode(ids, mask, image, text=text)  # encoded once for both branches
        if guidance_scale == 1.0:
            return cond, None
        return cond, self._unconditional(mask, encoded.visual, image, dtype=encoded.text_dtype)

    def _unconditional(self, mask, visual, image, *, has_image=None, dtype=torch.float32) -> Condition:
        """Z with every sample's text dropped. The null token hides the text tokens from everything that is
        read (attention masks, the masked mean), so their values never matter: zeros stand in and the text
        encoder is not run (with e5 a second pass was a third of a prompt's time). ``dtype``: the text
        encoder's output dtype (the null token is cast to it, as with real text)."""
        text = torch.zeros(*mask.shape, self.cfg.dim, device=mask.device, dtype=dtype)
        drop = torch.ones(mask.shape[0], dtype=torch.bool, device=mask.device)
        return self._fuse(text, mask, visual, image, drop_text=drop, has_image=has_image)

    # ---- what a model folder stores --------------------------------------------------------
    def inference_state_dict(self) -> dict[str, torch.Tensor]:
        """Weights needed to generate: no discriminators, no frozen pretrained backbone (it ships elsewhere)."""
        keep = tuple(f"generator.{n}." for n in self.generator.inference_modules())
        skip_backbone = isinstance(self.text_encoder, PretrainedTextEncoder) and self.text_encoder.frozen
        out = {}
        for k, v in self.state_dict().items():
            # the generator's own tensors (not in a child module) are inference state too: the latent families'
            # shift and scale, without which a saved model decodes raw latents (grey frames)
            own = k.startswith("generator.") and "." not in k[len("generator.") :]
            if k.startswith("generator.") and not k.startswith(keep) and not own:
                continue
            if skip_backbone and k.startswith("text_encoder.backbone."):
                continue
            if k.startswith("alignment."):  # training only
                continue
            out[k] = v
        return out
