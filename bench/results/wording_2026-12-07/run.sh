# The thirtieth session's round 3 (2026-12-07, a 2-core AMD EPYC without AVX-512, fp32, the shipped model), run from a
# worktree of git d81bd09 (PYTHONPATH=<worktree>). "before": ../clause_words_2026-12-07/round2_after*_s*.json for
# a, b, c, d, e, f, ../set_g_2026-12-07/first_s*.json for g (git bd3f767), ../clause_words_2026-12-07/round2_after_one_digit_s0.json.
for s in 0 1 2; do .venv/bin/python bench/two_digits.py --sets dev,test,b,f,g,c,d,e --seed $s --out after_s$s.json; done
.venv/bin/python bench/one_digit_sets.py --seed 0 --out after_one_digit_s0.json  # a copy in this folder then; bench/one_digit_sets.py now
# Round 4 (git 3d710fe, a worktree) and round 5 (git 994687a, a worktree):
.venv/bin/python bench/one_digit_sets.py --seed 0 --out round4_one_digit_s0.json
for s in 0 1 2; do .venv/bin/python bench/two_digits.py --sets dev,test,b,f,g,c,d,e --seed $s --out round4_s$s.json; done
.venv/bin/python bench/one_digit_sets.py --seed 0 --out round5_one_digit_s0.json
for s in 0 1 2; do .venv/bin/python bench/two_digits.py --sets dev,test,b,f,g,h,c,d,e --seed $s --out round5_s$s.json; done
