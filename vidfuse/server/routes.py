"""The HTTP surface: the web page and the API, as two routers that :func:`vidfuse.server.app.create_app`
mounts. They reach the server's state through :func:`get_service` (``app.state.service``).

API (all under ``/v1``; with a token, see :mod:`vidfuse.server.security`)::

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
    GET    /v1/models                      the models this server offers

The web page is ``/`` (plain HTML/CSS/JS from ``static/``). ``/docs`` is an offline HTML page made
from the OpenAPI schema (``/openapi.json``); ``/docs/swagger`` is FastAPI's Swagger UI, which loads
its script from a CDN and so needs internet in the browser. Every ``GET`` also answers ``HEAD``.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse

from vidfuse.server.checks import check_request, check_story
from vidfuse.server.datafolder import JOB_ID_RE, SRT, STORYBOARD, THUMB, VIDEO, VTT
from vidfuse.server.docs_page import offline_docs
from vidfuse.server.pool import retry_after_seconds
from vidfuse.server.schemas import ASPECTS, LimitError, Limits, VideoRequest, job_json
from vidfuse.server.security import GuardedFileResponse, MediaSigner
from vidfuse.server.served import ServedModel, compose_available, music_options, vidfuse_version, voice_options
from vidfuse.server.store import TERMINAL, Job, JobStore, QueueFull

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "i18n.json": "application/json; charset=utf-8",
}
_SSE_POLL_S = 0.2
_SSE_KEEPALIVE_S = 15.0
_SSE_MAX_S = 3600.0  # a stream ends after an hour; EventSource reconnects by itself
_PAGE_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


@dataclass
class Service:
    """What the routes work with; :func:`~vidfuse.server.app.create_app` puts one on ``app.state.service``
    (the worker pool, started and stopped with the app, is ``app.state.pool``)."""

    store: JobStore
    limits: Limits
    served: dict[str, ServedModel]
    default_model: str
    signer: MediaSigner
    sign_urls: bool  # a server with a token signs the URLs a browser fetches by itself
    queue_size: int
    workers: int

    def as_json(self, job: Job, full: bool = True) -> dict[str, Any]:
        return job_json(job, store=self.store, full=full, sign=self.signer.sign if self.sign_urls else None)

    def job_or_404(self, job_id: str) -> Job:
        job = self.store.get(job_id) if JOB_ID_RE.fullmatch(job_id) else None
        if job is None:
            raise HTTPException(404, "no such job")
        return job

    def job_file(self, job_id: str, name: str, media_type: str, download: str | None = None) -> FileResponse:
        job = self.job_or_404(job_id)
        if job.status in ("cancelled", "failed"):
            what = "was cancelled" if job.status == "cancelled" else "failed"
            raise HTTPException(409, f"the job {what}, so it has no files; submit it again")
        if job.status != "done":
            raise HTTPException(409, f"the job is {job.status}; its files exist once it is done")
        if name not in job.files:
            raise HTTPException(404, f"this {job.kind} job has no {name}")
        path = (self.store.job_dir(job.id) / name).resolve()
        if self.store.data_dir not in path.parents or not path.is_file():  # belt and braces: ids are hex, names fixed
            raise HTTPException(404, "no such file")
        return GuardedFileResponse(
            path,
            media_type=media_type,
            filename=download,
            content_disposition_type="attachment" if download else "inline",
            headers={"Cache-Control": "private, max-age=86400"},
        )


async def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


# ---- error answers --------------------------------------------------------------------------------
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


MAX_ERRORS = 20  # the bad fields a 422 lists


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with one line naming each bad field (``detail``) and the details (``errors``)."""
    # Not the input: it may be NaN (not JSON), hold a lone surrogate (not UTF-8) or be 20,000 characters.
    # at most MAX_ERRORS of them: a body of 95,000 unknown keys made a 12 MB answer and held the server for 6 s
    every = sorted(exc.errors(), key=lambda e: e.get("type") == "extra_forbidden")  # a real field's error first
    errors = [{k: v for k, v in e.items() if k not in ("input", "url")} for e in every[:MAX_ERRORS]]
    errors = _json_safe(jsonable_encoder(errors, custom_encoder={Exception: str}))
    for e in errors:
        e["msg"] = str(e.get("msg", "")).removeprefix("Value error, ")
        if e.get("type") == "string_unicode":  # a lone surrogate outside the fields we check, e.g. in a key
            e["msg"] = "holds a lone surrogate (half of a UTF-16 pair), which is not text; send valid UTF-8"
    for e in errors:
        if e.get("type") == "json_invalid":  # loc is ("body", character offset): say where, in words
            at = e.get("loc", ())[1:]
            e["msg"] = "the body is not valid JSON" + (
                f" (at character {at[0] + 1})" if at and isinstance(at[0], int) else ""
            )
            e["loc"] = ("body",)
    text = "; ".join(f"{'.'.join(str(x) for x in e.get('loc', ())[1:]) or 'body'}: {e.get('msg')}" for e in errors)
    if len(every) > len(errors):
        text += f"; and {len(every) - len(errors)} more"
    return JSONResponse({"detail": text, "errors": errors}, status_code=422)


