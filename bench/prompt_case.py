"""Does the letter case of a prompt change what the default model draws? The English caption sets judged as
written, in lower case, in UPPER CASE and in Title Case.

    .venv/bin/python bench/prompt_case.py [--model DIR] [--seed 0] [--out bench/results/…/prompt_case.json]

The one-digit English sets (``novel_captions.jsonl``, ``_v2`` … ``_v6``; their Chinese captions are left out, having
no case) and the English halves of the blind two-digit sets c, d and e, each judged four ways with the same seed.
Only figures are printed and written (the held-out sets' captions and misses stay unread).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402
from evaluate_default import NOVEL_SETS  # noqa: E402

from vidfuse.evaluate import evaluate_captions, read_captions_file  # noqa: E402
from vidfuse.fileio import atomic_write_text  # noqa: E402
from vidfuse.pipeline import TextToVideoPipeline  # noqa: E402

HERE = Path(__file__).resolve().parent
# the English sets of evaluate_default.py's table (two-digit: the English halves)
SETS = {
    key.removeprefix("novel_") if key != "novel" else "v1": NOVEL_SETS[key]
    for key in "novel novel_v2 novel_v3 novel_v4 novel_v5 novel_v6 novel_two_c novel_two_d novel_two_e".split()
}
CASES = {"as written": str, "lower": str.lower, "UPPER": str.upper, "Title": str.title}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="model folder (default: the installed default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    pipe = TextToVideoPipeline.from_pretrained(args.model)
    res: dict = {"model": str(args.model or "default"), "machine": machine(), "seed": args.seed, "sets": {}}
    print("| set | n | " + " | ".join(CASES) + " |\n| --- | ---: |" + " ---: |" * len(CASES))
    for name, file in SETS.items():
        captions, targets = read_captions_file(HERE / file)
        rows = [(c, t) for c, t in zip(captions, targets) if t["group"] == "en"]
        figures = {}
        for case, change in CASES.items():
            r = evaluate_captions(pipe, [change(c) for c, _ in rows], [t for _, t in rows], seed=args.seed)
            figures[case] = {k: r["all"][k] for k in ("joint", "digit", "colour", "motion")}
        res["sets"][name] = {"n": len(rows), **figures}
        cells = " | ".join(f"{100 * figures[c]['joint']:.1f}%" for c in CASES)
        print(f"| {name} | {len(rows)} | {cells} |", flush=True)
    if args.out:
        atomic_write_text(args.out, json.dumps(res, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
