"""Z = MultimodalTransformer(H, V): cross-attention fusion of text tokens and visual tokens.

Each layer lets text tokens attend to themselves and then to the visual tokens, and visual tokens to
themselves and then to the text tokens (a two-stream co-attention Transformer, as in ViLBERT). The
output Z concatenates both streams with their masks, plus a pooled vector.

Either modality may be absent. An absent modality is replaced by a learned *null* token, per
sample: at training time text is dropped with probability ``p_drop_text`` and the image is present
only with probability ``p_image``, so the model learns p(video | text, image), p(video | text),
p(video | image) and p(video) at once — classifier-free guidance contrasts the first two with the
last ones.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from vidfuse.models.base import Condition
from vidfuse.models.layers import TransformerBlock


class MultimodalFusion(nn.Module):
    def __init__(self, *, dim: int, heads: int, layers: int):
        super().__init__()
        self.null_text = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.null_image = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.modality = nn.Parameter(torch.randn(2, dim) * 0.02)  # type embeddings: text, visual
        self.text_blocks = nn.ModuleList(TransformerBlock(dim, heads, cross=True) for _ in range(layers))
        self.visual_blocks = nn.ModuleList(TransformerBlock(dim, heads, cross=True) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.pool = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(
        self,
        text: torch.Tensor | None,
        text_mask: torch.Tensor | None,
        visual: torch.Tensor | None,
        *,
        batch_size: int,
        drop_text: torch.Tensor | None = None,
        has_image: torch.Tensor | None = None,
    ) -> Condition:
        """text (B, L, D) + mask (B, L) or None; visual (B, N, D) or None.

        ``drop_text`` (B,) bool: replace that sample's text by the null token (training dropout, or the
        unconditional branch of guidance). ``has_image`` (B,) bool: which samples really have an image.
        """
        text, text_mask = self._with_null(text, text_mask, drop_text, self.null_text, batch_size)
        visual, visual_mask = self._with_null(
            visual, None, None if has_image is None else ~has_image, self.null_image, batch_size
        )
        text = text + self.modality[0]
        visual = visual + self.modality[1]
        for tb, vb in zip(self.text_blocks, self.visual_blocks):
            text, visual = (
                tb(text, mask=text_mask, context=visual, context_mask=visual_mask),
                vb(visual, mask=visual_mask, context=text, context_mask=text_mask),
            )
        tokens = self.norm(torch.cat([text, visual], dim=1))  # (B, L + N, D)
        mask = torch.cat([text_mask, visual_mask], dim=1)  # (B, L + N)
        weights = mask.to(tokens.dtype)[..., None]
        pooled = self.pool((tokens * weights).sum(1) / weights.sum(1))  # (B, D) masked mean
        return Condition(tokens, mask, pooled)

    @staticmethod
    def _with_null(x, mask, drop, null, batch_size):
        """Put the null token first; hide the real tokens of dropped samples. Returns (tokens, mask)."""
        nul = null.expand(batch_size, 1, -1)
        if x is None:
            return nul, torch.ones(batch_size, 1, dtype=torch.bool, device=null.device)
        mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device) if mask is None else mask
        if drop is not None:
            mask = mask & ~drop[:, None]
        # the null token is visible only where the modality is dropped, so every row keeps ≥1 token
        null_visible = ~mask.any(dim=1, keepdim=True)
        return torch.cat([nul.to(x.dtype), x], dim=1), torch.cat([null_visible, mask], dim=1)
