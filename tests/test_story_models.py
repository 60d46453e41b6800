"""Stories with any model: the composer uses the backends' common surface (native_size, num_frames, fps,
long_clips, continues_from_last_frame, fits_prompt, unknown_words), so a tiny Wan pipeline folder tells a
story as the built-in model does; model options reach it; unknown words reach the result, the storyboard
and the server's job JSON."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import run_cli, tiny_pipeline

from vidfuse.data.vocabulary import UnknownWordsWarning
from vidfuse.errors import InputError
from vidfuse.media.video_io import probe_video
from vidfuse.story import render_story
from vidfuse.story.layout import scene_clip

diffusers = pytest.importorskip("diffusers")
from test_diffusers_backend import BUILDERS, _wan  # noqa: E402

SCRIPT = "A red fox runs through the snow.\n\nThen the sun sets over the sea."


@pytest.fixture(scope="module")
def wan_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("story_models") / "wan-tiny"
    _wan().save_pretrained(folder)
    return folder


class _ShortClips:
    """A pipeline that makes ``num_frames`` at most per call, numbering frames so the tests can follow them."""

    native_size, num_frames, fps, long_clips = (16, 16), 5, 16.0, False

    def __init__(self, continues: bool):
        self.continues_from_last_frame = continues
        self.calls = []

    def __call__(self, prompt, image=None, *, num_frames, seed=None, **kw):
        self.calls.append((num_frames, None if image is None else int(image[0, 0, 0])))
        start = 0 if image is None else int(image[0, 0, 0])
        return np.stack([np.full((16, 16, 3), start + k, np.uint8) for k in range(num_frames)])[None]


def test_a_short_clip_model_continues_from_its_last_frame_where_it_can():
    pipe = _ShortClips(continues=True)
    clip = scene_clip(pipe, "x", 12, frames=None, seed=0, options={})
    assert [int(f[0, 0, 0]) for f in clip] == list(range(12))  # no repeated seam frame, no jump
    assert pipe.calls == [(5, None), (5, 4), (4, 8)]  # the last call asks only for what is missing
    still = _ShortClips(continues=False)
    assert len(scene_clip(still, "x", 12, frames=None, seed=0, options={})) == 5  # played back and forth
    assert len(scene_clip(pipe, "x", 12, frames=3, seed=0, options={})) == 3  # frames= is what it makes


@pytest.fixture(scope="module")
def family_dirs(wan_dir, tmp_path_factory):
    """A tiny folder of each family: Wan (shared with the other tests), LTX-Video, CogVideoX."""
    root = tmp_path_factory.mktemp("story_families")
    out = {"wan": wan_dir}
    for name in ("ltx", "cogvideox"):
        BUILDERS[name]().save_pretrained(root / name)
        out[name] = root / name
    return out


@pytest.mark.parametrize("family", list(BUILDERS))
def test_story_through_a_diffusers_folder(family_dirs, tmp_path, family):
    result = render_story(
        SCRIPT,
        tmp_path / "s.mp4",
        model=family_dirs[family],
        no_voice=True,
        subtitles="none",
        size=(64, 48),
        width=32,
        height=32,
        frames=5,
        steps=2,
        negative_prompt="blurry",
    )
    info = probe_video(result.video)
    assert (info.width, info.height) == (64, 48) and len(result.scenes) == 2
    assert all(r.generated_frames == 5 for r in result.scenes) and result.unknown_words == []
    assert result.storyboard.is_file()


def test_model_options_and_unknown_words_with_the_builtin_kind_of_model(tmp_path):
    pipe = tiny_pipeline("gan")
    with pytest.raises(InputError, match="--steps applies to pretrained diffusers models"):
        render_story("The red digit 3 is moving left.", tmp_path / "a.mp4", pipeline=pipe, no_voice=True, steps=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = render_story(
            "A cat plays the piano.",
            tmp_path / "b.mp4",
            model="default",
            no_voice=True,
            subtitles="none",
            size=(64, 64),
            frames=4,
            width=24,
            height=24,
        )
    assert "cat" in result.unknown_words and "piano" in result.scenes[0].unknown_words
    assert any(issubclass(w.category, UnknownWordsWarning) for w in caught)
    assert result.scenes[0].generated_frames == 4


def test_cli_story_takes_model_options(wan_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIDFUSE_MODELS", str(wan_dir.parent))
    script = tmp_path / "s.txt"
    script.write_text("A fox in the snow.")
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        "story",
        str(script),
        "-o",
        str(tmp_path / "s.mp4"),
        "--model",
        "wan-tiny",
        "--no-voice",
        "--subtitles",
        "none",
        "--aspect",
        "1:1",
        "--width",
        "32",
        "--height",
        "32",
        "--frames",
        "5",
        "--steps",
        "2",
        "--negative-prompt",
        "blurry",
    )
    assert code == 0, err
    assert probe_video(tmp_path / "s.mp4").width == 720


def test_server_jobs_carry_model_options_and_unknown_word_warnings(wan_dir, tmp_path):
    from test_server import TestClient

    from vidfuse.server.app import create_app

    with TestClient(create_app(data_dir=tmp_path / "d", models_dir=wan_dir.parent, workers=0)) as client:
        r = client.post(
            "/v1/videos",
            json={
                "script": SCRIPT,
                "model": "wan-tiny",
                "frames": 5,
                "steps": 2,
                "negative_prompt": "blurry",
                "no_voice": True,
            },
        )
        assert r.status_code == 202, r.text
        p = r.json()["params"]
        assert (p["frames"], p["steps"], p["negative_prompt"]) == (5, 2, "blurry") and r.json()["warnings"] == []
        r = client.post("/v1/videos", json={"prompt": "a cat playing the piano"})
        assert r.status_code == 202 and "cat, playing, piano" in r.json()["warnings"][0]
        job = client.get(f"/v1/jobs/{r.json()['id']}").json()
        assert "trained on Moving Digits captions" in job["warnings"][0]
        r = client.post("/v1/videos", json={"prompt": "a red 3 moving left and a blue 7 moving up"})
        assert r.status_code == 202 and r.json()["warnings"] == []  # drawn as two layers
        r = client.post("/v1/videos", json={"prompt": "1, 2, 3, 4 and 5 moving left"})
        assert r.status_code == 202 and r.json()["warnings"] == [
            "this model draws one digit per clip; the prompt asks for 5 (1, 2, 3, 4, 5): only one will be drawn — "
            "give each digit its own clause with its own motion, at most 4 (drawn as layers; not with a first "
            "frame), or tell it as a story (one scene per digit)"
        ]
        r = client.post("/v1/videos", json={"prompt": "a red 3 moving left for 3 seconds"})  # a length: no word
        assert r.status_code == 202 and r.json()["warnings"] == []
        r = client.post("/v1/videos", json={"script": "The red digit 3 is moving to the left."})
        assert r.json()["warnings"] == []
        r = client.post("/v1/videos", json={"script": "A cat sleeps.", "steps": 3})
        assert r.status_code == 422 and "pretrained diffusers" in r.json()["detail"]
