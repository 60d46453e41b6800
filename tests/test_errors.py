"""Bad input, faults and hostile files: one clear line and exit status 2, never a traceback, never a silent
wrong result. CLI cases run ``vidfuse.cli.main`` in-process on a tiny random model saved to a temp folder."""

from __future__ import annotations

import json
import os
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_cli, tiny_pipeline
from PIL import Image

from vidfuse.config import GENERATORS, MAX_FRAMES, ModelConfig, TrainConfig, tiny
from vidfuse.errors import InputError
from vidfuse.generate import read_prompts
from vidfuse.media.video_io import probe_video, write_video
from vidfuse.pipeline import TextToVideoPipeline
from vidfuse.train import CHECKPOINT, CHECKPOINT_PREV, Trainer, resolve_config, train


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny random VAE model folder (the VAE takes guidance, so guidance bounds are the only refusal)."""
    return tiny_pipeline("vae").save_pretrained(tmp_path_factory.mktemp("model") / "m")


def cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """Run ``vidfuse ARGS`` as the console script does; (exit status, stderr + stdout)."""
    code, out, err = run_cli(monkeypatch, capsys, *args)
    return code, err + out


def refused(monkeypatch, capsys, *args: str, match: str) -> str:
    """The command exits 2 with one line ``error: …`` that contains ``match``."""
    code, text = cli(monkeypatch, capsys, *args)
    assert code == 2, text
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), text
    assert match in lines[0], lines[0]
    return lines[0]


def refused_generate(monkeypatch, capsys, output, *args, match: str) -> str:
    """``vidfuse generate "digit 3" -o OUTPUT ARGS…`` is refused in one line (:func:`refused`)."""
    return refused(monkeypatch, capsys, "generate", "digit 3", "-o", output, *args, match=match)


def png_header(width: int, height: int, idat: bytes | None = None) -> bytes:
    """A PNG whose header claims ``width``×``height`` (the pixel data need not be there)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\0" * 100) if idat is None else idat
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


# ---- --prompts files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, match",
    [
        (bytes(range(256)) * 2, "NUL byte at offset 0"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(1, 200)), "byte 0x89 at offset 0"),
        ("café rouge\n".encode("latin-1"), "byte 0xe9 at offset 3"),
        ("a red 3\n".encode("utf-16-le"), "NUL byte at offset 1"),  # UTF-16 without a byte-order mark
        ("a red 3\n\x1b[31mgreen\n".encode(), "line 2"),  # a control character names its line
    ],
    ids=["binary", "png", "latin-1", "utf-16-no-bom", "escape"],
)
def test_undecodable_prompts_file_names_file_and_offset(tmp_path, monkeypatch, capsys, model_dir, data, match):
    (tmp_path / "p.txt").write_bytes(data)
    line = refused(
        monkeypatch,
        capsys,
        "generate",
        "--prompts",
        tmp_path / "p.txt",
        "--out-dir",
        tmp_path / "o",
        "--model",
        model_dir,
        match=match,
    )
    assert str(tmp_path / "p.txt") in line
    assert not (tmp_path / "o" / "index.csv").exists()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
def test_prompts_file_encodings_with_a_byte_order_mark_are_read(tmp_path, encoding):
    text = "the red digit 3\n\n数字七向下移动\r\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # the codec itself writes no mark
    (tmp_path / "p.txt").write_bytes(data)
    assert read_prompts(tmp_path / "p.txt") == ["the red digit 3", "数字七向下移动"]


def test_utf16_prompts_file_generates(tmp_path, monkeypatch, capsys, model_dir):
    (tmp_path / "p.txt").write_bytes("a blue 7 moves down\n红色的数字3\n".encode("utf-16"))
    code, text = cli(
        monkeypatch,
        capsys,
        "generate",
        "--prompts",
        tmp_path / "p.txt",
        "--out-dir",
        tmp_path / "o",
        "--model",
        model_dir,
        "--seed",
        1,
    )
    assert code == 0, text
    rows = (tmp_path / "o" / "index.csv").read_text(encoding="utf-8").splitlines()
    assert rows[1:] == ["a blue 7 moves down,0000.mp4", "红色的数字3,0001.mp4"]


def test_prompts_folder_is_called_a_folder(tmp_path, monkeypatch, capsys, model_dir):
    line = refused(
        monkeypatch,
        capsys,
        "generate",
        "--prompts",
        tmp_path,
        "--out-dir",
        tmp_path / "o",
        "--model",
        model_dir,
        match="is a folder",
    )
    assert "does not exist" not in line


# ---- numbers out of range ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flag, value, match",
    [
        ("--seed", 2**64, "seed=18446744073709551616 is out of range"),
        ("--seed", 2**63, "seed="),
        ("--seed", -1, "seed=-1"),
        ("--guidance-scale", "nan", "guidance_scale=nan"),
        ("--guidance-scale", "inf", "guidance_scale=inf"),
        ("--guidance-scale", "-50", "guidance_scale=-50.0"),
        ("--guidance-scale", "20.5", "from 0 to 20"),
        ("--fps", 1000000, "fps=1000000.0 is out of range"),
        ("--fps", "0.5", "use 1 to 120"),
        ("--fps", "nan", "fps must be a positive number"),
        ("--fps", "inf", "fps must be a positive number"),
        ("--frames", 0, "num_frames=0"),
        ("--frames", -3, "num_frames=-3"),
        ("--frames", MAX_FRAMES + 1, f"1 to {MAX_FRAMES} frames"),
    ],
)
def test_out_of_range_numbers_are_refused_before_anything_is_written(
    tmp_path, monkeypatch, capsys, model_dir, flag, value, match
):
    refused_generate(
        monkeypatch,
        capsys,
        tmp_path / "a.mp4",
        "--model",
        model_dir,
        flag,
        value,
        match=match,
    )
    assert list(tmp_path.iterdir()) == []


