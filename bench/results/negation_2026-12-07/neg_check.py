"""Ten prompts that say what not to draw, judged for the digit and the colour (seeds 0-2; written with the rule
of vidfuse/data/negation.py in view, so a check of it, not a blind set). Motion targets are not judged here.

    .venv/bin/python bench/results/negation_2026-12-07/neg_check.py OUT.json
"""

import json
import sys

from vidfuse.evaluate import evaluate_captions
from vidfuse.pipeline import TextToVideoPipeline

ROWS = [
    ("a red 9, not a 3", 9, "red"),
    ("draw a 9 rather than a 3, in red, bouncing left and right", 9, "red"),
    ("一个红色的9，不是3，左右弹跳", 9, "red"),
    ("not a blue 3 but a green 5 moving up", 5, "green"),
    ("a green 2 moving left, not right", 2, "green"),
    ("a yellow 6, not a 1, going down", 6, "yellow"),
    ("蓝色的7，而不是红色的5，向上", 7, "blue"),
    ("红色的5向左，不要往右", 5, "red"),
    ("a cyan 8 moving right rather than left", 8, "cyan"),
    ("I don't want a 4, draw a magenta 0 going up", 0, "magenta"),
]


def main() -> None:
    pipe = TextToVideoPipeline.from_pretrained(None)
    captions = [r[0] for r in ROWS]
    targets = [{"digits": [d], "colours": [c], "motions": ["up"], "group": "x"} for _, d, c in ROWS]
    out = {}
    for seed in (0, 1, 2):
        res = evaluate_captions(pipe, captions, targets, seed=seed)
        out[seed] = {k: res["all"][k] for k in ("digit", "colour")} | {"judged": [c["judged"] for c in res["clips"]]}
        print(seed, "digit", res["all"]["digit"], "colour", res["all"]["colour"])
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
