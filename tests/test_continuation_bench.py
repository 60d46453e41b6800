"""bench/continuation.py's trajectory measure on synthetic clips: a digit that keeps its speed across the
seams is smooth; one that jumps back at a seam, or turns round while inside the frame, is not."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

_spec = importlib.util.spec_from_file_location("continuation", Path(__file__).parents[1] / "bench" / "continuation.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def clip_along(xs) -> np.ndarray:
    """One 6 × 6 white block on black at x = xs[t] (y fixed): uint8 (T, 64, 64, 3)."""
    clip = np.zeros((len(xs), 64, 64, 3), np.uint8)
    for t, x in enumerate(xs):
        clip[t, 30:36, int(round(x)) : int(round(x)) + 6] = 255
    return clip


def test_centroids_follow_the_block_and_a_black_frame_is_nan():
    clip = clip_along([10, 12, 14])
    clip[2] = 0
    track = bench.centroids(clip)
    np.testing.assert_allclose(track[:2], [[12.5, 32.5], [14.5, 32.5]])
    assert np.isnan(track[2]).all()


def test_a_steady_motion_is_smooth_and_a_jump_back_at_the_seam_is_not():
    native, seams = 16, bench.seams(16, 32, half_windows=True)
    assert seams == [16, 24]
    steady = [50 - 1.5 * t for t in range(32)]
    r = bench.measure(bench.centroids(clip_along(steady)), "left", native, seams, 64)
    assert abs(r["step"] + 1.5) < 0.6 and r["seam"] < 1.1 and r["reverse"] == 0
    restarted = steady[:16] + [s + 11 for s in steady[16:]]  # what a restart from a still first frame did
    r = bench.measure(bench.centroids(clip_along(restarted)), "left", native, seams, 64)
    assert r["seam"] > 8


def test_turning_round_inside_the_frame_counts_as_reversal():
    xs = [50 - 1.5 * t for t in range(20)] + [20 + 2 * t for t in range(12)]
    r = bench.measure(bench.centroids(clip_along(xs)), "left", 16, [16, 24], 64)
    assert r["reverse"] >= 10