def test_numbers_at_the_bounds_are_accepted(tmp_path, monkeypatch, capsys, model_dir):
    code, text = cli(
        monkeypatch,
        capsys,
        "generate",
        "digit 3",
        "-o",
        tmp_path / "a.mp4",
        "--model",
        model_dir,
        "--seed",
        2**63 - 1,
        "--guidance-scale",
        20,
        "--fps",
        120,
        "--frames",
        1,
    )
    assert code == 0, text
    info = probe_video(tmp_path / "a.mp4")
    assert info.num_frames == 1 and info.fps == pytest.approx(120, rel=0.01)
    pipe = TextToVideoPipeline.from_pretrained(model_dir, device="cpu")
    assert pipe("digit 3", seed=0, guidance_scale=0.0).shape[0] == 1


def test_batch_seeds_wrap_instead_of_overflowing(tmp_path, model_dir):
    from vidfuse.generate import generate_batch

    (tmp_path / "p.txt").write_text("digit 1\n" * 3)
    generate_batch(tmp_path / "p.txt", tmp_path / "o", model=model_dir, seed=2**63 - 1, batch_size=1)
    assert len(list((tmp_path / "o").glob("*.mp4"))) == 3


@pytest.mark.parametrize("fps", [1_000_000, 0.5, float("nan")])
def test_write_video_refuses_unplayable_frame_rates(tmp_path, fps):
    with pytest.raises(InputError, match="fps"):
        write_video(tmp_path / "a.mp4", np.zeros((2, 16, 16, 3), np.uint8), fps=fps)
    assert list(tmp_path.iterdir()) == []


# ---- prompts: control characters, length ---------------------------------------------------------------


@pytest.mark.parametrize(
    "prompt, code_point",
    [
        ("digit\x003", "U+0000"),
        ("\x1b[31mred digit", "U+001B"),
        ("digit 3\x7f", "U+007F"),
        ("digit\x853", "U+0085"),
        ("digit \ud800 3", "U+D800"),
        ("digit \ue000 3", "U+E000"),  # private use
        ("a red 3 \u202emoving left", "U+202E"),  # right-to-left override: reads reversed in a file list
        ("a red 3 \u2066moving\u2069 left", "U+2066"),
    ],
)
def test_control_characters_in_prompts_are_refused(prompt, code_point):
    pipe = tiny_pipeline("gan")
    with pytest.raises(InputError, match=re.escape(f"the prompt holds {code_point}")):
        pipe(prompt, seed=0)
    with pytest.raises(InputError, match=re.escape(f"prompt #1 holds {code_point}")):
        pipe(["digit 3", prompt], seed=0)


def test_a_byte_of_the_command_line_that_is_not_utf8_is_named_as_a_byte():
    """Python keeps such a byte as a lone surrogate (U+DC80-U+DCFF); a review found it named only so."""
    from vidfuse.inputs import check_prompt

    with pytest.raises(InputError, match=r"U\+DCFF, the byte 0xFF, which is not UTF-8 .* at character 9"):
        check_prompt(b"a red 3 \xff moving left".decode("utf-8", "surrogateescape"))


def test_one_plain_text_rule_for_prompts_scripts_and_requests():
    """The pipeline, the story planner and the server refuse the same characters (vidfuse.text): a prompt
    the server accepts never fails later in a worker."""
    from vidfuse.server.app import VideoRequest
    from vidfuse.story.planner import validate_script

    for ch in ("\x00", "\x1b", "\x7f", "\x85", "\ud800", "\ue000", "\U0010fffe"):  # last: unassigned
        text = f"A red digit three{ch} moves left."
        with pytest.raises(InputError):
            tiny_pipeline("gan")(text, seed=0)
        with pytest.raises(InputError):
            validate_script(text)
        with pytest.raises(ValueError):
            VideoRequest(prompt=text)
    for ok in ("A red digit three moves left.\n", "红色的数字三向左移动。", "digit 3 \U0001f600"):
        VideoRequest(prompt=ok)
        validate_script(ok)


@pytest.mark.parametrize("prompt", ["", "   ", "\t\n", "\u3000", "\u200b\u200b", "\u2060\ufeff"])
def test_empty_prompts_are_refused_by_the_shipped_default_and_the_cli(tmp_path, monkeypatch, capsys, prompt):
    """The shipped default reads through e5, not the character tokenizer; an empty prompt once drew a digit
    and exited 0 there. The one prompt check (vidfuse.inputs.check_prompt) refuses it for every model."""
    pipe = TextToVideoPipeline.from_pretrained()
    with pytest.raises(InputError, match="the prompt is empty"):
        pipe(prompt, num_frames=4, seed=0)
    with pytest.raises(InputError, match="prompt #1 is empty"):
        pipe(["a red 3 moving left", prompt], num_frames=4, seed=0)
    out = tmp_path / "x.mp4"
    code, _, err = run_cli(monkeypatch, capsys, "generate", prompt, "-o", str(out))
    assert code != 0 and "the prompt is empty" in err and "Traceback" not in err
    assert not out.exists()


