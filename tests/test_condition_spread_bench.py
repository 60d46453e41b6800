"""bench/condition_spread.py on a tiny random model: one value per attribute, cosines in range, and a model
whose conditions ignore the words reads 1.0."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from conftest import tiny_pipeline

_spec = importlib.util.spec_from_file_location(
    "condition_spread", Path(__file__).parents[1] / "bench" / "condition_spread.py"
)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_spread_groups_pairs_by_the_one_attribute_they_differ_in(monkeypatch):
    pipe = tiny_pipeline("anchor")
    r = bench.spread(pipe)
    assert set(r) == {"digit", "colour", "motion", "all pairs"}
    assert all(-1 <= v <= 1 for v in r.values()) and r["all pairs"] < 1
    real = pipe.model.condition

    def deaf(ids, mask, *a, **kw):  # the same Z whatever the caption
        cond = real(ids, mask, *a, **kw)
        cond.pooled = torch.ones_like(cond.pooled)
        return cond

    monkeypatch.setattr(pipe.model, "condition", deaf)
    assert bench.spread(pipe) == pytest.approx({k: 1.0 for k in r}, abs=1e-4)


def test_a_checkpoints_raw_weights_replace_the_folders(tmp_path):
    from safetensors.torch import save_file

    pipe = tiny_pipeline("anchor")
    state = {f"model.{k}": v.clone() + 1 for k, v in pipe.model.state_dict().items() if v.is_floating_point()}
    state["ema.module.fusion.pool.0.bias"] = torch.zeros(3)  # other parts of a checkpoint are left alone
    save_file(state, tmp_path / "checkpoint.safetensors")
    before = pipe.model.fusion.pool[0].bias.clone()
    bench.load_raw_weights(pipe, tmp_path / "checkpoint.safetensors")
    torch.testing.assert_close(pipe.model.fusion.pool[0].bias, before + 1)
    save_file({"ema.module.x": torch.zeros(1)}, tmp_path / "ema_only.safetensors")
    with pytest.raises(SystemExit, match="no model weights"):
        bench.load_raw_weights(pipe, tmp_path / "ema_only.safetensors")
