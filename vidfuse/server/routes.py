"""``vidfuse serve``: an HTTP API and a web page over the persistent job queue in :mod:`.jobs`.

API (all under ``/v1``; with a token, every call needs ``Authorization: Bearer TOKEN``, except the
URLs a browser fetches by itself (``<video>``, ``<img>``, ``<track>``, ``EventSource`` cannot send
headers): a job's JSON gives its media and events URLs signed, ``?exp=…&sig=…``, an HMAC of the
path and an expiry (an hour or so) under a secret made at each start; no token in any URL)::

    POST   /v1/videos                      {"prompt": …} or {"script": …} + options → 202 {"id": …}
    GET    /v1/jobs?limit=20&status=…      recent jobs, newest first, with thumbnail URLs
    GET    /v1/jobs/{id}                   status, progress 0–100, stage, error, output URLs
    DELETE /v1/jobs/{id}                   cancel (queued: at once; running: at the next stage)
    GET    /v1/jobs/{id}/events            progress as server-sent events (text/event-stream)
    GET    /v1/jobs/{id}/video             MP4; HTTP range requests (206) so players can seek
    GET    /v1/jobs/{id}/subtitles?format=srt|vtt
    GET    /v1/jobs/{id}/storyboard        PNG
    GET    /v1/jobs/{id}/thumbnail         PNG
    GET    /v1/info                        limits, worker count, queue, what this install can run (voices,
                                           music moods)

The web page is ``/`` (plain HTML/CSS/JS from ``static/``). ``/docs`` is an offline HTML page made
from the OpenAPI schema (``/openapi.json``); ``/docs/swagger`` is FastAPI's Swagger UI, which loads
its script from a CDN and so needs internet in the browser. Every ``GET`` also answers ``HEAD``.

Before the app reads a byte of a request's body, :class:`_Guard` checks, in this order: the
``Host`` header names this server (``localhost``, ``127.0.0.1``, ``[::1]``, ``--host`` and each
``--allowed-host``; else 400: a DNS-rebinding page cannot reach the API), the token (401), and
the body's size (``Content-Length``, then counted while reading, so chunked bodies too; past
``Limits.max_body_bytes``: 413).
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import html
import importlib.util
import ipaddress
import json
import logging
import math
import os
import random
import re
import secrets
import socket
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from vidfuse.errors import InputError
from vidfuse.media.video_io import MIN_FPS
from vidfuse.server.jobs import (SRT, STORYBOARD, TERMINAL, THUMB, VIDEO, VTT, Job, JobStore, QueueFull, WorkerPool,
                                 retry_after_seconds)
from vidfuse.text import first_bad_char

log = logging.getLogger("vidfuse.server")

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
JOB_ID_RE = re.compile(r"[0-9a-f]{32}")
ASPECTS = ("16:9", "9:16", "1:1")  # what the story composer offers
SCRIPT_ONLY = ("lang", "subtitles", "voice", "rate", "pitch", "no_voice", "music")
PROMPT_ONLY = ("guidance_scale",)
DIFFUSERS_ONLY = ("steps", "negative_prompt")
_SSE_POLL_S = 0.2
_SSE_KEEPALIVE_S = 15.0
_SSE_MAX_S = 3600.0  # a stream ends after an hour; EventSource reconnects by itself
MEDIA_PATH_RE = re.compile(r"/v1/jobs/[0-9a-f]{32}/(?:video|subtitles|storyboard|thumbnail|events)")
MEDIA_URL_TTL_S = 3600          # a signed URL works at least this long…
_SIGNED_EXP_RE, _SIGNED_SIG_RE = re.compile(r"[0-9]{1,12}"), re.compile(r"[0-9a-f]{32}")
_MEDIA_URL_STEP_S = 600         # …and its expiry is rounded up to this, so a re-rendered page keeps its URLs (cache)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_HEAD = "vidfuse.head"          # scope key: this GET was a HEAD; answer with headers only
_PAGE_CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
             "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; past a limit the API answers 422 and names it."""

    max_prompt_chars: int = 300
    max_script_chars: int = 20_000
    max_frames: int = 128          # prompt jobs
    min_side: int = 16             # pixels, height or width
    max_side: int = 1280
    max_pixels: int = 1280 * 720   # height × width (a 16:9 story is 1280×720)
    max_fps: float = 30.0
    min_rate: int = 80             # narration words per minute
    max_rate: int = 500
    max_guidance_scale: float = 20.0
    max_list: int = 100            # jobs per GET /v1/jobs
    max_body_bytes: int = 1 << 20  # a request body (a 20,000-character script is at most ~240 kB of JSON)


