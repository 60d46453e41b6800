"""Anchor flow: motion measured by phase correlation, the translated first frame, the generator's contract."""

import numpy as np
import torch
from conftest import random_condition as cond
from conftest import tiny_generator, tiny_pipeline

from vidfuse.data.moving_digits import MovingDigits
from vidfuse.models.anchor import centring_offset, estimate_shifts, translate, wrap_path


def anchor(**kw):
    return tiny_generator("anchor", **kw)


def moving_digit_clips(n=24):
    ds = MovingDigits("train", level=1, lang="en", size=n, seed=3)
    items = [ds[i] for i in range(n)]
    video = torch.stack([v for v, _, _ in items])  # (n, 3, 16, 64, 64)
    pos = np.stack([a["positions"][:, 0] for _, _, a in items])  # (n, 16, 2) x, y
    return video, torch.from_numpy(pos - pos[:, :1])


def test_phase_correlation_recovers_the_true_motion():
    video, true = moving_digit_clips()
    est = estimate_shifts(video)
    assert est.shape == true.shape and torch.equal(est[:, 0], torch.zeros_like(est[:, 0]))
    err = (est - true).abs()
    # sub-pixel, and shifts beyond half the frame (bouncing across it) are not read as the wrap-around
    assert err.mean() < 0.2 and err.max() < 1.0, (err.mean(), err.max())
    assert true.abs().max() > 20


def test_a_clip_is_its_first_frame_moved_along_the_measured_path():
    """The representation's ceiling: what the generator can reproduce of a real clip."""
    video, _ = moving_digit_clips()
    rebuilt = translate(video[:, :, 0], estimate_shifts(video))
    lit = (video > -0.9).float().mean()
    assert (rebuilt - video).abs().mean() < 0.1 * lit  # the error is a small part of the lit pixels' signal


def test_a_subject_that_leaves_the_frame_comes_back_in_at_the_far_side():
    """A long clip of a subject moving one way: once it is wholly out of the frame it re-enters at the other
    side (a marquee) instead of leaving the rest of the clip black; while any of it shows, the path is kept."""
    frame = torch.full((1, 3, 16, 20), -1.0)
    frame[0, 0, 6:10, 8:12] = 1.0  # a red 4×4 square on black, columns 8–11, rows 6–9
    path = torch.zeros(1, 60, 2)
    path[0, :, 0] = -torch.arange(60.0) * 0.75  # left, 0.75 px a frame, far past the frame's 20 columns
    wrapped = wrap_path(frame, path)
    shown = translate(frame, path)[0, 0] > -0.5  # (T, H, W)
    assert torch.equal(wrapped[:, shown.flatten(1).any(1)], path[:, shown.flatten(1).any(1)])  # kept exactly
    video = translate(frame, wrapped)[0, 0] > -0.5
    empty = ~video.flatten(1).any(1)
    assert not shown[-1].any() and video[-1].any()  # the plain path has left; the wrapped one came back
    backs = [t for t in range(1, 60) if empty[t - 1] and not empty[t]]
    assert len(backs) == 2  # 44 px of travel: out and back in twice
    for t in backs:  # it comes back in at the right edge, after at most the frames that cross 1 px of margin
        assert torch.nonzero(video[t].any(0))[:, 0].min() >= 18
        assert empty[max(0, t - 6) : t].sum() < 6  # each side, at 0.75 px a frame
    assert torch.equal(wrapped[..., 1], path[..., 1])  # no vertical motion, no vertical wrap


def test_a_picture_that_fills_the_frame_slides_off_it():
    g = torch.Generator().manual_seed(0)
    photo = torch.rand(2, 3, 16, 20, generator=g) * 2 - 1  # no plain ground
    blank = torch.full((1, 3, 16, 20), -1.0)  # nothing to bring back
    path = torch.zeros(3, 30, 2)
    path[..., 0] = -torch.arange(30.0)
    assert torch.equal(wrap_path(torch.cat([photo, blank]), path), path)


def test_centring_moves_the_picture_to_the_middle_by_whole_pixels():
    video, _ = moving_digit_clips(8)
    frame = video[:, :, 0]
    offset = centring_offset(frame)
    assert torch.equal(offset, offset.round()) and offset.abs().max() > 5
    centred = translate(frame, -offset[:, None])[:, :, 0]
    assert centring_offset(centred).abs().max() <= 1
    assert torch.allclose(translate(centred, offset[:, None])[:, :, 0], frame, atol=1e-5)  # nothing lost
    assert torch.equal(centring_offset(torch.full((1, 3, 8, 8), -1.0)), torch.zeros(1, 2))


