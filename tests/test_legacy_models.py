"""Model folders written by earlier releases load and generate the clips they generated then.

The folders and clips under tests/data/legacy were written by scripts/make_legacy_fixtures.py with the code of
2026-12-04 (commit 374728e, before the generator contract of issue #16): one tiny model per generator family in
that release's flat config.json format, one GAN folder in the older format without ``frame_out`` (decoded with
tanh), and clips of the shipped default model (rewritten with ``--default-only`` whenever a new default ships or its
clips change on purpose: last on 2026-12-05, when clips past 16 frames began to carry their motion on; the tiny
anchor folder's clips still pin the generator code the earlier defaults ran, but for the frames past its
native length, which that change moved). On the machine that wrote them the clips
are bit-identical (sha256.json). Other CPUs and torch versions round differently (bf16 autocast above all): on a
16-core x86 GPU host with torch 2.11 the shipped model's clips differed by 0.19 levels of 255 on average, 26 at
most, where another seed or prompt gives a mean difference of 4 to 8. The tolerance sits between the two.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from vidfuse.pipeline import SHIPPED_MODEL_DIR, TextToVideoPipeline

LEGACY = Path(__file__).parent / "data" / "legacy"
_spec = importlib.util.spec_from_file_location(
    "make_legacy_fixtures", Path(__file__).parents[1] / "scripts" / "make_legacy_fixtures.py"
)
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)


def assert_close_clips(got: dict[str, np.ndarray], want: np.lib.npyio.NpzFile, *, longer_frames=None) -> None:
    """``longer_frames``: compare only the first frames of the clip past the native length (see below)."""
    assert set(got) == set(want.files)
    for key in want.files:
        a, b = got[key].astype(np.int16), want[key].astype(np.int16)
        assert a.shape == b.shape, key
        if key == "longer" and longer_frames:
            a, b = a[:, :longer_frames], b[:, :longer_frames]
        diff = np.abs(a - b)
        # rounding that differs between machines moves a few pixels a little; a different clip moves many a lot
        far = float((diff > 16).mean())
        assert diff.mean() < 1.0 and far < 0.01, (key, float(diff.mean()), far)


@pytest.fixture(autouse=True)
def _read_as_then(monkeypatch):
    """The clips pin the models and the generator code, not the text rules, which grow: since 2026-12-07 "a blue 5
    bouncing" is read "a blue 5 bouncing up and down" (a bounce with no axis said gets the one a reader takes). The
    fixture prompts are read as the release that wrote the clips read them (as written: they are lower case and
    name one digit each)."""
    assert all(p == p.lower() for p in fixtures.PROMPTS)
    monkeypatch.setattr("vidfuse.pipeline.model_text", lambda prompt, asked=None: prompt)


@pytest.mark.parametrize("family", ["gan", "vae", "flow", "anchor", "gan_tanh"])
def test_earlier_model_folders_generate_the_same_clips(family):
    folder = LEGACY / family
    pipe = TextToVideoPipeline.from_pretrained(folder, device="cpu")
    assert pipe.config.generator == json.loads((folder / "config.json").read_text())["generator"]
    # the anchor families carry clips past their native length on by motion matching since 2026-12-05 (they
    # restarted from the last frame before, and jumped): only the first window of such a clip is pinned
    native = pipe.num_frames if pipe.model.generator.continues_itself else None
    assert_close_clips(fixtures.clips(pipe), np.load(folder / "clips.npz"), longer_frames=native)


def test_shipped_default_model_generates_the_same_clips():
    pipe = TextToVideoPipeline.from_pretrained(SHIPPED_MODEL_DIR, device="cpu")
    assert_close_clips(fixtures.clips(pipe), np.load(LEGACY / "default_model_clips.npz"))
