#!/usr/bin/env bash
# After queue3.sh: guidance at generation on the seed-0 chain's one-step model (guided_probe.py); w = 1 first, which
# must read as that model's evaluate_default figures.
set -uo pipefail
cd /work/main
while pgrep -f "onestep_2026-12-06/queue3.sh" >/dev/null; do sleep 20; done
R=bench/results/onestep_2026-12-06
date
.venv/bin/python -W ignore $R/guided_probe.py runs/chain_t4000c_add/model $R/guided_t4000c.json 1 1.5 2
date
