#!/usr/bin/env bash
# distil-text contrast steps: the commit before the shared first-frame encoding ($OLD; /tmp/old is a git worktree, /tmp/teacher the template model of commit 559b7de: git show 559b7de:vidfuse/default_model/…) against HEAD, alternated
cd /work/main
OLD=$(git log --format=%h --grep="distil-text: a contrast step encodes" | head -1)~1
cd /tmp/old && git checkout -q $OLD && cd /work/main
for i in 1 2; do
  for side in old new; do
    rm -rf /tmp/dab
    if [ $side = old ]; then (cd /tmp/old && PYTHONPATH=/tmp/old /work/main/.venv/bin/python -m vidfuse.cli distil-text --teacher /tmp/teacher --seed 0 --out /tmp/dab --steps 24 --lr 2e-4 --contrast 1 > /dev/null 2>&1)
    else .venv/bin/python -m vidfuse.cli distil-text --teacher /tmp/teacher --seed 0 --out /tmp/dab --steps 24 --lr 2e-4 --contrast 1 > /dev/null 2>&1; fi
    .venv/bin/python - "$side" <<'PY'
import json, statistics, sys
r = [json.loads(l)["s_per_step"] for l in open("/tmp/dab/metrics.jsonl") if '"s_per_step"' in l]
r = r[4:]
print(f"{sys.argv[1]}: s/step median {statistics.median(r):.3f} (n={len(r)}, {min(r):.2f}-{max(r):.2f})")
PY
  done
done
