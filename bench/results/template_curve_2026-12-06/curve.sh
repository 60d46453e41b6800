#!/usr/bin/env bash
# The template stage's accuracy against steps (make train-default's first stage, configs/anchor_small.yaml, seed 0),
# for the "training ≤ 60 min" row of issue 17: train to each mark, keep that step's model folder, go on (the
# learning rate is constant after warm-up and --resume continues exactly, so stopping at a mark changes nothing).
# The models are judged afterwards by judge.sh.          curve.sh OUT MARK...
set -euo pipefail
cd /work/main
OUT=$1; shift
for S in "$@"; do
  [ -d $OUT/model$S ] && continue
  date
  .venv/bin/python -m vidfuse.cli train --preset small --config configs/anchor_small.yaml --steps $S --out $OUT \
    --quiet $( [ -f $OUT/checkpoint.safetensors ] && echo --resume )
  cp -r $OUT/model $OUT/model$S
done
date
