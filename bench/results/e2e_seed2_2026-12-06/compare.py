"""Two bench/evaluate_default.py results side by side, every figure of issue 17's table and the blind sets,
with the gap in points and whether it is within 5 (figures only one of them has are left out).

    python compare.py A.json B.json [A-name B-name]
"""

import json
import sys


def figures(d: dict) -> dict[str, float]:
    t = d["text"]["groups"]
    f = {
        "held-out en": t["held_out/en"]["joint"],
        "held-out zh": t["held_out/zh"]["joint"],
        "seen": t["seen"]["joint"],
        "all 600": t["all"]["joint"],
        "text + first frame": d["image"]["groups"]["all"]["joint"],
    }
    if "level2" in d:
        lv2 = d["level2"]["groups"]
        f.update({"level 2 en": lv2["en"]["joint"], "level 2 zh": lv2["zh"]["joint"]})
        f["level 2 per digit"] = lv2["all"]["per_digit"]
    for key, value in d.items():
        if key.startswith("novel"):
            f[key.replace("novel_", "").replace("novel", "v1")] = value["all"]["joint"]
    return f


a, b = (json.load(open(p)) for p in sys.argv[1:3])
names = sys.argv[3:5] if len(sys.argv) > 4 else ("A", "B")
fa, fb = figures(a), figures(b)
print(f"| figure | {names[0]} | {names[1]} | gap (points) |")
print("| --- | ---: | ---: | ---: |")
worst = 0.0
for k in [k for k in fa if k in fb]:  # the figures both results have
    gap = 100 * (fa[k] - fb[k])
    worst = max(worst, abs(gap))
    print(f"| {k} | {100 * fa[k]:.1f}% | {100 * fb[k]:.1f}% | {gap:+.1f}{'' if abs(gap) <= 5 else ' **> 5**'} |")
print(f"| FD-judge | {a['text']['fd_judge']:.1f} | {b['text']['fd_judge']:.1f} | |")
print(f"\nlargest gap: {worst:.1f} points")
