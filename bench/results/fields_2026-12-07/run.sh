# Round 6, the field reader (2026-12-07; a 2-core AMD EPYC without AVX-512, fp32, the shipped model): git 71d8cc4 from
# a worktree, set i held out then. Only h and i have captions whose text it changes.
for s in 0 1 2; do .venv/bin/python -W ignore bench/two_digits.py --sets h,i --seed $s --out round6_s$s.json; done
