"""Text to video files: the Python twin of ``vidfuse generate`` (single prompt or a prompts file)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from vidfuse.errors import InputError
from vidfuse.fileio import atomic_write_text

FORMATS = ("mp4", "webm", "gif")


def _output_path(path: Path, fmt: str | None) -> Path:
    fmt = (fmt or path.suffix.lstrip(".") or "mp4").lower()
    if fmt not in FORMATS:
        raise InputError(f"unknown video format {fmt!r} for {path}; choose one of {', '.join(FORMATS)}")
    return path if path.suffix.lstrip(".").lower() == fmt else path.with_suffix(f".{fmt}")


def generate_one(prompt: str, output: str | Path, *, model=None, image=None, seed=None, num_frames=None,
                 fps: float = 8.0, fmt: str | None = None, guidance_scale: float | None = None, pipeline=None) -> Path:
    """Render ``prompt`` to ``output`` (format from ``fmt`` or the file name). Returns the written path."""
    from vidfuse.media.video_io import write_video
    from vidfuse.pipeline import TextToVideoPipeline

    pipe = pipeline or TextToVideoPipeline.from_pretrained(model)
    out = _output_path(Path(output), fmt)
    frames = pipe(prompt, image=image, num_frames=num_frames, seed=seed, guidance_scale=guidance_scale)[0]
    return write_video(out, frames, fps=fps)


def generate_batch(prompts_file: str | Path, out_dir: str | Path, *, model=None, image=None, seed=None,
                   num_frames=None, fps: float = 8.0, fmt: str | None = None, guidance_scale: float | None = None,
                   batch_size: int = 64) -> Path:
    """One video per non-empty line of ``prompts_file`` → ``out_dir/0000.mp4``, … and ``index.csv``."""
    from vidfuse.media.video_io import write_video
    from vidfuse.pipeline import TextToVideoPipeline

    prompts_file, out_dir = Path(prompts_file), Path(out_dir)
    if not prompts_file.is_file():
        raise InputError(f"prompts file {prompts_file} does not exist")
    prompts = [l.strip() for l in prompts_file.read_text(encoding="utf-8").splitlines() if l.strip()]
    if not prompts:
        raise InputError(f"prompts file {prompts_file} has no prompts (one prompt a line)")
    pipe = TextToVideoPipeline.from_pretrained(model)
    ext = (fmt or "mp4").lower()
    _output_path(Path(f"x.{ext}"), None)
    rows = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start:start + batch_size]
        frames = pipe(chunk, image=image, num_frames=num_frames, seed=None if seed is None else seed + start,
                      guidance_scale=guidance_scale)
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
