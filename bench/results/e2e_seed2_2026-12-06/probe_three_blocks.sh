#!/usr/bin/env bash
# A probe: does a student with one more trainable block on e5 imitate the seed-2 template teacher as closely as two
# blocks imitate the shipped one? make distil-default's first two stages (1,300 steps) with seed 2 from the seed-2
# template, --text-layers 3; its read term at steps 1,201–1,300 against compare_terms.md (two blocks: 0.037 from
# this teacher, 0.029–0.031 from the shipped one).
set -euo pipefail
cd /work/main
T=/work/e2e/runs/default/model   # the seed-2 template model of the end-to-end run
D=".venv/bin/python -m vidfuse.cli distil-text --teacher $T --seed 2 --text-layers 3 --out runs/s2_l3_e5 --quiet"
date
$D --steps 1000 --lr 1e-3 $( [ -f runs/s2_l3_e5/checkpoint.safetensors ] && echo --resume )
$D --steps 1300 --lr 2e-4 --resume
date