class VideoRequest(BaseModel):
    """One clip from a prompt, or a narrated story from a script. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    prompt: str | None = Field(None, description="What the clip shows (one clip).")
    script: str | None = Field(None, description="A story: paragraphs become scenes, narrated and subtitled.")
    aspect: Literal["16:9", "9:16", "1:1"] | None = Field(
        None, description="Frame shape. Scripts: 1280×720, 720×1280 or 720×720 (default 16:9). Prompts: the "
        "model's frames stretched to the shape (default: the model's native size).")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="Same seed, same request → same video. "
                             "Default: picked by the server and reported in the job.")
    fps: float | None = Field(None, ge=MIN_FPS, allow_inf_nan=False, description="Frames per second (default 8).")
    # prompt jobs
    frames: int | None = Field(None, ge=1, description="Number of frames (default: the model's); script jobs: "
                               "frames the model makes per scene.")
    steps: int | None = Field(None, ge=1, le=1000, description="Denoising steps (pretrained diffusers models; "
                              "default: the pipeline's).")
    negative_prompt: str | None = Field(None, max_length=300, description="What the video should not show "
                                        "(pretrained diffusers models).")
    height: int | None = Field(None, description="Output height in pixels (with width, instead of aspect; "
                               "even for scripts).")
    width: int | None = Field(None, description="Output width in pixels (with height, instead of aspect).")
    guidance_scale: float | None = Field(None, ge=0, allow_inf_nan=False, description="Prompt jobs: classifier-free "
                                         "guidance (1 = off; null: the model's default).")
    # script jobs
    lang: Literal["auto", "en", "zh"] | None = Field(None, description="Script jobs: narration language.")
    subtitles: Literal["soft", "burn", "srt", "none"] | None = Field(
        None, description="Script jobs: soft = a subtitle track + SRT/VTT files; burn = drawn into the frames "
        "+ files; srt = the files only; none.")
    voice: str | None = Field(None, description="Script jobs: one of GET /v1/info's voices: en_US-joe-medium "
                              "(Piper, the default English voice) or an espeak-ng voice such as en-us (English) or "
                              "cmn-latn-pinyin (speaks the Chinese sentences).")
    music: str | None = Field(None, description="Script jobs: one of GET /v1/info's music: a library mood (calm, "
                              "energetic, happy, nostalgic, tender) or none; ducked under the voice.")
    rate: int | None = Field(None, description="Script jobs: narration speed in words per minute.")
    pitch: int | None = Field(None, ge=0, le=99, description="Script jobs: voice pitch 0–99.")
    no_voice: bool | None = Field(None, description="Script jobs: subtitles only, no narration.")
    model: str | None = Field(None, max_length=100, description="A model by name (GET /v1/models; default: the "
                              "server's default model).")

    @field_validator("prompt", "script", "voice", "negative_prompt")
    @classmethod
    def _text_only(cls, value: str | None) -> str | None:
        bad = first_bad_char(value or "")
        if bad is not None:
            i, ch, what = bad
            raise ValueError(f"holds {what}, U+{ord(ch):04X}, at character {i + 1}; send plain text "
                             "(valid UTF-8, no control characters but tab and newline)")
        return value


class LimitError(Exception):
    def __init__(self, limit: str, maximum: Any, message: str):
        super().__init__(message)
        self.limit, self.maximum, self.message = limit, maximum, message


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds")


def _title(job: Job, n: int = 80) -> str:
    text = job.params.get("prompt") or next((l.strip() for l in job.params.get("script", "").splitlines()
                                             if l.strip()), "")
    return text if len(text) <= n else text[: n - 1] + "…"


def job_json(job: Job, *, store: JobStore | None = None, full: bool = True,
             sign: Callable[[str], str] | None = None) -> dict[str, Any]:
    """A job as the API shows it; output URLs only once it is done. ``sign`` (a server with a token)
    turns the URLs a browser fetches by itself into signed ones."""
    sign = sign or (lambda url: url)
    base = f"/v1/jobs/{job.id}"
    urls = {"self": base, "events": sign(f"{base}/events")}
    if job.status == "done":
        files = set(job.files)
        for name, key, url in ((VIDEO, "video", "/video"), (THUMB, "thumbnail", "/thumbnail"),
                               (STORYBOARD, "storyboard", "/storyboard"), (SRT, "subtitles_srt", "/subtitles?format=srt"),
                               (VTT, "subtitles_vtt", "/subtitles?format=vtt")):
            if name in files:
                urls[key] = sign(base + url)
    out = {
        "id": job.id, "kind": job.kind, "status": job.status, "stage": job.stage,
        "progress": round(100 * job.progress, 1), "error": job.error, "title": _title(job),
        "created_at": _iso(job.created_at), "started_at": _iso(job.started_at), "finished_at": _iso(job.finished_at),
        "attempts": job.attempts, "crashes": job.crashes, "cancel_requested": job.cancel_requested, "urls": urls,
    }
    if job.params.get("unknown_words"):
        from vidfuse.data.vocabulary import OPEN_DOMAIN_HINT, unknown_words_message

        out["warnings"] = [f"{unknown_words_message(job.params.get('trained_on') or 'its captions', job.params['unknown_words'])}"
                           f" — {OPEN_DOMAIN_HINT}"]
    else:
        out["warnings"] = []
    if job.status == "queued" and store is not None:
        out["queue_position"] = store.queue_position(job.id)
    if full:
        out["params"] = job.params
    return out


class _Served:
    """A model the server offers: its :class:`~vidfuse.catalog.ModelInfo` and, for a vidfuse model, its
    tokenizer (loaded on first use) so that an over-long prompt is refused before it is queued."""

    def __init__(self, info, worker_folder: str | None):
        self.info, self.worker_folder = info, worker_folder
        self._tokenizer, self._cfg = False, None

    @property
    def tokenizer(self):
        if self._tokenizer is False:
            self._tokenizer = None
            if self.info.backend == "vidfuse":
                from vidfuse.config import ModelConfig
                from vidfuse.pipeline import CONFIG_NAME, load_tokenizer

                try:
                    self._cfg = ModelConfig.from_dict(json.loads((self.info.path / CONFIG_NAME).read_text("utf-8")))
                    self._tokenizer = load_tokenizer(self._cfg, self.info.path)
                except Exception as e:  # the workers will report it per job; the API just skips its early check
                    log.warning("cannot load the tokenizer of %s for early prompt checks: %s", self.info.name, e)
        return self._tokenizer

    @property
    def max_text_len(self) -> int | None:
        return self._cfg.max_text_len if self.tokenizer is not None else None

    def note_unknown_words(self, params: dict[str, Any], prompts: list[str]) -> None:
        """Record in ``params`` the words of ``prompts`` the model never saw (``unknown_words``) and what it
        was trained on, so the job's JSON and the page can say so (``warnings``)."""
        vocab = None
        if self.tokenizer is not None:
            from vidfuse.data.vocabulary import Vocabulary

            vocab = Vocabulary.from_tokenizer(self.tokenizer)
        words = list(dict.fromkeys(w for p in prompts if p for w in vocab.unknown_words(p))) if vocab else []
        if words:
            params.update(unknown_words=words, trained_on=vocab.trained_on)

    def public(self, default: str) -> dict[str, Any]:
        """What GET /v1/models shows of it: no server paths."""
        out = {k: v for k, v in self.info.to_json().items() if k not in ("path", "extra", "problem")}
        out.update(self.info.extra, default=self.info.name == default)
        return out


