"""Text to video files: the Python twin of ``vidfuse generate`` (single prompt or a prompts file)."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from vidfuse.data.vocabulary import TooManyDigitsWarning, UnknownWordsWarning
from vidfuse.errors import InputError
from vidfuse.fileio import (
    atomic_write_text,
    check_not_input,
    check_writable,
    check_writable_dir,
    names_folder,
    read_text_file,
)
from vidfuse.inputs import DIFFUSERS_ONLY, check_batch_size, check_flag
from vidfuse.media.formats import SUFFIX_FORMATS, VIDEO_FORMATS


def read_prompts(path: str | Path) -> list[str]:
    """The non-empty lines of a prompts file, stripped. UTF-8, or UTF-8/16/32 with a byte-order mark; any
    other file (binary, Latin-1, UTF-16 without a mark) is an :class:`InputError` naming the file and the
    byte offset where it stops being text, and a line holding a control character names that line."""
    from vidfuse.pipeline import check_prompt

    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise InputError(f"prompts file {path} does not exist")
    text = read_text_file(path, "prompts file")
    prompts = []
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            prompts.append(check_prompt(line.strip(), f"prompts file {path}, line {n},"))
    if not prompts:
        raise InputError(f"prompts file {path} has no prompts (one prompt a line)")
    return prompts


def _check_format(fmt) -> None:
    if fmt is not None and (not isinstance(fmt, str) or fmt.lower() not in VIDEO_FORMATS):
        raise InputError(f"unknown video format {fmt!r}; choose one of {', '.join(VIDEO_FORMATS)} (or leave it out)")


def _output_path(path: Path, fmt: str | None) -> Path:
    _check_format(fmt)
    if path.name in ("", ".", ".."):
        raise InputError(f"the output path {str(path)!r} names no file: give one such as clip.mp4")
    try:
        if path.is_dir():
            raise InputError(f"the output path {path}: it is a folder; give a file in it, such as {path / 'clip.mp4'}")
        if path.exists() and not path.is_file():
            raise InputError(f"the output path {path} is not a regular file (a device or a pipe): give a file name")
    except OSError as e:  # a name longer than the file system takes, a folder that may not be looked into
        shown = str(path) if len(str(path)) <= 80 else str(path)[:80] + "…"
        raise InputError(f"cannot write {shown}: {e.strerror or e}; choose another output path") from e
    named = SUFFIX_FORMATS.get(path.suffix.lower())  # the format the file's own suffix names (.m4v is MP4)
    if fmt is None:
        if path.suffix and named is None:
            raise InputError(
                f"unknown video format {path.suffix.lstrip('.')!r} for {path}; choose one of {', '.join(VIDEO_FORMATS)}"
            )
        return path if named else path.with_name(path.name + ".mp4")
    fmt = fmt.lower()
    if named is not None and named != fmt:  # writing b.gif when asked for b.mp4 would leave b.mp4 stale or missing
        raise InputError(
            f"the output {path.name} names {named.upper()} but the format asked is {fmt}: "
            f"name it {path.stem}.{fmt}, or leave the format out"
        )
    return path if named else path.with_name(f"{path.name}.{fmt}")  # "clip" or "clip.v2" + gif: clip.gif, clip.v2.gif


@dataclass(frozen=True)
class LoadOptions:
    """How a model is loaded: ``device`` for any model; precision, offloading and VAE tiling/slicing for
    pretrained diffusers pipelines (see :meth:`~vidfuse.pipeline.TextToVideoPipeline.from_pretrained`)."""

    device: str | None = None
    dtype: str = "auto"
    offload: str = "none"
    vae_tiling: bool = False
    vae_slicing: bool = False


def _load(model, load: LoadOptions):
    from vidfuse.pipeline import TextToVideoPipeline

    return TextToVideoPipeline.from_pretrained(model, **dataclasses.asdict(load))


def _model_options(pipe, *, negative_prompt=None, steps=None, fps=None, progress=None) -> dict:
    """The call options: those only pretrained (diffusers) pipelines take (refused for vidfuse's own models), and the
    frame rate a length in words is counted at."""
    if getattr(pipe, "is_diffusers", False):
        return dict(negative_prompt=negative_prompt, num_inference_steps=steps, fps=fps, progress=progress)
    for name, value in (("--negative-prompt", negative_prompt), ("--steps", steps)):
        if value is not None:
            raise InputError(f"{name} {DIFFUSERS_ONLY}")
    # the rate a length in words is counted at ("for 3 seconds" at --fps 16 is 48 frames); the frames drawn do not
    # depend on it
    return {} if fps is None else {"fps": fps}


def _fps(pipe, fps: float | None) -> float:
    """The asked frame rate, else the model's own (diffusers families: the rate they were trained at; 8)."""
    return float(fps) if fps is not None else float(getattr(pipe, "fps", 8.0))


def _checked_pipeline(
    pipeline,
    model,
    ext: str,
    check_output,
    *,
    num_frames,
    seed,
    guidance_scale,
    fps,
    steps,
    negative_prompt,
    progress,
    load: LoadOptions,
):
    """The options checked (before the model loads, so a bad one fails at once; ``check_output`` checks where
    the videos go), then the pipeline loaded (or ``pipeline`` as given), its extra call options and the
    frame rate to write at: ``(pipe, extra, fps)``."""
    from vidfuse.media.video_io import check_fps
    from vidfuse.pipeline import check_options

    check_options(num_frames=num_frames, seed=seed, guidance_scale=guidance_scale)
    if fps is not None:
        check_fps(fps, ext)
    check_output()
    pipe = pipeline or _load(model, load)
    extra = _model_options(pipe, negative_prompt=negative_prompt, steps=steps, fps=fps, progress=progress)
    fps = _fps(pipe, fps)
    check_fps(fps, ext)  # the model's own rate, where none was asked
    return pipe, extra, fps


def generate_one(
    prompt: str,
    output: str | Path,
    *,
    model=None,
    image=None,
    seed=None,
    num_frames=None,
    fps: float | None = None,
    fmt: str | None = None,
    guidance_scale: float | None = None,
    pipeline=None,
    on_overflow: str = "error",
    strict: bool = False,
    width: int | None = None,
    height: int | None = None,
    steps: int | None = None,
    negative_prompt: str | None = None,
    load: LoadOptions | None = None,
    progress=None,
) -> Path:
    """Render ``prompt`` to ``output`` (format from ``fmt`` or the file name). Returns the written path.

    Words the model never saw in training warn (:class:`~vidfuse.data.vocabulary.UnknownWordsWarning`), or
    with ``strict`` fail (:class:`~vidfuse.data.vocabulary.UnknownWordsError`) before anything is written.
    ``model`` may be a diffusers pipeline folder; ``steps``, ``negative_prompt`` and most of ``load`` are for
    those, and ``progress(step, total)`` follows their denoising.
    ``fps`` left out: the model's own rate. The output path and ``fps`` are checked before the model loads,
    so a bad one fails at once."""
    from vidfuse.media.video_io import write_video
    from vidfuse.pipeline import check_prompt

    if not isinstance(output, (str, os.PathLike)) or not str(output).strip():
        raise InputError(f"output={output!r}: give the video's file path (a str or Path), such as clip.mp4")
    if names_folder(output):  # Path("clips/") is "clips": the video would be clips.mp4 beside the folder asked for
        raise InputError(
            f"the output path {output} names a folder; give a file in it, such as {Path(output) / 'clip.mp4'}"
        )
    out = _output_path(Path(output), fmt)
    check_not_input(out, image if isinstance(image, (str, os.PathLike)) else None)
    check_flag("strict", strict)
    check_prompt(prompt)
    pipe, extra, fps = _checked_pipeline(
        pipeline,
        model,
        SUFFIX_FORMATS[out.suffix.lower()],
        lambda: check_writable(out),
        num_frames=num_frames,
        seed=seed,
        guidance_scale=guidance_scale,
        fps=fps,
        steps=steps,
        negative_prompt=negative_prompt,
        progress=progress,
        load=load or LoadOptions(),
    )
    frames = pipe(
        prompt,
        image=image,
        num_frames=num_frames,
        seed=seed,
        guidance_scale=guidance_scale,
        on_overflow=on_overflow,
        strict=strict,
        height=height,
        width=width,
        **extra,
    )[0]
    return write_video(out, frames, fps=fps)


def generate_batch(
    prompts_file: str | Path,
    out_dir: str | Path,
    *,
    model=None,
    image=None,
    seed=None,
    num_frames=None,
    fps: float | None = None,
    fmt: str | None = None,
    guidance_scale: float | None = None,
    batch_size: int = 64,
    on_overflow: str = "error",
    strict: bool = False,
    width: int | None = None,
    height: int | None = None,
    steps: int | None = None,
    negative_prompt: str | None = None,
    load: LoadOptions | None = None,
    progress=None,
) -> Path:
    """One video per non-empty line of ``prompts_file`` (see :func:`read_prompts`) → ``out_dir/0000.mp4``,
    … and ``index.csv``. Prompt ``i`` uses seed ``seed + i`` (modulo 2**63). Unknown words: one warning
    for the whole file naming the prompts (numbered from 0), or with ``strict`` an error before any video."""
    from vidfuse.config import offset_seed
    from vidfuse.media.video_io import write_video

    check_batch_size(batch_size)
    check_flag("strict", strict)
    if not isinstance(out_dir, (str, os.PathLike)) or not str(out_dir).strip():
        # Path("") is the current folder: an empty --out-dir would scatter 0000.mp4, … and index.csv there
        raise InputError(f"out_dir={out_dir!r}: give the folder for the videos (a str or Path), such as clips/")
    out_dir = Path(out_dir)
    check_not_input(out_dir / "index.csv", prompts_file)
    prompts = read_prompts(prompts_file)
    _check_format(fmt)
    ext = (fmt or "mp4").lower()
    pipe, extra, fps = _checked_pipeline(
        None,
        model,
        ext,
        lambda: check_writable_dir(out_dir),
        num_frames=num_frames,
        seed=seed,
        guidance_scale=guidance_scale,
        fps=fps,
        steps=steps,
        negative_prompt=negative_prompt,
        progress=progress,
        load=load or LoadOptions(),
    )
    if getattr(pipe, "is_diffusers", False):
        batch_size = min(batch_size, 4)  # large pretrained models: a few clips at a time
    pipe.check_vocabulary(prompts, strict=strict, layered=image is None)
    rows = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        with warnings.catch_warnings():  # already said once for the whole file
            warnings.simplefilter("ignore", UnknownWordsWarning)
            warnings.simplefilter("ignore", TooManyDigitsWarning)
            frames = pipe(
                chunk,
                image=image,
                num_frames=num_frames,
                seed=offset_seed(seed, start),
                guidance_scale=guidance_scale,
                on_overflow=on_overflow,
                height=height,
                width=width,
                **extra,
            )
        for i, (p, f) in enumerate(zip(chunk, frames)):
            name = f"{start + i:04d}.{ext}"
            write_video(out_dir / name, f, fps=fps)
            rows.append((p, name))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["prompt", "file"])
    w.writerows(rows)
    atomic_write_text(out_dir / "index.csv", buf.getvalue())
    return out_dir / "index.csv"
