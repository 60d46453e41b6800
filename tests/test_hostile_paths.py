"""What a careless or hostile user's paths and files meet: one line naming the input, never a traceback, never a
device or a user's own input replaced (a review of the command line and the service, thirty-fourth session)."""

from __future__ import annotations

import asyncio
import errno
import json
import os

import pytest
from fastapi.exceptions import RequestValidationError

from vidfuse.config import load_config_file
from vidfuse.errors import InputError
from vidfuse.evaluate.harness import read_captions_file
from vidfuse.fileio import atomic_path, atomic_write_text, check_not_input, check_writable, read_text_file
from vidfuse.generate import _model_options, _output_path, generate_batch
from vidfuse.server.app import create_app
from vidfuse.server.routes import MAX_ERRORS, validation_error


def test_a_pipe_or_a_link_to_one_is_never_replaced_by_a_file(tmp_path):
    fifo = tmp_path / "ff"
    os.mkfifo(fifo)
    (tmp_path / "link.json").symlink_to(fifo)
    for dest in (fifo, tmp_path / "link.json"):
        with pytest.raises(InputError, match="not a regular file"):
            atomic_write_text(dest, "{}")
        with pytest.raises(InputError, match="not a regular file"):
            check_writable(dest)
    assert fifo.exists() and not fifo.is_file()


def test_a_full_disk_while_writing_is_one_line_and_the_old_file_stays(tmp_path):
    dest = tmp_path / "clip.gif"
    dest.write_bytes(b"old")
    with pytest.raises(InputError, match="no space left on the device"):
        with atomic_path(dest) as tmp:
            tmp.write_bytes(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert dest.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["clip.gif"]


def test_a_name_near_the_limit_is_written_and_one_beyond_it_is_refused_in_one_line(tmp_path):
    near = tmp_path / ("a" * 246 + ".mp4")  # 250 bytes: the file system takes it, so must vidfuse
    atomic_write_text(near, "x")
    assert near.read_text() == "x"
    with pytest.raises(InputError, match="File name too long|too long"):
        _output_path(tmp_path / ("a" * 300 + ".mp4"), None)


def test_an_output_that_is_the_commands_own_input_is_refused(tmp_path):
    script = tmp_path / "s3.srt"
    script.write_text("A red three moves left.\n")
    with pytest.raises(InputError, match="is the input"):
        check_not_input(tmp_path / "s3.srt", script)
    check_not_input(tmp_path / "s3.vtt", script, None, "calm")  # another file, a missing one, a mood: nothing lost
    prompts = tmp_path / "clips" / "index.csv"
    prompts.parent.mkdir()
    prompts.write_text("a red 3 moving left\n")
    with pytest.raises(InputError, match="is the input"):
        generate_batch(prompts, tmp_path / "clips")  # refused before any model is loaded
    assert prompts.read_text() == "a red 3 moving left\n"


def test_a_story_never_writes_its_subtitles_over_its_script_even_through_a_link(tmp_path):
    from vidfuse.story import render_story

    (tmp_path / "other").mkdir()
    script = tmp_path / "other" / "x.srt"
    script.write_text("A red three moves left.\n")
    (tmp_path / "s.mp4").symlink_to(tmp_path / "other" / "x.mp4")  # the story goes to the link's target
    with pytest.raises(InputError, match="is the input"):
        render_story(script, tmp_path / "s.mp4", no_voice=True)
    assert script.read_text() == "A red three moves left.\n"


def test_a_binary_file_given_as_text_is_one_line_naming_it(tmp_path):
    video = tmp_path / "base.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42\xff\xfe\x80")
    for read, what in (
        (lambda: read_text_file(video, "script"), "script"),
        (lambda: load_config_file(video), "config file"),
        (lambda: read_captions_file(video), "captions file"),
    ):
        with pytest.raises(InputError, match=f"{what} .*base.mp4 holds a NUL byte at offset 0: it is binary"):
            read()
    bom = tmp_path / "b.txt"
    bom.write_bytes("\ufeffhello".encode())
    assert read_text_file(bom, "script") == "hello"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig"])
def test_every_text_reader_takes_a_file_with_a_byte_order_mark(tmp_path, encoding):
    """One reader for prompts, scripts, configs and captions: Windows Notepad's UTF-16 (with its mark) was taken by
    the prompts file alone."""
    caps = tmp_path / "c.jsonl"
    caps.write_bytes('{"caption": "红色的3向左移动", "digit": 3, "colour": "red", "motion": "left"}\n'.encode(encoding))
    assert read_captions_file(caps)[0] == ["红色的3向左移动"]
    assert read_text_file(caps, "script").startswith('{"caption"')


