"""Screen a model on caption files: aggregates only (no captions or misses printed)."""

import json
import sys
import time
from pathlib import Path

from vidfuse.evaluate.harness import evaluate_captions_file, evaluate_model
from vidfuse.pipeline import TextToVideoPipeline

model = sys.argv[1] if sys.argv[1] != "default" else None
sets = sys.argv[2].split(",")
out = sys.argv[3]
pipe = TextToVideoPipeline.from_pretrained(model)
res = {"model": sys.argv[1]}
t0 = time.time()
for s in sets:
    if s == "heldout":
        r = evaluate_model(pipe, n=200, level=1, seed=0)
        res[s] = {
            "all": r["groups"]["all"]["joint"],
            "held_out/en": r["groups"]["held_out/en"]["joint"],
            "held_out/zh": r["groups"]["held_out/zh"]["joint"],
        }
    else:
        r = evaluate_captions_file(pipe, Path("/work/main/bench") / f"novel_captions_{s}.jsonl", seed=0)
        res[s] = {"all": r["all"]["joint"], **{g: v["joint"] for g, v in r["groups"].items()}}
    print(s, json.dumps(res[s]), flush=True)
res["seconds"] = time.time() - t0
Path(out).write_text(json.dumps(res, indent=1))
