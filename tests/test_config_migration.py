"""Model configs of every version and shape reach the right family's settings, or are refused naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vidfuse.config import ModelConfig, TrainConfig, is_version1_dump
from vidfuse.errors import InputError
from vidfuse.train import resolve_config

LEGACY = Path(__file__).parent / "data" / "legacy"
CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_an_earlier_runs_whole_config_works_as_a_recipe(tmp_path):
    saved = json.loads((LEGACY / "anchor" / "config.json").read_text())
    assert is_version1_dump(saved)
    (tmp_path / "c.json").write_text(json.dumps({"model": saved}))
    cfg = resolve_config("small", tmp_path / "c.json")
    assert cfg.model.generator == "anchor" and cfg.model.gen.flow_patch == saved["flow_patch"]


def test_a_recipe_of_another_family_leaves_out_what_does_not_apply():
    with pytest.warns(UserWarning, match="frame_out, kl_free_nats do not apply to the anchor generator"):
        cfg = resolve_config("small", CONFIGS / "vae_small.yaml", model={"generator": "anchor"})
    assert cfg.model.generator == "anchor" and not hasattr(cfg.model.gen, "kl_free_nats")


@pytest.mark.parametrize(
    "build",
    [
        lambda: ModelConfig.from_dict({"generator": "gan", "kl_weight": 0.5}),
        lambda: TrainConfig.from_dict({"model": {"r1_gamma": 1.0}}),
        lambda: resolve_config("small", model={"generator": "anchor", "kl_weight": 1.0}),
    ],
)
def test_a_setting_the_family_lacks_is_refused_not_dropped(build):
    with pytest.raises(InputError, match="unknown .*Config field"):
        build()


def test_tanh_only_for_whole_version1_gan_and_vae_configs():
    assert ModelConfig.from_dict({"generator": "vae", "gen": {}}).gen.frame_out == "linear"
    old = json.loads((LEGACY / "gan_tanh" / "config.json").read_text())
    assert "frame_out" not in old and ModelConfig.from_dict(old).gen.frame_out == "tanh"


def test_a_replaced_config_has_its_own_family_settings():
    import dataclasses

    from vidfuse.config import tiny

    a = tiny("anchor")
    b = dataclasses.replace(a, dim=64)
    b.gen.ae_steps = 99
    assert a.gen.ae_steps != 99 and b.gen.ae_steps == 99
