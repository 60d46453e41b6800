"""TextToVideoPipeline: shapes, seeds, save → load → same frames, and errors meant for people."""

import numpy as np
import pytest
import torch
from conftest import tiny_pipeline
from PIL import Image

from vidfuse.errors import InputError
from vidfuse.pipeline import TextToVideoPipeline


def test_call_shapes_and_dtype(pipe):
    frames = pipe(["digit 3 is left and right.", "数字五上下弹跳"], seed=1)
    assert frames.dtype == np.uint8 and frames.shape == (2, 4, 16, 16, 3)
    more = pipe("digit 3 is left and right.", num_frames=7, height=24, width=20, seed=1)
    assert more.shape == (1, 7, 24, 20, 3)


def test_seed_reproducible_and_prompt_matters(pipe):
    a = pipe("a blue seven moves down", seed=3)
    assert np.array_equal(a, pipe("a blue seven moves down", seed=3))
    assert not np.array_equal(a, pipe("a blue seven moves down", seed=4))


def test_save_load_identical(pipe, tmp_path):
    before = pipe(["the red digit 3 is moving to the left", "红色的数字7向下移动"], seed=5)
    pipe.save_pretrained(tmp_path / "m")
    assert {p.name for p in (tmp_path / "m").iterdir()} == {"config.json", "model.safetensors", "tokenizer.json"}
    loaded = TextToVideoPipeline.from_pretrained(tmp_path / "m", device="cpu")
    assert np.array_equal(before, loaded(["the red digit 3 is moving to the left", "红色的数字7向下移动"], seed=5))
    # saving again over the same folder replaces it atomically
    pipe.save_pretrained(tmp_path / "m")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_gan_folder_leaves_out_discriminators(tmp_path):
    from safetensors import safe_open

    pipe = tiny_pipeline("gan")
    pipe.save_pretrained(tmp_path / "m")
    with safe_open(tmp_path / "m" / "model.safetensors", "pt") as f:
        keys = list(f.keys())
    assert keys and not [k for k in keys if "disc" in k]


@pytest.mark.parametrize("bad, match", [("", "empty"), ("   \n", "empty"), ("x" * 500, "limit")])
def test_bad_prompts(pipe, bad, match):
    with pytest.raises(InputError, match=match):
        pipe(bad)


def test_unknown_characters_are_encoded_not_refused(pipe):
    assert pipe("a ☃ digit ✈ qwxz", seed=0).shape == (1, 4, 16, 16, 3)


def test_image_conditioning_and_resizing(pipe, tmp_path):
    img = np.zeros((40, 30, 3), np.uint8)
    img[10:20, 10:20] = 255
    a = pipe("digit 3", image=img, seed=0)
    Image.fromarray(img).save(tmp_path / "f.png")
    b = pipe("digit 3", image=str(tmp_path / "f.png"), seed=0)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, pipe("digit 3", seed=0))


@pytest.mark.parametrize(
    "image, match",
    [
        (np.zeros((4, 4, 3), np.uint8), "at least 8"),
        (np.zeros((16, 16, 3), np.float32), "uint8"),
        ("/nonexistent.png", "does not exist"),
        (42, "must be a path"),
    ],
)
def test_bad_images(pipe, image, match):
    with pytest.raises(InputError, match=match):
        pipe("digit 3", image=image)


def test_guidance(tmp_path):
    vae = tiny_pipeline("vae")
    import torch

    with torch.no_grad():  # the prior's heads start at zero; give the text something to steer
        for p in vae.model.generator.prior.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    a, b = vae("digit 3", seed=0), vae("digit 3", seed=0, guidance_scale=3.0)
    assert a.shape == b.shape and not np.array_equal(a, b)
    with pytest.raises(InputError, match="without classifier-free guidance"):
        tiny_pipeline("gan")("digit 3", guidance_scale=2.0)


