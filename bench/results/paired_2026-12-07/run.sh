# Every two-digit set with each prompt's own draws for its further layers (git 7fd699b's pipeline), 2026-12-07, a
# 2-core AMD EPYC without AVX-512, fp32, the shipped model; each code from a worktree with this two_digits.py and the
# set files copied in:
#   session30_start: git e152282 (before the thirtieth session's rounds 3-5) with 7fd699b's pipeline.py applied
#   round6: git 7fd699b; round7: git 910b43b; round8: git a4d91fc (only the sets whose captions it changes)
for s in 0 1 2; do .venv/bin/python -W ignore bench/two_digits.py --sets dev,test,b,c,d,e,f,g,h,i --seed $s --out session30_start_s$s.json; done
for s in 0 1 2; do .venv/bin/python -W ignore bench/two_digits.py --sets dev,test,b,c,d,e,f,g,h,i --seed $s --out round6_s$s.json; done
for s in 0 1 2; do .venv/bin/python -W ignore bench/two_digits.py --sets dev,test,b,c,d,e,f,g,h,i --seed $s --out round7_s$s.json; done
for s in 0 1 2; do .venv/bin/python -W ignore bench/two_digits.py --sets b,c,e,f,h,i --seed $s --out round8_s$s.json; done
# the one-digit sets whose captions rounds 7-8 change, on 7fd699b, 910b43b and a4d91fc
.venv/bin/python -W ignore bench/one_digit_sets.py --sets v5,v6 --seed 0 --out round6_one_digit_v5_v6_s0.json  # and round7_, round8_
# set j (held out), on rounds 3-6 (git 7fd699b) and on round 8 with the review's mends (git b8b4d0a)
for s in 0 1 2; do .venv/bin/python -W ignore bench/two_digits.py --sets j --seed $s --out j_round6_s$s.json; done
for s in 0 1 2; do .venv/bin/python -W ignore bench/two_digits.py --sets j --seed $s --out j_round8_s$s.json; done
# round 9 (git b737827): only d and i have captions whose text it changes
for s in 0 1 2; do .venv/bin/python -W ignore bench/two_digits.py --sets d,i --seed $s --out round9_s$s.json; done
