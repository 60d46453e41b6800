# The twenty-ninth session's before/after (2026-12-07, a 2-core AMD EPYC without AVX-512, fp32, the shipped model).
# "before" ran on git 0b6fc85 (the code of 5f3c3e4, before the clause rules) from a worktree: PYTHONPATH=<worktree>.
for s in 0 1 2; do .venv/bin/python bench/two_digits.py --sets dev,test,b,c,d,e --seed $s --out after_s$s.json; done
.venv/bin/python bench/one_digit_sets.py --seed 0 --out after_one_digit_s0.json  # a copy in this folder then; bench/one_digit_sets.py now
# Round 2 (rules 5-10 and the told-apart rule, set f read): "before" is git a9ceb73's code from a worktree for the read
# sets (round2_before_read_s*.json) and round 1's after_s*.json for c, d, e (no split of theirs changed between);
# round2_after_s*.json is git 3bff2fb, the commit before the Chinese arrow fix (6→下 read as "6下", a count):
# that fix changed one caption of d and one of zh2, judged again on the final code: round2_after_final_*.json.
for s in 0 1 2; do .venv/bin/python bench/two_digits.py --sets dev,test,b,c,d,e,f --seed $s --out round2_after_s$s.json; done
