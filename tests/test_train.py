"""Training loop: a step lowers the loss, resume is exact, checkpoints are atomic, 2-process DDP agrees."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from vidfuse.errors import InputError
from vidfuse.train import CHECKPOINT, StepBatchSampler, Trainer, match_video_size, resolve_config, train

ROOT = Path(__file__).resolve().parent.parent


def tiny_cfg(tmp_path, generator="gan", **kw):
    kw.setdefault("steps", 4)
    kw.setdefault("warmup_steps", 1)
    return resolve_config(
        "tiny", out=str(tmp_path), batch_size=4, ckpt_every=2, sample_every=100, model={"generator": generator}, **kw
    )


@pytest.mark.parametrize("generator", ["gan", "vae"])
def test_optimiser_steps_lower_the_loss_on_a_fixed_batch(tmp_path, generator):
    trainer = Trainer(tiny_cfg(tmp_path, generator, lr=1e-3, lr_d=1e-3), quiet=True)
    videos = torch.stack([trainer.dataset[i][0] for i in range(4)])
    captions = [trainer.dataset[i][1] for i in range(4)]
    key = "d/loss" if generator == "gan" else "loss"
    torch.manual_seed(0)
    first = trainer.train_step(videos, captions)[key]
    for _ in range(5):
        last = trainer.train_step(videos, captions)[key]
    assert last < first


def _weights(run: Path) -> dict:
    return load_file(run / CHECKPOINT)


def _as_version_1(run: Path) -> None:
    """Rewrite a run's checkpoint as version 1 wrote it: the EMA as ``ema.<name>``, no ``n_averaged``."""
    from safetensors.torch import save_file

    from vidfuse.train import checkpoint

    tensors, meta = checkpoint.read(run / CHECKPOINT)
    del meta["version"]
    old = {
        "ema." + k[len("ema.module.") :] if k.startswith("ema.module.") else k: v
        for k, v in tensors.items()
        if k != "ema.n_averaged"
    }
    save_file(old, run / CHECKPOINT, metadata={"vidfuse": json.dumps(meta)})


def test_resume_is_exact(tmp_path):
    """Resuming continues bit for bit, also from a checkpoint of version 1 (the EMA's names migrated)."""
    import shutil

    straight = train(tiny_cfg(tmp_path / "a", steps=4), quiet=True)
    assert (straight / "config.json").is_file()
    train(tiny_cfg(tmp_path / "b", steps=2), quiet=True)
    shutil.copytree(tmp_path / "b", tmp_path / "v1")
    _as_version_1(tmp_path / "v1")
    train(tiny_cfg(tmp_path / "b", steps=4), resume=True, quiet=True)
    train(tiny_cfg(tmp_path / "v1", steps=4), resume=True, quiet=True)
    a, b, v1 = _weights(tmp_path / "a"), _weights(tmp_path / "b"), _weights(tmp_path / "v1")
    assert a.keys() == b.keys() == v1.keys()
    for k in a:
        if not k.startswith("rng."):
            assert torch.equal(a[k], b[k]), k
            assert torch.equal(a[k], v1[k]), k
    meta = json.loads(open(tmp_path / "b" / "config.json").read())
    assert meta["steps"] == 4
    rows = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    for name in ("loss.png", "model/model.safetensors", "tb"):
        assert (tmp_path / "b" / name).exists(), name


def test_a_copied_run_folder_resumes_in_the_copy(tmp_path):
    """Branching a run (copy its folder, resume the copy) must not write into the original, whose saved
    config still names the original folder."""
    import shutil

    train(tiny_cfg(tmp_path / "a", steps=2), quiet=True)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "a").rglob("*") if p.is_file()}
    model = train(tiny_cfg(tmp_path / "b", steps=3), resume=True, quiet=True)
    assert model == tmp_path / "b" / "model"
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "a").rglob("*") if p.is_file()} == before
    assert json.loads((tmp_path / "b" / "config.json").read_text())["out"] == str(tmp_path / "b")
    rows = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]


