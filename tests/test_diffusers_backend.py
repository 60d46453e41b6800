"""Pretrained diffusers video pipelines as vidfuse models: tiny random-weight Wan, LTX-Video and CogVideoX
folders (configs as in diffusers' own fast tests; a config-built T5 encoder and ByT5Tokenizer, which needs no
files), saved with save_pretrained and driven through the pipeline call, generate_one/generate_batch and the CLI."""

from __future__ import annotations

import csv
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_cli

diffusers = pytest.importorskip("diffusers")

from vidfuse.backends.diffusers import DiffusersVideoPipeline  # noqa: E402
from vidfuse.errors import InputError  # noqa: E402
from vidfuse.generate import LoadOptions, generate_batch, generate_one  # noqa: E402
from vidfuse.media.video_io import probe_video  # noqa: E402
from vidfuse.pipeline import TextToVideoPipeline  # noqa: E402


def _t5():
    from transformers import ByT5Tokenizer, T5Config, T5EncoderModel

    torch.manual_seed(0)
    cfg = T5Config(
        vocab_size=384, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4, relative_attention_num_buckets=8
    )
    return T5EncoderModel(cfg), ByT5Tokenizer()


def _wan():
    torch.manual_seed(0)
    vae = diffusers.AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )
    transformer = diffusers.WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=16,
        out_channels=16,
        text_dim=32,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
    )
    te, tok = _t5()
    return diffusers.WanPipeline(
        transformer=transformer,
        vae=vae,
        text_encoder=te,
        tokenizer=tok,
        scheduler=diffusers.FlowMatchEulerDiscreteScheduler(shift=7.0),
    )


