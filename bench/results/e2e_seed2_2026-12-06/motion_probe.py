"""A quick read of a model's motion on the one-digit blind sets (all ten: 1,316 captions), per motion, for
probing distillation changes between full judgings. Seed 0, as bench/evaluate_default.py.

    python motion_probe.py MODEL_DIR [OUT.json]
"""

import collections
import json
import sys
from pathlib import Path

from vidfuse.evaluate import evaluate_captions_file
from vidfuse.pipeline import TextToVideoPipeline

BENCH = Path(__file__).resolve().parents[2]
SETS = [
    "novel",
    "novel_v2",
    "novel_zh",
    "novel_zh2",
    "novel_zh3",
    "novel_v3",
    "novel_v4",
    "novel_v5",
    "novel_v6",
    "novel_zh4",
]
FILES = {
    k: "novel_captions.jsonl" if k == "novel" else f"novel_captions_{k.removeprefix('novel_')}.jsonl" for k in SETS
}

pipe = TextToVideoPipeline.from_pretrained(sys.argv[1])
miss, total, joint = collections.Counter(), collections.Counter(), {}
for key in SETS:
    res = evaluate_captions_file(pipe, BENCH / FILES[key], seed=0)
    joint[key] = res["all"]["joint"]
    for clip in res["clips"]:
        asked = clip["target"]["motions"][0]
        total[asked] += 1
        miss[asked] += asked != " ".join(clip["judged"].split()[2:])
rates = {m: round(miss[m] / total[m], 3) for m in total}
print("joint:", {k: f"{100 * v:.1f}" for k, v in joint.items()})
print("motion miss rate:", {m: f"{100 * r:.0f}% of {total[m]}" for m, r in rates.items()})
if len(sys.argv) > 2:
    Path(sys.argv[2]).write_text(json.dumps({"model": sys.argv[1], "joint": joint, "motion_miss": rates}, indent=1))