def test_not_a_model_folder(tmp_path):
    with pytest.raises(InputError, match="not a vidfuse model folder"):
        TextToVideoPipeline.from_pretrained(tmp_path)


def test_install_default_model(tmp_path):
    from vidfuse.pipeline import install_default_model

    src = tiny_pipeline("flow").save_pretrained(tmp_path / "run" / "model")
    (tmp_path / "run" / "eval.json").write_text('{"joint": 0.5}')
    dest = install_default_model(src, tmp_path / "default")
    assert (dest / "eval.json").read_text() == '{"joint": 0.5}'
    a = TextToVideoPipeline.from_pretrained(src, device="cpu")(["a red 3 moves up"], seed=1)
    b = TextToVideoPipeline.from_pretrained(dest, device="cpu")(["a red 3 moves up"], seed=1)
    assert np.abs(a.astype(int) - b).mean() < 2  # float16 storage: the same frames up to weight rounding
    from safetensors.torch import load_file

    stored = load_file(dest / "model.safetensors")
    assert {v.dtype for v in stored.values() if v.is_floating_point()} == {torch.float16}
    assert "generator.latent_shift" in stored  # the flow's latent statistics travel with the weights
    with pytest.raises(InputError, match="at most 0.001 MB"):
        install_default_model(src, tmp_path / "other", max_mb=0.001)
    assert not (tmp_path / "other").exists() and list(tmp_path.glob(".other*")) == []


def test_install_model_goes_beside_the_shipped_one_asks_before_replacing_and_restores(tmp_path):
    from typer.testing import CliRunner

    from vidfuse.cli import app
    from vidfuse.pipeline import SHIPPED_MODEL_DIR, default_model_dir, installed_model_dir

    shipped = {f.name: f.stat().st_mtime_ns for f in SHIPPED_MODEL_DIR.iterdir()}
    first = tiny_pipeline("flow", seed=0).save_pretrained(tmp_path / "a")
    second = tiny_pipeline("flow", seed=1).save_pretrained(tmp_path / "b")
    runner = CliRunner()
    assert runner.invoke(app, ["install-model", str(first)]).exit_code == 0
    assert default_model_dir() == installed_model_dir() != SHIPPED_MODEL_DIR
    weights = (installed_model_dir() / "model.safetensors").read_bytes()
    refused = runner.invoke(app, ["install-model", str(second)])  # no terminal to ask: --force is needed
    assert refused.exit_code != 0 and "--force" in str(refused.exception)
    assert (installed_model_dir() / "model.safetensors").read_bytes() == weights
    assert runner.invoke(app, ["install-model", str(second), "--force"]).exit_code == 0
    kept = list(installed_model_dir().parent.glob("default_model.previous-*"))
    assert len(kept) == 1 and (kept[0] / "model.safetensors").read_bytes() == weights  # the replaced one is kept
    restored = runner.invoke(app, ["install-model", "--restore"])
    assert restored.exit_code == 0 and default_model_dir() == SHIPPED_MODEL_DIR
    kept = list(installed_model_dir().parent.glob("default_model.previous-*"))
    assert len(kept) == 2 and weights in [(k / "model.safetensors").read_bytes() for k in kept]  # both still there
    assert {f.name: f.stat().st_mtime_ns for f in SHIPPED_MODEL_DIR.iterdir()} == shipped  # never touched


def test_flow_continues_past_its_native_length_from_the_last_frame(monkeypatch):
    pipe = tiny_pipeline("flow")
    model, native = pipe.model, pipe.model.generator.native_frames
    assert native == pipe.config.num_frames == 4
    calls = []
    real = model._generate_once

    def spy(ids, mask, image, **kw):
        out = real(ids, mask, image, **kw)
        calls.append((image, kw["num_frames"], out))
        return out

    monkeypatch.setattr(model, "_generate_once", spy)
    encodes = []
    model.text_encoder.register_forward_hook(lambda *a: encodes.append(1))
    frames = pipe(["a red 3 moves up", "a blue 7"], num_frames=10, seed=0)
    assert frames.shape == (2, 10, 16, 16, 3)
    assert len(encodes) == 1  # the prompt is encoded once for all three windows
    # 4 frames, then 3 new + 3 new (each segment's first frame repeats the last one and is dropped)
    assert [n for _, n, _ in calls] == [4, 4, 4] and calls[0][0] is None
    for (_, _, prev), (image, _, _) in zip(calls, calls[1:]):
        assert torch.equal(image, prev[:, :, -1])
    assert tiny_pipeline("vae").model.generator.native_frames is None  # any length in one piece


