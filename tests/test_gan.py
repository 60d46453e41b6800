"""VideoGAN: shapes, seeding, which parameters each phase trains, that a step lowers each loss, bf16."""

from __future__ import annotations

import pytest
import torch

from vidfuse.config import tiny
from vidfuse.models.base import Condition
from vidfuse.models.gan import VideoGAN

B, N = 3, 5  # clips per batch, condition tokens


@pytest.fixture
def cfg():
    return tiny("gan")


@pytest.fixture
def model(cfg) -> VideoGAN:
    torch.manual_seed(0)
    return VideoGAN(cfg)


def make_cond(cfg, *, requires_grad: bool = False, seed: int = 1) -> Condition:
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randn(B, N, cfg.dim, generator=g).requires_grad_(requires_grad)
    mask = torch.ones(B, N, dtype=torch.bool)
    mask[0, 3:] = False  # one padded row
    pooled = torch.randn(B, cfg.dim, generator=g).requires_grad_(requires_grad)
    return Condition(tokens, mask, pooled)


def make_video(cfg, seed: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(B, cfg.channels, cfg.num_frames, cfg.height, cfg.width, generator=g) * 2 - 1


def seeded_loss(model, video, cond, phase, seed=123):
    """The loss with the global RNG (fake noise, frame choice) fixed, so two calls see the same draw."""
    torch.manual_seed(seed)
    return model.loss(video, cond, phase=phase)


# ---- generation ----------------------------------------------------------------------------
@pytest.mark.parametrize("num_frames", [None, 7])
def test_generate_shape_and_range(model, cfg, num_frames):
    t = num_frames or cfg.num_frames
    with torch.no_grad():
        video = model.generate(make_cond(cfg), num_frames=t, generator=torch.Generator().manual_seed(0))
    assert video.shape == (B, cfg.channels, t, cfg.height, cfg.width)
    assert torch.isfinite(video).all() and video.abs().max() <= 1


def test_same_seed_same_video_different_seed_differs(model, cfg):
    cond = make_cond(cfg)

    def gen(seed):
        with torch.no_grad():
            return model.generate(cond, num_frames=cfg.num_frames, generator=torch.Generator().manual_seed(seed))

    a, b, c = gen(0), gen(0), gen(1)
    assert torch.equal(a, b)
    assert (a - c).abs().max() > 1e-3


def test_explicit_noise_equals_seeded_generator(model, cfg):
    cond = make_cond(cfg)
    noise = model.sample_noise(B, 6, generator=torch.Generator().manual_seed(5))
    assert noise["content"].shape == (B, cfg.gen.z_content) and noise["motion"].shape == (B, 6, cfg.gen.z_motion)
    with torch.no_grad():
        a = model.generate(cond, noise=noise, num_frames=6)
        b = model.generate(cond, num_frames=6, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_motion_depends_on_text(model, cfg):
    """Same noise, different pooled condition → different motion codes (the GRU reads the text)."""
    noise = model.sample_noise(B, cfg.num_frames, generator=torch.Generator().manual_seed(0))
    cond_a, cond_b = make_cond(cfg, seed=1), make_cond(cfg, seed=9)
    with torch.no_grad():
        a, b = (
            model.generate(cond_a, noise=noise, num_frames=cfg.num_frames),
            model.generate(cond_b, noise=noise, num_frames=cfg.num_frames),
        )
    assert (a - b).abs().max() > 1e-3


def test_bad_noise_and_guidance_are_errors(model, cfg):
    cond = make_cond(cfg)
    noise = model.sample_noise(B, 4)
    with pytest.raises(ValueError, match="noise shapes"):
        model.generate(cond, noise=noise, num_frames=5)
    with pytest.raises(ValueError, match="guidance"):
        model.generate(cond, num_frames=4, guidance_scale=3.0)
    with pytest.raises(ValueError, match="unknown phase"):
        model.loss(make_video(cfg), cond, phase="main")


# ---- parameter groups ----------------------------------------------------------------------
def test_phase_parameters_partition_the_model(model):
    d = {id(p) for p in model.phase_parameters("d")}
    g = {id(p) for p in model.phase_parameters("g")}
    assert d and g and not d & g
    assert d | g == {id(p) for p in model.parameters()}
    assert model.phases == ("d", "g") and model.cond_phase == "g"
    assert model.inference_modules() == ["motion_rnn", "decoder"]
    assert all(
        not n.startswith(("video_disc", "frame_disc"))
        for m in model.inference_modules()
        for n, _ in getattr(model, m).named_parameters()
    )


def test_d_phase_grads_only_on_discriminators(model, cfg):
    cond = make_cond(cfg, requires_grad=True)
    model.loss(make_video(cfg), cond, phase="d")["loss"].backward()
    assert all(p.grad is not None for p in model.phase_parameters("d"))
    assert any(p.grad.abs().sum() > 0 for p in model.phase_parameters("d"))
    assert all(p.grad is None for p in model.phase_parameters("g"))
    assert cond.tokens.grad is None and cond.pooled.grad is None  # D never trains the text encoder


def test_g_phase_grads_only_on_generator(model, cfg):
    cond = make_cond(cfg, requires_grad=True)
    out = model.loss(make_video(cfg), cond, phase="g")
    out["loss"].backward()
    assert set(out) == {"loss", "g_video", "g_frame"}
    assert all(p.grad is not None for p in model.phase_parameters("g"))
    assert all(p.grad is None for p in model.phase_parameters("d"))
    assert all(p.requires_grad for p in model.phase_parameters("d"))  # toggled back on
    assert cond.pooled.grad.abs().sum() > 0 and cond.tokens.grad.abs().sum() > 0  # the text learns through G


def test_g_phase_restores_discriminator_flags_on_error(model, cfg, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(model, "generate", boom)
    with pytest.raises(RuntimeError, match="boom"):
        model.loss(make_video(cfg), make_cond(cfg), phase="g")
    assert all(p.requires_grad for p in model.phase_parameters("d"))


# ---- losses --------------------------------------------------------------------------------
def test_d_loss_parts(model, cfg):
    out = model.loss(make_video(cfg), make_cond(cfg), phase="d")
    assert set(out) == {"loss", "d_video", "d_frame", "d_mismatch", "r1", "d_real_score", "d_fake_score"}
    assert out["loss"].requires_grad and all(not v.requires_grad for k, v in out.items() if k != "loss")
    assert out["r1"] == 0
    torch.testing.assert_close(out["loss"].detach(), out["d_video"] + out["d_frame"])


def test_repeated_captions_are_not_mismatch_negatives(model, cfg):
    cond = make_cond(cfg)
    same = Condition(cond.tokens[:1].expand(B, -1, -1), cond.mask[:1].expand(B, -1), cond.pooled[:1].expand(B, -1))
    assert model.loss(make_video(cfg), same, phase="d")["d_mismatch"] == 0
    assert model.loss(make_video(cfg), cond, phase="d")["d_mismatch"] > 0


def test_r1_penalty(cfg):
    cfg.gen.r1_gamma = 1.0
    torch.manual_seed(0)
    model = VideoGAN(cfg)
    out = model.loss(make_video(cfg), make_cond(cfg), phase="d")
    assert out["r1"] > 0
    out["loss"].backward()
    assert all(p.grad is not None for p in model.phase_parameters("d"))


def test_d_step_lowers_d_loss(model, cfg):
    video, cond = make_video(cfg), make_cond(cfg)
    opt = torch.optim.AdamW(model.phase_parameters("d"), lr=2e-3, betas=(0.5, 0.99))
    before = seeded_loss(model, video, cond, "d")["loss"]
    for _ in range(2):
        opt.zero_grad()
        seeded_loss(model, video, cond, "d")["loss"].backward()
        opt.step()
    assert seeded_loss(model, video, cond, "d")["loss"] < before.item() - 1e-3


def test_g_step_against_frozen_d_lowers_g_loss(model, cfg):
    video, cond = make_video(cfg), make_cond(cfg)
    opt = torch.optim.AdamW(model.phase_parameters("g"), lr=2e-3, betas=(0.5, 0.99))
    d_before = [p.detach().clone() for p in model.phase_parameters("d")]
    before = seeded_loss(model, video, cond, "g")["loss"]
    for _ in range(2):
        opt.zero_grad()
        seeded_loss(model, video, cond, "g")["loss"].backward()
        opt.step()
    assert seeded_loss(model, video, cond, "g")["loss"] < before.item() - 1e-3
    assert all(torch.equal(a, p) for a, p in zip(d_before, model.phase_parameters("d")))


def test_bf16_autocast(cfg):
    cfg.gen.r1_gamma = 0.5
    torch.manual_seed(0)
    model = VideoGAN(cfg)
    video, cond = make_video(cfg), make_cond(cfg, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        d = model.loss(video, cond, phase="d")
        d["loss"].backward()
        g = model.loss(video, cond, phase="g")
        g["loss"].backward()
        with torch.no_grad():
            sample = model.generate(cond, num_frames=5, generator=torch.Generator().manual_seed(0))
    assert all(torch.isfinite(v) for v in (*d.values(), *g.values()))
    assert d["r1"] > 0
    assert sample.shape == (B, cfg.channels, 5, cfg.height, cfg.width) and sample.abs().max() <= 1
    params = list(model.parameters())
    assert all(torch.isfinite(p.grad).all() for p in params if p.grad is not None)
