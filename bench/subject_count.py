"""How well the two-digit warning reads prompts: :func:`vidfuse.data.subjects.digits_asked` on captions it
was not written from.

    .venv/bin/python bench/subject_count.py [--show dev] [--out bench/results/subjects.json]

A warning is raised when a prompt asks for more digits than the model was trained to draw at once (1 for the
shipped default). Per set, the share of prompts that would warn:

- **should warn**: ``bench/subject_count/two_{dev,test}.jsonl`` (60 each, half English, half Chinese, two or
  three digits in one clip, by a helper that read no project file) and level-2 template and paraphrase-grammar
  captions (``--n`` each, seed 0);
- **should not**: ``bench/subject_count/one_{dev,test}.jsonl`` (one digit among other numbers: durations,
  frame counts, "one", 一直, 两边 …, the same helper) and the four blind one-digit sets
  (``bench/novel_captions*.jsonl``), level-1 template and grammar captions.

The rule was written against the dev halves; the test halves are the unbiased figure (``--show test`` prints
their misses, which then biases them). ``digits right`` is the share whose named digits are exactly the
label's distinct digits, as a check on the reading beyond the count.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from vidfuse.data.digit_captions import make_caption
from vidfuse.data.moving_digits import sample_attributes
from vidfuse.data.paraphrase import make_paraphrase
from vidfuse.data.subjects import digits_asked
from vidfuse.fileio import atomic_write_text

BENCH = Path(__file__).resolve().parent


def _jsonl(name: str) -> list[dict]:
    rows = [json.loads(line) for line in (BENCH / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    for r in rows:
        r.setdefault("digits", [r["digit"]] if "digit" in r else [])
    return rows


def _generated(level: int, make, n: int) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        attrs = sample_attributes(rng, "test", level)
        lang = ("en", "zh")[i % 2]
        rows.append({"caption": make(attrs, lang, rng), "lang": lang, "digits": list(attrs["digits"])})
    return rows


def score(rows: list[dict], *, should_warn: bool) -> dict:
    out = {"n": len(rows), "should_warn": should_warn}
    for lang in ("en", "zh", None):
        part = [r for r in rows if lang is None or r["lang"] == lang]
        if not part:
            continue
        asked = [digits_asked(r["caption"]) for r in part]
        warns = [a.total >= 2 for a in asked]
        right = [set(a.named) == set(r["digits"]) for a, r in zip(asked, part)]
        key = lang or "all"
        out[key] = {
            "n": len(part),
            "warns": round(100 * float(np.mean(warns)), 1),
            "correct": round(100 * float(np.mean([w == should_warn for w in warns])), 1),
            "digits_right": round(100 * float(np.mean(right)), 1),
        }
    out["misses"] = [
        {"caption": r["caption"], "label": r["digits"], "read": list(a.named), "count": a.count}
        for r in rows
        for a in [digits_asked(r["caption"])]
        if (a.total >= 2) != should_warn
    ]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=400, help="template and grammar captions per level")
    ap.add_argument(
        "--show", choices=("none", "dev", "test", "level", "all"), default="dev", help="print these sets' misses"
    )
    ap.add_argument("--out", type=Path, help="write the figures here (JSON)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    sets = {
        "two_dev": (_jsonl("subject_count/two_dev.jsonl"), True),
        "two_test": (_jsonl("subject_count/two_test.jsonl"), True),
        "level2_templates": (_generated(2, make_caption, args.n), True),
        "level2_grammar": (_generated(2, make_paraphrase, args.n), True),
        "one_dev": (_jsonl("subject_count/one_dev.jsonl"), False),
        "one_test": (_jsonl("subject_count/one_test.jsonl"), False),
        "novel_v1": (_jsonl("novel_captions.jsonl"), False),
        "novel_v2": (_jsonl("novel_captions_v2.jsonl"), False),
        "novel_zh": (_jsonl("novel_captions_zh.jsonl"), False),
        "novel_zh2": (_jsonl("novel_captions_zh2.jsonl"), False),
        "level1_templates": (_generated(1, make_caption, args.n), False),
        "level1_grammar": (_generated(1, make_paraphrase, args.n), False),
    }
    results = {name: score(rows, should_warn=w) for name, (rows, w) in sets.items()}
    print(f"{'set':18} {'n':>4} {'want':>5} {'warns en':>9} {'zh':>6} {'all':>6} {'digits right':>13}")
    for name, r in results.items():
        en, zh = r.get("en", {}).get("warns", float("nan")), r.get("zh", {}).get("warns", float("nan"))
        want = "warn" if r["should_warn"] else "quiet"
        print(
            f"{name:18} {r['n']:>4} {want:>5} {en:>8}% {zh:>5}% {r['all']['warns']:>5}% {r['all']['digits_right']:>12}%"
        )
    for name, r in results.items():
        if args.show == "all" or args.show in name:
            for m in r["misses"]:
                print(f"  miss [{name}] {m['caption']!r}: label {m['label']}, read {m['read']} count {m['count']}")
    if args.out:
        # the test halves' misses stay out of the record, so that reading it does not bias them
        kept = {k: r if "test" not in k else {**r, "misses": len(r["misses"])} for k, r in results.items()}
        record = {"seconds": round(time.perf_counter() - t0, 2), "sets": kept}
        atomic_write_text(args.out, json.dumps(record, ensure_ascii=False, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
