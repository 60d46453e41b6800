"""The generator contract (vidfuse/models/base.py), checked on every registered family.

A new family registered in vidfuse.models.registry and vidfuse.config.GENERATOR_CONFIGS runs through this suite
unchanged: shapes and range, seeding (same seed → same clip; a CPU seed gives the same clip on a GPU), device
placement, save → load → identical output, one optimiser step of every phase lowers that phase's loss,
guidance and steps accepted or refused as the family declares, and its settings round-trip through config.json.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from conftest import CAPTIONS, random_condition

from vidfuse.config import GENERATOR_CONFIGS, ModelConfig, TrainConfig, tiny
from vidfuse.models.base import Noise, VideoGenerator
from vidfuse.models.registry import build_generator, families, generator_class

FAMILIES = sorted(GENERATOR_CONFIGS)
B = 2
CUDA = torch.cuda.is_available()


def as_if_trained(g: VideoGenerator, seed: int = 0) -> VideoGenerator:
    """Give the zero-initialised output layers (adaLN-zero, zero velocity heads) random weights, so that the
    untrained network's output depends on its inputs as a trained one's does."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in g.parameters():
            if p.dim() >= 1 and not p.any():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
    return g


def make(family: str, device: str = "cpu") -> VideoGenerator:
    torch.manual_seed(0)
    g = as_if_trained(build_generator(tiny(family))).to(device).eval()
    video = torch.rand(B, 3, 4, 16, 16, generator=torch.Generator().manual_seed(1)).to(device) * 2 - 1
    for phase in g.phases:  # the statistics a latent family measures on its first batch
        g.loss(video, None if phase in g.unconditional_phases else cond(device=device), phase=phase)
    return g


def cond(seed: int = 0, device: str = "cpu"):
    c = random_condition(b=B, seed=seed)
    return dataclasses.replace(c, tokens=c.tokens.to(device), mask=c.mask.to(device), pooled=c.pooled.to(device))


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(params=FAMILIES)
def family(request) -> str:
    return request.param


def test_registry_and_settings_name_the_same_families():
    assert set(families()) == set(GENERATOR_CONFIGS)
    for name in FAMILIES:
        assert issubclass(generator_class(name), VideoGenerator)
        assert families()[name]  # a one-line description for --help
    with pytest.raises(ValueError, match="unknown generator"):
        generator_class("diffusion")


def test_shapes_range_and_noise(family):
    g = make(family)
    t = g.cfg.num_frames
    for frames in {t, max(1, t - 1)}:
        noise = g.sample_noise(B, frames, generator=seeded(0))
        assert isinstance(noise, Noise) and noise.batch_size == B
        with torch.no_grad():
            video = g.generate(cond(), num_frames=frames, generator=seeded(0))
        assert video.shape == (B, 3, frames, 16, 16)
        assert video.min() >= -1 and video.max() <= 1 and torch.isfinite(video).all()


def test_same_seed_same_clip_and_explicit_noise(family):
    g = make(family)
    t = g.cfg.num_frames
    with torch.no_grad():
        a = g.generate(cond(), num_frames=t, generator=seeded(3))
        b = g.generate(cond(), num_frames=t, generator=seeded(3))
        c = g.generate(cond(), num_frames=t, generator=seeded(4))
        d = g.generate(cond(), num_frames=t, noise=g.sample_noise(B, t, generator=seeded(3)))
    assert torch.equal(a, b) and torch.equal(a, d)
    assert (a - c).abs().max() > 1e-4
    wrong = g.sample_noise(B + 1, t)
    with pytest.raises(ValueError, match="noise shapes"):
        g.generate(cond(), num_frames=t, noise=wrong)


def test_text_changes_the_clip(family):
    g = make(family)
    with torch.no_grad():
        a = g.generate(cond(0), num_frames=g.cfg.num_frames, generator=seeded(0))
        b = g.generate(cond(5), num_frames=g.cfg.num_frames, generator=seeded(0))
    assert (a - b).abs().max() > 1e-4


