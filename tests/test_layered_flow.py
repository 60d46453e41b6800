"""The layered anchor flow: what the contract suite does not check.

The analysis (a clip → anchor, layer masks, layer paths) on clips whose motions are known, the drawing
(layer order, black where nothing lands), the loss's given parts, and continuation keeping each layer's
motion.
"""

from __future__ import annotations

import pytest
import torch
from conftest import random_condition

from vidfuse.config import tiny
from vidfuse.models.anchor import centring_offset, estimate_shifts, phase_correlation_peaks, translate
from vidfuse.models.layered import (
    add_residual,
    analyse,
    cell_residual,
    cluster_tracks,
    composite,
    lossless_centring_offset,
    reconstruct,
    upsample_masks,
)
from vidfuse.models.registry import build_generator

T = 8


def two_squares(size: int = 64, va=(2.0, 0.0), vb=(0.0, -2.0)) -> tuple[torch.Tensor, list]:
    """One clip (1, 3, T, size, size): a red 10 px square moving by ``va`` px a frame (whole pixels) and a
    green 10 × 6 px bar moving by ``vb``, far apart, on black."""
    video = -torch.ones(1, 3, T, size, size)
    starts = [(8, 8), (40, 44)]
    for t in range(T):
        for (x0, y0), (vx, vy), ch, w in zip(starts, (va, vb), (0, 1), (10, 6)):
            x, y = int(x0 + vx * t), int(y0 + vy * t)
            video[0, ch, t, y : y + 10, x : x + w] = 1.0
    return video, starts


def moving_psnr(recon: torch.Tensor, video: torch.Tensor) -> float:
    moving = (video - video[:, :, :1]).abs().amax(dim=1) > 0.2  # (B, T, H, W)
    err = ((recon - video) / 2).pow(2).mean(dim=1)[moving].mean()
    return float(10 * torch.log10(1 / err))


def test_phase_correlation_finds_one_peak_per_motion_and_the_strongest_is_estimate_shifts():
    video, _ = two_squares()
    peaks = phase_correlation_peaks(video, 4)  # (1, T, 4, 2)
    found = {tuple(round(v) for v in p) for p in peaks[0, 4].tolist()}
    assert {(8, 0), (0, -8)} <= found  # both motions are candidates (matching A onto B may be one too)
    assert torch.equal(peaks[:, 0], torch.zeros_like(peaks[:, 0]))
    torch.testing.assert_close(estimate_shifts(video), peaks[:, :, 0])


