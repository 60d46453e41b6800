#!/usr/bin/env bash
# Does a seventh distillation stage of 1,200 steps (instead of make distil-default's 600) keep the shipped teacher's
# students where they are? Seed 0 from the recipe's stage-6 state (runs/s0_e5_stage6, step 3,300, the shipped
# template 559b7de as teacher), the seventh stage's settings to step 4,500, grafted into the shipped one-step model
# (107e9a9) and judged like it. Lengthen the Makefile's stage only if it stays within 5 points of the shipped
# encoder (NOTES, twenty-fourth session). Resumes where it stopped.
set -euo pipefail
cd /work/main
R=bench/results/long_stage7_2026-12-06
OUT=runs/s0_long7_e5
[ -d $OUT ] || cp -r runs/s0_e5_stage6 $OUT
[ -f /tmp/m_559b7de/model.safetensors ] || { mkdir -p /tmp/m_559b7de; for f in config.json model.safetensors tokenizer.json; do git show 559b7de:vidfuse/default_model/$f > /tmp/m_559b7de/$f; done; }
[ -f /tmp/m_107e9a9/model.safetensors ] || { mkdir -p /tmp/m_107e9a9; for f in config.json model.safetensors vocabulary.json; do git show 107e9a9:vidfuse/default_model/$f > /tmp/m_107e9a9/$f; done; }
date
.venv/bin/python -m vidfuse.cli distil-text --teacher /tmp/m_559b7de --seed 0 --out $OUT --quiet \
  --steps 4500 --lr 2e-4 --contrast 1 --contrast-on digit,colour,motion --short 0.4 --contrast-near 0.5 \
  --drop-articles 0.5 --resume
date
.venv/bin/python scripts/graft_text_encoder.py --text-from $OUT/model --into /tmp/m_107e9a9 --out /tmp/cand_long7_s0 --half >/dev/null
.venv/bin/python -W ignore bench/evaluate_default.py --model /tmp/cand_long7_s0 --out $R/eval_s0_grafted.json
date
