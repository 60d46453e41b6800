#!/usr/bin/env bash
# The template stage (make train-default's first, configs/anchor_small.yaml, seed 0 unless given) shortened to STEPS with the
# learning rate decayed linearly to zero over its last COOLDOWN steps (--cooldown-steps), then judged on 600
# level-1 test captions like the curve in ../template_curve_2026-12-06 (whose rows kept the rate constant).
#     template.sh STEPS COOLDOWN [SEED]     (seed 0's names carry no seed)
set -euo pipefail
cd /work/main
S=$1; C=$2; SEED=${3:-0}; TAG=${S}_c${C}$( [ "$SEED" = 0 ] || echo _s$SEED ); OUT=runs/cool$TAG
R=bench/results/cooldown_2026-12-06
date
.venv/bin/python -m vidfuse.cli train --preset small --config configs/anchor_small.yaml --steps $S \
  --cooldown-steps $C --seed $SEED --out $OUT --quiet $( [ -f $OUT/checkpoint.safetensors ] && echo --resume )
date
.venv/bin/python -W ignore -m vidfuse.cli eval --model $OUT/model --n 600 --self-test-n 10 \
  --json $R/eval_$TAG.json > $R/eval_$TAG.txt 2>&1
tail -3 $R/eval_$TAG.txt
date
