#!/usr/bin/env bash
# make train-default's second and third stages with the shorter distillation (fast_distil.sh), from a given
# template model, then judged like the shipped model:   chain.sh TEMPLATE_MODEL NAME [SEED]
# Leaves runs/fast_NAME_e5 (the e5 flow), runs/fast_NAME_add (the one-step model) and eval_NAME.json here.
set -euo pipefail
cd /work/main
T=$1; N=$2; SEED=${3:-0}
R=bench/results/fast_recipe_2026-12-06
$R/fast_distil.sh $T runs/fast_${N}_e5 $SEED
date
.venv/bin/python -m vidfuse.cli train --preset small --config configs/anchor_add_small.yaml \
  --init-from runs/fast_${N}_e5/model --out runs/fast_${N}_add --seed $SEED --quiet \
  $( [ -f runs/fast_${N}_add/checkpoint.safetensors ] && echo --resume )
date
.venv/bin/python -W ignore bench/evaluate_default.py --model runs/fast_${N}_add/model --out $R/eval_${N}.json
date
