#!/usr/bin/env bash
# The one-step stage taught on the grammar's wordings too: configs/anchor_add_small.yaml trains on template captions
# only (paraphrase 0), so its student and critic never see the other wordings the e5 flow reads. The same stage from
# chain.sh's e5 flow (runs/chain_t4000c_e5) with 75% of the captions from the paraphrase grammar (the distillation's
# share), judged like chain.sh's one-step model.
set -euo pipefail
cd /work/main
R=bench/results/cooldown_2026-12-06
A=runs/chain_t4000c_para_add
date
.venv/bin/python -m vidfuse.cli train --preset small --config configs/anchor_add_small.yaml --paraphrase 0.75 \
  --init-from runs/chain_t4000c_e5/model --out $A --seed 0 --quiet $( [ -f $A/checkpoint.safetensors ] && echo --resume )
date
.venv/bin/python -W ignore bench/evaluate_default.py --model $A/model --out $R/eval_t4000c_para.json
date
