#!/usr/bin/env bash
# Stages 2-3 of make train-default (e5 distillation, then the one-step generator) with --seed 1, from the shipped
# template model (git 559b7de) as teacher; the template stage itself was reproduced with seed 1 on 2026-11-26.
# The one-step stage: 15 min here is about the 215 steps the shipped run took in 55 min on the AVX2 CPU.
set -euo pipefail
cd /work/main
PY=.venv/bin/python
T=/tmp/m_559b7de
OUT=runs/repro_s1_e5
D="$PY -m vidfuse.cli distil-text --teacher $T --out $OUT --seed 1"
date
$D --steps 1000 --lr 1e-3 $( [ -f $OUT/checkpoint.safetensors ] && echo --resume )
$D --steps 1300 --lr 2e-4 --resume
$D --steps 2000 --lr 3e-4 --contrast 1 --resume
$D --steps 2200 --lr 1e-4 --contrast 1 --resume
$D --steps 2700 --lr 2e-4 --contrast 1 --resume
$D --steps 3300 --lr 2e-4 --contrast 1 --contrast-on digit,colour,motion --resume
date
$PY -m vidfuse.cli train --preset small --config configs/anchor_add_small.yaml --init-from $OUT/model --out runs/repro_s1_add --seed 1 --max-minutes 15 $( [ -f runs/repro_s1_add/checkpoint.safetensors ] && echo --resume )
date
$PY bench/evaluate_default.py --model runs/repro_s1_add/model --out runs/repro_s1_add/eval.json
date
