"""The blind one-digit caption sets judged at one seed: figures only (both right / digit / colour / motion).

    .venv/bin/python bench/one_digit_sets.py [--sets v1,v2,zh,zh2,v4,v5,v3,v6,zh3,zh4] [--seed 0] [--out …json]

``v1`` is ``bench/novel_captions.jsonl``, the others ``bench/novel_captions_<name>.jsonl``. v3, v6, zh3 and zh4 are
held out (never read; README "Captions in other words"): only their figures are printed, as for every set here. A
text-side change is judged on all of them before and after it (NOTES.md, the twenty-ninth and thirtieth sessions).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

from vidfuse.evaluate.harness import evaluate_captions_file
from vidfuse.fileio import atomic_write_text
from vidfuse.pipeline import TextToVideoPipeline

HERE = Path(__file__).resolve().parent
ALL = "v1,v2,zh,zh2,v4,v5,v3,v6,zh3,zh4"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model folder (default: the installed default)")
    ap.add_argument("--sets", default=ALL, help="which sets, comma-separated")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    args = ap.parse_args()
    paths = {
        k: HERE / ("novel_captions.jsonl" if k == "v1" else f"novel_captions_{k}.jsonl") for k in args.sets.split(",")
    }
    if missing := [k for k, p in paths.items() if not p.is_file()]:
        ap.error(f"--sets: no caption set {', '.join(missing)} in {HERE}")
    warnings.simplefilter("ignore")  # the unknown-word warnings would print the held-out sets' words
    pipe = TextToVideoPipeline.from_pretrained(args.model)
    res = {}
    for k, path in paths.items():
        a = evaluate_captions_file(pipe, path, seed=args.seed)["all"]
        res[k] = {x: a[x] for x in ("n", "joint", "digit", "colour", "motion") if x in a}
        print(k, res[k], flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(args.out), json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
