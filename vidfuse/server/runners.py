"""Running one claimed job to its end state, inside a worker process (or in-process in tests).

A prompt job is one clip from the pipeline; a script job is a narrated story from the composer
(:func:`vidfuse.story.render_story`). Either writes its outputs into the attempt's own folder under the
names the server gives them (:mod:`vidfuse.server.datafolder`); :meth:`JobStore.complete` moves them
into place. A worker keeps its models in a :class:`ModelCache`.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any, Callable

from vidfuse.errors import InputError, VidfuseError
from vidfuse.server.datafolder import SRT, STORYBOARD, THUMB, VIDEO, VTT
from vidfuse.server.store import Job, JobStore

log = logging.getLogger("vidfuse.server")

_PROGRESS_WRITE_EVERY_S = 0.2  # progress rows are throttled; a stage change is always written
MAX_LOADED_MODELS = 2  # pipelines a worker keeps loaded; the least recently used beyond it is dropped


class JobAborted(Exception):
    """Raised inside a worker when its job was cancelled or its claim was taken away."""


ProgressFn = Callable[[str, float], None]


def _reporter(store: JobStore, job: Job, should_stop: Callable[[], bool]) -> ProgressFn:
    """A ``progress(stage, fraction)`` callback: throttled DB writes; raises JobAborted when told to stop."""
    last = {"stage": None, "t": 0.0}

    def progress(stage: str, fraction: float) -> None:
        if should_stop():
            raise JobAborted("the worker is shutting down")
        now = time.monotonic()
        if stage == last["stage"] and now - last["t"] < _PROGRESS_WRITE_EVERY_S and fraction < 1:
            return
        last["stage"], last["t"] = stage, now
        if not store.progress(job.id, job.claim, stage, fraction):
            raise JobAborted("the job was cancelled or re-assigned")

    return progress


def _save_png(path: Path, image) -> None:
    from vidfuse.fileio import atomic_path

    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def _thumbnail(frame, width: int = 320):
    """An (H, W, 3) uint8 frame → a PIL image ``width`` px wide (nearest-neighbour for tiny frames)."""
    from PIL import Image

    image = Image.fromarray(frame)
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.NEAREST if image.width < width / 2 else Image.BILINEAR)


DENOISING = "denoising"  # a diffusers model's stage, reported as "denoising 3/20" (step 3 of 20)


def denoising_stage(step: int, total: int) -> str:
    return f"{DENOISING} {step}/{total}"


def denoising_progress(progress: ProgressFn, start: float, end: float) -> Callable[[int, int], None]:
    """A pipeline's ``progress(step, total)`` as job progress: stage ``denoising step/total``, the fraction
    from ``start`` to ``end`` of the whole job. Every step is a new stage, so each one is written (and a
    cancelled job stops at the next step)."""

    def on_step(step: int, total: int) -> None:
        progress(denoising_stage(step, total), start + (end - start) * step / max(1, total))

    return on_step


def _run_prompt(job: Job, pipe, work: Path, progress: ProgressFn) -> list[str]:
    from vidfuse.media.video_io import contact_sheet, write_video

    p = job.params
    progress("generating", 0.05)
    extra = {
        k: v
        for k, v in (("num_inference_steps", p.get("steps")), ("negative_prompt", p.get("negative_prompt")))
        if v is not None
    }  # the API takes them for pretrained diffusers models only
    if p.get("fps") is not None:  # the rate a length in words is counted at ("for 3 seconds" at fps 16: 48 frames)
        extra["fps"] = p["fps"]
    if getattr(pipe, "is_diffusers", False):
        extra["progress"] = denoising_progress(progress, 0.05, 0.7)
    frames = pipe(
        p["prompt"],
        num_frames=p.get("frames"),
        height=p.get("height"),
        width=p.get("width"),
        seed=p["seed"],
        guidance_scale=p.get("guidance_scale"),
        **extra,
    )[0]  # (T, H, W, 3)
    progress("encoding", 0.7)
    write_video(work / VIDEO, frames, fps=p.get("fps", 8.0))
    progress("thumbnail", 0.9)
    _save_png(work / THUMB, _thumbnail(frames[len(frames) // 2]))
    contact_sheet([frames], [p["prompt"]], path=work / STORYBOARD)
    return [VIDEO, THUMB, STORYBOARD]


# Share of a story job's progress each of the composer's stages takes (render_story reports a fraction
# within each stage); frames stream into the encoder, so "frames" covers drawing, burning subtitles and
# encoding, and "subtitles"/"encode" only mark their end.
_STORY_STAGES = {"plan": 0.02, "voice": 0.13, "frames": 0.78, "subtitles": 0.01, "encode": 0.01, "storyboard": 0.05}
_STORY_START = {k: sum(list(_STORY_STAGES.values())[:i]) for i, k in enumerate(_STORY_STAGES)}


def script_file(text: str, folder: Path) -> Path:
    """Write a client's script into ``folder`` under a name the server picks: ``script.json`` when it
    is a JSON scene list (as the API's check read it), else ``script.txt``. The composer is handed
    this Path: given a one-line str that names a file (e.g. "/etc/passwd") it would read that file."""
    from vidfuse.story.planner import is_json_script

    path = folder / ("script.json" if is_json_script(text) else "script.txt")
    path.write_text(text, encoding="utf-8")
    return path


# An absolute path inside a message: "/" not preceded by a word, a dot or a slash (so not "1/2"
# nor a URL), folders, and a last part (group 1).
_ABS_PATH_RE = re.compile(r"(?<![\w./~-])/(?:[^\s/'\"`:;,()\[\]]+/)+([^\s/'\"`:;,()\[\]]*)")


def public_error(message: str, folders: tuple[Path, ...] = (), named: dict[Path, str] | None = None) -> str:
    """``message`` without the server's paths, for clients: a path in ``named`` becomes its name
    there (e.g. "the script"), one inside one of ``folders`` becomes relative to it, and any other
    absolute path its last part."""
    for path, name in (named or {}).items():
        for form in {str(path), str(path.resolve())}:
            message = message.replace(form, name)
    for folder in folders:
        for form in sorted({str(folder), str(folder.resolve())}, key=len, reverse=True):
            message = message.replace(form + os.sep, "")
    return _ABS_PATH_RE.sub(lambda m: m.group(1) or "/", message)


def _run_script(job: Job, pipe, work: Path, progress: ProgressFn) -> list[str]:
    from vidfuse.media.video_io import read_video
    from vidfuse.story import render_story

    p = job.params
    script = script_file(p["script"], work)
    options = {
        k: p[k]
        for k in (
            "aspect",
            "lang",
            "subtitles",
            "voice",
            "rate",
            "pitch",
            "no_voice",
            "fps",
            "frames",
            "steps",
            "negative_prompt",
            "music",
        )
        if p.get(k) is not None
    }
    if p.get("height"):
        options["size"] = (p["width"], p["height"])

    def story_progress(stage: str, fraction: float) -> None:
        overall = _STORY_START.get(stage, 0.0) + _STORY_STAGES.get(stage, 0.0) * min(max(fraction, 0.0), 1.0)
        progress(stage, 0.97 * overall)

    result = render_story(script, work / VIDEO, pipeline=pipe, seed=p["seed"], progress=story_progress, **options)
    files = []
    # The composer names its side files after the output and says where in its StoryResult; each file is
    # moved to the server's own name for it, inside work/.
    for src, name in ((result.video, VIDEO), (result.srt, SRT), (result.vtt, VTT), (result.storyboard, STORYBOARD)):
        if src is None or not Path(src).is_file():
            continue
        if Path(src).resolve() != (work / name).resolve():
            os.replace(src, work / name)
        files.append(name)
    if VIDEO not in files:
        raise InputError("the story composer wrote no video")
    progress("thumbnail", 0.98)
    frames = read_video(work / VIDEO, num_frames=3)  # (3, H, W, 3): the middle one is past the fade-in
    _save_png(work / THUMB, _thumbnail(frames[1]))
    files.append(THUMB)
    return files


def torch_cuda_available() -> bool:
    """Whether torch sees a GPU, without importing torch where nothing has yet."""
    torch = sys.modules.get("torch")
    return torch is not None and torch.cuda.is_available()


class ModelCache:
    """A worker's models by name: each is loaded when a job first asks for it, and at most
    :data:`MAX_LOADED_MODELS` are kept (least recently used dropped), so one worker serves any number of
    named models with bounded memory. A model that fails to load fails the job that asked for it, and is
    tried again by the next job (the folder may have been fixed)."""

    def __init__(
        self,
        folders: dict[str, str | None],
        default: str,
        *,
        max_loaded: int = MAX_LOADED_MODELS,
        loader: Callable[[str | None], Any] | None = None,
    ):
        self.folders, self.default, self.max_loaded = dict(folders), default, max(1, max_loaded)
        self.loader = loader or self._load
        self.loaded: dict[str, Any] = {}  # insertion order = least recently used first

    @staticmethod
    def _load(folder: str | None):
        from vidfuse.pipeline import TextToVideoPipeline

        pipe = TextToVideoPipeline.from_pretrained(folder)
        return pipe.warmup() if hasattr(pipe, "warmup") else pipe  # the first job pays no first-call costs

    def get(self, name: str | None):
        name = name or self.default
        if name not in self.folders:
            raise InputError(f"this server has no model named {name!r}; it has {', '.join(self.folders)}")
        if name in self.loaded:
            self.loaded[name] = self.loaded.pop(name)  # most recently used
            return self.loaded[name]
        evicted = False
        while len(self.loaded) >= self.max_loaded:
            self.loaded.pop(next(iter(self.loaded)))  # frees its memory once no job holds it
            evicted = True
        if evicted:  # a diffusers pipeline sits in reference cycles: free it before the next one loads
            import gc

            gc.collect()
            if torch_cuda_available():
                import torch

                torch.cuda.empty_cache()
        try:
            pipe = self.loader(self.folders[name])
        except VidfuseError:
            raise
        except Exception as e:
            raise InputError(f"cannot load the model {name}: {e}") from e
        self.loaded[name] = pipe
        return pipe


def _run_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """What a job's client is to be told of the warnings its run raised: the narration's (the voice fell back,
    Chinese read by the English voice), which a submission cannot foresee; the others (unknown words, more
    digits than the model draws) the job's JSON says from its submission already, so they go to the log."""
    from vidfuse.media.speech import LanguageWarning, VoiceFallbackWarning

    said = []
    for w in caught:
        if issubclass(w.category, (LanguageWarning, VoiceFallbackWarning)):
            said.append(str(w.message))
        else:
            log.info("job warning %s: %s", w.category.__name__, w.message)
    return list(dict.fromkeys(said))


def _video_record(path: Path) -> dict[str, Any] | None:
    """The written video as a client gets it: its size (an MP4 pads an odd height or width to even, so it
    may differ by one from the size asked), frame count, rate and length; None (logged) when it cannot be
    read back, which costs the job nothing: the file is what the client asked for."""
    from vidfuse.media.video_io import VideoDecodeError, probe_video

    try:
        info = probe_video(path)
    except VideoDecodeError as e:
        log.warning("cannot read back %s: %s", path, e)
        return None
    return {
        "width": info.width,
        "height": info.height,
        "frames": info.num_frames,
        "fps": round(info.fps, 3),
        "duration_s": round(info.duration_s, 3),
        "audio": info.has_audio,
    }


def run_job(
    store: JobStore,
    job: Job,
    pipe,
    *,
    load_error: BaseException | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> str:
    """Run one claimed job to its end state; returns that state (done, failed, cancelled, lost). ``pipe``:
    a loaded pipeline, or a :class:`ModelCache` that gives the one the job's ``model`` names."""
    work = store.job_dir(job.id) / f".attempt-{job.claim}"
    work.mkdir(parents=True, exist_ok=True)
    progress = _reporter(store, job, should_stop)
    try:
        progress("starting", 0.0)
        if load_error is not None:
            raise load_error
        if isinstance(pipe, ModelCache):
            pipe = pipe.get(job.params.get("model"))
        runner = _run_prompt if job.kind == "prompt" else _run_script
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            files = runner(job, pipe, work, progress)
        recorded = {"video": video} if VIDEO in files and (video := _video_record(work / VIDEO)) else {}
        if said := _run_warnings(caught):
            recorded["run_warnings"] = said
        if store.complete(job.id, job.claim, work, files, recorded):
            return "done"
        return store.get(job.id).status if store.get(job.id) else "lost"
    except JobAborted:
        store.abort(job.id, job.claim)
        return store.get(job.id).status
    except Exception as e:
        if isinstance(e, VidfuseError):
            error = str(e)
        elif isinstance(e, ImportError):
            error = f"this install cannot run {job.kind} jobs: {e}"
        else:  # a bug: keep the worker alive, record it, log the traceback
            log.error("job %s failed:\n%s", job.id, traceback.format_exc())
            error = f"internal error: {type(e).__name__}: {e}"
        # the client sees no server paths; the server's log keeps the full message
        public = public_error(
            error,
            (work, store.job_dir(job.id), store.data_dir),
            {work / "script.json": "the script", work / "script.txt": "the script"},
        )
        if public != error:
            log.info("job %s failed: %s", job.id, error)
        store.fail(job.id, job.claim, public)
        return "failed"
    finally:
        shutil.rmtree(work, ignore_errors=True)
