"""The job store (SQLite in the data folder) and the worker process pool that runs its jobs.

A job is one row in ``DATA_DIR/jobs.sqlite3``; its files live in ``DATA_DIR/jobs/<id>/`` under
names the server picks (``video.mp4``, ``thumb.png``, ``storyboard.png``, ``subtitles.srt``,
``subtitles.vtt``). Life of a job::

    queued ──claim──► running ──complete──► done
      │                 │  └──fail──► failed
      └─cancel─► cancelled ◄─cancel flag seen by the worker─┘
                        │
    worker died / server restarted: running ──► queued again (up to ``max_attempts`` claims)

Why it survives crashes and never completes a job twice:

- :meth:`JobStore.create` commits the row before the API answers ``202``.
- :meth:`JobStore.claim` moves one ``queued`` row to ``running`` inside one write transaction and
  stamps it with a fresh random *claim token*. Every later write by the worker (progress, complete,
  fail) is ``... WHERE id = ? AND claim = ? AND status = 'running'``, so a worker whose claim was
  taken away (the job was re-queued after a restart and claimed again) can no longer touch it.
- A worker renders into ``jobs/<id>/.attempt-<claim>/``; :meth:`JobStore.complete` takes the
  database write lock, checks the claim, renames the files into place and marks the row ``done``
  in that one transaction. A crash before the commit leaves the row ``running`` (re-queued at the
  next start) and never a ``done`` row without its files.
- At start-up (:meth:`JobStore.recover`) rows left ``running`` are re-queued: nothing else can be
  running them, because one server holds the data folder's lock file at a time.

Every transition is also appended to the ``job_log`` table, which tests and people read to see
that a job was claimed, re-queued and completed exactly once.
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import multiprocessing as mp
import os
import shutil
import sqlite3
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from vidfuse.errors import InputError, VidfuseError

log = logging.getLogger("vidfuse.server")

STATUSES = ("queued", "running", "done", "failed", "cancelled")
TERMINAL = ("done", "failed", "cancelled")
DB_NAME = "jobs.sqlite3"
LOCK_NAME = "server.lock"
# Output files a job may have, by the name the server gives them.
VIDEO, THUMB, STORYBOARD, SRT, VTT = "video.mp4", "thumb.png", "storyboard.png", "subtitles.srt", "subtitles.vtt"
_PROGRESS_WRITE_EVERY_S = 0.2  # progress rows are throttled; a stage change is always written

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id               TEXT PRIMARY KEY,          -- uuid4 hex, made by the server
    kind             TEXT NOT NULL,             -- prompt | script
    params           TEXT NOT NULL,             -- JSON of the validated request
    status           TEXT NOT NULL,             -- queued | running | done | failed | cancelled
    stage            TEXT NOT NULL DEFAULT 'queued',
    progress         REAL NOT NULL DEFAULT 0,   -- 0..1 within the whole job
    error            TEXT,
    files            TEXT,                      -- JSON list of output file names once done
    claim            TEXT,                      -- token of the claim that may write this row
    worker           INTEGER,                   -- pid of the worker holding the claim
    attempts         INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at       REAL NOT NULL,
    started_at       REAL,
    finished_at      REAL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE TABLE IF NOT EXISTS job_log (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    at     REAL NOT NULL,
    event  TEXT NOT NULL,                       -- created | claimed | requeued | done | failed | cancelled | ...
    claim  TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS job_log_job ON job_log (job_id);
"""


class QueueFull(VidfuseError):
    """More jobs are waiting than the server's queue size allows."""


class JobAborted(Exception):
    """Raised inside a worker when its job was cancelled or its claim was taken away."""


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    params: dict[str, Any]
    status: str
    stage: str
    progress: float
    error: str | None
    files: list[str]
    claim: str | None
    worker: int | None
    attempts: int
    cancel_requested: bool
    created_at: float
    started_at: float | None
    finished_at: float | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Job":
        return cls(id=row["id"], kind=row["kind"], params=json.loads(row["params"]), status=row["status"],
                   stage=row["stage"], progress=row["progress"], error=row["error"],
                   files=json.loads(row["files"]) if row["files"] else [], claim=row["claim"], worker=row["worker"],
                   attempts=row["attempts"], cancel_requested=bool(row["cancel_requested"]),
                   created_at=row["created_at"], started_at=row["started_at"], finished_at=row["finished_at"])


