#!/usr/bin/env bash
# The template stage (make train-default's first, configs/anchor_small.yaml, seed 0) shortened to STEPS with the
# learning rate decayed linearly to zero over its last COOLDOWN steps (--cooldown-steps), then judged on 600
# level-1 test captions like the curve in ../template_curve_2026-12-06 (whose rows kept the rate constant).
#     template.sh STEPS COOLDOWN
set -euo pipefail
cd /work/main
S=$1; C=$2; OUT=runs/cool${S}_c${C}
R=bench/results/cooldown_2026-12-06
date
.venv/bin/python -m vidfuse.cli train --preset small --config configs/anchor_small.yaml --steps $S \
  --cooldown-steps $C --seed 0 --out $OUT --quiet $( [ -f $OUT/checkpoint.safetensors ] && echo --resume )
date
.venv/bin/python -W ignore -m vidfuse.cli eval --model $OUT/model --n 600 --self-test-n 10 \
  --json $R/eval_${S}_c${C}.json > $R/eval_${S}_c${C}.txt 2>&1
tail -3 $R/eval_${S}_c${C}.txt
date