def test_guidance_and_steps_as_declared(family):
    g = make(family)
    t = g.cfg.num_frames
    with torch.no_grad():
        plain = g.generate(cond(), num_frames=t, generator=seeded(0))
        if g.supports_guidance:
            one = g.generate(cond(), num_frames=t, generator=seeded(0), uncond=cond(9), guidance_scale=1.0)
            guided = g.generate(cond(), num_frames=t, generator=seeded(0), uncond=cond(9), guidance_scale=3.0)
            assert torch.equal(plain, one)
            assert (plain - guided).abs().max() > 1e-4
            with pytest.raises(ValueError, match="uncond"):
                g.generate(cond(), num_frames=t, guidance_scale=3.0)
        else:
            with pytest.raises(ValueError, match="guidance"):
                g.generate(cond(), num_frames=t, uncond=cond(9), guidance_scale=3.0)
        if g.iterative:
            fewer = g.generate(cond(), num_frames=t, generator=seeded(0), steps=1)
            assert fewer.shape == plain.shape and (fewer - plain).abs().max() > 1e-4
        else:
            with pytest.raises(ValueError, match="one pass"):
                g.generate(cond(), num_frames=t, steps=4)


def test_phases_declared_for_the_trainer(family):
    g = make(family)
    assert g.cond_phase is None or g.cond_phase in g.phases
    assert set(g.unconditional_phases) <= set(g.phases)
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    seen: set[int] = set()
    for phase in g.phases:
        assert g.phase_lr_fields.get(phase, "lr") in train_fields
        params = {id(p) for p in g.phase_parameters(phase)}
        assert params and not params & seen, f"phase {phase} shares parameters with another phase"
        seen |= params
        assert phase in g.active_phases(g.phase_start(phase))
    inference = {f"{name}." for name in g.inference_modules()}
    assert inference and all(hasattr(g, name.rstrip(".")) for name in inference)


def test_one_step_of_every_phase_lowers_its_loss(family):
    g = make(family).train()
    video = torch.rand(B, 3, 4, 16, 16, generator=seeded(7)) * 2 - 1
    c = cond()
    for phase in g.phases:
        c_phase = None if phase in g.unconditional_phases else c

        def loss(phase: str = phase, c_phase=c_phase) -> torch.Tensor:
            torch.manual_seed(11)  # the same noise, timesteps and frames before and after the step
            return g.loss(video, c_phase, phase=phase)["loss"]

        params = g.phase_parameters(phase)
        # a small step: Adam moves every weight by about lr whatever its gradient, and at 1e-3 the sum of those
        # moves overshot a random critic's matching term (anchor-gan, depending on the initial weights)
        opt = torch.optim.Adam(params, lr=3e-4)
        before = loss()
        opt.zero_grad()
        before.backward()
        opt.step()
        with torch.no_grad():
            after = loss()
        assert after < before, (phase, float(before), float(after))


def test_save_load_gives_identical_clips(family, tmp_path):
    from vidfuse.data.tokenizer import CharTokenizer
    from vidfuse.models.model import VidFuseModel
    from vidfuse.pipeline import TextToVideoPipeline

    torch.manual_seed(0)
    tok = CharTokenizer.build(CAPTIONS, max_length=48)
    cfg = dataclasses.replace(tiny(family), vocab_size=tok.vocab_size)
    model = VidFuseModel(cfg)
    as_if_trained(model.generator)
    pipe = TextToVideoPipeline(model, tok, device="cpu")
    pipe.save_pretrained(tmp_path / "m")
    loaded = TextToVideoPipeline.from_pretrained(tmp_path / "m", device="cpu")
    assert loaded.config == cfg
    a = pipe(CAPTIONS[:2], seed=5)
    b = loaded(CAPTIONS[:2], seed=5)
    assert (a == b).all()


def test_settings_round_trip_and_flat_configs_migrate(family):
    cfg = tiny(family)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    flat = {k: v for k, v in cfg.to_dict().items() if k not in ("config_version", "gen")}
    flat.update(dataclasses.asdict(cfg.gen))
    for other in GENERATOR_CONFIGS.values():  # a version-1 config.json carried every family's fields
        flat = {**dataclasses.asdict(other()), **flat}
    assert ModelConfig.from_dict(flat) == cfg
    with pytest.raises(AttributeError):
        cfg.not_a_field = 1  # a typo in code fails loudly instead of setting nothing


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_a_cpu_seed_gives_the_same_clip_on_cuda(family):
    cpu, gpu = make(family), make(family, "cuda")
    t = cpu.cfg.num_frames
    with torch.no_grad():
        a = cpu.generate(cond(), num_frames=t, generator=seeded(3))
        b = gpu.generate(cond(device="cuda"), num_frames=t, generator=seeded(3))
    assert b.device.type == "cuda"
    torch.testing.assert_close(b.cpu(), a, atol=2e-3, rtol=0)
