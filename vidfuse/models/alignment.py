"""Text–clip alignment: a contrastive loss that makes Z tell captions apart from the first training step.

A flow generator learns the words only through its denoising loss: the gradient that reaches the text
encoder and the fusion through cross-attention is weak while the generator is still learning what every
clip shares, and Z can stay almost the same for every caption for hundreds of steps (pooled cosine 0.999;
README "How fast the words reach the generator"). A CLIP-style symmetric InfoNCE loss between the pooled Z
of a caption and a small reader's vector of its clip gives the text side a direct signal: Z must carry what
tells this clip from the others in the batch — what is drawn, its colour, where it goes — whatever the
wording. Nothing here knows the data: the reader is a generic 3-D CNN over the clip's pixels.

The reader is used in training only; a saved model does not carry it (:meth:`VidFuseModel.inference_state_dict`).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class ClipReader(nn.Module):
    """A clip (B, C, T, H, W) in [-1, 1] → one vector (B, dim): three strided 3-D convolutions over the clip at
    half resolution (time halved twice, space three times), each group-normalised, then the mean and the
    maximum over what is left. The norms and the maximum matter: with a plain mean, a small moving thing on a
    large still background gives every clip nearly the same vector (cosine 0.999 at initialisation), and the
    loss has almost nothing to start from."""

    def __init__(self, *, in_channels: int, dim: int, width: int = 32):
        super().__init__()
        widths = (width, 2 * width, 4 * width)
        self.convs = nn.ModuleList(
            [
                nn.Conv3d(in_channels, widths[0], (3, 4, 4), stride=(1, 2, 2), padding=(1, 1, 1)),
                nn.Conv3d(widths[0], widths[1], (3, 4, 4), stride=(2, 2, 2), padding=(1, 1, 1)),
                nn.Conv3d(widths[1], widths[2], (3, 4, 4), stride=(2, 2, 2), padding=(1, 1, 1)),
            ]
        )
        self.norms = nn.ModuleList(nn.GroupNorm(8, w) for w in widths)
        self.out = nn.Linear(2 * widths[2], dim)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool3d(video.float(), (1, 2, 2)) if min(video.shape[-2:]) >= 32 else video.float()
        for conv, norm in zip(self.convs, self.norms):
            x = F.silu(norm(conv(x)))
        x = x.flatten(2)
        return self.out(torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=-1))


class TextClipAlignment(nn.Module):
    """Symmetric InfoNCE between pooled Z (B, D) and the :class:`ClipReader`'s vector of the same samples'
    clips, each projected, centred on the batch's mean and L2-normalised, with a learned temperature (CLIP's,
    from 1/0.07). Centring leaves out what every caption (every clip) of the batch shares, which is most of
    pooled Z early in training: the loss sees, and its gradient moves, only what differs."""

    def __init__(self, *, dim: int, in_channels: int):
        super().__init__()
        self.reader = ClipReader(in_channels=in_channels, dim=dim)
        self.text_proj = nn.Linear(dim, dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def forward(self, pooled: torch.Tensor, video: torch.Tensor) -> torch.Tensor:
        """The loss (a scalar) over a batch of matching (caption, clip) pairs; 0 for fewer than two pairs."""
        if pooled.shape[0] < 2:
            return pooled.new_zeros(()).float()
        clip = self.reader(video)
        with torch.autocast(device_type=pooled.device.type, enabled=False):  # logits in fp32, never bf16
            text = _centred_unit(self.text_proj(pooled.float()))
            clip = _centred_unit(clip.float())
            logits = self.logit_scale.clamp(max=math.log(100)).exp() * text @ clip.T  # (B, B)
        target = torch.arange(logits.shape[0], device=logits.device)
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def _centred_unit(x: torch.Tensor) -> torch.Tensor:
    """Rows (B, D) minus their mean, scaled to unit length once they differ from the mean by more than ~1% of
    the rows' size (c / sqrt(|c|² + ε²), ε = 1% of the mean row norm). Below that they stay short: captions
    that pooled Z cannot yet tell apart give logits near 0 (the loss at chance) and a bounded gradient, not
    rounding noise blown up into a direction."""
    centred = x - x.mean(dim=0, keepdim=True)
    eps = 0.01 * x.norm(dim=-1).mean().clamp_min(1e-12)
    return centred * torch.rsqrt(centred.pow(2).sum(dim=-1, keepdim=True) + eps.detach() ** 2)