def test_layered_flow_continues_with_its_own_extend_not_from_a_still_last_frame(monkeypatch):
    pipe = tiny_pipeline("layered")
    model, native = pipe.model, pipe.model.generator.native_frames
    calls, extends = [], []
    real_once, real_extend = model._generate_once, model.generator.extend

    def once(ids, mask, image, **kw):
        calls.append(kw["num_frames"])
        return real_once(ids, mask, image, **kw)

    def extend(video, cond, **kw):
        extends.append((video.shape[2], kw["new_frames"], cond.image))
        return real_extend(video, cond, **kw)

    monkeypatch.setattr(model, "_generate_once", once)
    monkeypatch.setattr(model.generator, "extend", extend)
    frames = pipe(["a red 3 moves up", "a blue 7"], num_frames=native + 3, seed=0)
    assert frames.shape[:2] == (2, native + 3)
    assert calls == [native] and extends == [(native, 3, None)]  # one native clip, then carried on


def test_prompts_share_token_buckets_and_padding_changes_nothing_but_rounding(monkeypatch):
    """Token ids are padded to multiples of 16, so prompts of different lengths run the same tensor shapes
    (CPU kernels compiled per shape are built once); padding is masked, so frames move by rounding only."""
    import vidfuse.pipeline as pipeline_module
    from vidfuse.pipeline import TOKEN_BUCKET, pad_tokens

    pipe = tiny_pipeline("anchor")
    shapes = []
    real_generate = pipe.model.generate
    monkeypatch.setattr(
        pipe.model, "generate", lambda ids, *a, **k: shapes.append(ids.shape) or real_generate(ids, *a, **k)
    )
    short, longer = "digit 3", "a red 3 moves"
    padded = [pipe(p, seed=0) for p in (short, longer)]
    assert shapes[0] == shapes[1] == (1, TOKEN_BUCKET)
    monkeypatch.setattr(pipeline_module, "pad_tokens", lambda ids, mask: (ids, mask))
    plain = [pipe(p, seed=0) for p in (short, longer)]
    assert shapes[2][1] < shapes[3][1] < TOKEN_BUCKET  # unpadded: one shape per prompt length
    for a, b in zip(padded, plain):
        assert np.abs(a.astype(int) - b).mean() < 1.0
    ids, mask = pad_tokens(torch.ones(2, 17, dtype=torch.long), torch.ones(2, 17, dtype=torch.bool))
    assert ids.shape == mask.shape == (2, 32) and mask[:, 17:].sum() == 0 and mask[:, :17].all()


def test_warmup_runs_and_returns_the_pipeline():
    pipe = tiny_pipeline("anchor")
    assert pipe.warmup() is pipe


def test_video_to_uint8_rounds_and_clips_and_leaves_its_input_alone():
    from vidfuse.pipeline import video_to_uint8

    video = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.004, 1.0, 3.0]).reshape(1, 1, 7, 1, 1)
    before = video.clone()
    out = video_to_uint8(video)
    assert out.dtype == np.uint8 and out.shape == (1, 7, 1, 1, 1)
    assert out.ravel().tolist() == [0, 0, 64, 128, 128, 255, 255]  # 63.75 → 64, 127.5 → 128 (half to even)
    assert torch.equal(video, before)  # the in-place steps work on its own copy