def test_tabs_and_newlines_are_whitespace_not_refused():
    assert tiny_pipeline("gan")("digit\t3\nmoves up\r\n", seed=0).shape == (1, 4, 16, 16, 3)


def test_over_long_prompt_says_what_the_cli_user_can_do(tmp_path, monkeypatch, capsys, model_dir):
    long = "digit 3 moves up " * 30
    line = refused(
        monkeypatch, capsys, "generate", long, "-o", tmp_path / "a.mp4", "--model", model_dir, match="--truncate"
    )
    assert "at most 46 tokens" in line  # tiny preset: 48 tokens including the begin and end markers
    code, text = cli(
        monkeypatch, capsys, "generate", long, "-o", tmp_path / "a.mp4", "--model", model_dir, "--truncate"
    )
    assert code == 0 and (tmp_path / "a.mp4").is_file(), text
    pipe = TextToVideoPipeline.from_pretrained(model_dir, device="cpu")
    assert pipe(long, seed=0, on_overflow="truncate").shape == (1, 4, 16, 16, 3)


# ---- --image ---------------------------------------------------------------------------------------------


def _real_png(path: Path) -> Path:
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(path)
    return path


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: p.write_bytes(png_header(15000, 15000)), "over 179 megapixels"),  # Pillow's own bomb limit
        (lambda p: p.write_bytes(png_header(8000, 7500)), "8000×7500 pixels (60 megapixels)"),  # ours: 50
        (lambda p: p.write_bytes(png_header(64, 64, os.urandom(200))), "not an image Pillow can read"),
        (lambda p: p.write_bytes(_real_png(p).read_bytes()[:300]), "not an image Pillow can read"),
        (lambda p: p.write_text("not an image"), "not an image Pillow can read"),
        (lambda p: p.write_bytes(b""), "not an image Pillow can read"),
        (lambda p: p.mkdir(), "is a folder"),
    ],
    ids=["225-megapixels", "60-megapixels", "corrupt", "truncated", "text", "empty", "folder"],
)
def test_bad_first_frames_are_refused(tmp_path, monkeypatch, capsys, model_dir, make, match):
    make(tmp_path / "first.png")
    line = refused_generate(
        monkeypatch,
        capsys,
        tmp_path / "a.mp4",
        "--model",
        model_dir,
        "--image",
        tmp_path / "first.png",
        match=match,
    )
    assert str(tmp_path / "first.png") in line
    assert not (tmp_path / "a.mp4").exists()


def test_huge_in_memory_image_is_refused():
    with pytest.raises(InputError, match="megapixels"):
        tiny_pipeline("gan")("digit 3", image=Image.new("L", (8000, 7000)))


# ---- -o ----------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_output_in_proc(monkeypatch, capsys, model_dir):
    refused_generate(
        monkeypatch,
        capsys,
        "/proc/x.mp4",
        "--model",
        model_dir,
        match="cannot write /proc/x.mp4: the folder does not accept new files",
    )


def test_output_under_a_file(tmp_path, monkeypatch, capsys, model_dir):
    (tmp_path / "file").write_text("x")
    refused_generate(
        monkeypatch,
        capsys,
        tmp_path / "file" / "x.mp4",
        "--model",
        model_dir,
        match=f"{tmp_path / 'file'} is a file, not a folder",
    )
    (tmp_path / "o.txt").write_text("x")
    refused(
        monkeypatch,
        capsys,
        "generate",
        "--prompts",
        tmp_path / "o.txt",
        "--out-dir",
        tmp_path / "o.txt",
        "--model",
        model_dir,
        match="is a file, not a folder",
    )


def test_output_is_a_folder(tmp_path, monkeypatch, capsys, model_dir):
    (tmp_path / "a.mp4").mkdir()
    refused_generate(
        monkeypatch,
        capsys,
        tmp_path / "a.mp4",
        "--model",
        model_dir,
        match="it is a folder",
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_output_in_an_unwritable_folder(tmp_path, monkeypatch, capsys, model_dir):
    (tmp_path / "ro").mkdir(mode=0o555)
    try:
        refused_generate(
            monkeypatch,
            capsys,
            tmp_path / "ro" / "a.mp4",
            "--model",
            model_dir,
            match="permission denied",
        )
    finally:
        (tmp_path / "ro").chmod(0o755)


# ---- model folders ------------------------------------------------------------------------------------------


def _copy_model(src: Path, dest: Path) -> Path:
    dest.mkdir()
    for f in src.iterdir():
        (dest / f.name).write_bytes(f.read_bytes())
    return dest


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda b: b[: len(b) // 2],
        lambda b: os.urandom(100),
        lambda b: b"",
        "pickle",
    ],
    ids=["truncated", "100-bytes", "empty", "pickle"],
)
def test_invalid_weights_file(tmp_path, monkeypatch, capsys, model_dir, corrupt):
    folder = _copy_model(model_dir, tmp_path / "m")
    weights = folder / "model.safetensors"
    if corrupt == "pickle":
        torch.save({"w": torch.zeros(3)}, weights)
    else:
        weights.write_bytes(corrupt(weights.read_bytes()))
    refused_generate(
        monkeypatch,
        capsys,
        tmp_path / "a.mp4",
        "--model",
        folder,
        match=f"model folder {folder}: model.safetensors is not a valid safetensors file (",
    )


