#!/usr/bin/env bash
# Judge each kept model folder of curve.sh on 600 level-1 test captions (seed 0; half English, half held-out
# pairs), as the README's template-model row was judged.          judge.sh OUT MARK...
set -euo pipefail
cd /work/main
OUT=$1; shift
R=bench/results/template_curve_2026-12-06
for S in "$@"; do
  [ -f $R/eval_$S.json ] && continue
  .venv/bin/python -W ignore -m vidfuse.cli eval --model $OUT/model$S --n 600 --self-test-n 10 --json $R/eval_$S.json \
    > $R/eval_$S.txt 2>&1
  tail -3 $R/eval_$S.txt
done
