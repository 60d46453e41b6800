# Set g's first figure (2026-12-07, a 2-core AMD EPYC without AVX-512, fp32, the shipped model), from a worktree of
# git bd3f767 (the set committed, held out: no misses written), then read at seed 0 on git ae112d8 (same splits).
for s in 0 1 2; do .venv/bin/python bench/two_digits.py --sets g --seed $s --out first_s$s.json; done
.venv/bin/python bench/two_digits.py --sets g --seed 0 --out read_s0.json