@pytest.mark.parametrize(
    "change, match",
    [
        ({"dim": "128"}, "dim must be an integer, got '128'"),
        ({"dim": -4}, "dim=-4 is out of range"),
        ({"generator": "diffusion"}, "generator 'diffusion' is unknown; choose one of anchor, flow, gan, vae"),
        ({"height": 100000, "width": 100000}, "height=100000 is out of range: must be 8 to 512"),
        ({"num_frames": 0}, "num_frames=0"),
        ({"gen_channels": []}, "gen_channels must list 1 to"),
        ({"heads": 3}, "must be divisible by heads=3"),
        ({"height": 18}, "must be divisible by 4"),
        ({"p_image": True}, "p_image must be a finite number"),
        ({"guidance_scale": float("nan")}, "guidance_scale must be a finite number"),
        ({"dimm": 3}, "unknown ModelConfig field"),
    ],
)
def test_bad_model_config_is_refused_before_anything_is_built(tmp_path, monkeypatch, capsys, model_dir, change, match):
    import vidfuse.pipeline

    folder = _copy_model(model_dir, tmp_path / "m")
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, **change}))

    def no_build(*a, **kw):
        raise AssertionError("a model was built from an invalid config")

    monkeypatch.setattr(vidfuse.pipeline, "VidFuseModel", no_build)
    line = refused_generate(monkeypatch, capsys, tmp_path / "a.mp4", "--model", folder, match=match)
    assert line.startswith(f"error: model folder {folder}: config.json: ") and "re-train" in line


def test_weights_of_another_shape_are_refused(tmp_path, model_dir):
    folder = _copy_model(model_dir, tmp_path / "m")
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, "dim": 64}))
    with pytest.raises(InputError, match="does not match its config.json"):
        TextToVideoPipeline.from_pretrained(folder, device="cpu")


@pytest.mark.parametrize("preset", ["tiny", "small", "base"])
def test_presets_and_the_shipped_config_are_valid(preset):
    from vidfuse.config import model_preset
    from vidfuse.pipeline import SHIPPED_MODEL_DIR

    for family in GENERATORS:
        model_preset(preset, family).validate()
    if (SHIPPED_MODEL_DIR / "config.json").is_file():
        ModelConfig.from_dict(json.loads((SHIPPED_MODEL_DIR / "config.json").read_text()))


@pytest.mark.parametrize(
    "change, match",
    [
        ({"lr": "2e-4"}, "in YAML write a float with a dot"),
        ({"steps": 0}, "steps=0 is out of range"),
        ({"batch_size": 2.5}, "batch_size must be an integer"),
        ({"betas": [0.5, 1.5]}, "betas=[0.5, 1.5] is out of range"),
        ({"seed": 2**64}, "seed="),
        ({"allow_outside_paths": "yes"}, "allow_outside_paths must be true or false"),
        ({"model": 3}, "model must be a mapping"),
        ({"model": {"generator": "diffusion"}}, "model.generator 'diffusion' is unknown"),
    ],
)
def test_bad_training_config(change, match):
    with pytest.raises(InputError, match=re.escape(match)):
        TrainConfig.from_dict(change)


def test_every_generator_named_is_buildable():
    from vidfuse.models.registry import build_generator

    for name in GENERATORS:
        build_generator(tiny(name))


# ---- training ------------------------------------------------------------------------------------------------


def test_train_with_an_unknown_generator_names_the_allowed_ones(tmp_path, monkeypatch, capsys):
    refused(
        monkeypatch,
        capsys,
        "train",
        "--preset",
        "tiny",
        "--generator",
        "diffusion",
        "--out",
        tmp_path / "r",
        "--steps",
        1,
        match="model.generator 'diffusion' is unknown; choose one of anchor, flow, gan, vae",
    )
    assert not (tmp_path / "r").exists()


def run_cfg(out: Path, steps: int, **kw):
    return resolve_config(
        "tiny", out=str(out), batch_size=2, ckpt_every=1, sample_every=100, steps=steps, warmup_steps=1, **kw
    )


def _step(path: Path) -> int:
    from safetensors import safe_open

    with safe_open(path, "pt") as f:
        return json.loads(f.metadata()["vidfuse"])["step"]


@pytest.fixture(scope="module")
def three_steps(tmp_path_factory) -> Path:
    """A tiny run trained 3 steps with a checkpoint at every step (copy it before changing it)."""
    run = tmp_path_factory.mktemp("run") / "r"
    train(run_cfg(run, 3), quiet=True)
    return run


def _copy_run(src: Path, dest: Path) -> Path:
    import shutil

    shutil.copytree(src, dest)
    return dest


def test_a_new_checkpoint_keeps_the_previous_one(three_steps):
    assert _step(three_steps / CHECKPOINT) == 3 and _step(three_steps / CHECKPOINT_PREV) == 2
    assert not [p for p in three_steps.iterdir() if ".tmp" in p.name]