def test_run_folder_model_loads(tmp_path):
    from vidfuse.pipeline import TextToVideoPipeline

    model = train(tiny_cfg(tmp_path, "vae", steps=2), quiet=True)
    frames = TextToVideoPipeline.from_pretrained(model, device="cpu")("digit 3 is moving up", seed=0)
    assert frames.shape == (1, 4, 16, 16, 3)
    assert list((tmp_path / "samples").glob("step_*.png"))


def test_checkpoint_survives_kill_during_write(tmp_path, monkeypatch):
    """A crash inside the write leaves the previous checkpoint intact and loadable."""
    import vidfuse.train.checkpoint as ckpt

    trainer = Trainer(tiny_cfg(tmp_path, steps=2), quiet=True)
    trainer.fit()
    good = (tmp_path / CHECKPOINT).read_bytes()

    def boom(tensors, path, metadata=None):
        Path(path).write_bytes(b"half a checkpoint")
        raise KeyboardInterrupt  # what a kill looks like from inside

    monkeypatch.setattr(ckpt, "save_file", boom)
    with pytest.raises(KeyboardInterrupt):
        trainer.save()
    assert (tmp_path / CHECKPOINT).read_bytes() == good
    assert not list(tmp_path.glob(".*.tmp*"))
    monkeypatch.undo()
    Trainer(tiny_cfg(tmp_path, steps=2), quiet=True).load()


def test_step_sampler_is_a_function_of_the_step():
    full = list(StepBatchSampler(50, 4, seed=1, start_step=0, steps=20))
    assert list(StepBatchSampler(50, 4, seed=1, start_step=7, steps=20)) == full[7:]
    r0 = StepBatchSampler(50, 4, seed=1, start_step=0, steps=5, rank=0, world=2)
    r1 = StepBatchSampler(50, 4, seed=1, start_step=0, steps=5, rank=1, world=2)
    for a, b in zip(r0, r1):
        assert not set(a) & set(b)


def test_match_video_size():
    v = torch.randn(2, 3, 16, 64, 64)
    assert match_video_size(v, 4, 16, 16).shape == (2, 3, 4, 16, 16)
    assert match_video_size(v, 16, 64, 64) is v


def test_config_file_and_overrides(tmp_path):
    (tmp_path / "c.yaml").write_text("batch_size: 3\nmodel:\n  dim: 48\n")
    cfg = resolve_config("tiny", tmp_path / "c.yaml", steps=9)
    assert (cfg.batch_size, cfg.model.dim, cfg.steps, cfg.model.height) == (3, 48, 9, 16)


@pytest.mark.slow
def test_two_process_ddp_replicas_identical(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_port=29517",
        str(ROOT / "tests" / "ddp_worker.py"),
        str(tmp_path),
    ]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    for folder, model in ((tmp_path, None), (tmp_path / "gan", {"generator": "gan"})):
        a, b = load_file(folder / "rank0.safetensors"), load_file(folder / "rank1.safetensors")
        init = Trainer(resolve_config("tiny", out=str(folder / "x"), model=model), quiet=True).model.state_dict()
        changed = 0
        for k in a:
            assert torch.equal(a[k], b[k]), k
            changed += not torch.equal(a[k], init[k])
        assert changed > 0  # they trained, and stayed identical
        assert (folder / "run" / CHECKPOINT).is_file()
    default = load_file(tmp_path / "rank0.safetensors")
    assert bool(default["generator.latent_stats_set"])  # measured on the flow's first batch (the anchor flow's)


def test_each_phase_network_holds_its_phase_parameters_and_no_buffers(tmp_path):
    """What DDP wraps per phase: exactly the parameters the phase's optimiser steps (the model's own objects),
    and no buffers, so DDP never broadcasts a generator's measured statistics (the flow's latent shift)."""
    trainer = Trainer(tiny_cfg(tmp_path, "anchor"), quiet=True)
    assert set(trainer.phase_nets) == set(trainer.model.generator.phases) == {"ae", "main"}
    for phase, net in trainer.phase_nets.items():
        assert list(net.buffers()) == []
        assert [id(p) for p in net.parameters()] == [id(p) for p in trainer.optimizers[phase].param_groups[0]["params"]]
    assert "generator.latent_shift" in dict(trainer.model.named_buffers())


