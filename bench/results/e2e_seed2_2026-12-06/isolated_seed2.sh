#!/usr/bin/env bash
# Is the seed-2 end-to-end model's motion loss the distillation's seed or its teacher? make distil-default's first
# two stages (2,300 steps, the same for every run) with seed 2 from the shipped template model (git 559b7de) as
# teacher; their cross / velocity terms are then compared at the same steps with the end-to-end run's (seed-2
# teacher) and with seeds 0 and 1 from the shipped teacher (compare_terms.py). Resumes.
set -euo pipefail
cd /work/main
T=/tmp/m_559b7de   # git show 559b7de:vidfuse/default_model/{config.json,model.safetensors,tokenizer.json,eval.json}
D=".venv/bin/python -m vidfuse.cli distil-text --teacher $T --seed 2 --out runs/iso_s2_e5 --quiet"
date
$D --steps 1000 --lr 1e-3 $( [ -f runs/iso_s2_e5/checkpoint.safetensors ] && echo --resume )
$D --steps 1300 --lr 2e-4 --resume
date
