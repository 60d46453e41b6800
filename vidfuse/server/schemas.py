"""What the API takes and gives: the request body of ``POST /v1/videos``, the limits a request is held
to, and a job as its JSON shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vidfuse.media.video_io import MIN_FPS
from vidfuse.server.datafolder import SRT, STORYBOARD, THUMB, VIDEO, VTT
from vidfuse.server.store import Job, JobStore
from vidfuse.text import first_bad_char

ASPECTS = ("16:9", "9:16", "1:1")  # what the story composer offers
# Fields that only one kind of job (or model) takes.
SCRIPT_ONLY = ("lang", "subtitles", "voice", "rate", "pitch", "no_voice", "music")
PROMPT_ONLY = ("guidance_scale",)
DIFFUSERS_ONLY = ("steps", "negative_prompt")


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; past a limit the API answers 422 and names it."""

    max_prompt_chars: int = 300
    max_script_chars: int = 20_000
    max_frames: int = 128  # prompt jobs
    min_side: int = 16  # pixels, height or width
    max_side: int = 1280
    max_pixels: int = 1280 * 720  # height × width (a 16:9 story is 1280×720)
    max_fps: float = 30.0
    min_rate: int = 80  # narration words per minute
    max_rate: int = 500
    max_guidance_scale: float = 20.0
    max_list: int = 100  # jobs per GET /v1/jobs
    max_body_bytes: int = 1 << 20  # a request body (a 20,000-character script is at most ~240 kB of JSON)


# the command line's hint (--model DIR) in the API's words
HTTP_OPEN_DOMAIN_HINT = (
    'for open-domain video send "model": NAME of a pretrained diffusers model this server offers (GET /v1/models)'
)


class VideoRequest(BaseModel):
    """One clip from a prompt, or a narrated story from a script. Unknown fields are refused, and so are values of
    another JSON type (strict): ``"frames": true`` is not 1 frame, nor ``"seed": "7"`` seed 7, as the Python API
    refuses them too; a whole number is taken where a float is asked."""

    model_config = ConfigDict(extra="forbid", strict=True)

    prompt: str | None = Field(None, description="What the clip shows (one clip).")
    script: str | None = Field(None, description="A story: paragraphs become scenes, narrated and subtitled.")
    aspect: Literal["16:9", "9:16", "1:1"] | None = Field(
        None,
        description="Frame shape. Scripts: 1280×720, 720×1280 or 720×720 (default 16:9). Prompts: the "
        "model's frames stretched to the shape (default: the model's native size).",
    )
    seed: int | None = Field(
        None,
        ge=0,
        le=2**63 - 1,
        description="Same seed, same request → same video. Default: picked by the server and reported in the job.",
    )
    fps: float | None = Field(None, ge=MIN_FPS, allow_inf_nan=False, description="Frames per second (default 8).")
    # prompt jobs
    frames: int | None = Field(
        None,
        ge=1,
        description="Number of frames (default: the model's); script jobs: frames the model makes per scene.",
    )
    steps: int | None = Field(
        None, ge=1, le=1000, description="Denoising steps (pretrained diffusers models; default: the pipeline's)."
    )
    negative_prompt: str | None = Field(
        None, max_length=300, description="What the video should not show (pretrained diffusers models)."
    )
    height: int | None = Field(
        None, description="Output height in pixels (with width, instead of aspect; even for scripts)."
    )
    width: int | None = Field(None, description="Output width in pixels (with height, instead of aspect).")
    guidance_scale: float | None = Field(
        None,
        ge=0,
        allow_inf_nan=False,
        description="Prompt jobs: classifier-free guidance (1 = off; null: the model's default).",
    )
    # script jobs
    lang: Literal["auto", "en", "zh"] | None = Field(None, description="Script jobs: narration language.")
    subtitles: Literal["soft", "burn", "srt", "none"] | None = Field(
        None,
        description="Script jobs: soft = a subtitle track + SRT/VTT files; burn = drawn into the frames "
        "+ files; srt = the files only; none.",
    )
    voice: str | None = Field(
        None,
        description="Script jobs: one of GET /v1/info's voices: en_US-joe-medium "
        "(Piper, the default English voice) or an espeak-ng voice such as en-us (English) or "
        "cmn-latn-pinyin (speaks the Chinese sentences).",
    )
    music: str | None = Field(
        None,
        description="Script jobs: one of GET /v1/info's music: a library mood (calm, "
        "energetic, happy, nostalgic, tender) or none; ducked under the voice.",
    )
    rate: int | None = Field(None, description="Script jobs: narration speed in words per minute.")
    pitch: int | None = Field(None, ge=0, le=99, description="Script jobs: voice pitch 0–99.")
    no_voice: bool | None = Field(None, description="Script jobs: subtitles only, no narration.")
    model: str | None = Field(
        None, max_length=100, description="A model by name (GET /v1/models; default: the server's default model)."
    )

    @field_validator("prompt", "script", "voice", "negative_prompt")
    @classmethod
    def _text_only(cls, value: str | None) -> str | None:
        bad = first_bad_char(value or "")
        if bad is not None:
            i, ch, what = bad
            raise ValueError(
                f"holds {what}, U+{ord(ch):04X}, at character {i + 1}; send plain text "
                "(valid UTF-8, no control characters but tab and newline)"
            )
        return value


