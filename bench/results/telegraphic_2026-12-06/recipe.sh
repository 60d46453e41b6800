#!/usr/bin/env bash
# make distil-default as the Makefile now runs it (seven stages, the seventh with headline English and near motion
# pairs), with a chosen seed, from the shipped template model (git 559b7de) as teacher. The state after stage 6 is
# kept (OUT_stage6) so that variants of stage 7 can start from it. The shipped encoder is `recipe.sh 1 runs/s1_e5`:
# it was run in pieces (stages 1-6; the seventh stage at 25% / 30% on runs/s1_e5, then the Makefile's 40% / 50% on a
# copy of runs/s1_e5_stage6, runs/s1b_e5). `recipe.sh 0 runs/s0_e5` is the second seed (make train-default's).
# Resumes where it stopped.      recipe.sh SEED OUT
set -euo pipefail
cd /work/main
PY=.venv/bin/python
SEED=$1
OUT=$2
T=/tmp/m_559b7de   # git show 559b7de:vidfuse/default_model/{config.json,model.safetensors,tokenizer.json}
D="$PY -m vidfuse.cli distil-text --teacher $T --out $OUT --seed $SEED --quiet"
date
$D --steps 1000 --lr 1e-3 $( [ -f $OUT/checkpoint.safetensors ] && echo --resume )
$D --steps 1300 --lr 2e-4 --resume
$D --steps 2000 --lr 3e-4 --contrast 1 --resume
$D --steps 2200 --lr 1e-4 --contrast 1 --resume
$D --steps 2700 --lr 2e-4 --contrast 1 --resume
$D --steps 3300 --lr 2e-4 --contrast 1 --contrast-on digit,colour,motion --resume
[ -d ${OUT}_stage6 ] || cp -r $OUT ${OUT}_stage6
date
$D --steps 3900 --lr 2e-4 --contrast 1 --contrast-on digit,colour,motion --short 0.4 --contrast-near 0.5 \
  --drop-articles 0.5 --resume
date
