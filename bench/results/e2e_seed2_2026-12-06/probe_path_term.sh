#!/usr/bin/env bash
# A probe, not a recipe: the seed-2 e5 student (runs/default_e5 of the end-to-end run, step 3,900) taught 600 more
# steps with stage 7's settings plus the path term (--motion 1: its motion-path velocity through the frozen
# generator against the teacher's), then its motion read on the blind sets (motion_probe.py) beside the same
# student before (probe_before.json) and with motion-only contrast instead (probe_motion_contrast.json).
# --motion is not in vidfuse: it needs path_term.patch (git apply), which was not kept (the control,
# probe_more_steps.sh, did better without it).
set -euo pipefail
cd /work/main
R=bench/results/e2e_seed2_2026-12-06
OUT=runs/s2_path_e5
[ -d $OUT ] || cp -r /work/e2e/runs/default_e5 $OUT
date
.venv/bin/python -m vidfuse.cli distil-text --teacher /work/e2e/runs/default/model --seed 2 --out $OUT --quiet \
  --steps 4500 --lr 2e-4 --contrast 1 --contrast-on digit,colour,motion --short 0.4 --contrast-near 0.5 \
  --drop-articles 0.5 --motion 1 --resume
date
.venv/bin/python -W ignore $R/motion_probe.py $OUT/model $R/probe_path_term.json
date