def test_analysis_puts_each_square_in_its_own_layer_with_its_own_path():
    video, (a, b) = two_squares()
    anchor, offset, masks, paths = analyse(video, layers=3, block=4)
    layer = masks[0].argmax(dim=0)  # (16, 16) mask cells of 4 px
    # where each square's pixels are in the anchor (it moved by -offset when centred)
    ox, oy = offset[0].long().tolist()
    la = layer[(a[1] - oy + 4) // 4, (a[0] - ox + 4) // 4]
    lb = layer[(b[1] - oy + 4) // 4, (b[0] - ox + 4) // 4]
    assert la != lb
    moved_a, moved_b = paths[0, -1, la] - paths[0, 0, la], paths[0, -1, lb] - paths[0, 0, lb]
    torch.testing.assert_close(moved_a, torch.tensor([2.0 * (T - 1), 0.0]), atol=0.6, rtol=0)
    torch.testing.assert_close(moved_b, torch.tensor([0.0, -2.0 * (T - 1)]), atol=0.6, rtol=0)
    # drawn back: far better than the first frame held still, on the pixels that move
    frozen = video[:, :, :1].expand_as(video)
    assert moving_psnr(reconstruct(video, 3, 4), video) > moving_psnr(frozen, video) + 15


def test_one_layer_is_the_anchor_flow_representation():
    video, _ = two_squares(vb=(2.0, 0.0))  # both squares move the same way: one rigid picture
    _, offset, masks, paths = analyse(video, layers=1, block=4)
    assert masks.shape[1] == 1 and bool((masks == 1).all())
    torch.testing.assert_close(paths[:, :, 0] - offset[:, None], estimate_shifts(video), atol=0.6, rtol=0)


def test_lossless_centring_centres_one_small_picture_and_never_pushes_content_out():
    small = -torch.ones(1, 3, 32, 32)
    small[:, :, 2:8, 3:9] = 1
    torch.testing.assert_close(lossless_centring_offset(small), centring_offset(small))
    apart = -torch.ones(1, 3, 32, 32)
    apart[:, :, 0:4, 0:4] = 1
    apart[:, :, 10:14, 10:14] = 1
    offset = lossless_centring_offset(apart)
    centred = translate(apart, -offset[:, None])[:, :, 0]
    assert float((centred > 0).sum()) == float((apart > 0).sum())  # nothing lost
    assert torch.equal(lossless_centring_offset(-torch.ones(1, 3, 32, 32)), torch.zeros(1, 2))


def test_cluster_tracks_merges_close_tracks_and_sends_blank_blocks_to_layer_zero():
    still = torch.zeros(T, 2)
    right = torch.stack([torch.arange(T) * 2.0, torch.zeros(T)], dim=-1)
    tracks = torch.stack([right, right + 0.1, still, still, right])[None]  # (1, 5, T, 2)
    weight = torch.tensor([[3.0, 3.0, 1.0, 1.0, 0.0]])  # the last block has no content
    assign = cluster_tracks(tracks, weight, layers=3)[0].tolist()
    assert assign[0] == assign[1] == 0  # the heaviest cluster, its two near-identical tracks merged
    assert assign[2] == assign[3] == 1
    assert assign[4] == 0


def test_composite_stacks_layers_bottom_up_and_shows_the_background_colour_where_nothing_lands():
    pixels = torch.ones(1, 3, 8, 8)  # white everywhere
    pixels[:, 1:] = -1  # red
    masks = torch.zeros(1, 2, 8, 8)
    masks[:, 0, :, :4] = 1  # layer 0: the left half
    masks[:, 1, :, 4:] = 1  # layer 1: the right half
    paths = torch.zeros(1, 2, 2, 2)
    paths[:, 1, 1] = torch.tensor([-4.0, 0.0])  # frame 1: layer 1 moves onto layer 0
    video = composite(pixels, masks, paths)
    torch.testing.assert_close(video[:, :, 0], pixels)
    assert bool((video[:, :, 1, :, :4] == pixels[:, :, :, :4]).all())  # layer 1 on top, same red
    assert bool((video[:, :, 1, :, 4:] == pixels[:, :, :, 4:]).all())  # uncovered: the median colour, red
    grey = torch.zeros(1, 3, 8, 8)  # a grey frame with a white 2×2 square in layer 1
    grey[:, :, 2:4, 2:4] = 1
    masks = torch.zeros(1, 2, 8, 8)
    masks[:, 1, 2:4, 2:4] = 1
    masks[:, 0] = 1 - masks[:, 1]
    paths = torch.zeros(1, 2, 2, 2)
    paths[:, 1, 1] = torch.tensor([3.0, 0.0])  # the square moves right, uncovering its first place
    video = composite(grey, masks, paths)
    torch.testing.assert_close(video[:, :, 1, 2:4, 2:4], torch.zeros(1, 3, 2, 2))  # grey, not black
    torch.testing.assert_close(video[:, :, 1, 2:4, 5:7], torch.ones(1, 3, 2, 2))


def layered_model(**gen):
    cfg = tiny("layered")
    for k, v in gen.items():
        setattr(cfg.gen, k, v)
    torch.manual_seed(0)
    return build_generator(cfg)


def test_masks_fold_into_the_latent_cells_and_the_loss_learns_them():
    g = layered_model()
    cfg = g.cfg
    video = -torch.ones(2, 3, cfg.num_frames, cfg.height, cfg.width)
    video[:, :, :, 2:6, 2:6] = 1
    a, m = g.representation(video)
    f = g.cell // g.block
    assert a.shape[1] == g.latent_channels + g.layers * f * f
    assert m.shape[-1] == 2 * g.layers
    out = g.flow_loss(video, random_condition(b=2, seed=0))
    assert {"anchor_mse", "mask_mse", "motion_mse"} <= set(out) and torch.isfinite(out["loss"])


def test_a_prefix_is_given_clean_and_left_out_of_the_loss(monkeypatch):
    g = layered_model(p_prefix=1.0)
    cfg = g.cfg
    video = -torch.ones(2, 3, cfg.num_frames, cfg.height, cfg.width)
    video[:, :, :, 2:6, 2:6] = 1
    seen = {}

    def spy(at, mt, t, cond, given):
        seen.update(at=at, mt=mt, given=given)
        return torch.zeros_like(at), torch.zeros_like(mt)

    monkeypatch.setattr(g.transformer, "forward", spy)
    a1, m1 = g.representation(video)
    out = g.flow_loss(video, random_condition(b=2, seed=0))
    torch.testing.assert_close(seen["at"], a1)  # the whole anchor given: latent and masks clean
    n_anchor = g.latent_hw[0] * g.latent_hw[1]
    frames_given = seen["given"][:, n_anchor:]
    assert bool(seen["given"][:, :n_anchor].all()) and bool(frames_given[:, 0].all())
    assert not bool(frames_given[:, -1].any())  # at least the last frame is left to learn
    torch.testing.assert_close(seen["mt"][frames_given], m1[frames_given])
    assert float(out["anchor_mse"]) == 0.0 and float(out["mask_mse"]) == 0.0  # nothing left to learn there


@pytest.mark.parametrize("residual_cell", [0, 8])
def test_extend_pins_the_analysed_tail_and_returns_only_new_frames(monkeypatch, residual_cell):
    g = layered_model(residual_cell=residual_cell).eval()
    cfg = g.cfg
    video = -torch.ones(1, 3, cfg.num_frames, cfg.height, cfg.width)
    for t in range(cfg.num_frames):
        video[0, :, t, 4:8, 1 + t // 2 : 5 + t // 2] = 1
    g.representation(video)  # sets the latent and motion scales, as training does
    calls = []

    def constant_velocity(at, mt, t, cond, given):
        calls.append(given)
        return torch.zeros_like(at), torch.zeros_like(mt)

    monkeypatch.setattr(g.transformer, "forward", constant_velocity)
    c = random_condition(b=1, seed=0)
    more = g.extend(video, c, new_frames=5, uncond=None, guidance_scale=1.0)
    assert more.shape == (1, 3, 5, cfg.height, cfg.width)
    keep = cfg.num_frames // 2
    n_anchor = g.latent_hw[0] * g.latent_hw[1]
    assert bool(calls[0][:, : n_anchor + keep].all()) and not bool(calls[0][:, n_anchor + keep :].any())


@pytest.mark.parametrize("size", [(32, 32), (64, 48)])
def test_upsample_masks_gives_each_pixel_its_cell(size):
    masks = torch.rand(1, 3, size[0] // 4, size[1] // 4)
    up = upsample_masks(masks, size)
    assert up.shape == (1, 3, *size)
    torch.testing.assert_close(up[..., ::4, ::4], masks)


def test_a_given_first_frame_is_centred_as_in_training_so_no_digit_is_pushed_out():
    g = layered_model().eval()
    cfg = g.cfg
    image = -torch.ones(1, 3, cfg.height, cfg.width)
    image[:, :, 0:6, 0:6] = 1  # a big thing top left, a small one bottom right: plain centring cuts it off
    image[:, :, -2:, -2:] = 1
    _, offset = g.encode_anchor(image)
    torch.testing.assert_close(offset, lossless_centring_offset(image))
    assert not torch.equal(offset, centring_offset(image))


def test_the_appearance_correction_draws_what_rigid_layers_cannot():
    """A square that brightens while it moves: rigid layers carry it but cannot change its colour; the
    per-frame correction over cells puts the change back (exactly at one-pixel cells)."""
    video, _ = two_squares()
    for t in range(T):
        video[0, 0, t] = torch.where(video[0, 0, t] > 0, torch.tensor(-0.6 + 0.2 * t), video[0, 0, t])
    layers = reconstruct(video)
    corrected = reconstruct(video, residual_cell=4)
    assert moving_psnr(corrected, video) > moving_psnr(layers, video) + 3
    torch.testing.assert_close(reconstruct(video, residual_cell=1), video, atol=1e-5, rtol=0)
    res = cell_residual(video, layers, 4)
    assert res.shape == (1, T, 3, 16, 16)
    torch.testing.assert_close(add_residual(layers, torch.zeros_like(res)), layers)


def test_frame_tokens_carry_the_correction_and_render_draws_it(monkeypatch):
    g = layered_model(residual_cell=4)
    cfg = g.cfg
    assert g.motion_dim == 2 * g.layers + 3 * (cfg.height // 4) * (cfg.width // 4)
    video = -torch.ones(2, 3, cfg.num_frames, cfg.height, cfg.width)
    for t in range(cfg.num_frames):
        video[:, 0, t, 4:8, 2 + t // 2 : 6 + t // 2] = -0.8 + 0.1 * t  # a red square moving and brightening
    a1, m1 = g.representation(video)
    assert m1.shape == (2, cfg.num_frames, g.motion_dim) and float(g.residual_scale) > 0
    # drawn with the clip's own anchor pixels, the tokens give the clip back as reconstruct does
    anchor = analyse(video, g.layers, g.block)[0]
    monkeypatch.setattr(g, "decode", lambda x: anchor[:, :, None])
    drawn = g.render(a1, m1, cfg.num_frames, torch.float32)
    # (render softens the ±1 masks to 0.995 / 0.005: MASK_SHARPNESS)
    torch.testing.assert_close(drawn, reconstruct(video, g.layers, g.block, residual_cell=4), atol=5e-3, rtol=0)
    out = g.flow_loss(video, random_condition(b=2, seed=0))
    assert {"motion_mse", "residual_mse"} <= set(out) and torch.isfinite(out["loss"])


def test_a_given_first_frame_starts_every_layer_at_its_offset_with_no_correction():
    g = layered_model(residual_cell=8).eval()
    cfg = g.cfg
    image = -torch.ones(1, 3, cfg.height, cfg.width)
    image[:, :, 2:6, 2:6] = 1
    c = random_condition(b=1, seed=0, image=image, has_image=torch.ones(1, dtype=torch.bool))
    _, start, _ = g._given(c)
    offset = lossless_centring_offset(image) / g.motion_scale
    assert start.shape == (1, g.motion_dim)
    torch.testing.assert_close(start[:, : g.path_dim], offset.repeat(1, g.layers))
    assert not bool(start[:, g.path_dim :].any())


def test_a_model_with_the_correction_generates_saves_and_loads(tmp_path):
    """gen.residual_cell travels in config.json and its scale in the weights: a loaded model draws the same."""
    import numpy as np
    from conftest import CAPTIONS

    from vidfuse.data.tokenizer import CharTokenizer
    from vidfuse.models.model import VidFuseModel
    from vidfuse.pipeline import TextToVideoPipeline

    torch.manual_seed(0)
    tok = CharTokenizer.build(CAPTIONS, max_length=48)
    cfg = tiny("layered")
    cfg.vocab_size, cfg.gen.residual_cell = tok.vocab_size, 4
    model = VidFuseModel(cfg)
    video = -torch.ones(2, 3, cfg.num_frames, cfg.height, cfg.width)
    video[:, :, :, 2:6, 2:6] = 1
    model.generator.representation(video)  # sets the scales, as the first training batch does
    model.generator.residual_scale.fill_(0.25)
    pipe = TextToVideoPipeline(model, tok, device="cpu")
    before = pipe(["a blue seven moves down", "数字3在左右移动"], num_frames=cfg.num_frames + 3, seed=1)
    assert before.shape == (2, cfg.num_frames + 3, cfg.height, cfg.width, 3)
    pipe.save_pretrained(tmp_path / "m")
    loaded = TextToVideoPipeline.from_pretrained(tmp_path / "m", device="cpu")
    assert loaded.model.cfg.gen.residual_cell == 4 and float(loaded.model.generator.residual_scale) == 0.25
    after = loaded(["a blue seven moves down", "数字3在左右移动"], num_frames=cfg.num_frames + 3, seed=1)
    assert np.abs(before.astype(int) - after.astype(int)).max() <= 1