async def limit_error(request: Request, exc: LimitError) -> JSONResponse:
    return JSONResponse({"detail": exc.message, "limit": exc.limit, "max": exc.maximum}, status_code=422)


# ---- the page -------------------------------------------------------------------------------------
pages = APIRouter(include_in_schema=False)


@pages.get("/")
def page() -> Response:
    return Response(
        (STATIC_DIR / "index.html").read_bytes(),
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": _PAGE_CSP, "Cache-Control": "no-cache"},
    )


@pages.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC_FILES:  # a fixed list: nothing else in (or outside) the package is served
        raise HTTPException(404, "no such file")
    return Response(
        (STATIC_DIR / name).read_bytes(), media_type=STATIC_FILES[name], headers={"Cache-Control": "no-cache"}
    )


@pages.get("/docs")
def docs(request: Request) -> HTMLResponse:
    return HTMLResponse(offline_docs(request.app.openapi()))


@pages.get("/docs/swagger")
def swagger() -> HTMLResponse:
    from fastapi.openapi.docs import get_swagger_ui_html

    return get_swagger_ui_html(openapi_url="/openapi.json", title="vidfuse API (Swagger UI, needs internet)")


@pages.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


# ---- the API --------------------------------------------------------------------------------------
v1 = APIRouter(prefix="/v1")  # the token is checked by the Guard, before the body is read


@v1.get("/info")
def info(request: Request, svc: ServiceDep) -> dict[str, Any]:
    """Limits, workers, queue and what this install can run (script jobs need the story composer)."""
    pool = request.app.state.pool
    native = svc.served[svc.default_model].info
    return {
        "version": vidfuse_version(),
        "workers": pool.alive() if pool else 0,
        "queue_size": svc.queue_size,
        "counts": svc.store.counts(),
        "limits": asdict(svc.limits),
        "aspects": list(ASPECTS),
        "script_jobs": compose_available(),
        "model": svc.default_model,
        "voices": voice_options(),
        "music": music_options(),
        "native": {"height": native.height, "width": native.width, "frames": native.frames},
    }


@v1.get("/models")
def models(svc: ServiceDep) -> dict[str, Any]:
    """The models this server offers ("model" in POST /v1/videos), each with its family, what it does,
    native size, frames and fps, rounding steps and size on disk."""
    return {"default": svc.default_model, "models": [m.public(svc.default_model) for m in svc.served.values()]}


@v1.post("/videos", status_code=202)
def submit(req: VideoRequest, request: Request, response: Response, svc: ServiceDep) -> dict[str, Any]:
    """Queue one job; the row is committed before this answers 202. 429 when the queue is full."""
    kind, params = check_request(req, svc.limits, svc.served, svc.default_model)
    prompts = [params.get("prompt")]
    if kind == "script":
        if not compose_available():
            raise HTTPException(501, "this install has no story composer (vidfuse.story.compose); send a prompt")
        prompts = [scene.prompt for scene in check_story(params)]
    svc.served[params["model"]].note_prompt_warnings(params, prompts)
    try:
        job_id = svc.store.create(kind, params, queue_size=svc.queue_size)
    except QueueFull as e:
        retry = retry_after_seconds(svc.store, svc.workers)
        raise HTTPException(429, str(e), headers={"Retry-After": str(retry)}) from None
    pool = request.app.state.pool
    if pool:
        pool.notify()
    response.headers["Location"] = f"/v1/jobs/{job_id}"
    return svc.as_json(svc.store.get(job_id))


