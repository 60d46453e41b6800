"""``vidfuse train``'s options, generated from the config dataclasses: every field has one, each reaches the
resolved :class:`~vidfuse.config.TrainConfig`, and a family setting the chosen family lacks is refused in one line.

Nothing trains here: ``vidfuse.train.train`` is replaced by a stub that keeps the config it is given."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import typer
from conftest import run_cli

from vidfuse.config import DEFAULT_GENERATOR, GENERATOR_CONFIGS, ModelConfig, TrainConfig


def having(field: str) -> str:
    """The families whose settings have ``field``, as the CLI's error lists them."""
    return ", ".join(n for n, c in GENERATOR_CONFIGS.items() if field in {f.name for f in dataclasses.fields(c)})


@pytest.fixture
def trained(monkeypatch):
    """The calls ``vidfuse train`` makes to ``vidfuse.train.train``: (config, resume, quiet) each."""
    import vidfuse.train

    calls = []

    def fake_train(cfg, *, resume=False, quiet=False):
        calls.append((cfg, resume, quiet))
        return Path(cfg.out) / "model"

    monkeypatch.setattr(vidfuse.train, "train", fake_train)
    return calls


def cli(monkeypatch, capsys, *args) -> tuple[int, str]:
    """``vidfuse ARGS`` as the console script runs it: (exit status, stderr + stdout)."""
    code, out, err = run_cli(monkeypatch, capsys, *args)
    return code, err + out


def flat(text: str) -> str:
    """Rich's boxed, wrapped output as one line of words."""
    return " ".join(text.replace("│", " ").split())


def train_cfg(monkeypatch, capsys, trained, *args) -> TrainConfig:
    code, text = cli(monkeypatch, capsys, "train", "--preset", "tiny", *args)
    assert code == 0, text
    assert len(trained) == 1, text
    return trained[0][0]


def option_names() -> set[str]:
    from vidfuse.cli import app

    command = typer.main.get_command(app).commands["train"]
    return {name for p in command.params for name in (*p.opts, *p.secondary_opts)}


def test_every_config_field_has_an_option():
    names = option_names()
    wanted = [f for f in dataclasses.fields(TrainConfig) if f.name != "model"]
    wanted += [f for f in dataclasses.fields(ModelConfig) if f.name != "gen"]
    wanted += [f for cls in GENERATOR_CONFIGS.values() for f in dataclasses.fields(cls)]
    for f in wanted:
        flag = "--" + f.name.replace("_", "-")
        assert flag in names, f"{f.name} has no option {flag}"
        if f.type == "bool":
            assert "--no-" + flag[2:] in names, f"{f.name} has no --no- form"


def test_the_options_that_existed_before_keep_their_meaning(tmp_path, monkeypatch, capsys, trained):
    cfg = train_cfg(
        monkeypatch,
        capsys,
        trained,
        "--data",
        "moving-digits",
        "--steps",
        3,
        "--max-minutes",
        1.5,
        "--out",
        tmp_path / "run",
        "--resume",
        "--generator",
        "gan",
        "--batch-size",
        2,
        "--lr",
        1e-3,
        "--level",
        "1,2",
        "--lang",
        "en",
        "--seed",
        5,
        "--ckpt-every",
        7,
        "--sample-every",
        9,
        "--text-encoder",
        "scratch",
        "--quiet",
        "--allow-outside-paths",
    )
    assert (cfg.preset, cfg.data, cfg.steps, cfg.max_minutes, cfg.out) == (
        "tiny",
        "moving-digits",
        3,
        1.5,
        str(tmp_path / "run"),
    )
    assert (cfg.batch_size, cfg.lr, cfg.level, cfg.lang, cfg.seed) == (2, 1e-3, (1, 2), "en", 5)
    assert (cfg.ckpt_every, cfg.sample_every, cfg.allow_outside_paths) == (7, 9, True)
    assert (cfg.model.generator, cfg.model.text_encoder, cfg.model.num_frames) == ("gan", "scratch", 4)
    assert trained[0][1:] == (True, True)  # resume, quiet


