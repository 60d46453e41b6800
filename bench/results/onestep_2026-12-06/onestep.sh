#!/usr/bin/env bash
# The one-step stage (configs/anchor_add_small.yaml, 250 steps) from a given e5 flow, with a share of its captions
# from the paraphrase grammar (the config has 0: student, teacher and critic read template captions only), judged
# like the shipped model by bench/evaluate_default.py: onestep_args.sh with no further options.
#     onestep.sh E5_FLOW_MODEL NAME SEED PARAPHRASE
# Leaves runs/onestep_NAME and eval_NAME.json here. Resumes where it stopped.
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: onestep.sh E5_FLOW_MODEL NAME SEED PARAPHRASE" >&2; exit 2; }
exec bash "$(dirname "$0")/onestep_args.sh" "$@"
