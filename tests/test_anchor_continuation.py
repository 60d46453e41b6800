"""Clips past the training length, for the anchor families: the path is carried on by motion matching on the
model's own samples (vidfuse.models.anchor), so a moving digit keeps moving across the seams instead of
jumping back to where a clip with its caption would start."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_pipeline

from vidfuse.models.anchor import match_continuation

_spec = importlib.util.spec_from_file_location("continuation", Path(__file__).parents[1] / "bench" / "continuation.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _line(start: float, step: float, n: int = 16) -> torch.Tensor:
    return torch.tensor([[start + step * t, 0.0] for t in range(n)])


def test_a_steady_path_carries_on_at_its_speed_from_its_last_position():
    path = _line(30, -2)[None]  # (1, 16, 2): x from 30 down to 0
    cands = torch.stack([_line(20, -2), _line(5, 3), _line(0, 0), _line(-10, -2.5)])[None]  # (1, 4, 16, 2)
    more = match_continuation(path, cands, 8)
    assert more.shape == (1, 8, 2)
    # the leftward candidate at its own speed wins; its displacements continue the path exactly
    torch.testing.assert_close(more[0, :, 0], torch.tensor([0.0 - 2 * (k + 1) for k in range(8)]))


def test_a_bounce_is_continued_where_a_sample_bounces_at_the_same_place():
    """The clip is at x = 40 moving right; a candidate that reaches x = 40 moving right and turns at 44 is
    matched there, so the continuation turns at 44 too (not somewhere else in the frame)."""
    path = torch.tensor([[[32.0 + 2 * t, 0.0] for t in range(5)]])  # ends at 40, +2 a frame
    bounce = [30.0 + 2 * t for t in range(8)] + [42.0 - 2 * t for t in range(8)]  # up to 44, then back
    wrong = [10.0 + 2 * t for t in range(16)]  # right way, far away
    cands = torch.tensor([[[x, 0.0] for x in bounce], [[x, 0.0] for x in wrong]])[None]
    more = match_continuation(path, cands, 8)[0, :, 0]
    assert more[0] == 42 and more[1] == 44 and more[2] == 42 and (more[2:] < more[1]).all()


def test_matching_needs_room():
    with pytest.raises(ValueError, match="cannot match"):
        match_continuation(_line(0, 1)[None], _line(0, 1)[None, None], 16)


@pytest.mark.parametrize("family", ["anchor", "anchor-add", "anchor-gan", "anchor-vae"])
def test_a_long_clip_is_drawn_in_one_call_and_starts_as_the_short_one(monkeypatch, family):
    pipe = tiny_pipeline(family)
    native = pipe.config.num_frames
    assert pipe.model.generator.continues_itself
    calls = []
    real = pipe.model._generate_once
    monkeypatch.setattr(pipe.model, "_generate_once", lambda *a, **kw: calls.append(kw["num_frames"]) or real(*a, **kw))
    short = pipe(["a red 3 moves up", "a blue 7"], num_frames=native, seed=3)
    long = pipe(["a red 3 moves up", "a blue 7"], num_frames=native * 3 + 1, seed=3)
    assert long.shape[:2] == (2, native * 3 + 1) and calls == [native, native * 3 + 1]
    np.testing.assert_allclose(long[:, :native].astype(int), short.astype(int), atol=1)  # same first window
    gen = pipe.model.generator
    assert gen.continued_windows(native * 3 + 1) == 5  # (3 native - native + 1) / half a window, rounded up
    assert set(gen.noise_shapes(2, native * 3 + 1)) == set(gen.noise_shapes(2, native))  # no extra shared draws


@pytest.mark.parametrize("family", ["anchor", "anchor-add"])
def test_a_long_clip_starts_as_the_short_one_in_chunked_batches_too(family):
    """The candidates' noise is seeded from each clip's own, not drawn from the shared stream, so a batch
    split into chunks (batch_size) gives every prompt the first window a short call gives it; guidance and a
    first frame work past the native length."""
    pipe = tiny_pipeline(family)
    native, n = pipe.config.num_frames, pipe.config.num_frames * 3
    prompts = ["a red 3 moves up", "a blue 7"]
    chunked = pipe(prompts, num_frames=n, seed=5, batch_size=1)
    short = pipe(prompts, num_frames=native, seed=5, batch_size=1)
    np.testing.assert_allclose(chunked[:, :native].astype(int), short.astype(int), atol=1)
    again = pipe(prompts, num_frames=n, seed=5, batch_size=1)
    np.testing.assert_array_equal(again, chunked)  # the continuation is a function of the seed
    image = np.zeros((16, 16, 3), np.uint8)
    image[4:9, 6:10] = 255
    kw = {"guidance_scale": 2.0} if pipe.model.generator.supports_guidance else {}
    clip = pipe(prompts[:1], num_frames=n, seed=1, image=image, **kw)
    assert clip.shape[:2] == (1, n)


def test_the_layered_flow_keeps_its_own_extend():
    assert not tiny_pipeline("layered").model.generator.continues_itself


def test_the_shipped_default_carries_a_one_way_motion_across_its_seams():
    """bench/continuation.py's measure on the shipped one-step model: no jump at a seam (at most 2 px off the
    clip's own step) and no turn while the digit is inside the frame. Restarting from the last frame jumped
    10–14 px here. Over 64 frames the digit crosses the frame and comes back in at the far side: it is in
    view almost throughout (39–45% of the frames before it wrapped)."""
    from vidfuse.pipeline import SHIPPED_MODEL_DIR, TextToVideoPipeline

    pipe = TextToVideoPipeline.from_pretrained(SHIPPED_MODEL_DIR, device="cpu")
    native = pipe.config.num_frames
    seams = bench.seams(native, 64, half_windows=True)
    for caption, motion in [("the red digit 3 is moving to the left", "left"), ("青色数字一向右移动", "right")]:
        clip = pipe(caption, num_frames=64, seed=0)[0]
        r = bench.measure(bench.centroids(clip), motion, native, seams, clip.shape[1])
        assert r["seam"] <= 2 + abs(r["step"]) and r["reverse"] == 0, (caption, r)
        assert r["shown"] >= 0.9, (caption, r["shown"])
