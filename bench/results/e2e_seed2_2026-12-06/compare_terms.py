"""The distillation's terms (per-block read ``cross``, ``pooled``, ``contrast``, and the velocity error measured
every 10 steps, also relative to the teacher's own scale ``reference_other``) averaged over windows of steps, for
several runs of make distil-default side by side.

    python compare_terms.py NAME=metrics.jsonl [NAME=metrics.jsonl ...]
"""

import json
import statistics
import sys

WINDOWS = [(400, 500), (900, 1000), (1200, 1300), (1900, 2000), (3200, 3300), (3800, 3900)]
print("| run | steps | cross | pooled | contrast | velocity | velocity / reference_other |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for arg in sys.argv[1:]:
    name, path = arg.split("=", 1)
    rows = [json.loads(line) for line in open(path)]
    ref = next((r["reference_other"] for r in rows if "reference_other" in r), None)
    for lo, hi in WINDOWS:
        window = [r for r in rows if lo < r.get("step", -1) <= hi and "cross" in r]
        if not window:
            continue
        mean = {
            k: statistics.mean(r[k] for r in window if k in r)
            for k in ("cross", "pooled", "contrast", "velocity")
            if any(k in r for r in window)
        }
        cells = [f"{mean[k]:.4f}" if k in mean else "–" for k in ("cross", "pooled", "contrast", "velocity")]
        rel = f"{mean['velocity'] / ref:.4f}" if ref and "velocity" in mean else "–"
        print(f"| {name} | {lo + 1}–{hi} | " + " | ".join(cells) + f" | {rel} |")
