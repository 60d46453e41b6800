#!/usr/bin/env bash
# The shorter distillation alone: from the shipped template model (git 559b7de, 6,800 steps) as teacher, grafted
# into the shipped one-step model like the shipped encoder, judged like it.      isolated.sh SEED
set -euo pipefail
cd /work/main
R=bench/results/fast_recipe_2026-12-06
S=${1:-0}
$R/fast_distil.sh /tmp/m_559b7de runs/fast_t6800_s${S}_e5 $S
.venv/bin/python scripts/graft_text_encoder.py --text-from runs/fast_t6800_s${S}_e5/model --into vidfuse/default_model \
  --out /tmp/cand_fast_t6800_s$S --half >/dev/null
.venv/bin/python -W ignore bench/evaluate_default.py --model /tmp/cand_fast_t6800_s$S --out $R/eval_t6800_s${S}_grafted.json
date
