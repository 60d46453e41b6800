#!/usr/bin/env bash
# vidfuse's default recipe and the diffusers peer, one after the other in one run on one machine, each
# with the same wall-clock budget of T minutes, both judged by `vidfuse eval` on the same EVAL_N captions
# (600 by default).
#   T=60 EVAL_N=300 bash bench/peer_vs_vidfuse.sh runs/peer_vs  # this CPU: 2 h of training, then the peer
#                                                               # generates 0.10 clips/s (52 min for 300)
#   T=2.5 PEER_SIZE=64 OUT_DIR=$OUT bash bench/peer_vs_vidfuse.sh   # what ran on an H100 (bench/results/h100_peer_*)
# PEER_SIZE: the frame size the peer diffuses at (32 by default: see bench/peer_diffusers.py; 64 = native).
# On a machine without the package's dependencies, WHEELS=dir installs the wheels in dir first (no index).
set -u
T=${T:-60}
PEER_SIZE=${PEER_SIZE:-32}
EVAL_N=${EVAL_N:-600}
OUT_DIR=${1:-${OUT_DIR:-runs/peer_vs}}
PY=${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
mkdir -p "$OUT_DIR"
if [ -n "${WHEELS:-}" ]; then
  $PY -m pip install -q --upgrade --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$WHEELS"/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
fi
export PYTHONUNBUFFERED=1
L=$OUT_DIR/vidfuse.log
{ command -v nvidia-smi >/dev/null && nvidia-smi -L; date; } > "$L"
# a few seconds of each first, so that a broken set-up fails before the budget is spent
$PY bench/peer_diffusers.py --minutes 0.05 --eval-n 8 --sample-steps 2 --batch-size 4 --size "$PEER_SIZE" --out /tmp/peer_smoke > /tmp/peer_smoke.log 2>&1 \
  || { tail -30 /tmp/peer_smoke.log; exit 1; }
$PY -m vidfuse.cli train --preset small --config configs/anchor_small.yaml --steps 100000 --max-minutes "$T" \
  --out "$OUT_DIR/vidfuse_run" --quiet >> "$L" 2>&1 || exit 1
$PY -m vidfuse.cli eval --model "$OUT_DIR/vidfuse_run/model" --n "$EVAL_N" --json "$OUT_DIR/vidfuse_eval.json" >> "$L" 2>&1 || exit 1
$PY bench/peer_diffusers.py --minutes "$T" --size "$PEER_SIZE" --eval-n "$EVAL_N" --eval-batch 100 --log-every 50 --out "$OUT_DIR/peer" \
  > "$OUT_DIR/peer.log" 2>&1 || { tail -30 "$OUT_DIR/peer.log"; exit 1; }
tail -3 "$OUT_DIR/peer.log"; grep -A14 "judged acc" "$L"
