#!/usr/bin/env bash
# The third stage of make distil-default (to step 2,000, the digit-contrast term on) for runs/iso_s2_e5, after
# isolated_seed2.sh: the cross-term gap between teachers grows once the contrast term starts.
set -euo pipefail
cd /work/main
.venv/bin/python -m vidfuse.cli distil-text --teacher /tmp/m_559b7de --seed 2 --out runs/iso_s2_e5 --quiet \
  --steps 2000 --lr 3e-4 --contrast 1 --resume
date
