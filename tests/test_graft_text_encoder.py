"""scripts/graft_text_encoder.py: a text encoder taught further moves into a model that reads the same Z, and
only there."""

import copy
import dataclasses
import importlib.util
from pathlib import Path

import pytest
import torch

from vidfuse.config import tiny
from vidfuse.errors import InputError
from vidfuse.pipeline import TextToVideoPipeline, build_model, load_tokenizer

_spec = importlib.util.spec_from_file_location(
    "graft_text_encoder", Path(__file__).parents[1] / "scripts" / "graft_text_encoder.py"
)
graft_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(graft_module)


def _e5_pipe(seed: int = 0) -> TextToVideoPipeline:
    torch.manual_seed(seed)
    cfg = tiny("flow")
    cfg.text_encoder, cfg.max_text_len, cfg.text_layers = "e5", 64, 1
    return TextToVideoPipeline(build_model(cfg), load_tokenizer(cfg, None), device="cpu")


def _taught_further(pipe: TextToVideoPipeline) -> TextToVideoPipeline:
    other = TextToVideoPipeline(copy.deepcopy(pipe.model), copy.deepcopy(pipe.tokenizer), device="cpu")
    with torch.no_grad():
        for p in other.model.text_encoder.blocks.parameters():
            p.add_(0.1)
    other.tokenizer.words, other.tokenizer.chars = ["drifting"], ["紫"]
    return other


def test_the_graft_takes_the_text_encoder_and_its_vocabulary_and_nothing_else(tmp_path):
    into = _e5_pipe()
    src = _taught_further(into)
    into.tokenizer.words, into.tokenizer.chars, into.tokenizer.subjects = ["digit"], [], 1  # the generator's record
    generator = {k: v.clone() for k, v in into.model.generator.state_dict().items()}
    out = graft_module.graft(src, into)
    out.save_pretrained(tmp_path / "m")
    back = TextToVideoPipeline.from_pretrained(tmp_path / "m", device="cpu")
    want = src.model.text_encoder.state_dict()
    assert all(torch.equal(v, want[k]) for k, v in back.model.text_encoder.state_dict().items())
    assert all(torch.equal(v, generator[k]) for k, v in back.model.generator.state_dict().items())
    assert back.tokenizer.words == ["drifting"] and back.tokenizer.chars == ["紫"]
    assert back.tokenizer.subjects == 1 and src.tokenizer.subjects is None  # kept from `into`; src untouched


def test_a_model_that_reads_another_z_is_refused():
    into = _e5_pipe()
    src = _taught_further(into)
    with torch.no_grad():
        next(src.model.fusion.parameters()).add_(0.05)
    with pytest.raises(InputError, match="fusion weights differ"):
        graft_module.graft(src, into)
    deeper = _e5_pipe()
    deeper.model.cfg = dataclasses.replace(deeper.model.cfg, text_layers=2)
    with pytest.raises(InputError, match="text_layers"):
        graft_module.graft(deeper, into)
    tuned = _e5_pipe()
    tuned.model.cfg = dataclasses.replace(tuned.model.cfg, freeze_text=False)  # its backbone would be dropped
    with pytest.raises(InputError, match="freeze_text"):
        graft_module.graft(tuned, into)
