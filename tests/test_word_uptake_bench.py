"""bench/word_uptake.py on the tiny preset: the flow phase starts from another folder's autoencoder, and every
measurement is a line with the spread and the caption gain."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from conftest import tiny_pipeline

_spec = importlib.util.spec_from_file_location("word_uptake", Path(__file__).parents[1] / "bench" / "word_uptake.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


@pytest.fixture
def recipe(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text("batch_size: 2\nlevel: [1]\nlang: both\nmodel:\n  generator: anchor\n", encoding="utf-8")
    return path


def test_the_flow_phase_runs_from_the_folders_autoencoder_and_logs_each_measurement(tmp_path, recipe):
    folder = tiny_pipeline("anchor").save_pretrained(tmp_path / "ae")
    args = ["--autoencoder", str(folder), "--preset", "tiny", "--config", str(recipe), "--level", "1"]
    out = tmp_path / "uptake.jsonl"
    ns = bench.argparse.Namespace(
        autoencoder=folder, preset="tiny", config=recipe, generator=None, text_encoder=None, level=(1,),
        lang="both", paraphrase=0.0, gen=["sample_steps=2"], seed=0,
    )  # fmt: skip
    trainer = bench.build(ns, tmp_path / "run")
    assert trainer.cfg.model.gen.ae_steps == 0 and trainer.cfg.model.gen.sample_steps == 2
    assert trainer.cfg.autoencoder_from == str(folder)  # loading it: tests/test_train.py
    assert bench.main([*args, "--steps", "2", "--every", "1", "--out", str(out)]) == 0
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert "machine" in lines[0] and [r["step"] for r in lines[1:]] == [0, 1, 2]
    assert {"all pairs", "caption gain"} <= set(lines[1]) and "loss" in lines[1]["caption gain"]


def test_the_seed_sets_the_initial_weights(tmp_path, recipe):
    folder = tiny_pipeline("anchor").save_pretrained(tmp_path / "ae")
    ns = bench.argparse.Namespace(
        autoencoder=folder, preset="tiny", config=recipe, generator=None, text_encoder=None, level=(1,),
        lang="both", paraphrase=0.0, gen=[], seed=0,
    )  # fmt: skip
    key = "generator.transformer.anchor_pos"
    first = bench.build(ns, tmp_path / "a").model.state_dict()[key]
    again = bench.build(ns, tmp_path / "b").model.state_dict()[key]
    ns.seed = 1
    other = bench.build(ns, tmp_path / "c").model.state_dict()[key]
    assert torch.equal(first, again) and not torch.equal(first, other)
