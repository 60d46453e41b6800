"""The mean joint over the ten one-digit blind sets (v1–v6, zh–zh4) of bench/evaluate_default.py results, each set
weighted equally, beside seen and held-out: the figure NOTES' rule for a one-step change is judged by.

    python blind_mean.py NAME=EVAL.json ...
"""

import json
import sys

SETS = ["novel", "novel_v2", "novel_v3", "novel_v4", "novel_v5", "novel_v6", "novel_zh", "novel_zh2", "novel_zh3"]
SETS.append("novel_zh4")

print("| model | blind one-digit mean | zh sets mean | en sets mean | seen | held-out en / zh |")
print("| --- | ---: | ---: | ---: | ---: | --- |")
for arg in sys.argv[1:]:
    name, path = arg.split("=", 1)
    d = json.load(open(path, encoding="utf-8"))
    j = {k: d[k]["all"]["joint"] for k in SETS}
    zh = [j[k] for k in SETS if "zh" in k]
    en = [j[k] for k in SETS if "zh" not in k]
    g = d["text"]["groups"]
    print(
        f"| {name} | {100 * sum(j.values()) / len(j):.1f}% | {100 * sum(zh) / len(zh):.1f}% | "
        f"{100 * sum(en) / len(en):.1f}% | {100 * g['seen']['joint']:.1f}% | "
        f"{100 * g['held_out/en']['joint']:.1f} / {100 * g['held_out/zh']['joint']:.1f}% |"
    )
