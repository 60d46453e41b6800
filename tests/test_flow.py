"""Latent flow generator: shapes, the two phases, a step lowers each loss, guidance, reproducibility."""

import torch
from conftest import random_condition as cond
from conftest import tiny_generator

from vidfuse.models.latent import FrameAutoencoder
from vidfuse.models.layers import content_weight
from vidfuse.models.sampling import cat_conditions


def flow(**kw):
    return tiny_generator("flow", **kw)


def test_autoencoder_shapes():
    ae = FrameAutoencoder(in_channels=3, channels=(16, 32, 64), latent_channels=8)
    frames = torch.rand(3, 3, 64, 64) * 2 - 1
    z = ae.encode(frames)
    assert z.shape == (3, 8 + 3, 8, 8) and z.abs().max() <= 1  # 8 learned channels + the low-pass colour image
    assert torch.allclose(z[:, 8:], torch.nn.functional.avg_pool2d(frames, 8))
    assert ae.decode(z).shape == (3, 3, 64, 64)


def test_latents_are_normalised_from_the_first_flow_batch():
    g = flow(ae_steps=0)
    assert not g.latent_stats_set
    video = torch.rand(4, 3, 4, 16, 16) * 2 - 1
    g.loss(video, cond(b=4), phase="main")
    assert g.latent_stats_set
    z = g.encode(video)
    assert z.mean(dim=(0, 1, 3, 4)).abs().max() < 1e-4 and (z.std(dim=(0, 1, 3, 4)) - 1).abs().max() < 0.05
    shift = g.latent_shift.clone()
    g.loss(video * 0.5, cond(b=4), phase="main")
    assert torch.equal(g.latent_shift, shift)  # fixed after the first batch
    # decode inverts the normalisation: the same frames as the autoencoder on raw latents
    raw = g.autoencoder.encode(video.permute(0, 2, 1, 3, 4).flatten(0, 1))
    direct = g.autoencoder.decode(raw).clamp(-1, 1)
    via = g.decode(z).permute(0, 2, 1, 3, 4).flatten(0, 1)
    assert torch.allclose(direct, via, atol=1e-4)


def test_autoencoder_learns_sparse_frames():
    """Regression: with a tanh on the decoder's output, mostly-black frames drove its pre-activations to
    −25 and the decoder stopped learning (it drew black frames forever). Unbounded, it keeps learning."""
    torch.manual_seed(0)
    ae = FrameAutoencoder(in_channels=3, channels=(8, 16), latent_channels=4)
    frames = torch.full((8, 3, 16, 16), -1.0)
    frames[:, 0, 4:12, 6:9] = 1.0  # a thin red stroke on black: 9% of the pixels
    opt = torch.optim.AdamW(ae.parameters(), lr=2e-3)
    for _ in range(250):  # measured: unbounded 0.67 at step 200; with the tanh, −1.0 (dead) throughout
        recon = ae.decode(ae.encode(frames))
        loss = (recon - frames).abs().mean() + (recon - frames).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    stroke = ae.decode(ae.encode(frames))[:, 0, 4:12, 6:9]
    assert stroke.mean() > 0.5, stroke.mean()


def test_content_weight_marks_what_differs_from_the_background():
    frames = torch.full((2, 3, 16, 16), -1.0)
    frames[0, 2, 4:8, 4:8] = 0.8  # a blue square on black: 16 of 256 pixels
    frames[1] = torch.rand(3, 16, 16) * 0.05 + 0.3  # a flat grey frame with faint noise: no content
    w = content_weight(frames, 4.0)
    assert w.shape == (2, 1, 16, 16) and torch.allclose(w.mean(), torch.tensor(1.0))
    assert torch.allclose(w[0, 0, 4:8, 4:8] / w[0, 0, 0, 0], torch.tensor(5.0))  # 1 + 4 against 1
    assert torch.allclose(w[1], w[0, 0, 0, 0])  # the grey frame is all background
    busy = torch.rand(2, 3, 16, 16) * 2 - 1  # most pixels differ from the median: near-uniform weights
    assert content_weight(busy, 4.0).std() < 0.2
    assert torch.equal(content_weight(frames, 0.0), torch.ones(2, 1, 16, 16))