def test_cooldown_decays_the_learning_rate_to_zero_over_the_last_steps(tmp_path):
    """--cooldown-steps N: the rate is the warmed-up one until N steps before --steps, then falls linearly, its
    last step at 1/N of it (never zero: every step taken still learns); 0 keeps it constant."""
    cfg = tiny_cfg(tmp_path, "flow", steps=10, warmup_steps=1, cooldown_steps=4)
    cfg.model.gen.ae_steps = 2
    trainer = Trainer(cfg, quiet=True)
    scales = [trainer.lr_scale(s, "main") for s in range(2, 10)]
    assert scales == pytest.approx([1, 1, 1, 1, 1, 0.75, 0.5, 0.25])
    assert trainer.lr_scale(0, "ae") == 1
    cfg.cooldown_steps = 0
    assert Trainer(cfg, quiet=True).lr_scale(9, "main") == 1


def test_latent_flow_phases_warm_up_and_ema_from_their_start(tmp_path):
    """The flow phase starts at ae_steps: its learning rate warms up from there, and the EMA of the
    conditioning weights starts there (a copy before, not an average with untrained weights)."""
    cfg = tiny_cfg(tmp_path, "flow", steps=4, warmup_steps=4)
    cfg.model.gen.ae_steps = 2
    trainer = Trainer(cfg, quiet=True)
    assert trainer.lr_scale(0, "ae") == 0.25 and trainer.lr_scale(2, "main") == 0.25
    assert trainer.phase_lr("ae") == cfg.lr_ae and trainer.phase_lr("main") == cfg.lr
    videos = torch.stack([trainer.dataset[i][0] for i in range(4)])
    captions = [trainer.dataset[i][1] for i in range(4)]
    key = "generator.transformer.out.bias"
    for step in range(3):
        logs = trainer.train_step(videos, captions)
        assert ("flow_mse" in logs) == (step >= 2) and ("ae_l1" in logs) == (step < 2)
    live = trainer.model.inference_state_dict()[key].float()
    # first flow step (since = 0): decay 1/10, so the EMA is 90% the live weights, not ≈ 0.1% of them
    assert not torch.equal(live, torch.zeros_like(live))
    assert torch.allclose(trainer.ema.weights()[key], 0.9 * live, atol=1e-6)


def test_autoencoder_from_skips_the_autoencoder_phase_and_loads_that_one(tmp_path):
    """--autoencoder-from: the flow phase from step 0 on another folder's trained autoencoder; a resumed run
    takes it from its checkpoint (the folder may be gone), and folders without one are refused in one line."""
    from conftest import tiny_pipeline

    source = tiny_pipeline("anchor")
    with torch.no_grad():
        for p in source.model.generator.autoencoder.parameters():
            p.add_(0.5)  # unlike a fresh one
    folder = source.save_pretrained(tmp_path / "ae")
    cfg = tiny_cfg(tmp_path / "run", "anchor", steps=2, autoencoder_from=str(folder))
    trainer = Trainer(cfg, quiet=True)
    assert trainer.cfg.model.gen.ae_steps == 0 and tuple(trainer.model.generator.active_phases(0)) == ("main",)
    saved, loaded = load_file(folder / "model.safetensors"), trainer.model.state_dict()
    ae = [k for k in saved if k.startswith("generator.autoencoder.")]
    assert ae and all(torch.equal(loaded[k], saved[k]) for k in ae)
    trainer.fit()
    (folder / "model.safetensors").unlink()
    resumed = Trainer(
        tiny_cfg(tmp_path / "run", "anchor", steps=3, autoencoder_from=str(folder)), quiet=True, resume=True
    )
    resumed.load()
    assert resumed.step == 2
    with pytest.raises(InputError, match="not found"):
        Trainer(tiny_cfg(tmp_path / "other", "anchor", autoencoder_from=str(folder)), quiet=True)
    gan = tiny_pipeline("gan").save_pretrained(tmp_path / "gan")
    with pytest.raises(InputError, match="holds no autoencoder"):
        Trainer(tiny_cfg(tmp_path / "g", "anchor", autoencoder_from=str(gan)), quiet=True)
    with pytest.raises(InputError, match="trains no autoencoder phase"):
        Trainer(tiny_cfg(tmp_path / "h", "gan", autoencoder_from=str(folder)), quiet=True)


