"""Every figure of the README's results table for one model folder, judged by ``vidfuse eval``'s judge.

    .venv/bin/python bench/evaluate_default.py --model runs/default/model --out runs/default/results.json

Runs, in one process on one machine: the judge's self-test; text → video on ``--n`` level-1 test
captions (seen / held-out pairs × English / Chinese) with FD-judge; text + first frame → video on the
same number of captions; the captions of ``bench/novel_captions.jsonl``, ``novel_captions_v2.jsonl`` and
``novel_captions_zh*.jsonl`` (worded unlike the training templates, never trained on) and the blind two-digit
set ``novel_captions_two_c_*.jsonl`` (drawn one layer per digit); level 2 on ``--n2``
captions, beside the judge's own accuracy on the real level-2 clips of those captions; single-prompt
latency after load (median of ``--repeats``, as a real-time factor at 8 fps) and batch clips/s; a contact
sheet of held-out-pair samples (``--sheet``). Prints a Markdown table and writes everything as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402
from generate_speed import measure_speed  # noqa: E402

from vidfuse.evaluate import evaluate_captions_file, evaluate_model, fd_summary, judge_self_test  # noqa: E402
from vidfuse.fileio import atomic_write_text  # noqa: E402
from vidfuse.pipeline import TextToVideoPipeline  # noqa: E402

HERE = Path(__file__).resolve().parent
# captions worded unlike the training templates, never trained on: v1 was written beside the templates
# (and its phrasing later informed vidfuse/data/paraphrase.py); v2 (English and Chinese) and zh (Chinese,
# 144 captions) were written blind to both; zh2 (Chinese, 150) blind to both after the Chinese grammar was
# widened on 2026-12-05 (whose brief was written knowing zh's misses); zh3 (Chinese, 150) blind to everything,
# written on 2026-12-05 after zh2's misses were read (zh3 is the unbiased one since)
NOVEL_SETS = {
    "novel": "novel_captions.jsonl",
    "novel_v2": "novel_captions_v2.jsonl",
    "novel_zh": "novel_captions_zh.jsonl",
    "novel_zh2": "novel_captions_zh2.jsonl",
    "novel_zh3": "novel_captions_zh3.jsonl",
    # two digits, each with its colour and motion, in words the project never wrote (blind, 60 + 60, written on
    # 2026-12-05 while the clause rules were read against the earlier two-digit sets, never read itself: the
    # held-out one); bench/two_digits.py reports the earlier sets too
    "novel_two_c": "novel_captions_two_c_en.jsonl",
    "novel_two_c_zh": "novel_captions_two_c_zh.jsonl",
    # written blind on 2026-12-06 (helpers that read no project file) and committed before anything was judged on
    # them: one digit in English and in Chinese, and the fourth two-digit set; their misses are not printed. v4's
    # misses were read on 2026-12-06 (twenty-first session: the seed-1 encoder's headline English), so it is a
    # development set since, like v5, written to be read; v6 was written then and is held out
    "novel_v3": "novel_captions_v3.jsonl",
    "novel_v4": "novel_captions_v4.jsonl",
    "novel_v5": "novel_captions_v5.jsonl",
    "novel_v6": "novel_captions_v6.jsonl",
    "novel_zh4": "novel_captions_zh4.jsonl",
    "novel_two_d": "novel_captions_two_d_en.jsonl",
    "novel_two_d_zh": "novel_captions_two_d_zh.jsonl",
    # the fifth two-digit set, written blind on 2026-12-07 and committed before anything was judged on it
    "novel_two_e": "novel_captions_two_e_en.jsonl",
    "novel_two_e_zh": "novel_captions_two_e_zh.jsonl",
}
# the sets whose captions and misses nobody has read: their JSON rows keep the figures only
UNREAD = frozenset(
    "novel_zh3 novel_zh4 novel_v3 novel_v6 novel_two_c novel_two_c_zh novel_two_d novel_two_d_zh novel_two_e "
    "novel_two_e_zh".split()
)


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="model folder (default: the one shipped in the package)")
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--n2", type=int, default=300, help="level-2 captions (0: skip level 2)")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--sheet", type=Path, default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    pipe = TextToVideoPipeline.from_pretrained(args.model)
    res: dict = {"model": str(args.model or "default"), "machine": machine(), "generator": pipe.config.generator}
    res["self_test"] = judge_self_test(n=300, seed=args.seed)
    res["speed"] = measure_speed(pipe, repeats=args.repeats, batch=args.batch)
    res["text"] = evaluate_model(pipe, n=args.n, level=1, seed=args.seed, sheet=args.sheet)
    res["image"] = evaluate_model(pipe, n=args.n, level=1, seed=args.seed, image_conditioned=True)
    for key, name in NOVEL_SETS.items():
        res[key] = evaluate_captions_file(pipe, HERE / name, seed=args.seed)
        if key in UNREAD:  # figures only: a clip list would put the held-out captions and misses in the JSON
            res[key].pop("clips", None)
    if args.n2 > 0:
        res["level2"] = evaluate_model(pipe, n=args.n2, level=2, seed=args.seed)
    res["seconds"] = time.perf_counter() - t0
    atomic_write_text(args.out, json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    g, im = res["text"]["groups"], res["image"]["groups"]
    novel = [(key, res[key]) for key in NOVEL_SETS]
    rows = [
        ("judge on real test clips, level 1 joint", pct(res["self_test"]["real_level1"]["all"]["joint"])),
        (f"joint, held-out pairs, English (n={g['held_out/en']['n']})", pct(g["held_out/en"]["joint"])),
        (f"joint, held-out pairs, Chinese (n={g['held_out/zh']['n']})", pct(g["held_out/zh"]["joint"])),
        (f"joint, seen pairs, both languages (n={g['seen']['n']})", pct(g["seen"]["joint"])),
        (
            "per attribute, all: digit / colour / motion",
            " / ".join(pct(g["all"][k]) for k in ("digit", "colour", "motion")),
        ),
        ("FD-judge ± standard error", fd_summary(res["text"])),
        (f"text + first frame → video, joint (n={im['all']['n']})", pct(im["all"]["joint"])),
        *[
            (
                f"novel wording, {NOVEL_SETS[key]}, joint (n={r['all']['n']}; en / zh)",
                f"{pct(r['all']['joint'])} ({pct(r['groups'].get('en', {}).get('joint'))} / "
                f"{pct(r['groups'].get('zh', {}).get('joint'))})"
                + (f"; {r['truncated']} cut to what the text encoder reads" if r.get("truncated") else ""),
            )
            for key, r in novel
        ],
        *[
            row
            for l2, real in ([(res["level2"]["groups"], res["level2"]["judge_on_real"])] if "level2" in res else [])
            for row in (
                (
                    f"level 2, both digits right, en / zh (n={l2['all']['n']})",
                    f"{pct(l2['en']['joint'])} / {pct(l2['zh']['joint'])}",
                ),
                ("level 2, per digit (all attributes of one digit)", pct(l2["all"]["per_digit"])),
                (
                    "judge on these level-2 real clips: both digits / per digit",
                    f"{pct(real['all']['joint'])} / {pct(real['all']['per_digit'])}",
                ),
            )
        ],
        (
            "single-prompt latency after load; real-time factor",
            f"{res['speed']['latency_ms']:.0f} ms; {res['speed']['real_time_factor']:.1f}",
        ),
        (f"batch generation ({args.batch} copies of one prompt)", f"{res['speed']['clips_per_second']:.1f} clips/s"),
        (
            f"batch generation ({args.batch} different prompts)",
            f"{res['speed']['clips_per_second_distinct']:.1f} clips/s",
        ),
    ]
    print(f"model {res['model']} ({res['generator']}); {res['machine']}; {res['seconds']:.0f} s\n")
    print("| figure | value |\n| --- | ---: |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
