#!/usr/bin/env bash
# Batch speed before and after the post-processing and allocator changes, three alternations, on one machine.
# OLD: a worktree of the commit before them (git worktree add /tmp/old fbe65e8), run with this commit's
# bench/generate_speed.py (copied to /tmp/sp/gs_old.py with keep_freed_memory replaced by a no-op, and
# bench/_common.py beside it).
set -euo pipefail
cd "$(dirname "$0")/../../.."
for i in 1 2 3; do
  echo "== old (fbe65e8)"
  (cd /tmp/old && PYTHONPATH=/tmp/old VIDFUSE_KEEP_FREED_MEMORY=0 "$OLDPWD/.venv/bin/python" /tmp/sp/gs_old.py \
    --batches 7 --repeats 5 2>&1 | grep -E "different|slowest|matmul|latency")
  echo "== new"
  .venv/bin/python bench/generate_speed.py --batches 7 --repeats 5 2>&1 | grep -E "different|slowest|matmul|latency"
done
