#!/usr/bin/env bash
# flow-phase (ae_steps 0) training speed with and without keep_freed_memory, alternated
cd /work/main
for i in 1 2; do for k in 0 1; do
  rm -rf /tmp/t_ab
  VIDFUSE_KEEP_FREED_MEMORY=$k .venv/bin/python -m vidfuse.cli train --preset small --config configs/anchor_small.yaml --ae-steps 0 --steps 40 --log-every 1 --ckpt-every 1000 --sample-every 100000 --out /tmp/t_ab > /dev/null 2>&1
  .venv/bin/python - "$k" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open("/tmp/t_ab/metrics.jsonl")]
r = [x["clips_per_s"] for x in rows if "clips_per_s" in x and x["step"] > 10]
print(f"keep={sys.argv[1]} flow phase clips/s median {statistics.median(r):.1f} (n={len(r)}, {min(r):.1f}-{max(r):.1f})")
PY
done; done