class JobStore:
    """All reads and writes of the job table. Safe to use from many threads and processes at once.

    Each call opens its own short-lived connection (WAL mode, so readers never wait for the
    writer); write transactions are ``BEGIN IMMEDIATE`` so two writers never interleave.
    """

    def __init__(self, data_dir: str | os.PathLike, *, max_attempts: int = 3):
        self.data_dir = Path(data_dir)
        self.db_path = self.data_dir / DB_NAME
        self.jobs_dir = self.data_dir / "jobs"
        self.max_attempts = max_attempts
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    # ---- plumbing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA busy_timeout=30000")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit survives a process crash
        try:
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction holding SQLite's write lock from its first statement."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @staticmethod
    def _log(db: sqlite3.Connection, job_id: str, event: str, claim: str | None = None, detail: str | None = None):
        db.execute("INSERT INTO job_log (job_id, at, event, claim, detail) VALUES (?, ?, ?, ?, ?)",
                   (job_id, time.time(), event, claim, detail))

    def job_dir(self, job_id: str) -> Path:
        return self.jobs_dir / job_id

    # ---- the API side -----------------------------------------------------------------------
    def create(self, kind: str, params: dict[str, Any], *, queue_size: int | None = None) -> str:
        """Insert a queued job and commit it; :class:`QueueFull` when ``queue_size`` jobs already wait."""
        job_id = uuid.uuid4().hex
        with self._write() as db:
            if queue_size is not None:
                (queued,) = db.execute("SELECT COUNT(*) FROM jobs WHERE status = 'queued'").fetchone()
                if queued >= queue_size:
                    raise QueueFull(f"{queued} jobs are waiting, the queue holds {queue_size}; try again later")
            db.execute("INSERT INTO jobs (id, kind, params, status, created_at) VALUES (?, ?, ?, 'queued', ?)",
                       (job_id, kind, json.dumps(params, ensure_ascii=False), time.time()))
            self._log(db, job_id, "created")
        return job_id

    def get(self, job_id: str) -> Job | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job.from_row(row) if row else None

    def list(self, *, limit: int = 20, status: str | None = None) -> list[Job]:
        """Most recent first."""
        with self._connect() as db:
            if status:
                rows = db.execute("SELECT * FROM jobs WHERE status = ? ORDER BY rowid DESC LIMIT ?", (status, limit))
            else:
                rows = db.execute("SELECT * FROM jobs ORDER BY rowid DESC LIMIT ?", (limit,))
            return [Job.from_row(r) for r in rows.fetchall()]

    def counts(self) -> dict[str, int]:
        with self._connect() as db:
            rows = db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        return {s: 0 for s in STATUSES} | {r[0]: r[1] for r in rows}

    def queue_position(self, job_id: str) -> int | None:
        """1 for the next job to run; None when the job is not queued."""
        with self._connect() as db:
            row = db.execute(
                "SELECT (SELECT COUNT(*) FROM jobs q WHERE q.status = 'queued' AND q.rowid <= j.rowid) "
                "FROM jobs j WHERE j.id = ? AND j.status = 'queued'", (job_id,)).fetchone()
        return row[0] if row else None

    def mean_run_seconds(self, last: int = 20) -> float | None:
        """Mean claim-to-finish time of the last ``last`` finished jobs (for Retry-After)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT AVG(finished_at - started_at) FROM (SELECT finished_at, started_at FROM jobs "
                "WHERE status = 'done' AND started_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?)",
                (last,)).fetchone()
        return row[0] if row and row[0] is not None else None

    def cancel(self, job_id: str) -> Job | None:
        """Queued → cancelled now; running → flag it (the worker stops at its next progress report)."""
        with self._write() as db:
            row = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            if row["status"] == "queued":
                db.execute("UPDATE jobs SET status = 'cancelled', stage = 'cancelled', finished_at = ? "
                           "WHERE id = ?", (time.time(), job_id))
                self._log(db, job_id, "cancelled")
            elif row["status"] == "running":
                db.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
                self._log(db, job_id, "cancel-requested")
        return self.get(job_id)

    def log(self, job_id: str | None = None) -> list[dict[str, Any]]:
        """The transition log, oldest first (of one job, or of all)."""
        with self._connect() as db:
            if job_id:
                rows = db.execute("SELECT * FROM job_log WHERE job_id = ? ORDER BY seq", (job_id,))
            else:
                rows = db.execute("SELECT * FROM job_log ORDER BY seq")
            return [dict(r) for r in rows.fetchall()]

    # ---- start-up and supervision -----------------------------------------------------------
    def recover(self) -> list[str]:
        """At start-up: re-queue every ``running`` job (their workers are gone) and delete the
        half-written output of unfinished attempts. Returns the re-queued ids."""
        with self._write() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM jobs WHERE status = 'running'").fetchall()]
            for job_id in ids:
                self._release(db, job_id, "the server restarted while this job was running")
        for attempt in self.jobs_dir.glob("*/.attempt-*"):
            shutil.rmtree(attempt, ignore_errors=True)
        return ids

    def release_worker(self, pid: int, reason: str, *, count_attempt: bool = True) -> list[str]:
        """Re-queue (or fail, past ``max_attempts``) the jobs a dead or stopped worker was running.

        ``count_attempt=False`` (an orderly shutdown stopped the job) gives the attempt back.
        """
        with self._write() as db:
            rows = db.execute("SELECT id, claim FROM jobs WHERE status = 'running' AND worker = ?", (pid,)).fetchall()
            for job_id, _ in rows:
                if not count_attempt:
                    db.execute("UPDATE jobs SET attempts = MAX(0, attempts - 1) WHERE id = ?", (job_id,))
                self._release(db, job_id, reason)
        for job_id, claim in rows:  # the worker is gone: its half-written output goes too
            shutil.rmtree(self.job_dir(job_id) / f".attempt-{claim}", ignore_errors=True)
        return [job_id for job_id, _ in rows]

    def _release(self, db: sqlite3.Connection, job_id: str, reason: str) -> None:
        row = db.execute("SELECT attempts, cancel_requested, claim FROM jobs WHERE id = ?", (job_id,)).fetchone()
        now = time.time()
        if row["cancel_requested"]:
            db.execute("UPDATE jobs SET status = 'cancelled', stage = 'cancelled', claim = NULL, worker = NULL, "
                       "finished_at = ? WHERE id = ?", (now, job_id))
            self._log(db, job_id, "cancelled", row["claim"], reason)
        elif row["attempts"] >= self.max_attempts:
            error = f"gave up after {row['attempts']} attempts: {reason}"
            db.execute("UPDATE jobs SET status = 'failed', stage = 'failed', error = ?, claim = NULL, worker = NULL, "
                       "finished_at = ? WHERE id = ?", (error, now, job_id))
            self._log(db, job_id, "failed", row["claim"], error)
        else:
            db.execute("UPDATE jobs SET status = 'queued', stage = 'queued', progress = 0, claim = NULL, "
                       "worker = NULL, started_at = NULL WHERE id = ?", (job_id,))
            self._log(db, job_id, "requeued", row["claim"], reason)

    # ---- the worker side --------------------------------------------------------------------
    def claim(self, worker: int) -> Job | None:
        """Atomically take the oldest queued job: it becomes ``running`` under a fresh claim token."""
        token = uuid.uuid4().hex
        with self._write() as db:
            row = db.execute("SELECT id FROM jobs WHERE status = 'queued' ORDER BY rowid LIMIT 1").fetchone()
            if row is None:
                return None
            cur = db.execute(
                "UPDATE jobs SET status = 'running', stage = 'starting', progress = 0, claim = ?, worker = ?, "
                "attempts = attempts + 1, started_at = ? WHERE id = ? AND status = 'queued'",
                (token, worker, time.time(), row["id"]))
            if cur.rowcount != 1:  # cannot happen under BEGIN IMMEDIATE; kept as the protocol's guard
                return None
            self._log(db, row["id"], "claimed", token, f"worker {worker}")
        return self.get(row["id"])

    def progress(self, job_id: str, claim: str, stage: str, fraction: float) -> bool:
        """Record progress; False when the worker must stop (cancel requested, or the claim is gone)."""
        fraction = min(max(float(fraction), 0.0), 1.0)
        with self._write() as db:
            cur = db.execute("UPDATE jobs SET stage = ?, progress = MAX(progress, ?) "
                             "WHERE id = ? AND claim = ? AND status = 'running' AND cancel_requested = 0",
                             (stage, fraction, job_id, claim))
            return cur.rowcount == 1

    def complete(self, job_id: str, claim: str, work_dir: Path, files: list[str]) -> bool:
        """Move ``files`` from ``work_dir`` into the job's folder and mark it done, at most once.

        Returns False (and moves nothing) when the claim is no longer valid: another attempt owns
        the job, or it was cancelled (then it is marked cancelled here).
        """
        final = self.job_dir(job_id)
        with self._write() as db:
            row = db.execute("SELECT status, claim, cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or row["status"] != "running" or row["claim"] != claim:
                return False
            now = time.time()
            if row["cancel_requested"]:
                db.execute("UPDATE jobs SET status = 'cancelled', stage = 'cancelled', finished_at = ? WHERE id = ?",
                           (now, job_id))
                self._log(db, job_id, "cancelled", claim)
                return False
            final.mkdir(parents=True, exist_ok=True)
            for name in files:  # same file system, so each rename is atomic
                os.replace(work_dir / name, final / name)
            db.execute("UPDATE jobs SET status = 'done', stage = 'done', progress = 1, files = ?, finished_at = ? "
                       "WHERE id = ? AND claim = ?", (json.dumps(files), now, job_id, claim))
            self._log(db, job_id, "done", claim)
        return True

    def fail(self, job_id: str, claim: str, error: str) -> bool:
        with self._write() as db:
            cur = db.execute("UPDATE jobs SET status = 'failed', stage = 'failed', error = ?, finished_at = ? "
                             "WHERE id = ? AND claim = ? AND status = 'running'", (error, time.time(), job_id, claim))
            if cur.rowcount:
                self._log(db, job_id, "failed", claim, error)
            return cur.rowcount == 1

    def abort(self, job_id: str, claim: str) -> None:
        """The worker stopped on request: a cancelled job is marked so; a lost claim is left alone."""
        with self._write() as db:
            cur = db.execute("UPDATE jobs SET status = 'cancelled', stage = 'cancelled', finished_at = ? "
                             "WHERE id = ? AND claim = ? AND status = 'running' AND cancel_requested = 1",
                             (time.time(), job_id, claim))
            if cur.rowcount:
                self._log(db, job_id, "cancelled", claim)


# ------------------------------------------------------------------------------------------------
# Running one job (inside a worker process, or in-process in tests)

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


def _run_prompt(job: Job, pipe, work: Path, progress: ProgressFn) -> list[str]:
    from vidfuse.media.video_io import contact_sheet, write_video

    p = job.params
    progress("generating", 0.05)
    frames = pipe(p["prompt"], num_frames=p.get("frames"), height=p.get("height"), width=p.get("width"),
                  seed=p["seed"], guidance_scale=p.get("guidance_scale"))[0]  # (T, H, W, 3)
    progress("encoding", 0.7)
    write_video(work / VIDEO, frames, fps=p.get("fps", 8.0))
    progress("thumbnail", 0.9)
    _save_png(work / THUMB, _thumbnail(frames[len(frames) // 2]))
    contact_sheet([frames], [p["prompt"]], path=work / STORYBOARD)
    return [VIDEO, THUMB, STORYBOARD]


# Share of the whole job each story stage takes (render_story reports a fraction within each stage).
_STORY_STAGES = {"plan": 0.02, "voice": 0.13, "frames": 0.45, "subtitles": 0.08, "encode": 0.25, "storyboard": 0.05}
_STORY_START = {k: sum(list(_STORY_STAGES.values())[:i]) for i, k in enumerate(_STORY_STAGES)}


def _run_script(job: Job, pipe, work: Path, progress: ProgressFn) -> list[str]:
    from vidfuse.media.video_io import read_video
    from vidfuse.story.compose import render_story

    p = job.params
    # The client's text goes into a file the server names and is passed as a Path: render_story
    # would read a one-line str that names a file (e.g. "/etc/passwd") as a script *file*.
    text = p["script"]
    script = work / ("script.json" if text.lstrip().startswith("[{") else "script.txt")
    script.write_text(text, encoding="utf-8")
    options = {k: p[k] for k in ("aspect", "lang", "subtitles", "voice", "rate", "pitch", "no_voice", "fps")
               if p.get(k) is not None}
    if p.get("height"):
        options["size"] = (p["width"], p["height"])

    def story_progress(stage: str, fraction: float) -> None:
        overall = _STORY_START.get(stage, 0.0) + _STORY_STAGES.get(stage, 0.0) * min(max(fraction, 0.0), 1.0)
        progress(stage, 0.97 * overall)

    result = render_story(script, work / VIDEO, pipeline=pipe, seed=p["seed"], progress=story_progress, **options)
    files = []
    # The composer names its side files after the output (video.srt, video.storyboard.png, …);
    # the server moves them to its own names, inside work/.
    for attr, name in (("video", VIDEO), ("srt", SRT), ("vtt", VTT), ("storyboard", STORYBOARD)):
        src = getattr(result, attr, None)
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


def run_job(store: JobStore, job: Job, pipe, *, load_error: BaseException | None = None,
            should_stop: Callable[[], bool] = lambda: False) -> str:
    """Run one claimed job to its end state; returns that state (done, failed, cancelled, lost)."""
    work = store.job_dir(job.id) / f".attempt-{job.claim}"
    work.mkdir(parents=True, exist_ok=True)
    progress = _reporter(store, job, should_stop)
    try:
        progress("starting", 0.0)
        if load_error is not None:
            raise load_error
        runner = _run_prompt if job.kind == "prompt" else _run_script
        files = runner(job, pipe, work, progress)
        if store.complete(job.id, job.claim, work, files):
            return "done"
        return store.get(job.id).status if store.get(job.id) else "lost"
    except JobAborted:
        store.abort(job.id, job.claim)
        return store.get(job.id).status
    except VidfuseError as e:
        store.fail(job.id, job.claim, str(e))
        return "failed"
    except ImportError as e:
        store.fail(job.id, job.claim, f"this install cannot run {job.kind} jobs: {e}")
        return "failed"
    except Exception as e:  # a bug: keep the worker alive, record it, log the traceback
        log.error("job %s failed:\n%s", job.id, traceback.format_exc())
        store.fail(job.id, job.claim, f"internal error: {type(e).__name__}: {e}")
        return "failed"
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# Worker processes


def worker_main(data_dir: str, model: str | None, threads: int, inbox, max_attempts: int) -> None:
    """Entry point of one worker process (spawned): load the model once, then claim and run jobs.

    ``inbox`` is the read end of a pipe from the server: ``b"job"`` wakes the worker, ``b"stop"``
    stops it. Nothing is shared with the server but that pipe and the database, so a worker that
    is killed at any instant cannot leave a lock held that the server then waits on.
    """
    import signal

    stopping = []  # non-empty = stop; a plain list, because a signal handler must not take a lock
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole process group: the server stops us
    signal.signal(signal.SIGTERM, lambda *_: stopping.append("SIGTERM"))  # stop at the next progress report
    logging.basicConfig(level=logging.INFO, format="%(asctime)s vidfuse-worker[%(process)d] %(message)s")
    import torch

    torch.set_num_threads(max(1, threads))
    from vidfuse.pipeline import TextToVideoPipeline

    parent = os.getppid()
    store = JobStore(data_dir, max_attempts=max_attempts)
    pipe, load_error = None, None
    try:
        pipe = TextToVideoPipeline.from_pretrained(model)
    except Exception as e:  # every job it claims then fails with this message
        load_error = e if isinstance(e, VidfuseError) else InputError(f"cannot load the model {model}: {e}")
        log.error("cannot load the model: %s", e)

    def read_inbox(timeout: float) -> None:
        try:
            while inbox.poll(timeout):
                timeout = 0
                if inbox.recv_bytes() == b"stop":
                    stopping.append("stop")
        except (EOFError, OSError):  # the server closed its end: it is gone
            stopping.append("EOF")

    def should_stop() -> bool:
        if not stopping:
            read_inbox(0)
        return bool(stopping) or os.getppid() != parent  # the server went away (even by kill -9)

    while not should_stop():
        job = store.claim(os.getpid())
        if job is None:
            read_inbox(0.5)
            continue
        state = run_job(store, job, pipe, load_error=load_error, should_stop=should_stop)
        log.info("job %s: %s", job.id, state)


class WorkerPool:
    """``n`` spawned worker processes, restarted when one dies (its running job is re-queued)."""

    def __init__(self, store: JobStore, *, model: str | None, workers: int, threads_per_worker: int | None = None):
        self.store = store
        self.model = model
        self.n = workers
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        self.threads = threads_per_worker or max(1, cpus // max(1, workers))
        self.ctx = mp.get_context("spawn")  # never fork a process that runs threads (uvicorn, torch)
        self.procs: list[mp.process.BaseProcess] = []
        self.outboxes: list[Any] = []
        self._lock = threading.Lock()
        self._monitor: threading.Thread | None = None
        self._stopping = threading.Event()
        self._restarts: list[float] = []

    def _spawn(self):
        inbox, outbox = self.ctx.Pipe(duplex=False)
        p = self.ctx.Process(target=worker_main, name="vidfuse-worker", daemon=True,
                             args=(str(self.store.data_dir), None if self.model is None else str(self.model),
                                   self.threads, inbox, self.store.max_attempts))
        p.start()
        inbox.close()
        os.set_blocking(outbox.fileno(), False)  # a worker that does not read must never block the server
        return p, outbox

    def start(self) -> None:
        for _ in range(self.n):
            p, outbox = self._spawn()
            self.procs.append(p)
            self.outboxes.append(outbox)
        self._monitor = threading.Thread(target=self._watch, name="vidfuse-pool-monitor", daemon=True)
        self._monitor.start()

    def _send(self, message: bytes) -> None:
        with self._lock:
            for outbox in self.outboxes:
                try:
                    outbox.send_bytes(message)
                except (BlockingIOError, BrokenPipeError, OSError):
                    pass  # full (it has wake-ups waiting anyway) or dead (the monitor restarts it)

    def notify(self) -> None:
        """A job was queued: wake idle workers now instead of at their next poll."""
        self._send(b"job")

    def alive(self) -> int:
        return sum(p.is_alive() for p in self.procs)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid is not None]

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            for i, p in enumerate(self.procs):
                if p.is_alive() or self._stopping.is_set():
                    continue
                ids = self.store.release_worker(p.pid, f"the worker process died (exit code {p.exitcode})")
                log.warning("worker %s died (exit code %s); re-queued %s", p.pid, p.exitcode, ids or "nothing")
                # back off when workers keep dying (e.g. out of memory while loading the model)
                now = time.monotonic()
                self._restarts = [t for t in self._restarts if now - t < 60] + [now]
                if len(self._restarts) > 3 * self.n:
                    self._stopping.wait(min(30.0, 2.0 ** (len(self._restarts) - 3 * self.n)))
                if self._stopping.is_set():
                    return
                new, outbox = self._spawn()
                with self._lock:
                    self.outboxes[i].close()
                    self.procs[i], self.outboxes[i] = new, outbox

    def stop(self, grace_s: float = 5.0) -> None:
        """Ask workers to stop (a running job stops at its next progress report), wait up to
        ``grace_s``, kill what is left, and re-queue the jobs they were running."""
        self._stopping.set()
        if self._monitor is not None:
            self._monitor.join(timeout=5)
        self._send(b"stop")
        for p in self.procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: the worker's handler makes it stop at its next check
        deadline = time.monotonic() + grace_s
        for p in self.procs:
            p.join(timeout=max(0.0, deadline - time.monotonic()))
        for p in self.procs:
            if p.is_alive():
                p.kill()
                p.join(timeout=5)
            if p.pid is not None:
                self.store.release_worker(p.pid, "the server stopped while this job was running", count_attempt=False)
        with self._lock:
            for outbox in self.outboxes:
                outbox.close()


def retry_after_seconds(store: JobStore, workers: int) -> int:
    """A guess at when a queue slot frees up: mean job time × waiting jobs / workers, 1 s to 10 min."""
    mean = store.mean_run_seconds() or 5.0
    waiting = store.counts()["queued"]
    return int(min(600, max(1, math.ceil(mean * max(1, waiting) / max(1, workers)))))