def test_long_captions_warn_and_samples_fit(tmp_path, caplog):
    cfg = tiny_cfg(tmp_path, level=(2,))
    cfg.model.max_text_len = 16  # level-2 captions are longer, even with one token per word
    trainer = Trainer(cfg, quiet=True)
    with caplog.at_level("WARNING"):
        fits = trainer._fitting([trainer.dataset[i][1] for i in range(16)])
    assert "max_text_len" in caplog.text
    for c in fits:
        trainer.tokenizer.encode(c)  # no error


def test_tokenizer_has_words_and_training_spells_some(tmp_path, monkeypatch):
    trainer = Trainer(tiny_cfg(tmp_path), quiet=True)
    assert {"digit", "moving"} <= set(trainer.tokenizer.words)
    assert trainer.cfg.model.vocab_size == trainer.tokenizer.vocab_size
    seen = []
    real = trainer.tokenizer.encode
    monkeypatch.setattr(trainer.tokenizer, "encode", lambda *a, **kw: seen.append(kw) or real(*a, **kw))
    items = [trainer.dataset[i] for i in range(2)]
    trainer.train_step(torch.stack([it[0] for it in items]), [it[1] for it in items])
    assert seen[-1]["spell_p"] == trainer.cfg.spell_p > 0
    cfg = tiny_cfg(tmp_path / "chars")
    cfg.model.text_words = 0
    assert Trainer(cfg, quiet=True).tokenizer.words == []


def test_wall_clock_budget_stops_saves_and_resumes(tmp_path, caplog):
    """--max-minutes stops before a step that would overrun the budget, saving the checkpoint, the model
    and samples as at --steps; --resume with more time continues, and the budget counts earlier time."""
    from safetensors import safe_open

    tiny = 1e-4  # minutes (6 ms): no step fits after the first
    with caplog.at_level("WARNING"):
        model = train(tiny_cfg(tmp_path, "vae", steps=50, max_minutes=tiny), quiet=True)
    assert "wall-clock budget" in caplog.text and "--resume" in caplog.text
    assert (model / "model.safetensors").is_file() and list((tmp_path / "samples").glob("step_000001.png"))

    def step_and_elapsed():
        with safe_open(tmp_path / CHECKPOINT, "pt") as f:
            meta = json.loads(f.metadata()["vidfuse"])
        return meta["step"], meta["elapsed_s"]

    step, elapsed = step_and_elapsed()
    assert step == 1 and elapsed > 0
    train(tiny_cfg(tmp_path, "vae", steps=3, max_minutes=60), resume=True, quiet=True)
    step2, elapsed2 = step_and_elapsed()
    assert step2 == 3 and elapsed2 > elapsed  # ran to --steps, time carried over from the first invocation
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3] and rows[-1]["elapsed_min"] * 60 >= elapsed


@pytest.mark.parametrize(
    "path", sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml")), ids=lambda p: p.name
)
def test_every_shipped_recipe_resolves_and_names_its_generator(path):
    """The recipes the README cites must load (an unknown or misspelt field is an error) and say which
    generator they train, so a reader's `vidfuse train --config` does what the README row did."""
    import yaml

    named = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("model", {})
    cfg = resolve_config("small", path)
    assert "generator" in named
    for section, values in ((cfg.model, named), (cfg.model.gen, named.get("gen", {}))):
        for k, v in values.items():
            if k == "gen":
                continue
            got = getattr(section, k)
            assert (list(got) if isinstance(got, tuple) else got) == v, k