def test_autoencoder_loss_weights_content():
    """The autoencoder phase's loss counts the content of a sparse frame more than its background."""
    g = flow(ae_content_weight=4.0)
    video = torch.full((2, 3, 4, 16, 16), -1.0)
    video[:, 0, :, 3:13, 7] = 1.0  # a thin red stroke: the low-pass image cannot carry it, the decoder misses it
    torch.manual_seed(0)
    weighted = g.loss(video, None, phase="ae")["loss"]
    g.cfg.gen.ae_content_weight = 0.0
    torch.manual_seed(0)
    plain = g.loss(video, None, phase="ae")["loss"]
    assert weighted > 1.5 * plain


def test_generate_shapes_any_frame_count_and_seed():
    g = flow()
    c = cond()
    for t in (4, 5, 9):
        v = g.generate(c, num_frames=t, generator=torch.Generator().manual_seed(0))
        assert v.shape == (2, 3, t, 16, 16) and v.abs().max() <= 1
    a = g.generate(c, num_frames=4, generator=torch.Generator().manual_seed(1))
    b = g.generate(c, num_frames=4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_phases_train_their_own_parameters():
    g = flow(ae_steps=10)
    # the autoencoder trains alone first; the flow starts (warm-up and EMA too) when it is frozen
    assert g.active_phases(0) == ("ae",) and g.active_phases(9) == ("ae",) and g.active_phases(10) == ("main",)
    assert g.phase_start("ae") == 0 and g.phase_start("main") == 10
    video = torch.rand(2, 3, 4, 16, 16) * 2 - 1
    for phase, owner, other in (("ae", g.autoencoder, g.transformer), ("main", g.transformer, g.autoencoder)):
        g.zero_grad(set_to_none=True)
        g.loss(video, cond(), phase=phase)["loss"].backward()
        assert any(p.grad is not None for p in owner.parameters())
        assert all(p.grad is None for p in other.parameters())


def test_a_few_steps_lower_each_loss_on_a_fixed_batch():
    g = flow()
    video = torch.rand(2, 3, 4, 16, 16) * 2 - 1
    c = cond()
    for phase in ("ae", "main"):
        opt = torch.optim.AdamW(g.phase_parameters(phase), lr=3e-3)

        def loss(phase=phase):
            torch.manual_seed(123)  # same frames, noise and t before and after
            return g.loss(video, c, phase=phase)["loss"]

        before = loss().item()
        for _ in range(5):
            opt.zero_grad()
            loss().backward()
            opt.step()
        assert loss().item() < before, phase


def test_guidance_uses_the_unconditional_branch():
    g = flow()
    torch.nn.init.normal_(g.transformer.out.weight, std=0.5)  # an untrained net predicts zero velocity
    c, u = cond(seed=0), cond(n=3, seed=1)
    a = g.generate(c, num_frames=4, generator=torch.Generator().manual_seed(0))
    b = g.generate(c, num_frames=4, generator=torch.Generator().manual_seed(0), uncond=u, guidance_scale=1.0)
    s = g.generate(c, num_frames=4, generator=torch.Generator().manual_seed(0), uncond=u, guidance_scale=3.0)
    assert torch.equal(a, b) and not torch.allclose(a, s)
    both = cat_conditions(c, u)
    assert both.tokens.shape == (4, 5, 32) and not both.mask[2:, 3:].any()


def test_bf16_autocast_runs():
    g = flow()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = g.loss(torch.rand(2, 3, 4, 16, 16) * 2 - 1, cond(), phase="main")
        v = g.generate(cond(), num_frames=4)
    assert torch.isfinite(out["loss"]) and v.shape == (2, 3, 4, 16, 16)
