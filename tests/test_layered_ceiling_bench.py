"""bench/layered_ceiling.py: its variant names and the drawing back (no judge, no real clips)."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location(
    "layered_ceiling", Path(__file__).parents[1] / "bench" / "layered_ceiling.py"
)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_variants_name_layers_mask_cells_and_an_optional_correction():
    assert bench.parse_variant("3x4") == (3, 4, 0)
    assert bench.parse_variant("5x2+r8") == (5, 2, 8)
    with pytest.raises(argparse.ArgumentTypeError, match="3x4"):
        bench.parse_variant("three layers")


def test_a_square_moving_on_black_comes_back_through_the_layers():
    clips = np.zeros((2, 8, 32, 32, 3), np.uint8)
    for t in range(8):
        clips[:, t, 8:16, 4 + 2 * t : 12 + 2 * t] = 255
    back = bench.drawn_back(clips, 3, 4, 0)
    assert back.shape == clips.shape and back.dtype == np.uint8
    assert np.abs(back.astype(int) - clips.astype(int)).mean() < 2  # rigid motion: drawn back all but exactly
    exact = bench.drawn_back(clips, 3, 4, 1)  # one-pixel correction cells: the clip itself
    assert np.abs(exact.astype(int) - clips.astype(int)).max() <= 1