def _served_models(model: str | os.PathLike | None, models_dir: str | os.PathLike | None
                   ) -> tuple[dict[str, _Served], str]:
    """The models this server offers by name — the built-in one (``default``), every model folder in the
    models folder, and ``model`` when it names a folder elsewhere — and the name of its default model.
    :class:`InputError` at once when ``model`` is missing or unusable."""
    from vidfuse.catalog import BUILTIN, describe, find_model, list_models
    from vidfuse.pipeline import resolve_model_dir

    folder = find_model(model, models_dir)
    if folder is None or not (Path(folder) / "model_index.json").is_file():
        folder = resolve_model_dir(folder)  # checks a vidfuse folder (or the default) before anything runs
    served = {m.name: _Served(m, None if m.builtin else str(m.path.resolve()))
              for m in list_models(models_dir) if m.problem is None}
    if model in (None, BUILTIN):
        default = BUILTIN
    else:
        match = next((n for n, m in served.items() if m.info.path.resolve() == Path(folder).resolve()), None)
        if match is None:
            info = describe(folder)
            if info.problem is not None:
                raise InputError(f"model folder {folder}: {info.problem}")
            match = info.name if info.name not in served else f"{info.name}-{len(served)}"
            info.name = match
            served[match] = _Served(info, str(Path(folder).resolve()))
        default = match
    return served, default


def _size_for_aspect(aspect: str, native_h: int, native_w: int) -> tuple[int, int]:
    """Keep the model's short side, stretch the other to the aspect; even sizes for H.264."""
    a, b = (int(x) for x in aspect.split(":"))
    if a >= b:
        h = native_h
        return h, 2 * round(h * a / b / 2)
    w = native_w
    return 2 * round(w * b / a / 2), w


def _check_size(req: VideoRequest, limits: Limits, *, even: bool) -> tuple[int | None, int | None]:
    """Explicit height/width against the limits (None, None when not given)."""
    if (req.height is None) != (req.width is None):
        raise HTTPException(422, "give both height and width, or neither")
    if req.height is None:
        return None, None
    if req.aspect is not None:
        raise HTTPException(422, "give aspect or height/width, not both")
    for name, v in (("height", req.height), ("width", req.width)):
        if v > limits.max_side:
            raise LimitError("max_side", limits.max_side, f"{name}={v} is over the limit of {limits.max_side} "
                             "pixels (max_side)")
        if v < limits.min_side:
            raise LimitError("min_side", limits.min_side, f"{name}={v} is under the minimum of {limits.min_side} "
                             "pixels (min_side)")
        if even and v % 2:
            raise HTTPException(422, f"{name}={v}: a story needs even sizes (H.264 4:2:0)")
    if req.height * req.width > limits.max_pixels:
        raise LimitError("max_pixels", limits.max_pixels, f"{req.width}×{req.height} = {req.width * req.height} "
                         f"pixels is over the limit of {limits.max_pixels} pixels a frame (max_pixels)")
    return req.height, req.width


