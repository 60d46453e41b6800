#!/usr/bin/env bash
# Graft a distilled text encoder (E5_RUN/model) into the shipped one-step model and screen it.
#   cand.sh E5_MODEL NAME [SETS]
set -euo pipefail
cd /work/main
R=bench/results/telegraphic_2026-12-06
.venv/bin/python scripts/graft_text_encoder.py --text-from "$1" --into vidfuse/default_model --out /tmp/cand_$2 --half >/dev/null
.venv/bin/python -W ignore $R/screen.py /tmp/cand_$2 "${3:-v4,v5,v3,v6,zh3,zh4,heldout}" $R/screen_$2.json $R/misses_$2.txt
