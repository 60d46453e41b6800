"""Put one model's text encoder into another model that reads the same Z.

    python scripts/graft_text_encoder.py --text-from runs/default_e5/model --into runs/add/model --out DIR

``vidfuse distil-text`` teaches a text encoder to make a frozen fusion + generator read any wording as the
template caption; the one-step default (anchor-add) is distilled from that flow with the text encoder, visual
encoder and fusion frozen. So a text encoder taught further (new grammar words, more steps) fits the one-step
model as it fits the flow, without a new 55-minute distillation of the generator: both read Z through the same
fusion. This script checks exactly that (same text-encoder kind and shape, the same fusion and visual-encoder
weights) and refuses otherwise; the result is the ``--into`` model with the other's text encoder and its
vocabulary record, saved as a model folder (float16 with ``--half``, as the package ships).
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import torch

from vidfuse.errors import InputError
from vidfuse.pipeline import TextToVideoPipeline


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    """Equal up to float16 storage (a shipped folder keeps float16)."""
    return a.keys() == b.keys() and all(
        a[k].shape == b[k].shape and torch.allclose(a[k].float(), b[k].float(), rtol=1e-3, atol=1e-4) for k in a
    )


def graft(text_from: TextToVideoPipeline, into: TextToVideoPipeline) -> TextToVideoPipeline:
    """``into``'s model with ``text_from``'s text encoder and tokenizer (``into`` is changed in place)."""
    src, dst = text_from.model, into.model
    for field in ("text_encoder", "text_layers", "dim", "heads", "max_text_len", "vocab_size", "freeze_text"):
        if getattr(src.cfg, field) != getattr(dst.cfg, field):
            raise InputError(
                f"the two models' text encoders differ in {field} "
                f"({getattr(src.cfg, field)!r} vs {getattr(dst.cfg, field)!r}): only the same kind can be grafted"
            )
    for part in ("fusion", "visual_encoder"):
        if not _same(getattr(src, part).state_dict(), getattr(dst, part).state_dict()):
            raise InputError(
                f"the two models' {part} weights differ: they do not read the same Z, so a text encoder taught "
                "for one would not fit the other (graft only within one distillation family)"
            )
    try:
        dst.text_encoder.load_state_dict(src.text_encoder.state_dict())
    except RuntimeError as e:
        raise InputError(f"the two models' text encoders do not have the same shape ({str(e)[:120]})") from e
    tokenizer = copy.copy(text_from.tokenizer)
    if getattr(into.tokenizer, "subjects", None) is not None:  # how many digits it draws: the generator's record
        tokenizer.subjects = into.tokenizer.subjects
    return TextToVideoPipeline(dst, tokenizer, device="cpu")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--text-from", required=True, type=Path, help="model folder whose text encoder is taken")
    ap.add_argument("--into", required=True, type=Path, help="model folder that receives it")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--half", action="store_true", help="store weights as float16")
    args = ap.parse_args()
    try:
        pipe = graft(
            TextToVideoPipeline.from_pretrained(args.text_from, device="cpu"),
            TextToVideoPipeline.from_pretrained(args.into, device="cpu"),
        )
        pipe.save_pretrained(args.out, dtype=torch.float16 if args.half else None)
    except InputError as e:
        sys.exit(f"error: {e}")
    print(f"{args.out}: {args.into}'s model with {args.text_from}'s text encoder")


if __name__ == "__main__":
    main()