def test_left_out_options_keep_the_preset_and_the_config_file(tmp_path, monkeypatch, capsys, trained):
    cfg = train_cfg(monkeypatch, capsys, trained, "--out", tmp_path / "run")
    assert cfg.model.generator == DEFAULT_GENERATOR
    assert (cfg.steps, cfg.level, cfg.bf16, cfg.model.dim) == (TrainConfig.steps, (1,), True, 32)  # tiny: dim 32
    assert trained[0][1:] == (False, False)

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "data: moving-digits\nlr: 0.001\nsteps: 50\nallow_outside_paths: true\n"
        "model: {generator: vae, kl_weight: 0.5, dim: 16}\n"
    )
    trained.clear()
    cfg = train_cfg(
        monkeypatch,
        capsys,
        trained,
        "--config",
        recipe,
        "--steps",
        7,
        "--no-allow-outside-paths",
        "--temperature",
        0.5,
        "--no-bf16",
    )
    assert (cfg.lr, cfg.steps, cfg.allow_outside_paths, cfg.bf16) == (0.001, 7, False, False)
    assert (cfg.model.generator, cfg.model.dim, cfg.model.gen.kl_weight, cfg.model.gen.temperature) == (
        "vae",
        16,
        0.5,
        0.5,
    )


def test_a_family_setting_reaches_the_generators_config(tmp_path, monkeypatch, capsys, trained):
    cfg = train_cfg(
        monkeypatch,
        capsys,
        trained,
        "--generator",
        "gan",
        "--r1-gamma",
        1.5,
        "--disc-channels",
        "8,16",
        "--visual-channels",
        "8,16",
        "--betas",
        "0.9,0.95",
    )
    assert type(cfg.model.gen) is GENERATOR_CONFIGS["gan"]
    assert (cfg.model.gen.r1_gamma, cfg.model.gen.disc_channels) == (1.5, (8, 16))
    assert (cfg.model.visual_channels, cfg.betas) == ((8, 16), (0.9, 0.95))

    trained.clear()
    cfg = train_cfg(monkeypatch, capsys, trained, "--ae-steps", 5, "--no-freeze-text")  # default family
    assert (cfg.model.generator, cfg.model.gen.ae_steps, cfg.model.freeze_text) == (DEFAULT_GENERATOR, 5, False)


@pytest.mark.parametrize(
    "args, match",
    [
        (("--r1-gamma", 1), f"--r1-gamma (gan) is not a setting of the {DEFAULT_GENERATOR} generator"),
        (
            ("--generator", "vae", "--ae-steps", 3, "--disc-channels", "8"),
            f"--ae-steps ({having('ae_steps')}), --disc-channels (gan) are not settings of the vae generator",
        ),
    ],
)
def test_a_setting_the_chosen_family_lacks_is_one_line(args, match, tmp_path, monkeypatch, capsys, trained):
    code, text = cli(monkeypatch, capsys, "train", "--preset", "tiny", "--out", tmp_path / "r", *args)
    lines = text.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), text
    assert match in lines[0]
    assert not trained


def test_the_family_from_a_config_file_decides_what_is_stray(tmp_path, monkeypatch, capsys, trained):
    recipe = tmp_path / "gan.yaml"
    recipe.write_text("model:\n  generator: gan\n")
    code, text = cli(monkeypatch, capsys, "train", "--preset", "tiny", "--config", recipe, "--ae-steps", 3)
    assert code == 2 and f"--ae-steps ({having('ae_steps')}) is not a setting of the gan generator" in text, text


def test_a_list_option_that_is_not_a_list_of_numbers_is_refused(monkeypatch, capsys, trained):
    code, text = cli(monkeypatch, capsys, "train", "--preset", "tiny", "--level", "1,x")
    assert code == 2 and "--level" in text and "whole numbers separated by commas" in flat(text), text
    assert not trained


def test_help_lists_every_family_and_the_default(monkeypatch, capsys):
    from vidfuse.models.registry import families

    monkeypatch.setenv("COLUMNS", "200")
    code, text = cli(monkeypatch, capsys, "train", "--help")
    assert code == 0
    for name, line in families().items():
        label = f"{name} (default)" if name == DEFAULT_GENERATOR else name
        assert f"{label}: {line}" in flat(text), name
    for flag in ("--steps", "--r1-gamma", "--generator", "--no-bf16"):
        assert flag in text


def test_help_keeps_a_fields_whole_comment():
    """A field's comment continued on comment-only lines (as ruff formats them) reaches --help whole."""
    from vidfuse.cli.train_options import _field_comments

    comments = _field_comments()
    assert comments[("TrainConfig", "max_minutes")].endswith("saving as at --steps")
    assert comments[("VAEConfig", "kl_free_nats")].endswith("a guard against posterior collapse")
    assert "---" not in " ".join(comments.values())  # group headings are not any field's help
