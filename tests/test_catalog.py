"""The models folder: `vidfuse models`, --model NAME, and a server that offers every model in it by name
(GET /v1/models, "model" in POST /v1/videos, workers that load models lazily and keep a few)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import run_cli, tiny_pipeline

from vidfuse.catalog import find_model, list_models, model_names
from vidfuse.errors import InputError
from vidfuse.userdirs import models_dir

diffusers = pytest.importorskip("diffusers")
from test_diffusers_backend import _wan  # noqa: E402


@pytest.fixture(scope="module")
def shelf(tmp_path_factory) -> Path:
    """A models folder: a tiny vidfuse model, a tiny Wan pipeline, and a folder that is no model."""
    root = tmp_path_factory.mktemp("models")
    tiny_pipeline("gan").save_pretrained(root / "digits")
    _wan().save_pretrained(root / "wan-tiny")
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("not a model")
    return root


def test_models_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("VIDFUSE_MODELS", raising=False)
    monkeypatch.setenv("VIDFUSE_HOME", str(tmp_path / "home"))
    assert models_dir() == tmp_path / "home" / "cache" / "models"
    monkeypatch.delenv("VIDFUSE_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert models_dir() == tmp_path / "xdg" / "vidfuse" / "models"
    monkeypatch.setenv("VIDFUSE_MODELS", str(tmp_path / "env"))
    assert models_dir() == tmp_path / "env"
    assert models_dir(tmp_path / "flag") == tmp_path / "flag"


def test_list_models_describes_each_from_its_files(shelf):
    found = {m.name: m for m in list_models(shelf)}
    assert list(found) == ["default", "digits", "wan-tiny"]  # the built-in first; "notes" is no model
    assert found["default"].builtin and found["default"].trained_on == "Moving Digits captions"
    digits, wan = found["digits"], found["wan-tiny"]
    assert digits.backend == "vidfuse" and digits.family == "vidfuse gan"
    assert (digits.height, digits.width) == (tiny_pipeline().config.height, tiny_pipeline().config.width)
    assert wan.backend == "diffusers" and wan.family == "Wan" and wan.tasks == ("text→video",)
    assert (wan.height, wan.width, wan.frames, wan.frame_step, wan.size_step) == (480, 832, 81, 4, 16)
    assert wan.size_bytes > 10_000 and wan.problem is None
    assert model_names(shelf) == ["default", "digits", "wan-tiny"]


def test_find_model_takes_a_path_or_a_name(shelf, tmp_path, monkeypatch):
    assert find_model(None) is None and find_model("default") is None
    assert find_model("wan-tiny", shelf) == shelf / "wan-tiny"
    assert find_model(shelf / "digits") == shelf / "digits"
    monkeypatch.setenv("VIDFUSE_MODELS", str(shelf))
    assert find_model("digits") == shelf / "digits"
    with pytest.raises(InputError, match="the models there: default, digits, wan-tiny"):
        find_model("nope")
    with pytest.raises(InputError, match="not a vidfuse model folder"):  # a path goes to the loader as before
        from vidfuse.pipeline import TextToVideoPipeline

        TextToVideoPipeline.from_pretrained(tmp_path / "missing")


def _cli(monkeypatch, capsys, *args):
    code, out, err = run_cli(monkeypatch, capsys, *args)
    assert code == 0, err
    return out


def test_cli_models_and_generate_by_name(shelf, tmp_path, monkeypatch, capsys):
    listed = json.loads(_cli(monkeypatch, capsys, "models", "--models-dir", str(shelf), "--json"))
    assert [m["name"] for m in listed] == ["default", "digits", "wan-tiny"]
    table = _cli(monkeypatch, capsys, "models", "--models-dir", str(shelf))
    assert "wan-tiny" in table and "Wan" in table and "480×832×81" in table
    monkeypatch.setenv("VIDFUSE_MODELS", str(shelf))
    out = _cli(
        monkeypatch,
        capsys,
        "generate",
        "a fox",
        "-o",
        str(tmp_path / "w.mp4"),
        "--model",
        "wan-tiny",
        "--width",
        "32",
        "--height",
        "32",
        "--frames",
        "5",
        "--steps",
        "2",
        "--device",
        "cpu",
    )
    assert "wrote" in out and (tmp_path / "w.mp4").stat().st_size > 0


def test_model_cache_loads_lazily_and_keeps_the_last_few():
    from vidfuse.server.jobs import ModelCache

    loads = []
    cache = ModelCache({"a": "A", "b": "B", "c": None}, "a", max_loaded=2, loader=lambda f: loads.append(f) or f)
    assert loads == []
    assert cache.get(None) == "A" and cache.get("b") == "B" and cache.get("a") == "A"
    assert cache.get("c") is None and list(cache.loaded) == ["a", "c"]  # b was least recently used
    assert loads == ["A", "B", None]
    cache.get("b")
    assert loads == ["A", "B", None, "B"]
    with pytest.raises(InputError, match="no model named 'z'; it has a, b, c"):
        cache.get("z")


def test_server_offers_the_models_folder_by_name(shelf, tmp_path):
    from test_server import TestClient

    from vidfuse.server.app import create_app
    from vidfuse.server.jobs import JobStore, ModelCache, run_job

    app = create_app(data_dir=tmp_path / "data", models_dir=shelf, workers=0)
    with TestClient(app) as client:
        listing = client.get("/v1/models").json()
        assert listing["default"] == "default"
        by_name = {m["name"]: m for m in listing["models"]}
        assert set(by_name) == {"default", "digits", "wan-tiny"} and by_name["default"]["default"]
        assert by_name["wan-tiny"]["family"] == "Wan" and by_name["wan-tiny"]["pipeline_class"] == "WanPipeline"
        assert "path" not in by_name["wan-tiny"]  # no server paths for clients
        r = client.post("/v1/videos", json={"prompt": "a fox", "model": "sora"})
        assert r.status_code == 422 and "default, digits, wan-tiny" in r.json()["detail"]
        r = client.post(
            "/v1/videos",
            json={
                "prompt": "a fox running",
                "model": "wan-tiny",
                "frames": 5,
                "width": 32,
                "height": 32,
                "seed": 1,
                "steps": 3,
            },
        )
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        assert r.json()["params"]["model"] == "wan-tiny" and r.json()["params"]["fps"] == pytest.approx(16.0)
    store = JobStore(tmp_path / "data", create=False)
    job = store.claim(worker=os.getpid())
    cache = ModelCache({"default": None, "wan-tiny": str(shelf / "wan-tiny")}, "default")
    written = []  # every progress row the job writes: each denoising step is its own stage
    record = store.progress
    store.progress = lambda *a: written.append(a[2:]) or record(*a)
    assert run_job(store, job, cache) == "done", store.get(job_id).error
    steps = [(stage, f) for stage, f in written if stage.startswith("denoising")]
    assert [stage for stage, _ in steps] == ["denoising 1/3", "denoising 2/3", "denoising 3/3"]
    assert [f for _, f in steps] == sorted(f for _, f in steps) and 0.05 < steps[0][1] < steps[-1][1] <= 0.7
    assert list(cache.loaded) == ["wan-tiny"]  # the default model was never needed
    from vidfuse.media.video_io import probe_video

    info = probe_video(tmp_path / "data" / "jobs" / job_id / "video.mp4")
    assert (info.num_frames, info.height, info.width) == (5, 32, 32)


def test_server_default_model_may_be_a_diffusers_folder(shelf, tmp_path):
    from test_server import TestClient

    from vidfuse.server.app import create_app

    with TestClient(create_app(data_dir=tmp_path / "d", model=shelf / "wan-tiny", workers=0)) as client:
        info = client.get("/v1/info").json()
        assert info["model"] == "wan-tiny" and info["native"] == {"height": 480, "width": 832, "frames": 81}
        r = client.post("/v1/videos", json={"prompt": "a fox", "aspect": "1:1"})
        assert r.status_code == 202 and r.json()["params"]["model"] == "wan-tiny"


def test_an_evicted_model_in_a_reference_cycle_is_freed_before_the_next_loads():
    """Diffusers pipelines hold reference cycles; without a collection the evicted one would still hold
    its weights while the next model loads."""
    import gc
    import weakref

    from vidfuse.server.jobs import ModelCache

    class Model:
        def __init__(self, name):
            self.name, self.me = name, self  # a cycle: only the garbage collector frees it

    refs = {}

    def load(name):
        if "a" in refs and name == "b":
            assert refs["a"]() is None, "the evicted model is still in memory"
        model = Model(name)
        refs[name] = weakref.ref(model)
        return model

    enabled = gc.isenabled()
    gc.disable()
    try:
        cache = ModelCache({"a": "a", "b": "b"}, "a", max_loaded=1, loader=load)
        cache.get("a")
        cache.get("b")
    finally:
        if enabled:
            gc.enable()