def _check_request(req: VideoRequest, limits: Limits, served: dict[str, _Served], default: str
                   ) -> tuple[str, dict[str, Any]]:
    """Validate against the limits; returns (kind, params to store). Raises LimitError / HTTPException(422)."""
    given = req.model_dump(exclude_none=True)
    name = req.model or default
    if name not in served:
        raise HTTPException(422, f"model {name!r} is not served here; the models: {', '.join(served)} "
                                 "(GET /v1/models)")
    chosen = served[name]
    tokenizer = chosen.tokenizer
    if chosen.info.backend != "diffusers":
        wrong = [k for k in DIFFUSERS_ONLY if k in given]
        if wrong:
            raise HTTPException(422, f"{', '.join(wrong)}: for pretrained diffusers models; the model {name!r} "
                                     "has no such option")
    if req.frames is not None and req.frames > limits.max_frames:
        raise LimitError("max_frames", limits.max_frames,
                         f"frames={req.frames} is over the limit of {limits.max_frames} (max_frames)")
    prompt = (req.prompt or "").strip()
    script = (req.script or "").strip()
    if bool(prompt) == bool(script):
        raise HTTPException(422, "send exactly one of a non-empty 'prompt' (one clip) or 'script' (a story)")
    if req.fps is not None and req.fps > limits.max_fps:
        raise LimitError("max_fps", limits.max_fps, f"fps={req.fps} is over the limit of {limits.max_fps} (max_fps)")
    if prompt:
        if len(prompt) > limits.max_prompt_chars:
            raise LimitError("max_prompt_chars", limits.max_prompt_chars,
                             f"the prompt is {len(prompt)} characters; the limit is {limits.max_prompt_chars} "
                             "(max_prompt_chars); for longer text send a 'script'")
        wrong = [k for k in SCRIPT_ONLY if k in given]
        if wrong:
            raise HTTPException(422, f"{', '.join(wrong)}: for script jobs only")
        if tokenizer is not None:
            try:
                tokenizer.encode([prompt])
            except InputError as e:
                raise LimitError("max_text_len", chosen.max_text_len, f"{e} (the model's max_text_len)") from None
        if req.guidance_scale is not None and req.guidance_scale > limits.max_guidance_scale:
            raise LimitError("max_guidance_scale", limits.max_guidance_scale, f"guidance_scale={req.guidance_scale} "
                             f"is over {limits.max_guidance_scale} (max_guidance_scale)")
        height, width = _check_size(req, limits, even=False)
        if req.aspect is not None:
            height, width = _size_for_aspect(req.aspect, chosen.info.height, chosen.info.width)
        params = {"prompt": prompt, "frames": req.frames, "height": height, "width": width, "aspect": req.aspect,
                  "guidance_scale": req.guidance_scale}
        kind = "prompt"
    else:
        if len(script) > limits.max_script_chars:
            raise LimitError("max_script_chars", limits.max_script_chars,
                             f"the script is {len(script)} characters; the limit is {limits.max_script_chars} "
                             "(max_script_chars); split it into several stories")
        wrong = [k for k in PROMPT_ONLY if k in given]
        if wrong:
            raise HTTPException(422, f"{', '.join(wrong)}: for prompt jobs only")
        if req.voice is not None and req.voice not in (allowed := [v["voice"] for v in _voice_options()]):
            raise HTTPException(422, f"voice must be one of {', '.join(allowed)} (GET /v1/info: voices), "
                                     f"not {req.voice[:64]!r}" if allowed else "no voice is installed: send no_voice")
        if req.music is not None and req.music not in _music_options():
            raise HTTPException(422, f"music must be one of {', '.join(_music_options())}, not {req.music[:64]!r}")
        if req.rate is not None and not limits.min_rate <= req.rate <= limits.max_rate:
            over = req.rate > limits.max_rate
            raise LimitError("max_rate" if over else "min_rate", limits.max_rate if over else limits.min_rate,
                             f"rate={req.rate} words a minute is outside {limits.min_rate}–{limits.max_rate} "
                             "(min_rate, max_rate)")
        height, width = _check_size(req, limits, even=True)
        params = {"script": script, "aspect": req.aspect or "16:9", "height": height, "width": width,
                  "lang": req.lang or "auto", "subtitles": req.subtitles or "soft", "voice": req.voice,
                  "rate": req.rate, "pitch": req.pitch, "no_voice": bool(req.no_voice), "frames": req.frames,
                  "music": req.music}
        kind = "script"
    params.update(model=name, steps=req.steps, negative_prompt=req.negative_prompt)
    params["fps"] = req.fps or (8.0 if kind == "script" else chosen.info.fps)
    params["seed"] = req.seed if req.seed is not None else random.SystemRandom().randrange(2**31)
    return kind, params


def _check_story(params: dict[str, Any]) -> list:
    """Plan the script now, with the story planner's own parsing and limits (scenes, lengths), so
    that a script the worker could not render is a 422 now rather than a failed job later."""
    from vidfuse.story.planner import validate_script

    try:
        # without a voice the composer ignores the rate, so the limits must too
        return validate_script(params["script"], lang=params["lang"],
                               rate=None if params.get("no_voice") else params["rate"])
    except InputError as e:
        raise HTTPException(422, str(e)) from None


class MediaSigner:
    """Signed URLs for what a browser fetches by itself: ``?exp=UNIX&sig=HMAC-SHA256(path, exp)``
    under a secret made when the server starts (a restart invalidates them; the page asks again)."""

    def __init__(self, secret: bytes | None = None, ttl_s: int = MEDIA_URL_TTL_S):
        self._secret = secret or secrets.token_bytes(32)
        self.ttl_s = ttl_s

    def _sig(self, path: str, exp: int) -> str:
        return hmac.new(self._secret, f"{path}\n{exp}".encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def sign(self, url: str, now: float | None = None) -> str:
        path, _, query = url.partition("?")
        exp = (int((time.time() if now is None else now) + self.ttl_s) // _MEDIA_URL_STEP_S + 1) * _MEDIA_URL_STEP_S
        return f"{path}?{query + '&' if query else ''}exp={exp}&sig={self._sig(path, exp)}"

    def verify(self, path: str, query_string: bytes, now: float | None = None) -> bool:
        query = parse_qs(query_string.decode("latin-1"))
        exp, sig = query.get("exp", [""])[-1], query.get("sig", [""])[-1]
        # ASCII digits and hex only: str.isdigit() takes "²", which int() refuses, and a sig outside
        # Latin-1 cannot be compared as bytes; either would be a 500 for an unauthenticated request
        if not _SIGNED_EXP_RE.fullmatch(exp) or not _SIGNED_SIG_RE.fullmatch(sig):
            return False
        if int(exp) < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(sig.encode("ascii"), self._sig(path, int(exp)).encode("ascii"))


def _host_name(value: str) -> str:
    """The host name of a Host header or a configured name: lower case, no port, no brackets, no final dot."""
    value = value.strip().lower()
    if value.startswith("["):
        value = value[1:value.find("]")] if "]" in value else value[1:]
    elif value.count(":") == 1:
        value = value.split(":")[0]
    return value.rstrip(".")


def _allowed_hosts(extra: Iterable[str]) -> frozenset[str] | None:
    """The loopback names plus ``extra``; None (any Host) when ``extra`` holds ``*``."""
    names = set(LOOPBACK_HOSTS)
    for value in extra:
        if value.strip() == "*":
            return None
        name = _host_name(value)
        if not name or re.search(r"[\s/@?#]", name):
            raise InputError(f"allowed host {value!r} is not a host name; give a name or an address, "
                             "e.g. --allowed-host video.example.org or --allowed-host 192.168.1.20")
        names.add(name)
    return frozenset(names)


def _printable(text: str, n: int = 100) -> str:
    return re.sub(r"[^\x21-\x7e]", "?", text)[:n]


async def _answer(send, status: int, body: dict[str, Any], *, headers: Iterable[tuple[str, str]] = (),
                  close: bool = False) -> None:
    """A JSON answer sent by the guard itself; ``close`` when the request's body was left unread."""
    data = json.dumps(body, ensure_ascii=True).encode("ascii")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode("ascii"))]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    if close:
        raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data, "more_body": False})


