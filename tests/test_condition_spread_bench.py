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


def test_caption_gain_is_zero_for_a_model_deaf_to_the_words_and_not_otherwise(monkeypatch):
    pipe = tiny_pipeline("anchor")
    out = pipe.model.generator.transformer
    for layer in (out.final_ada, out.anchor_out, out.motion_out):  # an untrained flow predicts zero: give it a say
        torch.nn.init.normal_(layer.weight, std=0.5)
    gain = bench.caption_gain(pipe, clips=6, level=(1,))
    assert {"loss", "anchor_mse", "motion_mse"} <= set(gain) and abs(gain["loss"]) > 0
    real = pipe.model._encode  # where every condition (training's too) is computed
    fixed_ids, fixed_mask = pipe.tokenizer.encode(["the red digit 3 is moving to the left"])

    def deaf(ids, mask, *a, **kw):  # Z computed from one fixed caption, whatever the batch says
        b = ids.shape[0]
        return real(fixed_ids.expand(b, -1), fixed_mask.expand(b, -1), *a, **kw)

    monkeypatch.setattr(pipe.model, "_encode", deaf)
    assert bench.caption_gain(pipe, clips=6, level=(1,)) == pytest.approx({k: 0.0 for k in gain}, abs=1e-6)


def test_caption_gain_counts_the_generator_alone_not_the_text_clip_alignment():
    from vidfuse.models.model import VidFuseModel
    from vidfuse.pipeline import TextToVideoPipeline

    pipe = tiny_pipeline("anchor")
    cfg = pipe.model.cfg
    cfg.align_weight = 0.5
    torch.manual_seed(0)
    pipe = TextToVideoPipeline(VidFuseModel(cfg), pipe.tokenizer, device="cpu")
    out = pipe.model.generator.transformer
    for layer in (out.final_ada, out.anchor_out, out.motion_out):
        torch.nn.init.normal_(layer.weight, std=0.5)
    gain = bench.caption_gain(pipe, clips=6, level=(1,))
    assert "align" not in gain
    assert gain["loss"] == pytest.approx(gain["anchor_mse"] + gain["motion_mse"], abs=1e-4)