@v1.get("/jobs")
def jobs(
    svc: ServiceDep,
    limit: int = Query(20, ge=1),
    status: Literal["queued", "running", "done", "failed", "cancelled"] | None = None,
) -> dict[str, Any]:
    """Recent jobs, newest first (without their full parameters)."""
    if limit > svc.limits.max_list:
        raise LimitError("max_list", svc.limits.max_list, f"limit={limit} is over {svc.limits.max_list} (max_list)")
    return {
        "jobs": [svc.as_json(j, full=False) for j in svc.store.list(limit=limit, status=status)],
        "counts": svc.store.counts(),
    }


@v1.get("/jobs/{job_id}")
def job(job_id: str, svc: ServiceDep) -> dict[str, Any]:
    return svc.as_json(svc.job_or_404(job_id))


@v1.delete("/jobs/{job_id}")
def cancel(job_id: str, svc: ServiceDep) -> dict[str, Any]:
    """Cancel: a queued job at once; a running one when its worker reaches the next stage."""
    job = svc.job_or_404(job_id)
    if job.status in ("done", "failed"):
        raise HTTPException(409, f"the job is already {job.status}; nothing to cancel")
    return svc.as_json(svc.store.cancel(job.id))


@v1.get(
    "/jobs/{job_id}/events", response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}}
)
async def events(job_id: str, request: Request, svc: ServiceDep) -> StreamingResponse:
    """Server-sent events: ``progress`` while it runs, then one ``done``/``failed``/``cancelled``; then the
    stream ends."""
    svc.job_or_404(job_id)

    async def stream():
        yield "retry: 1000\n\n"
        last, t0, beat = None, time.monotonic(), time.monotonic()
        while time.monotonic() - t0 < _SSE_MAX_S:
            job = await asyncio.to_thread(svc.store.get, job_id)
            state = (job.status, job.stage, round(job.progress, 3), job.cancel_requested)
            if state != last:
                last, beat = state, time.monotonic()
                name = job.status if job.status in TERMINAL else "progress"
                body = await asyncio.to_thread(svc.as_json, job, False)
                yield f"event: {name}\ndata: {json.dumps(body, ensure_ascii=False)}\n\n"
                if job.status in TERMINAL:
                    return
            elif time.monotonic() - beat > _SSE_KEEPALIVE_S:
                beat = time.monotonic()
                yield ": keep-alive\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(_SSE_POLL_S)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


@v1.get("/jobs/{job_id}/video", response_class=FileResponse, responses={200: {"content": {"video/mp4": {}}}})
def video(job_id: str, svc: ServiceDep, download: bool = False) -> FileResponse:
    """The MP4 (H.264, AAC when narrated). Supports ``Range`` (206 Partial Content)."""
    return svc.job_file(job_id, VIDEO, "video/mp4", f"vidfuse-{job_id[:8]}.mp4" if download else None)


@v1.get("/jobs/{job_id}/subtitles", response_class=FileResponse)
def subtitles(
    job_id: str, svc: ServiceDep, format: Literal["srt", "vtt"] = "vtt", download: bool = False
) -> FileResponse:
    """Script jobs: the subtitles as SubRip (srt) or WebVTT (vtt)."""
    if format == "srt":
        name, media = SRT, "application/x-subrip; charset=utf-8"
    else:
        name, media = VTT, "text/vtt; charset=utf-8"
    return svc.job_file(job_id, name, media, f"vidfuse-{job_id[:8]}.{format}" if download else None)


@v1.get("/jobs/{job_id}/storyboard", response_class=FileResponse, responses={200: {"content": {"image/png": {}}}})
def storyboard(job_id: str, svc: ServiceDep) -> FileResponse:
    """A PNG: one row of frames per scene (a prompt job: its one clip)."""
    return svc.job_file(job_id, STORYBOARD, "image/png")


@v1.get("/jobs/{job_id}/thumbnail", response_class=FileResponse, responses={200: {"content": {"image/png": {}}}})
def thumbnail(job_id: str, svc: ServiceDep) -> FileResponse:
    """A small PNG of one frame, for job lists."""
    return svc.job_file(job_id, THUMB, "image/png")
