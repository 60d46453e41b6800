#!/usr/bin/env bash
# After the seed-2 no-critic run: the no-critic stage from the seed-0 chain's e5 flow for twice the steps (500): does
# the one-step stage's loss on other wordings shrink with more steps?
set -uo pipefail
cd /work/main
while pgrep -f "onestep_args.sh runs/s2_more_e5" >/dev/null; do sleep 20; done
bash bench/results/onestep_2026-12-06/onestep_args.sh runs/chain_t4000c_e5/model t4000c_adv0_500 0 0 --adv-weight 0 \
  --steps 500
