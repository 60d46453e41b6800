# Set h's first figure (2026-12-07, a 2-core AMD EPYC without AVX-512, fp32, the shipped model): git 4c9fa1e (after
# round 4) from a worktree, held out; and the session's first code (git e152282, with this two_digits.py and the set).
for s in 0 1 2; do .venv/bin/python -W ignore bench/two_digits.py --sets h --seed $s --out first_s$s.json; done
for s in 0 1 2; do .venv/bin/python -W ignore bench/two_digits.py --sets h --seed $s --out session_start_s$s.json; done
# then read, seed 0 (git 4c9fa1e):
.venv/bin/python bench/two_digits.py --sets h --seed 0 --out read_s0.json
