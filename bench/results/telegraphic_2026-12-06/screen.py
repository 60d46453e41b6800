"""Screen a model on caption sets, seed 0. Development sets (read: v1 'novel', v2, v4, v5) print their misses
to MISSES; every other set gives figures only (its captions and misses stay unread).

    python screen.py MODEL SETS OUT.json [MISSES.txt]      (MODEL 'default': the shipped one; SETS: v4,v5,heldout)
"""

import json
import sys
import time
from pathlib import Path

from vidfuse.evaluate.harness import evaluate_captions_file, evaluate_model
from vidfuse.pipeline import TextToVideoPipeline

READ = {"novel", "v2", "v4", "v5"}
model = None if sys.argv[1] == "default" else sys.argv[1]
sets, out = sys.argv[2].split(","), Path(sys.argv[3])
misses = open(sys.argv[4], "w") if len(sys.argv) > 4 else None
pipe = TextToVideoPipeline.from_pretrained(model)
res, t0 = {"model": sys.argv[1]}, time.time()
for s in sets:
    if s == "heldout":
        r = evaluate_model(pipe, n=200, level=1, seed=0)
        res[s] = {g: r["groups"][g]["joint"] for g in ("all", "held_out/en", "held_out/zh")}
    else:
        name = "novel_captions.jsonl" if s == "novel" else f"novel_captions_{s}.jsonl"
        r = evaluate_captions_file(pipe, Path(__file__).resolve().parents[2] / name, seed=0)
        res[s] = {"all": r["all"]["joint"], "motion": r["all"]["motion"], "colour": r["all"]["colour"]}
        if misses and s in READ:
            for c in r["clips"]:
                if not c["joint"]:
                    print(s, c["target"], "->", c["judged"], "|", c["caption"], file=misses)
    print(s, json.dumps({k: round(v, 3) for k, v in res[s].items()}), flush=True)
res["seconds"] = round(time.time() - t0)
out.write_text(json.dumps(res, indent=1))