@pytest.mark.parametrize("corrupt", [lambda b: b[: len(b) // 2], lambda b: b""], ids=["truncated", "empty"])
def test_resume_falls_back_to_the_previous_checkpoint(tmp_path, three_steps, caplog, corrupt):
    """A corrupt latest checkpoint: resume warns and continues from the previous one, exactly as a run that
    never stopped (bit for bit, on one machine)."""
    from safetensors.torch import load_file

    straight = train(run_cfg(tmp_path / "straight", 4), quiet=True).parent
    run = _copy_run(three_steps, tmp_path / "r")
    (run / CHECKPOINT).write_bytes(corrupt((run / CHECKPOINT).read_bytes()))
    with caplog.at_level("WARNING"):
        train(run_cfg(run, 4), resume=True, quiet=True)
    assert "not a valid safetensors file" in caplog.text and "previous checkpoint" in caplog.text
    a, b = load_file(straight / CHECKPOINT), load_file(run / CHECKPOINT)
    for k in a:
        if not k.startswith("rng."):
            assert torch.equal(a[k], b[k]), k
    assert _step(run / CHECKPOINT) == 4 and _step(run / CHECKPOINT_PREV) == 3


def test_kill_between_the_renames_resumes_from_the_previous(tmp_path, three_steps, caplog):
    run = _copy_run(three_steps, tmp_path / "r")
    (run / CHECKPOINT).unlink()
    trainer = Trainer(run_cfg(run, 4), quiet=True)
    with caplog.at_level("WARNING"):
        trainer.load()
    assert trainer.step == 2 and "previous checkpoint" in caplog.text


@pytest.mark.parametrize(
    "corrupt",
    [lambda b: b[: len(b) // 2], lambda b: b"", lambda b: b"x" * 100],
    ids=["truncated", "empty", "100-bytes"],
)
def test_resume_from_an_unreadable_checkpoint_without_a_previous_one(
    tmp_path, monkeypatch, capsys, three_steps, corrupt
):
    run = _copy_run(three_steps, tmp_path / "r")
    (run / CHECKPOINT_PREV).unlink()
    (run / CHECKPOINT).write_bytes(corrupt((run / CHECKPOINT).read_bytes()))
    refused(
        monkeypatch,
        capsys,
        "train",
        "--preset",
        "tiny",
        "--out",
        run,
        "--steps",
        4,
        "--batch-size",
        2,
        "--resume",
        "--quiet",
        match=f"checkpoint {run / CHECKPOINT} is not a valid safetensors file",
    )


def test_both_checkpoints_unreadable(tmp_path, three_steps):
    run = _copy_run(three_steps, tmp_path / "r")
    for name in (CHECKPOINT, CHECKPOINT_PREV):
        (run / name).write_bytes(b"")
    with pytest.raises(InputError, match="neither checkpoint"):
        Trainer(run_cfg(run, 4), quiet=True).load()


def test_stray_temporary_files_are_removed_at_start(tmp_path, three_steps):
    run = _copy_run(three_steps, tmp_path / "r")
    strays = [run / ".checkpoint.k2j3.tmp.safetensors", run / ".config.x1.tmp.json", run / ".model.ab12.tmp"]
    strays[0].write_bytes(b"half a checkpoint")
    strays[1].write_text("{")
    strays[2].mkdir()
    (strays[2] / "model.safetensors").write_bytes(b"half")
    (run / ".keep").write_text("not ours")
    train(run_cfg(run, 4), resume=True, quiet=True)
    assert not any(p.exists() for p in strays)
    assert (run / ".keep").is_file() and _step(run / CHECKPOINT) == 4


def test_kill_while_replacing_the_model_folder_puts_it_back(tmp_path, three_steps):
    """The run's tokenizer lives in model/: a resume must find the one it trained with."""
    from vidfuse.train import clean_stray_files

    run = _copy_run(three_steps, tmp_path / "r")
    tokenizer = (run / "model" / "tokenizer.json").read_bytes()
    os.replace(run / "model", run / ".model.old")  # the first of _replace_dir's two renames
    clean_stray_files(run)
    assert (run / "model" / "tokenizer.json").read_bytes() == tokenizer and not (run / ".model.old").exists()


# ---- training data outside its folder ----------------------------------------------------------------------


@pytest.fixture
def data(tmp_path):
    """A data folder with one video inside, and one video outside it."""
    frames = np.zeros((4, 16, 16, 3), np.uint8)
    write_video(tmp_path / "data" / "in.mp4", frames)
    write_video(tmp_path / "secret" / "out.mp4", frames)
    return tmp_path / "data"


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink", "jsonl"])
def test_caption_index_paths_outside_the_data_folder_are_refused(data, kind):
    from vidfuse.data.folder import open_dataset

    outside = data.parent / "secret" / "out.mp4"
    if kind == "symlink":
        (data / "link.mp4").symlink_to(outside)
    path = {"absolute": str(outside), "dotdot": "../secret/out.mp4", "symlink": "link.mp4", "jsonl": str(outside)}[kind]
    if kind == "jsonl":
        (data / "captions.jsonl").write_text(
            json.dumps({"video": "in.mp4", "caption": "a"}) + "\n" + json.dumps({"video": path, "caption": "b"}) + "\n"
        )
    else:
        (data / "captions.csv").write_text(f"video,caption\nin.mp4,a\n{path},b\n")
    index = data / ("captions.jsonl" if kind == "jsonl" else "captions.csv")
    with pytest.raises(InputError) as e:
        open_dataset(data, num_frames=2, size=16)
    msg = str(e.value)
    assert str(index) in msg and f"line {2 if kind == 'jsonl' else 3}: " in msg and path in msg
    assert "--allow-outside-paths" in msg
    ds = open_dataset(data, num_frames=2, size=16, allow_outside_paths=True)
    assert len(ds) == 2 and ds[1][1] == "b"


def test_symlink_inside_the_folder_is_inside(data):
    from vidfuse.data.folder import open_dataset

    (data / "sub").mkdir()
    (data / "sub" / "link.mp4").symlink_to(data / "in.mp4")
    (data / "captions.csv").write_text("video,caption\nsub/link.mp4,a\n")
    assert len(open_dataset(data, num_frames=2, size=16)) == 1


def test_cli_allow_outside_paths_reaches_the_loader(data, tmp_path, monkeypatch, capsys):
    import vidfuse.data.folder as folder

    (data / "captions.csv").write_text(f"video,caption\n{data.parent / 'secret' / 'out.mp4'},b\n")
    refused(
        monkeypatch,
        capsys,
        "train",
        "--preset",
        "tiny",
        "--data",
        data,
        "--out",
        tmp_path / "r",
        "--steps",
        1,
        "--quiet",
        match="outside the data folder",
    )
    seen = []

    def spy(path, **kw):
        seen.append(kw["allow_outside_paths"])
        raise InputError("stop here")

    monkeypatch.setattr(folder, "open_dataset", spy)
    refused(
        monkeypatch,
        capsys,
        "train",
        "--preset",
        "tiny",
        "--data",
        data,
        "--out",
        tmp_path / "r2",
        "--steps",
        1,
        "--quiet",
        "--allow-outside-paths",
        match="stop here",
    )
    assert seen == [True]


@pytest.mark.parametrize(
    "args, match",
    [
        (["--device", "bogus"], "device 'bogus' is not a device"),
        (["--device", "mps"], "vidfuse runs on cpu or cuda"),
        (["--dtype", "int8"], "dtype: for pretrained diffusers models"),
        (["--offload", "model"], "offload: for pretrained diffusers models"),
        (["--height", "4096", "--width", "4096", "--frames", "512"], "GB of memory and"),
    ],
)
def test_options_a_vidfuse_model_cannot_honour_are_refused_before_it_runs(
    tmp_path, monkeypatch, capsys, model_dir, args, match
):
    """Found by a hostile-user probe: these gave tracebacks (device, a 103 GB allocation after the model had run)
    or were silently ignored (dtype, offload) with exit 0."""
    monkeypatch.setattr("vidfuse.sysinfo.available_memory", lambda: 8 * 2**30)  # the same answer on any machine
    refused_generate(monkeypatch, capsys, tmp_path / "a.mp4", "--model", model_dir, *args, match=match)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is usable here")
def test_a_gpu_asked_for_on_a_machine_without_one_is_one_line(tmp_path, monkeypatch, capsys, model_dir):
    refused_generate(
        monkeypatch,
        capsys,
        tmp_path / "a.mp4",
        "--device",
        "cuda",
        match="no GPU is usable",
    )


@pytest.mark.parametrize(
    "output, match", [("", "names no file"), (".", "names no file"), ("/dev/null", "not a regular file")]
)
def test_outputs_that_are_not_files_are_refused(monkeypatch, capsys, model_dir, output, match):
    refused_generate(monkeypatch, capsys, output, "--model", model_dir, match=match)


def test_running_out_of_memory_is_one_line_not_a_traceback(tmp_path, monkeypatch, capsys, model_dir):
    def fail(*a, **k):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:121] data. DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr("vidfuse.pipeline.TextToVideoPipeline._generate", fail)
    line = refused_generate(
        monkeypatch,
        capsys,
        tmp_path / "a.mp4",
        "--model",
        model_dir,
        match="out of memory",
    )
    assert "fewer frames" in line


@pytest.mark.parametrize(
    "size, match", [({"height": "64"}, "height='64' is not a whole number"), ({"width": 5000}, "width=5000")]
)
def test_frame_sizes_are_checked_before_drawing_and_say_what_is_wrong(size, match):
    with pytest.raises(InputError, match=match):
        tiny_pipeline()("digit 3", **size)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda p: p(None), "the prompt must be text"),
        (lambda p: p(["digit 3", 3]), "prompt #1 must be text"),
        (lambda p: p(np.array(["digit 3"] * 2)), "got ndarray"),
        (lambda p: p.unknown_words(None), "must be text"),
        (lambda p: p("digit 3", seed=1.0), "seed=1.0 is not an integer"),
        (lambda p: p("digit 3", num_frames="8"), "num_frames='8' is not a whole number"),
        (lambda p: p("digit 3", guidance_scale="1"), "guidance_scale='1' is not a number"),
        (lambda p: p("digit 3", seed=-1), "seed=-1 is out of range"),
    ],
)
def test_api_arguments_of_the_wrong_type_say_so(call, match):
    """A probe got TypeErrors from deep inside (durations.normalize) and "out of range" for seed=1.0."""
    with pytest.raises(InputError, match=match):
        call(tiny_pipeline())


def test_batch_and_output_arguments_of_the_api_are_checked(tmp_path):
    """A probe: batch_size=-1 wrote an index.csv with no videos and returned normally; 0, fmt=3 and output=None
    raised ValueError, AttributeError and TypeError."""
    from vidfuse.generate import generate_batch, generate_one

    prompts = tmp_path / "p.txt"
    prompts.write_text("digit 3\n", encoding="utf-8")
    for size in (-1, 0, 2.5):
        with pytest.raises(InputError, match="batch_size="):
            generate_batch(prompts, tmp_path / "out", batch_size=size)
    assert not (tmp_path / "out").exists()
    with pytest.raises(InputError, match="unknown video format 3"):
        generate_one("digit 3", tmp_path / "a.mp4", fmt=3)
    with pytest.raises(InputError, match="output=None"):
        generate_one("digit 3", None)
    with pytest.raises(InputError, match="batch_size=0"):
        tiny_pipeline()("digit 3", batch_size=0)


def test_checking_where_to_write_leaves_no_folders_behind(tmp_path):
    """A probe: `--strict` refusals left the empty folders the output check had made."""
    from vidfuse.fileio import check_writable, check_writable_dir

    check_writable(tmp_path / "new" / "sub" / "a.mp4")
    check_writable_dir(tmp_path / "out" / "deeper")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_an_output_folder_that_cannot_be_made_is_named_as_given():
    from vidfuse.fileio import check_writable_dir

    with pytest.raises(InputError, match=r"cannot write /proc/vf_check: ") as e:
        check_writable_dir("/proc/vf_check")
    assert "probe" not in str(e.value)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_eval_refuses_an_unwritable_json_before_judging(monkeypatch, capsys, model_dir):
    """A probe: `eval --json /proc/x.json` ran the whole evaluation and only then failed to write."""

    def judged(*a, **k):
        raise AssertionError("judged before the output was checked")

    monkeypatch.setattr("vidfuse.evaluate.judge_self_test", judged)
    refused(
        monkeypatch, capsys, "eval", "--model", model_dir, "--n", "2", "--json", "/proc/x.json", match="cannot write"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_prompts_file_that_is_a_device_is_called_one():
    with pytest.raises(InputError, match="is not a regular file"):
        read_prompts("/dev/zero")  # it exists: "does not exist" was wrong


def test_a_caption_target_with_a_digit_past_9_names_it():
    from vidfuse.evaluate.harness import _target

    with pytest.raises(InputError, match=r"unknown target values \[12\]; digits 0-9"):
        _target({"digit": 12, "colour": "red", "motion": "left"})


def test_eval_refuses_guidance_for_a_one_pass_model_before_the_self_test(tmp_path, monkeypatch, capsys):
    """A probe: `eval --guidance-scale 3` on a one-pass model was refused only after the judge's self-test."""

    def judged(*a, **k):
        raise AssertionError("judged before the options were checked")

    monkeypatch.setattr("vidfuse.evaluate.judge_self_test", judged)
    gan = tiny_pipeline("gan").save_pretrained(tmp_path / "gan")  # draws in one pass
    refused(monkeypatch, capsys, "eval", "--model", gan, "--guidance-scale", "3", match="in one pass")


def test_an_empty_out_dir_is_refused_not_the_current_folder(monkeypatch, capsys, model_dir, tmp_path):
    """A probe: `--out-dir ''` wrote 0000.mp4 … and index.csv into the current folder."""
    prompts = tmp_path / "p.txt"
    prompts.write_text("digit 3\n")
    monkeypatch.chdir(tmp_path)
    refused(
        monkeypatch,
        capsys,
        "generate",
        "--prompts",
        str(prompts),
        "--out-dir",
        "",
        "--model",
        str(model_dir),
        match="out_dir=''",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.txt"]


def test_strict_must_be_true_or_false(tmp_path):
    """A probe: `strict="no"` is truthy in Python, so it meant yes."""
    from vidfuse.generate import generate_batch, generate_one

    with pytest.raises(InputError, match="strict='no': give True or False"):
        generate_one("digit 3", tmp_path / "a.mp4", strict="no")
    with pytest.raises(InputError, match="strict=1"):
        generate_batch(tmp_path / "p.txt", tmp_path / "out", strict=1)
    with pytest.raises(InputError, match="strict='yes'"):
        tiny_pipeline()("digit 3", strict="yes")
    assert list(tmp_path.iterdir()) == []


def test_an_m4v_output_is_written_as_mp4(tmp_path, model_dir):
    """A probe: write_video took .m4v (Apple's name for MP4) while `generate -o clip.m4v` refused it."""
    from vidfuse.generate import generate_one

    out = generate_one("digit 3", tmp_path / "clip.m4v", model=str(model_dir), seed=0, num_frames=4)
    assert out == tmp_path / "clip.m4v" and probe_video(out).video_codec == "h264"
    with pytest.raises(InputError, match="unknown video format 'avi'"):
        generate_one("digit 3", tmp_path / "clip.avi", model=str(model_dir))


def test_serve_refuses_a_busy_port_or_a_bad_host_in_one_line(monkeypatch, capsys, tmp_path):
    """A probe: a busy port was uvicorn's own error (exit 3) after the server had logged its page's address and
    made its data folder; --port 99999 was a 167-line traceback."""
    import socket

    from vidfuse.server.app import listening_socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        data = tmp_path / "data"
        refused(monkeypatch, capsys, "serve", "--port", str(port), "--data-dir", str(data), match="is in use")
        assert not data.exists()
    code, text = cli(monkeypatch, capsys, "serve", "--port", "99999", "--data-dir", str(data))
    assert code == 2 and "65535" in text and "Traceback" not in text  # typer's usage error, as for --workers 0
    with pytest.raises(InputError, match="not an address or a known host name"):
        listening_socket("999.1.1.1", 0)
    with pytest.raises(InputError, match="from 1 to 65535"):
        listening_socket("127.0.0.1", -1)
    with listening_socket("127.0.0.1", 0) as sock:
        assert sock.getsockname()[1] > 0


def test_an_output_name_and_a_format_that_disagree_are_refused(tmp_path, model_dir):
    """A probe: `-o a.mp4 --format gif` wrote a.gif (over any a.gif there) and no a.mp4."""
    from vidfuse.generate import generate_one

    (tmp_path / "a.gif").write_bytes(b"keep")
    with pytest.raises(InputError, match="a.mp4 names MP4 but the format asked is gif: name it a.gif"):
        generate_one("digit 3", tmp_path / "a.mp4", fmt="gif", model=str(model_dir))
    assert (tmp_path / "a.gif").read_bytes() == b"keep"
    out = generate_one("digit 3", tmp_path / "clip.v2", fmt="gif", model=str(model_dir), seed=0, num_frames=4)
    assert out == tmp_path / "clip.v2.gif" and out.is_file()  # a dot in the name is kept, the format's suffix added


def test_first_frames_with_alpha_or_16_bits_are_read_as_they_look(tmp_path):
    """A probe: a transparent area showed the colour hidden under it, and a nearly black 16-bit PNG became white."""
    from vidfuse.inputs import image_to_tensor

    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[4:12, 4:12] = (255, 0, 0, 0)  # red, but fully transparent
    rgba[0:4, 0:4] = (0, 255, 0, 255)  # opaque green
    Image.fromarray(rgba).save(tmp_path / "a.png")
    for image in (tmp_path / "a.png", rgba):
        t = image_to_tensor(image, 16, 16)
        assert t[:, 4:12, 4:12].max() == -1.0 and t[1, 0:4, 0:4].min() == 1.0
    dark = np.full((16, 16), 1000, np.uint16)  # 1.5% of full scale
    Image.fromarray(dark).save(tmp_path / "g16.png")
    assert image_to_tensor(tmp_path / "g16.png", 16, 16).max() < -0.95
    Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
    with pytest.raises(InputError, match=r"image .*dot\.png is 1×1 pixels"):
        image_to_tensor(tmp_path / "dot.png", 16, 16)


def test_the_common_call_works_on_a_vidfuse_model():
    """A probe: the README's "same call" for every backend raised TypeError for fps=, progress=, negative_prompt=
    and num_inference_steps= on a vidfuse model."""
    pipe = tiny_pipeline()
    seen = []
    out = pipe("digit 3 for 2 seconds", seed=0, fps=4, progress=lambda step, total: seen.append((step, total)))
    assert out.shape[1] == 8 and seen == [(0, 1), (1, 1)]  # 2 s at 4 fps; one pass
    assert np.array_equal(pipe("digit 3", num_frames=4, seed=0, fps=30), pipe("digit 3", num_frames=4, seed=0))
    for option in ({"negative_prompt": "blur"}, {"num_inference_steps": 5}):
        with pytest.raises(InputError, match="applies to pretrained diffusers models"):
            pipe("digit 3", **option)
    with pytest.raises(InputError, match="fps="):
        pipe("digit 3", fps=1000)
    with pytest.raises(InputError, match="progress must be a function"):
        pipe("digit 3", progress=3)


def test_a_models_dir_that_is_not_a_folder_is_refused(monkeypatch, capsys, tmp_path):
    """A probe: `models --models-dir typo` listed the built-in model alone and said nothing."""
    for command in ("models", "serve"):
        refused(monkeypatch, capsys, command, "--models-dir", str(tmp_path / "typo"), match="is not a folder")


def test_story_options_for_a_topic_are_refused_with_a_script(monkeypatch, capsys, tmp_path):
    """A probe: `story script.txt --scenes 3` ignored --scenes and exited 0."""
    script = tmp_path / "s.txt"
    script.write_text("A red three moves left.\n")
    code, text = cli(monkeypatch, capsys, "story", str(script), "-o", str(tmp_path / "s.mp4"), "--scenes", "3")
    assert code == 2 and "--scenes applies to --topic" in text and not (tmp_path / "s.mp4").exists()


def test_a_captions_file_names_the_line_of_a_bad_target(tmp_path):
    """A probe: a bad value printed the harness's dict with no line number; "Red" was refused; an empty file was
    "got 0 captions, 0 targets"."""
    from vidfuse.evaluate import read_captions_file

    f = tmp_path / "c.jsonl"
    f.write_text(
        '{"caption": "a red 3", "digit": 3, "colour": "Red", "motion": " Left"}\n'
        '{"caption": "a 4", "digit": 4, "colour": "purple", "motion": "left"}\n'
    )
    with pytest.raises(InputError, match=r"c\.jsonl:2: unknown target values \['purple'\]"):
        read_captions_file(f)
    f.write_text('{"caption": "a red 3", "digit": 3, "colour": "Red", "motion": " Left"}\n')
    assert read_captions_file(f)[1][0]["colours"] == ["Red"]  # read as written, judged as "red"
    f.write_text("\n")
    with pytest.raises(InputError, match="holds no captions"):
        read_captions_file(f)


@pytest.mark.parametrize(
    ("line", "said"),
    [
        (
            '{"caption": "a red 3", "digit": true, "colour": "red", "motion": "left"}',
            "digit is a whole number 0-9; got true",
        ),
        ('{"caption": "a red 3", "digit": 3.7, "colour": "red", "motion": "left"}', "got 3.7"),
        ('{"caption": " ", "digit": 3, "colour": "red", "motion": "left"}', "the caption is empty"),
        ('{"caption": null, "digit": 3, "colour": "red", "motion": "left"}', "the caption is empty or not text"),
    ],
)
def test_a_captions_file_refuses_a_digit_that_is_not_a_whole_number_and_an_empty_caption_with_its_line(
    tmp_path, line, said
):
    """A review: ``"digit": true`` was judged as 1, 3.7 as 3, and an empty caption was "prompt #2 is empty" with
    no line of the file."""
    from vidfuse.evaluate import read_captions_file

    f = tmp_path / "c.jsonl"
    f.write_text('{"caption": "a red 3", "digit": "3", "colour": "red", "motion": "left"}\n' + line + "\n")
    with pytest.raises(InputError, match=rf"c\.jsonl:2: .*{re.escape(said)}"):
        read_captions_file(f)
