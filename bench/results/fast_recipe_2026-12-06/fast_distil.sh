#!/usr/bin/env bash
# A shorter make distil-default, for the "training ≤ 60 min" row of issue 17: the seven stages (3,900 steps,
# ≈ 53 min here) squeezed into two — 800 steps at lr 1e-3 without the contrast term, then 1,000 at lr 2e-4 with
# everything the seventh stage has (contrast on digit, colour and motion; 40% short wordings, half the motion
# pairs near, half the English captions without articles): ≈ 22 min of steps here. Resumes where it stopped.
#     fast_distil.sh TEACHER OUT [SEED]
set -euo pipefail
cd /work/main
T=$1; OUT=$2; SEED=${3:-0}
D=".venv/bin/python -m vidfuse.cli distil-text --teacher $T --out $OUT --seed $SEED --quiet"
date
$D --steps 800 --lr 1e-3 $( [ -f $OUT/checkpoint.safetensors ] && echo --resume )
$D --steps 1800 --lr 2e-4 --contrast 1 --contrast-on digit,colour,motion --short 0.4 --contrast-near 0.5 \
  --drop-articles 0.5 --resume
date
