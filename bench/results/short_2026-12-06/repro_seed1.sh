#!/usr/bin/env bash
# Stages 2-3 of make train-default as the Makefile now runs them (seven distillation stages, the last with short
# wordings; the grammar with English colour shades throughout; the one-step stage 250 steps), --seed 1, from the
# shipped template model (git 559b7de) as teacher. The template stage itself was reproduced with seed 1 on
# 2026-11-26. An interrupted run resumes.
set -euo pipefail
cd /work/main
PY=.venv/bin/python
T=/tmp/m_559b7de   # git show 559b7de:vidfuse/default_model/{config.json,model.safetensors,tokenizer.json}
OUT=runs/recipe_s1_e5
ADD=runs/recipe_s1_add
D="$PY -m vidfuse.cli distil-text --teacher $T --out $OUT --seed 1 --quiet"
date
$D --steps 1000 --lr 1e-3 $( [ -f $OUT/checkpoint.safetensors ] && echo --resume )
$D --steps 1300 --lr 2e-4 --resume
$D --steps 2000 --lr 3e-4 --contrast 1 --resume
$D --steps 2200 --lr 1e-4 --contrast 1 --resume
$D --steps 2700 --lr 2e-4 --contrast 1 --resume
$D --steps 3300 --lr 2e-4 --contrast 1 --contrast-on digit,colour,motion --resume
$D --steps 3900 --lr 2e-4 --contrast 1 --contrast-on digit,colour,motion --short 0.25 --resume
date
$PY -m vidfuse.cli train --preset small --config configs/anchor_add_small.yaml --init-from $OUT/model \
  --out $ADD --seed 1 --quiet $( [ -f $ADD/checkpoint.safetensors ] && echo --resume )
date
$PY -W ignore bench/evaluate_default.py --model $ADD/model --out $ADD/eval.json --sheet $ADD/heldout_samples.png
date