class _Guard:
    """Pure ASGI middleware in front of the whole app; see the module docstring. It also answers HEAD
    as GET without the body (FastAPI routes only match GET) and adds the security headers."""

    def __init__(self, app, *, hosts: frozenset[str] | None, token: str | None, signer: MediaSigner,
                 max_body: int):
        self.app, self.hosts, self.signer, self.max_body = app, hosts, signer, max_body
        self.token = token.encode("utf-8") if token else None

    def _authorised(self, scope, headers: dict[bytes, bytes]) -> bool:
        scheme, _, value = headers.get(b"authorization", b"").partition(b" ")
        if scheme.lower() == b"bearer" and value.strip():
            return hmac.compare_digest(value.strip(), self.token)
        if scope["method"] in ("GET", "HEAD") and MEDIA_PATH_RE.fullmatch(scope["path"]):
            return self.signer.verify(scope["path"], scope.get("query_string", b""))
        return False

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        outer_send = send

        async def send(message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in ((b"x-content-type-options", b"nosniff"),
                                             (b"referrer-policy", b"no-referrer")) if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await outer_send(message)

        headers: dict[bytes, bytes] = {}
        for k, v in scope.get("headers", []):
            headers.setdefault(k.lower(), v)
        length = headers.get(b"content-length")
        has_body = (length not in (None, b"0")) or b"chunked" in headers.get(b"transfer-encoding", b"").lower()

        host = _host_name(headers.get(b"host", b"").decode("latin-1"))
        if self.hosts is not None and host not in self.hosts:
            await _answer(send, 400, {"detail": f"this server does not answer to the host name '{_printable(host)}' "
                                      "(a page of another site may not use it); open it by a name it was started "
                                      "with, or restart it with --allowed-host NAME"}, close=has_body)
            return
        path = scope["path"]
        api = path == "/v1" or path.startswith("/v1/")
        if self.token is not None and api and not self._authorised(scope, headers):
            detail = "this server needs a token: send 'Authorization: Bearer TOKEN'"
            if MEDIA_PATH_RE.fullmatch(path):
                detail += ", or use the signed URL in the job's JSON (it expires after an hour or so)"
            await _answer(send, 401, {"detail": detail}, headers=[("WWW-Authenticate", 'Bearer realm="vidfuse"')],
                          close=has_body)
            return
        too_big = {"detail": f"the request body is over {self.max_body:,} bytes, the limit (max_body_bytes); "
                             "send a shorter prompt or script", "limit": "max_body_bytes", "max": self.max_body}
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _answer(send, 413, too_big, close=True)
            return
        chunks, size = [], 0  # read the body here, counting, so that a chunked one is bounded too
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _answer(send, 413, too_big, close=True)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, replayed, finished = b"".join(chunks), [], []

        async def replay():
            if not replayed:
                replayed.append(True)
                return {"type": "http.request", "body": body, "more_body": False}
            if finished:  # a HEAD answer is complete: a streaming GET behind it must stop
                return {"type": "http.disconnect"}
            return await receive()

        if scope["method"] == "HEAD":
            scope = {**scope, "method": "GET", _HEAD: True}
            inner_send = send

            async def send(message) -> None:
                if message["type"] == "http.response.start":
                    await inner_send(message)
                elif message["type"] == "http.response.body" and not finished:
                    finished.append(True)
                    await inner_send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app(scope, replay, send)


class _FileResponse(FileResponse):
    """A FileResponse that, for a HEAD the guard turned into GET, sends the headers without reading the file."""

    async def __call__(self, scope, receive, send) -> None:
        if scope.get(_HEAD):
            scope = {**scope, "method": "HEAD"}
        await super().__call__(scope, receive, send)


def _json_safe(value: Any) -> Any:
    """A validation error's details made JSON-encodable: NaN/Infinity as text, lone surrogates escaped."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_json_safe(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


@contextlib.contextmanager
def _data_dir_lock(data_dir: Path) -> Iterator[None]:
    """One server per data folder: a second one would re-queue the first one's running jobs."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    path = data_dir / "server.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = Path(path).read_text().strip() or "?"
            raise InputError(f"another vidfuse server (pid {other}) is using {data_dir}; stop it or pick "
                             "another --data-dir") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)  # releases the lock