def _ltx():
    torch.manual_seed(0)
    transformer = diffusers.LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=32,
        num_layers=1,
        caption_channels=32,
    )
    vae = diffusers.AutoencoderKLLTXVideo(
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    te, tok = _t5()
    return diffusers.LTXPipeline(
        transformer=transformer,
        vae=vae,
        text_encoder=te,
        tokenizer=tok,
        scheduler=diffusers.FlowMatchEulerDiscreteScheduler(),
    )


def _cogvideox():
    torch.manual_seed(0)
    transformer = diffusers.CogVideoXTransformer3DModel(
        num_attention_heads=4,
        attention_head_dim=8,
        in_channels=4,
        out_channels=4,
        time_embed_dim=2,
        text_embed_dim=32,
        num_layers=1,
        sample_width=2,
        sample_height=2,
        sample_frames=9,
        patch_size=2,
        temporal_compression_ratio=4,
        max_text_seq_length=16,
    )
    vae = diffusers.AutoencoderKLCogVideoX(
        in_channels=3,
        out_channels=3,
        down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=2,
        temporal_compression_ratio=4,
    )
    te, tok = _t5()
    return diffusers.CogVideoXPipeline(
        transformer=transformer, vae=vae, text_encoder=te, tokenizer=tok, scheduler=diffusers.DDIMScheduler()
    )


BUILDERS = {"wan": _wan, "ltx": _ltx, "cogvideox": _cogvideox}
# (frames, height, width) asked in the tests: none is a size the family makes natively
ASK = {"wan": (6, 24, 40), "ltx": (6, 40, 24), "cogvideox": (7, 24, 20)}


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("diffusers")
    out = {}
    for name, build in BUILDERS.items():
        build().save_pretrained(root / name)
        out[name] = root / name
    return out


@pytest.fixture(scope="module")
def pipes(folders) -> dict[str, DiffusersVideoPipeline]:
    return {name: TextToVideoPipeline.from_pretrained(folder, device="cpu") for name, folder in folders.items()}


@pytest.mark.parametrize("family", list(BUILDERS))
def test_single_and_batch_follow_the_contract(pipes, family):
    pipe = pipes[family]
    assert isinstance(pipe, DiffusersVideoPipeline)
    t, h, w = ASK[family]
    steps = []
    one = pipe(
        "a monkey dancing",
        num_frames=t,
        height=h,
        width=w,
        num_inference_steps=2,
        seed=0,
        progress=lambda step, total: steps.append((step, total)),
    )
    assert one.dtype == np.uint8 and one.shape == (1, t, h, w, 3)
    assert steps == [(1, 2), (2, 2)]  # one report per denoising step
    again = pipe("a monkey dancing", num_frames=t, height=h, width=w, num_inference_steps=2, seed=0)
    assert np.abs(one.astype(int) - again.astype(int)).max() <= 1  # same seed, same clip
    batch = pipe(
        ["a monkey dancing", "a cat playing the piano"],
        negative_prompt="blurry",
        num_frames=t,
        height=h,
        width=w,
        num_inference_steps=2,
        seed=1,
        guidance_scale=3.0,
    )
    assert batch.shape == (2, t, h, w, 3) and batch.dtype == np.uint8
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an open-domain model has no word list to warn from
        assert pipe.unknown_words("a cat playing the piano") == []


def test_family_rounding_and_limits(pipes):
    assert pipes["wan"].generation_shape(6, 24, 40) == (9, 32, 48)  # 4k+1 frames, multiples of 16
    assert pipes["ltx"].generation_shape(10, 40, 24) == (17, 32, 32)  # 8k+1 frames, multiples of 32
    assert pipes["cogvideox"].generation_shape(2, 16, 16) == (5, 16, 16)
    with pytest.raises(InputError, match="at most 9 frames"):  # CogVideoX's fixed position table
        pipes["cogvideox"]("a monkey", num_frames=12, height=16, width=16, num_inference_steps=1)
    with pytest.raises(InputError, match="steps=0"):
        pipes["wan"]("a monkey", num_inference_steps=0)


def test_image_to_video(pipes, tmp_path):
    from PIL import Image

    first = tmp_path / "first.png"
    Image.fromarray(np.full((48, 64, 3), 200, np.uint8)).save(first)
    out = pipes["ltx"]("a monkey", image=first, num_frames=9, height=32, width=32, num_inference_steps=2, seed=0)
    assert out.shape == (1, 9, 32, 32, 3)  # LTX's image-to-video twin, from the same weights
    with pytest.raises(InputError, match="text only; for --image use a Wan image-to-video"):
        pipes["wan"]("a monkey", image=first, num_frames=5, height=16, width=16, num_inference_steps=1)


FPS = {"wan": 16.0, "ltx": 25.0, "cogvideox": 8.0}  # each family's own frame rate


@pytest.mark.parametrize("family", list(BUILDERS))
def test_generate_one_and_batch_write_videos(folders, tmp_path, family):
    path = generate_one(
        "a monkey",
        tmp_path / "one.mp4",
        model=folders[family],
        num_frames=5,
        height=16,
        width=16,
        steps=2,
        negative_prompt="blurry",
        seed=0,
        load=LoadOptions(device="cpu"),
    )
    info = probe_video(path)
    assert (info.num_frames, info.height, info.width) == (5, 16, 16)
    assert abs(info.fps - FPS[family]) < 1e-6  # the family's own frame rate when --fps is left out
    prompts = tmp_path / "p.txt"
    prompts.write_text("a monkey\na cat\na dog\n", encoding="utf-8")
    index = generate_batch(
        prompts,
        tmp_path / "clips",
        model=folders[family],
        num_frames=5,
        height=16,
        width=16,
        steps=1,
        fps=8,
        load=LoadOptions(device="cpu"),
    )
    rows = list(csv.reader(index.open(encoding="utf-8")))
    assert [r[1] for r in rows[1:]] == ["0000.mp4", "0001.mp4", "0002.mp4"]
    assert probe_video(tmp_path / "clips" / "0002.mp4").num_frames == 5


def test_builtin_model_refuses_steps(tmp_path):
    with pytest.raises(InputError, match="--steps applies to pretrained diffusers models"):
        generate_one("digit 3 moves left", tmp_path / "d.mp4", steps=3)


@pytest.mark.parametrize("family", list(BUILDERS))
def test_server_job_through_each_family(folders, tmp_path, family):
    """POST /v1/videos with "model" naming the folder in --models-dir, then the job run as a worker runs it."""
    from test_server import TestClient

    from vidfuse.server.app import create_app
    from vidfuse.server.jobs import JobStore, ModelCache, run_job

    shelf = folders[family].parent  # the three tiny folders, named wan, ltx, cogvideox
    with TestClient(create_app(data_dir=tmp_path / "data", models_dir=shelf, workers=0)) as client:
        r = client.post(
            "/v1/videos",
            json={
                "prompt": "a fox running",
                "model": family,
                "frames": 5,
                "width": 32,
                "height": 32,
                "steps": 2,
                "negative_prompt": "blurry",
                "seed": 1,
            },
        )
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
    store = JobStore(tmp_path / "data", create=False)
    cache = ModelCache({family: str(folders[family])}, family)
    assert run_job(store, store.claim(worker=1), cache) == "done", store.get(job_id).error
    info = probe_video(tmp_path / "data" / "jobs" / job_id / "video.mp4")
    assert (info.num_frames, info.height, info.width) == (5, 32, 32) and abs(info.fps - FPS[family]) < 0.1


def test_cli_generate_through_a_diffusers_folder(folders, tmp_path, monkeypatch, capsys):
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        "generate",
        "a monkey",
        "-o",
        str(tmp_path / "l.mp4"),
        "--model",
        str(folders["ltx"]),
        "--width",
        "32",
        "--height",
        "32",
        "--frames",
        "9",
        "--steps",
        "2",
        "--negative-prompt",
        "blurry",
        "--dtype",
        "float32",
        "--device",
        "cpu",
        "--vae-tiling",
        "--vae-slicing",
    )
    assert code == 0, err
    assert "wrote" in out and probe_video(tmp_path / "l.mp4").num_frames == 9