def test_a_text_reader_names_a_nul_byte_a_folder_and_a_pipe_without_waiting(tmp_path):
    bad = tmp_path / "c.jsonl"
    bad.write_bytes("a red 3\n".encode("utf-16-le"))  # UTF-16 without its mark
    with pytest.raises(InputError, match="captions file .*c.jsonl holds a NUL byte at offset 1"):
        read_captions_file(bad)
    with pytest.raises(InputError, match="config file .* is a folder"):
        read_text_file(tmp_path, "config file")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # nothing writes to it: reading would wait for ever
    with pytest.raises(InputError, match="is not a regular file"):
        read_text_file(fifo, "script")
    from vidfuse.inputs import image_to_tensor

    with pytest.raises(InputError, match="image .*fifo is not a regular file"):
        image_to_tensor(str(fifo), 16, 16)


def test_a_length_in_words_is_counted_at_the_asked_frame_rate():
    from vidfuse.pipeline import TextToVideoPipeline

    pipe = TextToVideoPipeline.from_pretrained(None)
    assert len(pipe("a red 3 moving left for 3 seconds", seed=0, fps=16)[0]) == 48
    assert len(pipe("a red 3 moving left for 3 seconds", seed=0)[0]) == 24  # at the model's own 8 fps

    class OwnModel:  # a vidfuse model: the rate goes to the call, the options of pretrained models do not
        is_diffusers = False

    assert _model_options(OwnModel(), fps=16.0) == {"fps": 16.0}
    assert _model_options(OwnModel()) == {}


def test_a_body_with_thousands_of_bad_fields_gets_a_short_answer():
    errors = [
        {"type": "extra_forbidden", "loc": ("body", f"k{i}"), "msg": "Extra inputs", "input": 1} for i in range(5000)
    ]
    response = asyncio.run(validation_error(None, RequestValidationError(errors)))
    body = json.loads(response.body)
    assert response.status_code == 422 and len(body["errors"]) == MAX_ERRORS
    assert body["detail"].endswith(f"and {5000 - MAX_ERRORS} more") and len(response.body) < 5000


def test_a_data_folder_that_is_a_file_is_one_line(tmp_path):
    clash = tmp_path / "base.mp4"
    clash.write_bytes(b"x")
    with pytest.raises(InputError, match="it is a file, not a folder"):
        create_app(data_dir=clash)


def test_an_output_ending_in_a_slash_names_a_folder_not_a_file(tmp_path):
    from vidfuse.generate import generate_one
    from vidfuse.story import render_story

    with pytest.raises(InputError, match="names a folder"):
        generate_one("a red 3 moving left", f"{tmp_path}/clips/")  # Path() would have dropped the slash: clips.mp4
    with pytest.raises(InputError, match="names a folder"):
        render_story("A red three moves left.", f"{tmp_path}/story/")
    assert list(tmp_path.iterdir()) == []


def test_a_batch_refuses_a_single_output_path(tmp_path):
    from typer.testing import CliRunner

    from vidfuse.cli import app

    (tmp_path / "p.txt").write_text("a red 3 moving left\n")
    out = CliRunner().invoke(
        app, ["generate", "--prompts", str(tmp_path / "p.txt"), "--out-dir", str(tmp_path / "o"), "-o", "x.mp4"]
    )
    assert out.exit_code != 0 and "-o is for one prompt" in out.output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--out", ""], "the output folder is empty"),  # Path("") is the current folder: clips were written there
        (["--out", "md", "--seed", "99999999999999999999999"], "seed must be an integer from 0 to 2**63 - 1"),
    ],
)
def test_exporting_moving_digits_refuses_an_empty_folder_and_a_seed_out_of_range(
    tmp_path, monkeypatch, capsys, args, said
):
    from conftest import run_cli

    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(monkeypatch, capsys, "data", "moving-digits", "--n", "1", *args)
    assert code == 2 and said in err and list(tmp_path.iterdir()) == []


def test_a_topic_with_a_control_character_or_too_long_is_refused_before_the_writer_loads():
    from vidfuse.story.writer import check_topic

    assert check_topic("  apples   on a farm ") == "apples on a farm"
    with pytest.raises(InputError, match="U\\+0007, a control character"):
        check_topic("apples\x07")
    with pytest.raises(InputError, match="1000 characters") as e:
        check_topic("a" * 1000)
    assert len(str(e.value)) < 200  # not echoed back


def test_sigterm_ends_a_command_as_ctrl_c_does_leaving_no_temporary_file(tmp_path):
    import signal

    from vidfuse.cli import _terminated

    old = signal.signal(signal.SIGTERM, _terminated)
    try:
        with pytest.raises(SystemExit) as e:
            with atomic_path(tmp_path / "clip.mp4") as tmp:
                tmp.write_bytes(b"half")
                os.kill(os.getpid(), signal.SIGTERM)  # the handler raises here, as `kill` would mid-encoding
    finally:
        signal.signal(signal.SIGTERM, old)
    assert e.value.code == 128 + signal.SIGTERM and list(tmp_path.iterdir()) == []
