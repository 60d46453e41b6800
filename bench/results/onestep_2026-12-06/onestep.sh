#!/usr/bin/env bash
# The one-step stage (configs/anchor_add_small.yaml, 250 steps) from a given e5 flow, with a share of its captions
# from the paraphrase grammar (the config has 0: student, teacher and critic read template captions only), judged
# like the shipped model by bench/evaluate_default.py.      onestep.sh E5_FLOW_MODEL NAME SEED PARAPHRASE
# Leaves runs/onestep_NAME and eval_NAME.json here. Resumes where it stopped.
set -euo pipefail
cd /work/main
F=$1; N=$2; SEED=$3; P=$4
R=bench/results/onestep_2026-12-06
A=runs/onestep_$N
date
.venv/bin/python -m vidfuse.cli train --preset small --config configs/anchor_add_small.yaml --paraphrase $P \
  --init-from $F --out $A --seed $SEED --quiet $( [ -f $A/checkpoint.safetensors ] && echo --resume )
date
.venv/bin/python -W ignore bench/evaluate_default.py --model $A/model --out $R/eval_$N.json
date
