"""The one-pass anchor families (anchor-gan, anchor-vae): what the contract suite does not check.

Bounded draws, bounds measured on the first real batch, one generator pass per batch, the critic's loss terms,
the VAE's KL, and the collapse detector the GAN's spread feeds.
"""

from __future__ import annotations

import logging

import pytest
import torch
from conftest import random_condition
from test_generator_contract import as_if_trained

from vidfuse.config import tiny
from vidfuse.models.anchor_onepass import BOUND_MARGIN
from vidfuse.models.registry import build_generator
from vidfuse.train.runlog import COLLAPSE_WINDOW, RunLog

B = 4


def clip(seed: int = 1) -> torch.Tensor:
    """A bright square on black, moving right by one pixel a frame: (B, 3, 4, 16, 16)."""
    g = torch.Generator().manual_seed(seed)
    video = -torch.ones(B, 3, 4, 16, 16)
    for b in range(B):
        x0, y0 = torch.randint(2, 8, (2,), generator=g).tolist()
        for t in range(4):
            video[b, :, t, y0 : y0 + 4, x0 + t : x0 + t + 4] = torch.rand(3, 1, 1, generator=g) * 2 - 1
    return video


def trained(family: str):
    torch.manual_seed(0)
    g = as_if_trained(build_generator(tiny(family)))
    c = random_condition(b=B, seed=0)
    for phase in g.phases:
        g.loss(clip(), None if phase in g.unconditional_phases else c, phase=phase)
    return g.eval(), c


@pytest.mark.parametrize("family", ["anchor-gan", "anchor-vae"])
def test_bounds_are_measured_on_the_first_real_batch_and_then_kept(family):
    torch.manual_seed(0)
    g = build_generator(tiny(family))
    assert not bool(g.bounds_set)
    a1, m1 = g.real(clip())
    assert bool(g.bounds_set)
    torch.testing.assert_close(g.anchor_bound, BOUND_MARGIN * a1.abs().amax(dim=(0, 2, 3)))
    torch.testing.assert_close(g.path_bound, BOUND_MARGIN * m1.abs().amax(dim=(0, 1)))
    before = (g.anchor_bound.clone(), g.path_bound.clone())
    g.real(clip(seed=5) * 0.1)  # a later, dimmer batch does not move them
    assert torch.equal(g.anchor_bound, before[0]) and torch.equal(g.path_bound, before[1])


@pytest.mark.parametrize("family", ["anchor-gan", "anchor-vae"])
def test_draw_stays_inside_the_bounds_however_large_the_network_output(family):
    g, c = trained(family)
    with torch.no_grad():
        for layer in (g.transformer.anchor_out, g.transformer.motion_out):
            layer.weight.mul_(1e4)
            layer.bias.fill_(1e3)
        a, m = g.draw(c, g.random_code(B) * 100)
    assert (a.abs() <= g.anchor_bound[None, :, None, None] + 1e-5).all()
    assert (m.abs() <= g.path_bound + 1e-5).all()
    assert a.abs().amax() > 0.5 * g.anchor_bound.min()  # squashed, not zeroed


@pytest.mark.parametrize("family", ["anchor-gan", "anchor-vae"])
def test_a_batch_is_generated_by_one_generator_pass(family):
    g, c = trained(family)
    calls = []
    g.transformer.register_forward_hook(lambda *_: calls.append(1))
    with torch.no_grad():
        video = g.generate(c, num_frames=4, generator=torch.Generator().manual_seed(0))
    assert video.shape == (B, 3, 4, 16, 16)
    assert len(calls) == 1
    with pytest.raises(ValueError, match="one pass"):
        g.generate(c, num_frames=4, steps=3)


def test_gan_critic_loss_reports_its_terms_and_skips_matching_for_identical_captions():
    g, c = trained("anchor-gan")
    out = g.loss(clip(), c, phase="d")
    for k in ("d_real", "d_fake", "d_mismatch", "d_adversarial", "d_match", "penalty"):
        assert torch.isfinite(out[k]), k
    assert out["penalty"] > 0  # R1 + R2 on by default
    same = random_condition(b=1, seed=3).repeat(B)  # every caption the same: no mismatched negatives
    assert g.loss(clip(), same, phase="d")["d_match"] == 0


def test_gan_generator_loss_moves_only_the_generator_and_reports_the_spread():
    g, c = trained("anchor-gan")
    out = g.loss(clip(), c, phase="g")
    out["loss"].backward()
    assert all(p.grad is None for p in g.critic.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in g.transformer.parameters())
    assert 0 < out["spread"] < 10


def test_vae_kl_is_zero_when_posterior_equals_prior_and_positive_once_they_differ():
    torch.manual_seed(0)
    g = build_generator(tiny("anchor-vae"))  # zero-initialised heads: q = p = N(0, I)
    c = random_condition(b=B, seed=0)
    g.loss(clip(), None, phase="ae")
    assert g.loss(clip(), c, phase="main")["kl"].abs() < 1e-6
    g, c = trained("anchor-vae")
    assert g.loss(clip(), c, phase="main")["kl"] > 0


def test_vae_temperature_zero_gives_the_prior_mean_for_any_noise():
    g, c = trained("anchor-vae")
    g.cfg.gen.temperature = 0.0
    with torch.no_grad():
        v1 = g.generate(c, num_frames=4, generator=torch.Generator().manual_seed(0))
        v2 = g.generate(c, num_frames=4, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(v1, v2)


def test_collapse_detector_warns_once_a_window_when_the_spread_stays_low(tmp_path, caplog):
    log = RunLog(tmp_path, enabled=True, quiet=True, start=0, total=1000)
    try:
        with caplog.at_level(logging.WARNING, logger="vidfuse.train"):
            for step in range(1, COLLAPSE_WINDOW + 1):
                log.step(step, {"g/loss": 1.0, "spread": 0.9})
            assert not caplog.records  # a healthy spread: quiet
            warned = [log.check_collapse(s, {"spread": 0.01}) for s in range(100, 100 + 2 * COLLAPSE_WINDOW)]
        at = [i for i, w in enumerate(warned) if w]
        # the window's mean falls below the threshold after most of a window of low values; then once a window
        assert at[0] > COLLAPSE_WINDOW // 2 and len(at) == 2 and at[1] - at[0] == COLLAPSE_WINDOW
        assert "collapsed" in caplog.records[0].getMessage()
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="vidfuse.train"):
            high = [log.check_collapse(s, {"spread": 20.0}) for s in range(300, 300 + COLLAPSE_WINDOW)]
        assert high.count(True) == 1 and "drifting apart" in caplog.records[-1].getMessage()
        log.plot()
        assert (tmp_path / "loss.png").stat().st_size > 0
    finally:
        log.close()
