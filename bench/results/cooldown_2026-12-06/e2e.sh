#!/usr/bin/env bash
# The whole shortened recipe for one seed, as make train-default would run it: the template stage at STEPS with
# the last COOLDOWN steps decayed (template.sh's run, not judged on its own here), then chain.sh (two-stage
# distillation with DCOOL decayed steps, one-step stage, judged).      e2e.sh SEED STEPS COOLDOWN DCOOL
set -euo pipefail
cd /work/main
SEED=$1; S=$2; C=$3; DC=$4; OUT=runs/e2e_s${SEED}_t${S}
date
.venv/bin/python -m vidfuse.cli train --preset small --config configs/anchor_small.yaml --steps $S \
  --cooldown-steps $C --seed $SEED --out $OUT --quiet $( [ -f $OUT/checkpoint.safetensors ] && echo --resume )
bench/results/cooldown_2026-12-06/chain.sh $OUT/model e2e_s${SEED} $SEED $DC
