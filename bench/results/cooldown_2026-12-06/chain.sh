#!/usr/bin/env bash
# make train-default's second and third stages, shortened for the "training ≤ 60 min" row of issue 17, from a
# given template model: the two-stage distillation of ../fast_recipe_2026-12-06/fast_distil.sh (800 steps at lr
# 1e-3; 1,000 at 2e-4 with everything the seventh stage has) with the second stage's last COOLDOWN steps decayed
# (--cooldown-steps), then the one-step stage (250 steps, distilled again, not grafted), judged like the shipped
# model by bench/evaluate_default.py.        chain.sh TEMPLATE_MODEL NAME SEED COOLDOWN
# Leaves runs/chain_NAME_e5, runs/chain_NAME_add and eval_NAME.json here. Each step resumes where it stopped.
set -euo pipefail
cd /work/main
T=$1; N=$2; SEED=$3; C=$4
R=bench/results/cooldown_2026-12-06
E=runs/chain_${N}_e5; A=runs/chain_${N}_add
D=".venv/bin/python -m vidfuse.cli distil-text --teacher $T --out $E --seed $SEED --quiet"
date
$D --steps 800 --lr 1e-3 $( [ -f $E/checkpoint.safetensors ] && echo --resume )
$D --steps 1800 --lr 2e-4 --contrast 1 --contrast-on digit,colour,motion --short 0.4 --contrast-near 0.5 \
  --drop-articles 0.5 --cooldown-steps $C --resume
date
.venv/bin/python -m vidfuse.cli train --preset small --config configs/anchor_add_small.yaml --init-from $E/model \
  --out $A --seed $SEED --quiet $( [ -f $A/checkpoint.safetensors ] && echo --resume )
date
.venv/bin/python -W ignore bench/evaluate_default.py --model $A/model --out $R/eval_${N}.json
date