class LimitError(Exception):
    """A request past one of the :class:`Limits`: a 422 that names the limit and its maximum."""

    def __init__(self, limit: str, maximum: Any, message: str):
        super().__init__(message)
        self.limit, self.maximum, self.message = limit, maximum, message


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds")


def _title(job: Job, n: int = 80) -> str:
    text = job.params.get("prompt") or next(
        (line.strip() for line in job.params.get("script", "").splitlines() if line.strip()), ""
    )
    return text if len(text) <= n else text[: n - 1] + "…"


def job_json(
    job: Job, *, store: JobStore | None = None, full: bool = True, sign: Callable[[str], str] | None = None
) -> dict[str, Any]:
    """A job as the API shows it; output URLs only once it is done. ``sign`` (a server with a token)
    turns the URLs a browser fetches by itself into signed ones."""
    sign = sign or (lambda url: url)
    base = f"/v1/jobs/{job.id}"
    urls = {"self": base, "events": sign(f"{base}/events")}
    if job.status == "done":
        files = set(job.files)
        for name, key, url in (
            (VIDEO, "video", "/video"),
            (THUMB, "thumbnail", "/thumbnail"),
            (STORYBOARD, "storyboard", "/storyboard"),
            (SRT, "subtitles_srt", "/subtitles?format=srt"),
            (VTT, "subtitles_vtt", "/subtitles?format=vtt"),
        ):
            if name in files:
                urls[key] = sign(base + url)
    out = {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "stage": job.stage,
        "progress": round(100 * job.progress, 1),
        "error": job.error,
        "title": _title(job),
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "attempts": job.attempts,
        "crashes": job.crashes,
        "cancel_requested": job.cancel_requested,
        "urls": urls,
    }
    if job.status == "done" and job.params.get("video"):
        out["video"] = job.params["video"]  # as written: an MP4 pads an odd size asked to even
    out["warnings"] = [job.params["digits_warning"]] if job.params.get("digits_warning") else []
    if job.params.get("unknown_words"):
        from vidfuse.data.vocabulary import unknown_words_message

        message = unknown_words_message(job.params.get("trained_on") or "its captions", job.params["unknown_words"])
        out["warnings"].append(f"{message} — {HTTP_OPEN_DOMAIN_HINT}")
    out["warnings"] += job.params.get("run_warnings", [])  # what the run warned of (the narration's voice)
    if job.status == "queued" and store is not None:
        out["queue_position"] = store.queue_position(job.id)
    if full:
        out["params"] = job.params
    return out
