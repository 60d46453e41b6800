"""The layered representation's ceiling on Moving Digits: real test clips encoded into it and drawn back in
pixels (``vidfuse.models.layered.reconstruct``: no autoencoder, no sampling), then judged like generated ones.

    .venv/bin/python bench/layered_ceiling.py [--level 2] [--n 300] [--variants 3x4 3x2 3x4+r4]
        [--out bench/results/layered_ceiling.json]

A variant is ``KxB`` (K layers, B-pixel mask cells) with an optional ``+rN`` (the per-frame appearance
correction over N-pixel cells, ``gen.residual_cell``). Beside them, the real clips themselves: the judge's own
accuracy on the same clips. A generator with that representation cannot score above its row (it may score
below: it must also learn to draw it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from vidfuse.evaluate.clips import real_test_clips  # noqa: E402
from vidfuse.evaluate.judge import judge_clips  # noqa: E402
from vidfuse.evaluate.metrics import score_clips, summarise_scores  # noqa: E402
from vidfuse.fileio import atomic_write_text  # noqa: E402
from vidfuse.models.layered import reconstruct  # noqa: E402

VARIANT = re.compile(r"^(\d+)x(\d+)(?:\+r(\d+))?$")


def parse_variant(text: str) -> tuple[int, int, int]:
    """``"3x4+r4"`` → (layers 3, mask cell 4 px, correction cell 4 px); ``"3x4"`` → (3, 4, 0)."""
    m = VARIANT.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"variant {text!r}: write K x B [+rN], e.g. 3x4 or 3x4+r4")
    return int(m[1]), int(m[2]), int(m[3] or 0)


def drawn_back(clips: np.ndarray, layers: int, block: int, residual_cell: int, batch: int = 32) -> np.ndarray:
    """uint8 clips (N, T, H, W, 3) → the same clips through the layered representation, uint8."""
    out = []
    for i in range(0, len(clips), batch):
        video = torch.from_numpy(clips[i : i + batch]).permute(0, 4, 1, 2, 3).float() / 127.5 - 1
        with torch.no_grad():
            rec = reconstruct(video, layers, block, residual_cell)
        out.append(((rec.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 4, 1).numpy())
    return np.concatenate(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--level", type=int, default=2, choices=(1, 2))
    ap.add_argument("--n", type=int, default=300, help="real test clips (seed --seed, as bench/evaluate_default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", nargs="+", type=parse_variant, default=[(3, 4, 0), (3, 4, 4)])
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    clips, _, attrs = real_test_clips(args.n, level=args.level, seed=args.seed)
    rows = {"real clips": clips}
    for k, b, r in args.variants:
        t0 = time.perf_counter()
        rows[f"{k}x{b}" + (f"+r{r}" if r else "")] = drawn_back(clips, k, b, r)
        print(f"{k}x{b}+r{r}: analysed in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    result = {
        "what": "real Moving Digits test clips drawn back through the layered representation, judged",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "level": args.level,
        "n": args.n,
        "seed": args.seed,
        "rows": {name: summarise_scores(score_clips(judge_clips(c), attrs)) for name, c in rows.items()},
    }
    print(f"level {args.level}, {args.n} real test clips (seed {args.seed}); {result['machine']}\n")
    print("| representation | both / all right | per digit | digit / colour / motion |\n| --- | ---: | ---: | --- |")
    for name, s in result["rows"].items():
        print(
            f"| {name} | {s['joint']:.1%} | {s['per_digit']:.1%} | "
            f"{s['digit']:.1%} / {s['colour']:.1%} / {s['motion']:.1%} |"
        )
    if args.out:
        atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
