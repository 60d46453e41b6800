#!/usr/bin/env bash
# The seed-2 chain with 600 more seventh-stage steps (runs/s2_more_e5, from probe_more_steps.sh) carried through
# make train-gan-distilled's one-step stage (seed 2) and judged like the shipped model: does the longer last stage
# bring the end-to-end seed-2 model within the target rows and within 5 points of the shipped one?
set -euo pipefail
cd /work/main
R=bench/results/e2e_seed2_2026-12-06
date
.venv/bin/python -m vidfuse.cli train --preset small --config configs/anchor_add_small.yaml \
  --init-from runs/s2_more_e5/model --seed 2 --out runs/s2_more_add --quiet \
  $( [ -f runs/s2_more_add/checkpoint.safetensors ] && echo --resume )
date
.venv/bin/python -W ignore bench/evaluate_default.py --model runs/s2_more_add/model --out $R/onestep_more_eval.json
.venv/bin/python $R/compare.py $R/onestep_more_eval.json vidfuse/default_model/eval.json "seed 2, stage 7 +600" shipped > $R/compare_more_shipped.md
date
