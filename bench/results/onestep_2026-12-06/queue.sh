#!/usr/bin/env bash
# This session's one-step probes, one after another (2 cores: one torch job at a time), after the seed-1 chain.
set -uo pipefail
cd /work/main
while pgrep -f "cooldown_2026-12-06/chain.sh" >/dev/null; do sleep 30; done
R=bench/results/onestep_2026-12-06
bash $R/onestep.sh runs/chain_t4000c_e5/model t4000c_p50 0 0.5
bash $R/onestep.sh runs/chain_t4000c_e5/model t4000c_p0_s1 1 0
