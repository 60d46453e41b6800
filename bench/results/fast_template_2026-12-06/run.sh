#!/usr/bin/env bash
# The template stage with one setting changed (e.g. --lr 1.6e-3), trained to each mark and judged there as
# bench/results/template_curve_2026-12-06/ judged the recipe as it is (600 level-1 test captions, seed 0), so the
# two curves compare step for step.          run.sh OUT "EXTRA TRAIN OPTIONS" MARK...
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=$1; EXTRA=$2; shift 2
R=bench/results/fast_template_2026-12-06
for S in "$@"; do
  if [ ! -d $OUT/model$S ]; then
    date
    .venv/bin/python -m vidfuse.cli train --preset small --config configs/anchor_small.yaml --steps $S --out $OUT \
      $EXTRA --quiet $( [ -f $OUT/checkpoint.safetensors ] && echo --resume )
    cp -r $OUT/model $OUT/model$S
  fi
  N=$(basename $OUT)_$S
  [ -f $R/eval_$N.json ] || .venv/bin/python -W ignore -m vidfuse.cli eval --model $OUT/model$S --n 600 \
    --self-test-n 10 --json $R/eval_$N.json > $R/eval_$N.txt 2>&1
  grep -A6 "pairs / language" $R/eval_$N.txt | tail -5
done
date
