"""anchor-add: a one-step student started from a trained anchor flow (``--init-from``), its teacher frozen."""

from __future__ import annotations

import pytest
import torch
from test_generator_contract import as_if_trained
from test_train import tiny_cfg

from vidfuse.config import derive_model_config, tiny
from vidfuse.errors import InputError
from vidfuse.pipeline import TextToVideoPipeline
from vidfuse.train import Trainer, train


@pytest.fixture(scope="module")
def flow_folder(tmp_path_factory):
    """A tiny anchor flow trained for two steps: the teacher."""
    run = tmp_path_factory.mktemp("teacher")
    return train(tiny_cfg(run, "anchor", steps=2), quiet=True)


def test_derived_config_keeps_the_starting_models_sizes_and_the_recipes_family():
    base = tiny("anchor")
    base.gen.flow_width, base.gen.sample_steps, base.guidance_scale = 48, 5, 2.0
    recipe = tiny("anchor-add")
    recipe.gen.adv_weight, recipe.gen.flow_width, recipe.p_drop_text = 0.3, 999, 0.0
    got = derive_model_config(base, recipe)
    assert got.generator == "anchor-add" and type(got.gen) is type(recipe.gen)
    assert (got.gen.flow_width, got.gen.sample_steps) == (48, 5)  # the weights' sizes, the teacher's steps
    assert (got.gen.adv_weight, got.guidance_scale, got.p_drop_text) == (0.3, recipe.guidance_scale, 0.0)
    assert (got.dim, got.text_layers, got.vocab_size) == (base.dim, base.text_layers, base.vocab_size)


def test_student_starts_as_the_teacher_and_only_the_student_and_critic_train(flow_folder, tmp_path):
    cfg = tiny_cfg(tmp_path, "anchor-add", init_from=str(flow_folder), lr=1e-3, lr_d=1e-3)
    trainer = Trainer(cfg, quiet=True)
    teacher = TextToVideoPipeline.from_pretrained(flow_folder)
    g = trainer.model.generator
    want = teacher.model.generator.transformer.state_dict()
    for k, v in g.transformer.state_dict().items():
        assert torch.equal(v, want[k]) and torch.equal(g.teacher.state_dict()[k], want[k]), k
    assert trainer.tokenizer.vocab_size == teacher.tokenizer.vocab_size
    as_if_trained(g.transformer)  # two steps leave the velocity heads at zero: one step would equal three
    g.after_init_from()
    frozen = {
        k: v.detach().clone()
        for k, v in trainer.model.named_parameters()
        if not k.startswith(("generator.transformer.", "generator.critic."))
    }
    videos = torch.stack([trainer.dataset[i][0] for i in range(4)])
    captions = [trainer.dataset[i][1] for i in range(4)]
    first = trainer.train_step(videos, captions)
    for _ in range(3):
        last = trainer.train_step(videos, captions)
    assert last["distill"] < first["distill"]
    for k, v in trainer.model.named_parameters():  # teacher, text, fusion, autoencoder: untouched
        if k in frozen:
            assert torch.equal(v, frozen[k]), k


def test_distilled_model_folder_generates_in_one_pass(flow_folder, tmp_path):
    folder = train(tiny_cfg(tmp_path, "anchor-add", init_from=str(flow_folder), steps=2), quiet=True)
    pipe = TextToVideoPipeline.from_pretrained(folder)
    assert pipe.config.generator == "anchor-add" and pipe.config.guidance_scale == 1.0
    g = pipe.model.generator
    assert not any(k.startswith(("generator.teacher.", "generator.critic.")) for k in pipe.model.inference_state_dict())
    calls = []
    g.transformer.register_forward_hook(lambda *_: calls.append(1))
    frames = pipe(["a red digit 3 moving to the left", "white digit 7 going up"], seed=0)
    assert len(frames) == 2 and len(calls) == 1
    with pytest.raises(InputError, match="start from a trained anchor model"):  # its teacher would be one step
        Trainer(tiny_cfg(tmp_path / "again", "anchor-add", init_from=str(folder)), quiet=True)


def test_init_from_a_missing_folder_is_an_input_error(tmp_path):
    cfg = tiny_cfg(tmp_path / "run", "anchor-add", init_from=str(tmp_path / "no-such-model"))
    with pytest.raises(InputError, match="no-such-model"):
        Trainer(cfg, quiet=True)


def test_without_the_critics_weight_the_critic_is_not_trained(flow_folder, tmp_path):
    """adv_weight 0 is distillation alone: the critic's phase is skipped, not trained for nothing."""
    cfg = tiny_cfg(tmp_path, "anchor-add", init_from=str(flow_folder), lr=1e-3, lr_d=1e-3)
    cfg.model.gen.adv_weight = 0.0
    trainer = Trainer(cfg, quiet=True)
    critic = {k: v.detach().clone() for k, v in trainer.model.generator.critic.named_parameters()}
    videos = torch.stack([trainer.dataset[i][0] for i in range(4)])
    logs = trainer.train_step(videos, [trainer.dataset[i][1] for i in range(4)])
    assert "distill" in logs and "d/loss" not in logs
    for k, v in trainer.model.generator.critic.named_parameters():
        assert torch.equal(v, critic[k]), k
