"""bench/real_footage.py's measure on synthetic clips (no real footage): the moving-pixel mask and PSNR, the
anchor representation against a frozen first frame, and the clip windows."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch

_spec = importlib.util.spec_from_file_location("real_footage", Path(__file__).parents[1] / "bench" / "real_footage.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def square_clip(batch: int = 2, frames: int = 16, size: int = 64, side: int = 8, speed: int = 2) -> torch.Tensor:
    """A white square moving right by ``speed`` px a frame on black: (B, 3, T, H, W) in [-1, 1]."""
    video = -torch.ones(batch, 3, frames, size, size)
    for t in range(frames):
        x = 10 + speed * t
        video[:, :, t, 28 : 28 + side, x : x + side] = 1
    return video


def test_the_mask_is_the_pixels_that_changed_from_frame_0():
    video = square_clip(batch=1, speed=2)
    mask = bench.moving_mask(video, 0.1)  # (1, T − 1, H, W)
    assert mask.shape == (1, 15, 64, 64)
    for t in range(1, 16):
        # the square's old and new places, minus their overlap: 2 · side · min(shift, side) pixels
        assert int(mask[0, t - 1].sum()) == 2 * 8 * min(2 * t, 8)
        assert not mask[0, t - 1, :, :10].any() and not mask[0, t - 1, :28].any()


def test_the_threshold_leaves_out_small_changes():
    video = square_clip(batch=1)
    video[:, :, 1:, :8, :8] += 0.1  # a corner brightens by 0.05 in [0, 1] units: flicker, not motion
    squares = int(bench.moving_mask(square_clip(batch=1), 0.1).sum())
    assert int(bench.moving_mask(video, 0.1).sum()) == squares
    assert int(bench.moving_mask(video, 0.01).sum()) == squares + 15 * 64
    assert not bench.moving_mask(video, 1.0).any()  # a full black-to-white change is 1.0, not more


def test_psnr_counts_only_the_moving_pixels():
    video = square_clip()
    recon = video.clone()
    recon[:, :, 1:, :4, :4] = 1  # wrong, but where nothing moves
    s = bench.scores(video, recon, 0.1)
    assert math.isinf(s["moving_psnr"])
    assert s["all_psnr"] == pytest.approx(10 * math.log10(64 * 64 / 16))  # 16 of 64 × 64 pixels off by 1.0
    still = bench.scores(-torch.ones(1, 3, 4, 8, 8), -torch.ones(1, 3, 4, 8, 8), 0.1)
    assert still["moving_psnr"] is None and still["moving_fraction"] == 0


def test_anchor_reconstructs_a_translating_square_far_better_than_a_frozen_frame():
    video = square_clip()
    frozen = bench.scores(video, bench.frozen(video), 0.1)
    anchor = bench.scores(video, bench.anchor(video), 0.1)
    assert frozen["moving_psnr"] == pytest.approx(0.0, abs=1e-6)  # every moving pixel is off by the full 1.0
    assert anchor["moving_psnr"] > frozen["moving_psnr"] + 15
    assert anchor["all_psnr"] > frozen["all_psnr"]
    assert bench.anchor(video).shape == video.shape and bench.frozen(video).shape == video.shape


def test_windows_are_spread_evenly_in_range_and_shaped_as_vidfuse_clips():
    frames = np.stack([np.full((64, 64, 3), i, np.uint8) for i in range(100)])  # frame i's value is i
    video, starts = bench.windows(frames, 5, step=3)
    assert video.shape == (5, 3, 16, 64, 64) and video.dtype == torch.float32
    assert starts.tolist() == [0, 14, 27, 40, 54]  # the last window ends on the last frame: 54 + 15 · 3 = 100 − 1
    values = ((video[:, 0, :, 0, 0] + 1) * 127.5).round().long()  # (B, T)
    assert values[1].tolist() == [14 + 3 * k for k in range(16)]
    with pytest.raises(bench.SourceUnavailable):
        bench.windows(frames[:40], 5, step=3)  # a window needs 46 frames


def test_frames_of_any_size_are_resized_and_centre_cropped_into_range():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (50, 120, 200, 3), dtype=np.uint8)
    video, _ = bench.windows(frames, 3, step=2)
    assert video.shape == (3, 3, 16, 64, 64)
    assert video.min() >= -1 and video.max() <= 1
    # the crop is the middle: a frame black but for a white centre band stays white in the middle
    band = np.zeros((1, 120, 200, 3), np.uint8)
    band[:, :, 80:120] = 255
    out = bench.resize_crop(band[0])
    assert out.shape == (64, 64, 3) and out[:, 32].min() == 255 and out[:, 0].max() == 0
    assert [bench.frame_step(f) for f in (10, 25, 29.97, 60)] == [1, 3, 4, 8]


def test_the_cell_residual_adds_each_frames_own_error_averaged_over_its_cells():
    video = square_clip(batch=1)
    frozen = bench.frozen(video)
    # one-pixel cells give the clip back exactly; coarser cells only their average error, frame by frame
    assert torch.allclose(bench.with_cell_residual(video, frozen, 1), video, atol=1e-6)
    coarse = bench.with_cell_residual(video, frozen, 8)
    assert coarse.shape == video.shape
    assert torch.equal(coarse[:, :, 0], frozen[:, :, 0])  # frame 0 has no error to add
    cell = (video - frozen)[0, :, 5, 24:32, 16:24].mean((1, 2))  # an 8-px cell the square half covers at t = 5
    assert cell.abs().max() > 0
    s_frozen = bench.scores(video, frozen, 0.1)["moving_psnr"]
    assert bench.scores(video, coarse, 0.1)["moving_psnr"] > s_frozen
    # an exact representation gains nothing from its (zero) residual
    assert torch.equal(bench.with_cell_residual(video, video, 4), video)
