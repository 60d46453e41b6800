#!/usr/bin/env bash
# Does more distillation recover the cooldown teacher's motion in other wordings (as 600 more seventh-stage steps
# did for the seed-2 teacher)? chain.sh's e5 student (runs/chain_t4000c_e5, step 1,800) copied and taught 600 more
# steps of its second stage (the last 400 decayed), then the one-step stage and the judging as in chain.sh.
# The recipe this makes: 800 + 1,000 + 600 distillation steps, ≈ 31 + 30 + 10 min.
set -euo pipefail
cd /work/main
R=bench/results/cooldown_2026-12-06
E=runs/chain_t4000c_more_e5; A=runs/chain_t4000c_more_add
[ -d $E ] || cp -r runs/chain_t4000c_e5 $E
date
.venv/bin/python -m vidfuse.cli distil-text --teacher runs/cool4000_c1000/model --out $E --seed 0 --quiet \
  --steps 2400 --lr 2e-4 --contrast 1 --contrast-on digit,colour,motion --short 0.4 --contrast-near 0.5 \
  --drop-articles 0.5 --cooldown-steps 400 --resume
date
.venv/bin/python -m vidfuse.cli train --preset small --config configs/anchor_add_small.yaml --init-from $E/model \
  --out $A --seed 0 --quiet $( [ -f $A/checkpoint.safetensors ] && echo --resume )
date
.venv/bin/python -W ignore bench/evaluate_default.py --model $A/model --out $R/eval_t4000c_more.json
date
