#!/usr/bin/env bash
# After queue2.sh: the one-step stage without its critic (distillation alone, --adv-weight 0) from the seed-0 chain's
# e5 flow, template captions only: does the critic cost the other wordings?
set -uo pipefail
cd /work/main
while pgrep -f "onestep_2026-12-06/queue2.sh" >/dev/null; do sleep 30; done
bash bench/results/onestep_2026-12-06/onestep_args.sh runs/chain_t4000c_e5/model t4000c_adv0 0 0 --adv-weight 0
