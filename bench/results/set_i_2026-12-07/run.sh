# Set i (2026-12-07, thirty-first session; a 2-core AMD EPYC without AVX-512, fp32, the shipped model), each from a
# worktree with this two_digits.py and the set files copied in:
# its first figure, held out, on the code of rounds 1-5 (git c7a6065), and on the thirtieth session's first code
# (git e152282: before rounds 3-5)
for s in 0 1 2; do .venv/bin/python -W ignore bench/two_digits.py --sets i --seed $s --out first_s$s.json; done
for s in 0 1 2; do .venv/bin/python -W ignore bench/two_digits.py --sets i --seed $s --out session30_start_s$s.json; done
# round 6 (git 71d8cc4): bench/results/fields_2026-12-07/run.sh
# then read: the same on git b9d30c9 (round 6) and e152282, misses written
for s in 0 1 2; do .venv/bin/python -W ignore bench/two_digits.py --sets i --seed $s --out read_s$s.json; done
for s in 0 1 2; do .venv/bin/python -W ignore bench/two_digits.py --sets i --seed $s --out session30_start_read_s$s.json; done
