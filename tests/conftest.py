import os
import sys
import warnings

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")


torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _own_user_data(tmp_path_factory, monkeypatch):
    """Each test sees an empty user data folder: a model the developer installed never changes a result."""
    monkeypatch.setenv("VIDFUSE_HOME", str(tmp_path_factory.mktemp("vidfuse_home")))


def run_cli(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """``vidfuse ARGS`` as the console script runs it: (exit status, stdout, stderr). ``main()`` installs its own
    ``warnings.showwarning`` (one line per warning); the monkeypatch restores pytest's after the test."""
    from vidfuse.cli import main

    monkeypatch.setattr(sys, "argv", ["vidfuse", *map(str, args)])
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    code = 0
    try:
        main()
    except SystemExit as e:
        code = 0 if e.code is None else e.code
    out = capsys.readouterr()
    return code, out.out, out.err


CAPTIONS = [
    "the red digit 3 is moving to the left",
    "a blue seven moves down",
    "数字3在左右移动",
    "红色的数字7向下移动",
    "digit 5 is going right",
    "a green 4 bouncing up and down",
]


def tiny_pipeline(generator: str = "gan", seed: int = 0):
    from vidfuse.config import tiny
    from vidfuse.data.tokenizer import CharTokenizer
    from vidfuse.models.model import VidFuseModel
    from vidfuse.pipeline import TextToVideoPipeline

    torch.manual_seed(seed)
    tok = CharTokenizer.build(CAPTIONS, max_length=48)
    cfg = tiny(generator)
    cfg.vocab_size = tok.vocab_size
    return TextToVideoPipeline(VidFuseModel(cfg), tok, device="cpu")


def random_condition(b=2, n=5, d=32, seed=0, image=None, has_image=None):
    """A stand-in for the fusion's output Z: random tokens and pooled vector (tiny preset width 32)."""
    from vidfuse.models.base import Condition

    g = torch.Generator().manual_seed(seed)
    return Condition(
        torch.randn(b, n, d, generator=g),
        torch.ones(b, n, dtype=torch.bool),
        torch.randn(b, d, generator=g),
        image,
        has_image,
    )


def tiny_generator(generator: str, **overrides):
    """A generator of the tiny preset on its own (no encoders), with config fields (shared or the family's own,
    ``gen.*``) overridden."""
    from vidfuse.config import tiny
    from vidfuse.models.registry import build_generator

    torch.manual_seed(0)
    cfg = tiny(generator)
    for k, v in overrides.items():
        setattr(cfg.gen if hasattr(cfg.gen, k) else cfg, k, v)
    return build_generator(cfg.validate())


@pytest.fixture(params=["gan", "vae", "anchor"])
def pipe(request):
    return tiny_pipeline(request.param)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny random GAN model saved as a model folder (the server tests load it in worker processes)."""
    return tiny_pipeline().save_pretrained(tmp_path_factory.mktemp("model") / "tiny")
