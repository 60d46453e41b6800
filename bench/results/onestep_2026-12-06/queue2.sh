#!/usr/bin/env bash
# After queue.sh: the one-step stage with 50% paraphrased captions from the recipe's seed-2 e5 flow (seven stages,
# the seventh 1,200 steps: runs/s2_more_e5), against its 0% one-step model (e2e_seed2_2026-12-06/onestep_more_eval.json).
set -uo pipefail
cd /work/main
while pgrep -f "onestep_2026-12-06/queue.sh" >/dev/null; do sleep 30; done
bash bench/results/onestep_2026-12-06/onestep.sh runs/s2_more_e5/model s2more_p50 2 0.5