def create_app(*, data_dir: str | os.PathLike, model: str | os.PathLike | None = None,
               models_dir: str | os.PathLike | None = None, token: str | None = None,
               workers: int = 1, queue_size: int = 16, limits: Limits | None = None,
               max_crashes: int = 2, allowed_hosts: Iterable[str] = ()) -> FastAPI:
    """The FastAPI app: API, web page and (while it runs) a pool of ``workers`` processes.

    ``workers=0`` accepts and stores jobs without running any (for tests, or to drain a queue
    later). ``allowed_hosts``: host names clients may use besides localhost, 127.0.0.1 and [::1]
    (``"*"``: any). ``max_crashes``: a job whose worker process dies this many times while running
    it fails (see :mod:`vidfuse.server.jobs`). Raises :class:`InputError` at once when the model
    folder is missing. The job database is checked and repaired when the app starts (lifespan).
    """
    if workers < 0 or queue_size < 1:
        raise InputError(f"workers must be >= 0 and queue_size >= 1 (got {workers}, {queue_size})")
    limits = limits or Limits()
    hosts = _allowed_hosts(allowed_hosts)
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    served, default_model = _served_models(model, models_dir)
    store = JobStore(data_dir, max_crashes=max_crashes, create=False)
    signer = MediaSigner()

    def as_json(job: Job, full: bool = True) -> dict[str, Any]:
        return job_json(job, store=store, full=full, sign=signer.sign if token else None)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        with _data_dir_lock(data_dir):
            store.startup()
            recovered = store.recover()
            if recovered:
                log.info("re-queued %d job(s) left running by the last server", len(recovered))
            pool = (WorkerPool(store, models={n: m.worker_folder for n, m in served.items()}, default=default_model,
                               workers=workers) if workers else None)
            app.state.pool = pool
            if pool:
                pool.start()
            try:
                yield
            finally:
                if pool:
                    await asyncio.to_thread(pool.stop)

    app = FastAPI(title="vidfuse", version=_version(), lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Text to video: submit a prompt or a script, follow the job, download the MP4.")
    app.state.store, app.state.limits, app.state.pool, app.state.signer = store, limits, None, signer
    app.add_middleware(_Guard, hosts=hosts, token=token, signer=signer, max_body=limits.max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        # Not the input: it may be NaN (not JSON), hold a lone surrogate (not UTF-8) or be 20,000 characters.
        errors = [{k: v for k, v in e.items() if k not in ("input", "url")} for e in exc.errors()]
        errors = _json_safe(jsonable_encoder(errors, custom_encoder={Exception: str}))
        for e in errors:
            e["msg"] = str(e.get("msg", "")).removeprefix("Value error, ")
            if e.get("type") == "string_unicode":  # a lone surrogate outside the fields we check, e.g. in a key
                e["msg"] = "holds a lone surrogate (half of a UTF-16 pair), which is not text; send valid UTF-8"
        text = "; ".join(f"{'.'.join(str(x) for x in e.get('loc', ())[1:]) or 'body'}: {e.get('msg')}" for e in errors)
        return JSONResponse({"detail": text, "errors": errors}, status_code=422)

    @app.exception_handler(LimitError)
    async def _limit(request: Request, exc: LimitError):
        return JSONResponse({"detail": exc.message, "limit": exc.limit, "max": exc.maximum}, status_code=422)

    # ---- the page -----------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def page() -> Response:
        return Response((STATIC_DIR / "index.html").read_bytes(), media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": _PAGE_CSP, "Cache-Control": "no-cache"})

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC_FILES:  # a fixed list: nothing else in (or outside) the package is served
            raise HTTPException(404, "no such file")
        return Response((STATIC_DIR / name).read_bytes(), media_type=STATIC_FILES[name],
                        headers={"Cache-Control": "no-cache"})

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(_offline_docs(app.openapi()))

    @app.get("/docs/swagger", include_in_schema=False)
    def swagger() -> HTMLResponse:
        from fastapi.openapi.docs import get_swagger_ui_html

        return get_swagger_ui_html(openapi_url="/openapi.json", title="vidfuse API (Swagger UI, needs internet)")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # ---- the API ------------------------------------------------------------------------------
    v1 = APIRouter(prefix="/v1")  # the token is checked by _Guard, before the body is read

    def job_or_404(job_id: str) -> Job:
        job = store.get(job_id) if JOB_ID_RE.fullmatch(job_id) else None
        if job is None:
            raise HTTPException(404, "no such job")
        return job

    def job_file(job_id: str, name: str, media_type: str, download: str | None = None) -> FileResponse:
        job = job_or_404(job_id)
        if job.status != "done":
            raise HTTPException(409, f"the job is {job.status}; its files exist once it is done")
        if name not in job.files:
            raise HTTPException(404, f"this {job.kind} job has no {name}")
        path = (store.job_dir(job.id) / name).resolve()
        if data_dir not in path.parents or not path.is_file():  # belt and braces: ids are hex, names fixed
            raise HTTPException(404, "no such file")
        return _FileResponse(path, media_type=media_type, filename=download,
                            content_disposition_type="attachment" if download else "inline",
                            headers={"Cache-Control": "private, max-age=86400"})

    @v1.get("/info")
    def info(request: Request) -> dict[str, Any]:
        """Limits, workers, queue and what this install can run (script jobs need the story composer)."""
        pool = request.app.state.pool
        return {"version": _version(), "workers": pool.alive() if pool else 0, "queue_size": queue_size,
                "counts": store.counts(), "limits": asdict(limits), "aspects": list(ASPECTS),
                "script_jobs": _compose_available(), "model": default_model,
                "voices": _voice_options(), "music": _music_options(),
                "native": {"height": served[default_model].info.height, "width": served[default_model].info.width,
                           "frames": served[default_model].info.frames}}

    @v1.get("/models")
    def models() -> dict[str, Any]:
        """The models this server offers ("model" in POST /v1/videos), each with its family, what it does,
        native size, frames and fps, rounding steps and size on disk."""
        return {"default": default_model, "models": [m.public(default_model) for m in served.values()]}

    @v1.post("/videos", status_code=202)
    def submit(req: VideoRequest, request: Request, response: Response) -> dict[str, Any]:
        """Queue one job; the row is committed before this answers 202. 429 when the queue is full."""
        kind, params = _check_request(req, limits, served, default_model)
        prompts = [params.get("prompt")]
        if kind == "script":
            if not _compose_available():
                raise HTTPException(501, "this install has no story composer (vidfuse.story.compose); send a prompt")
            prompts = [scene.prompt for scene in _check_story(params)]
        served[params["model"]].note_unknown_words(params, prompts)
        try:
            job_id = store.create(kind, params, queue_size=queue_size)
        except QueueFull as e:
            retry = retry_after_seconds(store, workers)
            raise HTTPException(429, str(e), headers={"Retry-After": str(retry)}) from None
        pool = request.app.state.pool
        if pool:
            pool.notify()
        response.headers["Location"] = f"/v1/jobs/{job_id}"
        return as_json(store.get(job_id))

    @v1.get("/jobs")
    def jobs(limit: int = Query(20, ge=1), status: Literal["queued", "running", "done", "failed", "cancelled"]
             | None = None) -> dict[str, Any]:
        """Recent jobs, newest first (without their full parameters)."""
        if limit > limits.max_list:
            raise LimitError("max_list", limits.max_list, f"limit={limit} is over {limits.max_list} (max_list)")
        return {"jobs": [as_json(j, full=False) for j in store.list(limit=limit, status=status)],
                "counts": store.counts()}

    @v1.get("/jobs/{job_id}")
    def job(job_id: str) -> dict[str, Any]:
        return as_json(job_or_404(job_id))

    @v1.delete("/jobs/{job_id}")
    def cancel(job_id: str) -> dict[str, Any]:
        """Cancel: a queued job at once; a running one when its worker reaches the next stage."""
        job = job_or_404(job_id)
        if job.status in ("done", "failed"):
            raise HTTPException(409, f"the job is already {job.status}; nothing to cancel")
        return as_json(store.cancel(job.id))

    @v1.get("/jobs/{job_id}/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
    async def events(job_id: str, request: Request) -> StreamingResponse:
        """Server-sent events: ``progress`` while it runs, then one ``done``/``failed``/``cancelled``; then the stream ends."""
        job_or_404(job_id)

        async def stream():
            yield f"retry: 1000\n\n"
            last, t0, beat = None, time.monotonic(), time.monotonic()
            while time.monotonic() - t0 < _SSE_MAX_S:
                job = await asyncio.to_thread(store.get, job_id)
                state = (job.status, job.stage, round(job.progress, 3), job.cancel_requested)
                if state != last:
                    last, beat = state, time.monotonic()
                    name = job.status if job.status in TERMINAL else "progress"
                    body = await asyncio.to_thread(as_json, job, False)
                    yield f"event: {name}\ndata: {json.dumps(body, ensure_ascii=False)}\n\n"
                    if job.status in TERMINAL:
                        return
                elif time.monotonic() - beat > _SSE_KEEPALIVE_S:
                    beat = time.monotonic()
                    yield ": keep-alive\n\n"
                if await request.is_disconnected():
                    return
                await asyncio.sleep(_SSE_POLL_S)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @v1.get("/jobs/{job_id}/video", response_class=FileResponse, responses={200: {"content": {"video/mp4": {}}}})
    def video(job_id: str, download: bool = False) -> FileResponse:
        """The MP4 (H.264, AAC when narrated). Supports ``Range`` (206 Partial Content)."""
        return job_file(job_id, VIDEO, "video/mp4", f"vidfuse-{job_id[:8]}.mp4" if download else None)

    @v1.get("/jobs/{job_id}/subtitles", response_class=FileResponse)
    def subtitles(job_id: str, format: Literal["srt", "vtt"] = "vtt", download: bool = False) -> FileResponse:
        """Script jobs: the subtitles as SubRip (srt) or WebVTT (vtt)."""
        name, media = (SRT, "application/x-subrip; charset=utf-8") if format == "srt" else (VTT, "text/vtt; charset=utf-8")
        return job_file(job_id, name, media, f"vidfuse-{job_id[:8]}.{format}" if download else None)

    @v1.get("/jobs/{job_id}/storyboard", response_class=FileResponse, responses={200: {"content": {"image/png": {}}}})
    def storyboard(job_id: str) -> FileResponse:
        """A PNG: one row of frames per scene (a prompt job: its one clip)."""
        return job_file(job_id, STORYBOARD, "image/png")

    @v1.get("/jobs/{job_id}/thumbnail", response_class=FileResponse, responses={200: {"content": {"image/png": {}}}})
    def thumbnail(job_id: str) -> FileResponse:
        """A small PNG of one frame, for job lists."""
        return job_file(job_id, THUMB, "image/png")

    app.include_router(v1)
    return app


def _version() -> str:
    from vidfuse import __version__

    return __version__


def _compose_available() -> bool:
    return importlib.util.find_spec("vidfuse.story.compose") is not None


@functools.lru_cache(maxsize=1)
def _voice_options() -> list[dict[str, Any]]:
    """The voices a script job may name (``voice``), as GET /v1/info lists them: the value to send, its
    engine, language and name, and whether it is the default; a Piper voice by name, never its path.
    Asked once per process (espeak-ng lists its voices by running)."""
    from vidfuse.media.speech import installed_voices

    out: dict[str, dict[str, Any]] = {}
    for v in installed_voices():
        value = v.name if v.engine == "piper" else v.voice
        out.setdefault(value, {"voice": value, "engine": v.engine, "language": v.language, "name": v.name,
                               "default": v.default})
    return list(out.values())


def _music_options() -> list[str]:
    """What ``music`` may be: the library's moods, then none."""
    from vidfuse.story.music import MUSIC_NONE, moods

    return moods() + [MUSIC_NONE]


def _offline_docs(spec: dict[str, Any]) -> str:
    """The OpenAPI schema as one self-contained HTML page (no scripts, nothing fetched)."""
    esc = html.escape
    rows = []
    for path, ops in spec.get("paths", {}).items():
        for method, op in ops.items():
            params = "".join(
                f"<li><code>{esc(p['name'])}</code> ({esc(p['in'])}{', required' if p.get('required') else ''})"
                f"{': ' + esc(p.get('description', '')) if p.get('description') else ''}</li>"
                for p in op.get("parameters", []))
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            body_html = f"<p>JSON body: <a href='#{esc(body['$ref'].split('/')[-1])}'>{esc(body['$ref'].split('/')[-1])}</a></p>" \
                if "$ref" in body else ""
            codes = ", ".join(esc(c) for c in op.get("responses", {}))
            rows.append(f"<section><h3><span class='m {esc(method)}'>{esc(method.upper())}</span> <code>{esc(path)}</code></h3>"
                        f"<p>{esc(op.get('summary', ''))}</p><p class='d'>{esc(op.get('description', ''))}</p>"
                        f"{'<ul>' + params + '</ul>' if params else ''}{body_html}<p class='d'>Responses: {codes}</p></section>")
    schemas = "".join(f"<h3 id='{esc(name)}'>{esc(name)}</h3><pre>{esc(json.dumps(s, indent=2))}</pre>"
                      for name, s in spec.get("components", {}).get("schemas", {}).items())
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>vidfuse API</title>
<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2330}}
section{{border:1px solid #dde2ea;border-radius:10px;padding:.2rem 1rem;margin:.8rem 0}}
.m{{display:inline-block;min-width:4.5rem;text-align:center;border-radius:6px;color:#fff;font-size:.8rem;padding:.1rem .4rem}}
.get{{background:#2f7de1}}.post{{background:#1f9d62}}.delete{{background:#d2453c}}.d{{color:#5b6475}}
pre{{background:#f4f6fa;padding:.8rem;border-radius:8px;overflow:auto;font-size:.8rem}}</style></head><body>
<h1>{esc(spec.get('info', {}).get('title', 'API'))} {esc(spec.get('info', {}).get('version', ''))}</h1>
<p>{esc(spec.get('info', {}).get('description', ''))}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a>. Interactive Swagger UI (loads from a CDN, needs
internet): <a href="/docs/swagger">/docs/swagger</a>. With a token, send <code>Authorization: Bearer TOKEN</code>.</p>
<h2>Endpoints</h2>{''.join(rows)}<h2>Schemas</h2>{schemas}</body></html>"""


class _RedactToken(logging.Filter):
    """Keep ``access_token=…`` out of the access log."""

    _re = re.compile(r"(access_token=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(self._re.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        return True


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(host: str = "127.0.0.1", port: int = 8000, allowed_hosts: Iterable[str] = (), **kwargs) -> None:
    """Run the app under uvicorn until interrupted (``vidfuse serve``); ``kwargs`` go to :func:`create_app`.

    Clients must name the server by ``host``, a loopback name or one of ``allowed_hosts`` (``*``: any)."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not _is_loopback(host) and not kwargs.get("token"):
        log.warning("listening on %s without a token: anyone who can reach this port can use it (add --token)", host)
    wildcard = host in ("", "0.0.0.0", "::")
    app = create_app(allowed_hosts=[*allowed_hosts, *([] if wildcard else [host])], **kwargs)
    if "*" in [h.strip() for h in allowed_hosts]:
        log.warning("--allowed-host '*': any Host header is answered, so a web page of another site can reach this "
                    "server through DNS rebinding; use it behind a proxy that checks the host name")
    elif wildcard:
        log.warning("listening on all addresses: clients must name this server by localhost, 127.0.0.1, [::1] or an "
                    "--allowed-host (e.g. --allowed-host 192.168.1.20, or the machine's name); others get 400")
    with _data_dir_lock(Path(kwargs["data_dir"]).resolve()):
        # fail here, with a plain message, when another server holds the folder or the database
        # cannot be repaired (lifespan locks it again; the check runs once)
        app.state.store.startup()
    logging.getLogger("uvicorn.access").addFilter(_RedactToken())
    log.info("data folder %s; web page at http://%s:%d/", Path(kwargs["data_dir"]).resolve(),
             host if ":" not in host else f"[{host}]", port)
    uvicorn.run(app, host=host, port=port, timeout_graceful_shutdown=5, log_level="info")


@contextlib.contextmanager
def serve_in_background(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread (port 0 = a free one); yields the base URL. For tests and bench."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
