#!/usr/bin/env bash
# onestep.sh with further `vidfuse train` options (e.g. --adv-weight 0), judged the same way.
#     onestep_args.sh E5_FLOW_MODEL NAME SEED PARAPHRASE [TRAIN OPTIONS …]
set -euo pipefail
cd /work/main
F=$1; N=$2; SEED=$3; P=$4; shift 4
R=bench/results/onestep_2026-12-06
A=runs/onestep_$N
date
.venv/bin/python -m vidfuse.cli train --preset small --config configs/anchor_add_small.yaml --paraphrase $P "$@" \
  --init-from $F --out $A --seed $SEED --quiet $( [ -f $A/checkpoint.safetensors ] && echo --resume )
date
.venv/bin/python -W ignore bench/evaluate_default.py --model $A/model --out $R/eval_$N.json
date
