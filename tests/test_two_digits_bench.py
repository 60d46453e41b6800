"""bench/two_digits.py: a blind set's labels said in template words split into one taught clause per digit."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from vidfuse.data.clauses import subject_clauses

_spec = importlib.util.spec_from_file_location("two_digits", Path(__file__).parents[1] / "bench" / "two_digits.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_labels_in_template_words_are_one_clause_per_digit_with_its_own_attributes():
    row = {
        "digits": [
            {"digit": 3, "colour": "red", "motion": "left"},
            {"digit": 7, "colour": None, "motion": "up and down"},
        ]
    }
    said = bench.template_words(row)
    assert said == "a red 3 moving left and a white 7 bouncing up and down"  # an unnamed colour is drawn white
    assert subject_clauses(said) == ["a red 3 moving left", "a white 7 bouncing up and down"]
    assert set(bench.TEMPLATE_MOTIONS) == {"left", "right", "up", "down", "left and right", "up and down"}
