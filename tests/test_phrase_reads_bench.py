"""bench/phrase_reads.py: its own battery fills for every digit, and a blind battery splits into two halves."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("phrase_reads", Path(__file__).parents[1] / "bench" / "phrase_reads.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_every_phrasing_of_the_battery_fills_for_ten_digits_with_its_own_targets():
    rows = bench.battery()
    assert len(rows) > 300
    caps, targets = bench.captions(rows[0][1], rows[0][2], shift=3)
    assert len(caps) == 10 and "{" not in "".join(caps)
    assert [t["digits"] for t in targets] == [[d] for d in range(10)]
    assert all(t["motions"] == [rows[0][2]] for t in targets)


def test_a_blind_battery_splits_into_two_disjoint_halves_that_cover_it(tmp_path):
    lines = [{"lang": "en", "template": f"a {{c}} {{d}} number {k} moving left", "motion": "left"} for k in range(40)]
    lines.append({"lang": "zh", "template": "{zc}的{z}往上走", "motion": "up"})
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n", encoding="utf-8")
    dev, held, every = (bench.read_battery(path, part) for part in ("dev", "held", "all"))
    assert len(every) == 41 and every[-1] == ("zh blind", "{zc}的{z}往上走", "up")
    assert dev and held and not set(dev) & set(held) and set(dev) | set(held) == set(every)
    assert bench.read_battery(path, "dev") == dev  # the split is fixed by the text, not by a draw


def test_a_blind_battery_with_an_unknown_motion_is_refused_with_its_line(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps({"lang": "en", "template": "a {c} {d} spinning", "motion": "spin"}) + "\n")
    with pytest.raises(SystemExit, match="b.jsonl:1: motion 'spin'"):
        bench.read_battery(path)


def test_a_two_digit_template_fills_ten_pairs_of_other_digits_and_colours_with_both_motions(tmp_path):
    path = tmp_path / "b.jsonl"
    row = {"lang": "en", "template": "a {c} {d} goes up while a {c2} {w2} goes left", "motion": "up", "motion2": "left"}
    path.write_text(json.dumps(row) + "\n")
    [(group, template, motion)] = bench.read_battery(path)
    assert motion == ("up", "left")
    caps, targets = bench.captions(template, motion, shift=4)
    assert caps[0] == "a cyan 0 goes up while a red five goes left" and "{" not in "".join(caps)
    assert [t["digits"][0] for t in targets] == list(range(10))
    assert all(t["digits"][0] != t["digits"][1] and t["colours"][0] != t["colours"][1] for t in targets)
    assert all(t["motions"] == ["up", "left"] for t in targets)


def test_a_two_digit_template_with_an_unknown_second_motion_is_refused_with_its_line(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps({"lang": "zh", "template": "{zc}{d}和{zc2}{d2}", "motion": "up", "motion2": "转圈"}))
    with pytest.raises(SystemExit, match="b.jsonl:1: motion '转圈'"):
        bench.read_battery(path)