def _copy(folders, tmp_path, name="wan") -> Path:
    return Path(shutil.copytree(folders[name], tmp_path / name))


def test_missing_pickled_and_corrupt_components_are_named(folders, tmp_path):
    broken = _copy(folders, tmp_path)
    shutil.rmtree(broken / "vae")
    with pytest.raises(InputError, match=r"incomplete: missing vae$"):
        TextToVideoPipeline.from_pretrained(broken, device="cpu")
    shutil.copytree(folders["wan"] / "vae", broken / "vae")
    weights = broken / "transformer" / "diffusion_pytorch_model.safetensors"
    weights.rename(weights.with_suffix(".bin"))
    with pytest.raises(InputError, match=r"pickled weights only in transformer \(diffusion_pytorch_model.bin\)"):
        TextToVideoPipeline.from_pretrained(broken, device="cpu")
    weights.with_suffix(".bin").unlink()
    weights.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(InputError, match=r"corrupt transformer/diffusion_pytorch_model.safetensors"):
        TextToVideoPipeline.from_pretrained(broken, device="cpu")


def test_bad_index_and_options_are_one_line_errors(folders, tmp_path):
    broken = _copy(folders, tmp_path)
    (broken / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}', encoding="utf-8")
    with pytest.raises(InputError, match="holds a StableDiffusionPipeline, which vidfuse does not run"):
        TextToVideoPipeline.from_pretrained(broken, device="cpu")
    (broken / "model_index.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(InputError, match="not a diffusers pipeline index"):
        TextToVideoPipeline.from_pretrained(broken, device="cpu")
    with pytest.raises(InputError, match="needs a GPU device"):
        TextToVideoPipeline.from_pretrained(folders["wan"], device="cpu", offload="model")
    with pytest.raises(InputError, match="dtype 'float8'"):
        TextToVideoPipeline.from_pretrained(folders["wan"], device="cpu", dtype="float8")
    from vidfuse.pipeline import install_default_model

    with pytest.raises(InputError, match="is a diffusers pipeline folder; install-model takes vidfuse models"):
        install_default_model(folders["wan"], tmp_path / "dest")


def test_group_offload_is_validated_and_applied(folders, tmp_path, monkeypatch, capsys):
    from vidfuse.backends.diffusers import OFFLOADS, place

    assert "group" in OFFLOADS
    with pytest.raises(InputError, match=r"--offload group moves weights between CPU and GPU memory; it needs a GPU"):
        TextToVideoPipeline.from_pretrained(folders["wan"], device="cpu", offload="group")
    with pytest.raises(InputError, match="offload 'groups' is not one of none, model, sequential, group"):
        TextToVideoPipeline.from_pretrained(folders["wan"], device="cpu", offload="groups")

    class Recorder:  # a loaded pipeline's placement calls, without a GPU
        def __init__(self):
            self.calls = []

        def enable_group_offload(self, **kw):
            self.calls.append(("group", kw))

        def to(self, device):
            self.calls.append(("to", device))

    pipe = Recorder()
    place(pipe, torch.device("cuda"), "group")
    ((what, kw),) = pipe.calls
    assert what == "group" and kw["onload_device"] == torch.device("cuda")
    assert kw["offload_device"] == torch.device("cpu") and kw["offload_type"] == "leaf_level" and kw["use_stream"]

    code, out, err = run_cli(
        monkeypatch,
        capsys,
        "generate",
        "a monkey",
        "-o",
        str(tmp_path / "g.mp4"),
        "--model",
        str(folders["wan"]),
        "--device",
        "cpu",
        "--offload",
        "group",
    )
    assert code != 0 and "--offload group" in err and "Traceback" not in err


def test_a_wan_with_a_coarser_grid_rounds_to_its_own_step_and_returns_the_size_asked(tmp_path):
    """Wan 2.2 5B-style: a transformer patch of 4 (here) or a 16x VAE needs sizes in multiples of 32, not
    Wan 2.1's 16; the step comes from the loaded pipeline and the frames come back at the size asked."""
    pipe = _wan()
    pipe.transformer = diffusers.WanTransformer3DModel(
        patch_size=(1, 4, 4),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=16,
        out_channels=16,
        text_dim=32,
        freq_dim=256,
        ffn_dim=32,
        num_layers=1,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
    )
    pipe.save_pretrained(tmp_path / "wan4")
    wan = TextToVideoPipeline.from_pretrained(tmp_path / "wan4", device="cpu")
    assert wan.size_step == 32 and wan.generation_shape(5, 48, 40) == (5, 64, 32)
    for size in (48, 40):  # a multiple of 16 that is not one of 32, and one of neither
        out = wan("a monkey", num_frames=5, height=size, width=size, num_inference_steps=1, seed=0)
        assert out.shape == (1, 5, size, size, 3) and out.dtype == np.uint8


def test_options_a_pipeline_does_not_take_and_its_own_refusals_are_one_line_errors(pipes, monkeypatch):
    class NoGuidance:  # a pipeline whose __call__ has no guidance_scale (HunyuanVideo 1.5)
        def __call__(
            self, prompt, num_frames=5, height=16, width=16, num_inference_steps=1, generator=None, output_type="np"
        ):
            raise ValueError("`height` has to be divisible by 16 but is 17.\nmore detail")

    wan = pipes["wan"]
    monkeypatch.setattr(wan, "pipe", NoGuidance())
    with pytest.raises(InputError, match="takes no guidance scale"):
        wan("a monkey", num_frames=5, height=16, width=16, num_inference_steps=1, guidance_scale=3.0)
    with pytest.raises(InputError, match="NoGuidance refused the request: `height` has to be divisible") as e:
        wan("a monkey", num_frames=5, height=16, width=16, num_inference_steps=1)
    assert "\n" not in str(e.value)
