#!/usr/bin/env bash
# Distillation stages 1-6 of make train-default (as the Makefile runs them), --seed 1, from the shipped template
# model (git 559b7de) as teacher; a copy of the result is kept so that variants of stage 7 start from it. The
# twentieth session ran these stages for seed 1 too, but kept only the state after stage 7. Resumes.
set -euo pipefail
cd /work/main
PY=.venv/bin/python
T=/tmp/m_559b7de   # git show 559b7de:vidfuse/default_model/{config.json,model.safetensors,tokenizer.json}
OUT=runs/s1_e5
D="$PY -m vidfuse.cli distil-text --teacher $T --out $OUT --seed 1 --quiet"
date
$D --steps 1000 --lr 1e-3 $( [ -f $OUT/checkpoint.safetensors ] && echo --resume )
$D --steps 1300 --lr 2e-4 --resume
$D --steps 2000 --lr 3e-4 --contrast 1 --resume
$D --steps 2200 --lr 1e-4 --contrast 1 --resume
$D --steps 2700 --lr 2e-4 --contrast 1 --resume
$D --steps 3300 --lr 2e-4 --contrast 1 --contrast-on digit,colour,motion --resume
rm -rf runs/s1_e5_stage6 && cp -r $OUT runs/s1_e5_stage6
date