def test_translate_moves_whole_pixels_and_fills_black():
    frame = torch.full((1, 3, 8, 8), -1.0)
    frame[0, :, 2, 3] = 1.0
    out = translate(frame, torch.tensor([[[0.0, 0.0], [2.0, -1.0], [20.0, 0.0]]]))
    assert out.shape == (1, 3, 3, 8, 8)
    assert torch.allclose(out[:, :, 0], frame, atol=1e-5)
    assert out[0, 0, 1, 1, 5] > 0.99 and (out[0, :, 1] > -0.99).sum() == 3  # moved right 2, up 1
    assert torch.allclose(out[:, :, 2], torch.full_like(frame, -1.0))  # moved out of the frame: black


def test_translate_samples_each_frame_as_its_own_grid_would():
    """One sampling writes the whole clip (the frames' grids stacked along the height): every frame must be what
    sampling the frame alone at its own sub-pixel shift gives, clip by clip, with black coming in."""
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(0)
    frame = torch.rand(3, 2, 12, 10, generator=g) * 2 - 1
    shifts = torch.randn(3, 5, 2, generator=g) * 6
    out = translate(frame, shifts)
    assert out.shape == (3, 2, 5, 12, 10) and out.is_contiguous()
    for b in range(3):
        for t in range(5):
            dx, dy = shifts[b, t].tolist()
            gx = ((torch.arange(10.0) - dx + 0.5) / 10 * 2 - 1)[None, :].expand(12, 10)
            gy = ((torch.arange(12.0) - dy + 0.5) / 12 * 2 - 1)[:, None].expand(12, 10)
            grid = torch.stack([gx, gy], dim=-1)[None]
            want = F.grid_sample(frame[b : b + 1] + 1, grid, align_corners=False)[0] - 1
            assert torch.allclose(out[b, :, t], want, atol=1e-6), (b, t)


def test_flow_phase_trains_both_parts_and_skips_the_anchor_loss_when_it_is_given():
    g = anchor(ae_steps=0)
    video = torch.rand(4, 3, 4, 16, 16) * 2 - 1
    out = g.loss(video, cond(b=4), phase="main")
    assert {"loss", "anchor_mse", "motion_mse"} <= set(out) and torch.isfinite(out["loss"])
    assert bool(g.latent_stats_set) and g.motion_scale > 0
    out["loss"].backward()
    assert g.transformer.motion_out.weight.grad.abs().sum() > 0
    g.zero_grad()
    given = cond(b=4, image=video[:, :, 0], has_image=torch.ones(4, dtype=torch.bool))
    out = g.loss(video, given, phase="main")
    assert out["anchor_mse"] == 0  # every anchor given: nothing to learn about it in this batch
    assert torch.isfinite(out["loss"])


def test_a_few_steps_lower_the_loss_on_a_fixed_batch():
    g = anchor(ae_steps=0)
    video, _ = moving_digit_clips(4)
    video = torch.nn.functional.interpolate(video, size=(4, 16, 16), mode="trilinear")
    opt = torch.optim.AdamW(g.phase_parameters("main"), lr=3e-3)
    c = cond(b=4)
    losses = []
    for step in range(30):
        torch.manual_seed(step % 3)
        loss = g.loss(video, c, phase="main")["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-3:]) < np.mean(losses[:3])


def test_generate_shapes_guidance_and_a_given_first_frame():
    g = anchor(ae_steps=0).eval()
    for layer in (g.transformer.anchor_out, g.transformer.motion_out):  # as if trained: a velocity that is not 0
        torch.nn.init.normal_(layer.weight, std=0.2)
    video = torch.rand(2, 3, 4, 16, 16) * 2 - 1
    g.loss(video, cond(), phase="main")  # sets the latent and motion statistics
    with torch.no_grad():
        out = g.generate(cond(), num_frames=4, generator=torch.Generator().manual_seed(0))
        assert out.shape == (2, 3, 4, 16, 16) and out.abs().max() <= 1
        guided = g.generate(
            cond(), num_frames=4, uncond=cond(seed=1), guidance_scale=3.0, generator=torch.Generator().manual_seed(0)
        )
        assert guided.shape == out.shape and not torch.allclose(guided, out)
        assert g.generate(cond(), num_frames=2).shape == (2, 3, 2, 16, 16)
        image = video[:, :, 0]
        given = cond(image=image, has_image=torch.tensor([True, False]))
        out = g.generate(
            given,
            num_frames=4,
            uncond=cond(seed=1, image=image, has_image=torch.tensor([True, False])),
            guidance_scale=2.0,
        )
        latent, offset = g.encode_anchor(image)
        recon = translate(g.decode(latent[:, None])[:, :, 0], offset[:, None])[:, :, 0]
        assert torch.allclose(out[0, :, 0], recon[0], atol=1e-3)  # sample 0 starts from its image, where it was
        assert not torch.allclose(out[1, :, 0], recon[1], atol=1e-2)


def test_the_motion_scale_is_saved_with_the_model():
    pipe = tiny_pipeline("anchor")
    state = pipe.model.inference_state_dict()
    assert {"generator.motion_scale", "generator.latent_shift", "generator.latent_scale"} <= set(state)
