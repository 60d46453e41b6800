"""One-digit caption sets judged at one seed: figures only (joint / digit / colour / motion).

python one_digit_sets.py BENCH_DIR v1,v2,zh,… SEED OUT.json
"""

import json
import sys
import warnings
from pathlib import Path

import vidfuse
from vidfuse.evaluate.harness import evaluate_captions_file
from vidfuse.pipeline import TextToVideoPipeline

warnings.simplefilter("ignore")
here = Path(sys.argv[1])
keys = sys.argv[2].split(",")
seed = int(sys.argv[3])
out = sys.argv[4]
print("vidfuse from", vidfuse.__file__, flush=True)
pipe = TextToVideoPipeline.from_pretrained(None)
res = {}
for k in keys:
    name = "novel_captions.jsonl" if k == "v1" else f"novel_captions_{k}.jsonl"
    r = evaluate_captions_file(pipe, here / name, seed=seed)
    a = r["all"]
    res[k] = {x: a[x] for x in ("n", "joint", "digit", "colour", "motion") if x in a}
    print(k, res[k], flush=True)
Path(out).write_text(json.dumps(res, indent=1))
