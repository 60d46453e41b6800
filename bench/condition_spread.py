"""How much do a model's conditions differ between captions? A model whose Z barely changes with the words
cannot follow them, whatever its generator learns.

    .venv/bin/python bench/condition_spread.py --model runs/layered/model [--model vidfuse/default_model ...]

For each model: Z = fusion(text encoder(caption)) for level-1 captions built from one template, and the mean
cosine of the pooled vectors between caption pairs that differ in exactly one attribute (digit, colour or
motion), and between all pairs. The shipped default (from-scratch encoder) is the reference; 1.0 means the
conditions do not depend on the words. Eval mode, no image, no dropout.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from vidfuse.fileio import atomic_write_text  # noqa: E402
from vidfuse.pipeline import TextToVideoPipeline  # noqa: E402

DIGITS = (1, 3, 4, 7)
COLOURS = ("red", "blue", "green")
MOTIONS = ("to the left", "to the right", "up and down")


def captions() -> list[tuple[tuple[int, str, str], str]]:
    return [((d, c, m), f"the {c} digit {d} is moving {m}") for d, c, m in itertools.product(DIGITS, COLOURS, MOTIONS)]


@torch.no_grad()
def spread(pipe: TextToVideoPipeline) -> dict[str, float]:
    """Mean pooled-condition cosine over caption pairs differing in one attribute, and over all pairs."""
    model = pipe.model.eval()
    caps = captions()
    ids, mask = pipe.tokenizer.encode([c for _, c in caps])
    pooled = F.normalize(model.condition(ids, mask).pooled.float(), dim=-1)
    cos = pooled @ pooled.T
    groups: dict[str, list[float]] = {"digit": [], "colour": [], "motion": [], "all pairs": []}
    for (i, (a, _)), (j, (b, _)) in itertools.combinations(enumerate(caps), 2):
        diff = [k for k, x, y in zip(("digit", "colour", "motion"), a, b) if x != y]
        if len(diff) == 1:
            groups[diff[0]].append(float(cos[i, j]))
        groups["all pairs"].append(float(cos[i, j]))
    return {k: round(sum(v) / len(v), 4) for k, v in groups.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", required=True, help="a model folder (repeat for several)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    rows = {m: spread(TextToVideoPipeline.from_pretrained(m, device="cpu")) for m in args.model}
    print(f"pooled-condition cosine between captions differing in one attribute; {machine()}\n")
    print("| model | digit | colour | motion | all pairs |\n| --- | ---: | ---: | ---: | ---: |")
    for m, r in rows.items():
        print(f"| {m} | {r['digit']:.3f} | {r['colour']:.3f} | {r['motion']:.3f} | {r['all pairs']:.3f} |")
    if args.out:
        atomic_write_text(args.out, json.dumps({"machine": machine(), "models": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
