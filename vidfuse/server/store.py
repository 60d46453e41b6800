"""The job store (SQLite in the data folder) and the worker process pool that runs its jobs.

A job is one row in ``DATA_DIR/jobs.sqlite3``; its files live in ``DATA_DIR/jobs/<id>/``: the
job's own record ``job.json`` (its request and status, rewritten atomically at every change of
status) and outputs under names the server picks (``video.mp4``, ``thumb.png``,
``storyboard.png``, ``subtitles.srt``, ``subtitles.vtt``). Life of a job::

    queued ──claim──► running ──complete──► done
      │                 │  └──fail──► failed
      └─cancel─► cancelled ◄─cancel flag seen by the worker─┘
                        │
    server stopped or killed: running ──► queued again (costs the job nothing)
    its worker process died:  running ──► queued again, or failed at the ``max_crashes``-th death

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

Which failures count against a job (``crashes``; ``attempts`` only counts starts):

- An error raised by the job fails it at once (running it again would fail the same way).
- The server stopping or being killed while the job runs is not the job's doing: it is re-queued
  and charged nothing, however often that happens.
- Its worker process dying while running it (a segfault, the out-of-memory killer, ``kill``)
  is charged as a crash. One crash may be the machine's fault (memory taken by something else,
  an operator), so the job is re-queued; when it happens again (``max_crashes``, default 2) the
  job is the likely cause and it fails, naming the crashes.

Losing the database loses no job: at start (:meth:`JobStore.startup`, under the data folder's
lock) the database is checked (``PRAGMA integrity_check``); a missing one is created, a corrupt
one is moved aside (``jobs.sqlite3.corrupt-<time>``, never deleted), and the job list is rebuilt
from the ``job.json`` of every job folder, with a log line saying what was recovered. Before a
schema change the database is copied with SQLite's online backup API
(``jobs.sqlite3.v<old>-backup-<time>``).

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
import re
import shutil
import sqlite3
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from vidfuse.errors import InputError, VidfuseError

log = logging.getLogger("vidfuse.server")

STATUSES = ("queued", "running", "done", "failed", "cancelled")
TERMINAL = ("done", "failed", "cancelled")
DB_NAME = "jobs.sqlite3"
LOCK_NAME = "server.lock"
JOB_FILE = "job.json"  # a job's own record, in its folder: what the database is rebuilt from
JOB_ID_RE = re.compile(r"[0-9a-f]{32}")
# Output files a job may have, by the name the server gives them.
VIDEO, THUMB, STORYBOARD, SRT, VTT = "video.mp4", "thumb.png", "storyboard.png", "subtitles.srt", "subtitles.vtt"
_PROGRESS_WRITE_EVERY_S = 0.2  # progress rows are throttled; a stage change is always written

SCHEMA_VERSION = 1  # PRAGMA user_version; 0 = the first schema (no ``crashes`` column)
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
    attempts         INTEGER NOT NULL DEFAULT 0, -- times it was started
    crashes          INTEGER NOT NULL DEFAULT 0, -- times its worker process died while running it
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
# Migrations from user_version N to N + 1.
_MIGRATIONS = {0: "ALTER TABLE jobs ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0"}
# The columns a job folder's job.json holds (claim and worker belong to a live server only).
_RECORD = ("id", "kind", "params", "status", "stage", "progress", "error", "files", "attempts", "crashes",
           "cancel_requested", "created_at", "started_at", "finished_at")


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
    crashes: int
    cancel_requested: bool
    created_at: float
    started_at: float | None
    finished_at: float | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Job":
        return cls(id=row["id"], kind=row["kind"], params=json.loads(row["params"]), status=row["status"],
                   stage=row["stage"], progress=row["progress"], error=row["error"],
                   files=json.loads(row["files"]) if row["files"] else [], claim=row["claim"], worker=row["worker"],
                   attempts=row["attempts"], crashes=row["crashes"], cancel_requested=bool(row["cancel_requested"]),
                   created_at=row["created_at"], started_at=row["started_at"], finished_at=row["finished_at"])


@dataclass
class StartupReport:
    """What :meth:`JobStore.startup` found and did."""

    problem: str | None = None          # why the database was unusable (None: it was fine or absent)
    moved_to: Path | None = None        # where the unusable database went
    backup: Path | None = None          # the copy taken before a schema change
    recovered: dict[str, int] = field(default_factory=dict)  # jobs rebuilt from folders, by status
    unreadable: list[str] = field(default_factory=list)      # job folders whose job.json could not be read
    without_record: list[str] = field(default_factory=list)  # job folders with no job.json (older servers)


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime())


OUTPUT_FILES = frozenset((VIDEO, THUMB, STORYBOARD, SRT, VTT))


def _checked_record(raw: Any, job_id: str) -> dict[str, Any]:
    """A job folder's job.json, checked field by field before it becomes a row (ValueError saying which
    field is wrong): it may be damaged or planted, and a bad row would break every later job listing."""
    if not isinstance(raw, dict):
        raise ValueError(f"it holds {type(raw).__name__}, not a JSON object")
    if raw.get("id") != job_id or raw.get("status") not in STATUSES:
        raise ValueError("its id or status does not fit the folder")
    if raw.get("kind") not in ("prompt", "script") or not isinstance(raw.get("params"), dict):
        raise ValueError("its kind or params are missing or malformed")
    files = raw.get("files") or []
    if not isinstance(files, list) or not set(files) <= OUTPUT_FILES:
        raise ValueError(f"its files are not a list of {sorted(OUTPUT_FILES)}")

    def number(key: str, *, optional: bool, lo: float = 0.0, hi: float = math.inf) -> float | None:
        value = raw.get(key)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise ValueError(f"its {key} is {value!r}, not a number from {lo:g} to {hi:g}")
        return float(value)

    text = {key: raw.get(key) for key in ("stage", "error")}
    if any(v is not None and not isinstance(v, str) for v in text.values()):
        raise ValueError("its stage or error is not text")
    return {
        "id": job_id, "kind": raw["kind"], "params": raw["params"], "status": raw["status"], "files": files,
        **text, "progress": number("progress", optional=True, hi=1.0) or 0.0,
        "attempts": int(number("attempts", optional=True) or 0), "crashes": int(number("crashes", optional=True) or 0),
        "cancel_requested": bool(raw.get("cancel_requested")),
        "created_at": number("created_at", optional=True) or time.time(),
        "started_at": number("started_at", optional=True), "finished_at": number("finished_at", optional=True),
    }


class JobStore:
    """All reads and writes of the job table. Safe to use from many threads and processes at once.

    Each call opens its own short-lived connection (WAL mode, so readers never wait for the
    writer); write transactions are ``BEGIN IMMEDIATE`` so two writers never interleave.

    ``create=True`` creates (or upgrades) the tables on construction; the server passes False and
    calls :meth:`startup` once it holds the data folder's lock, so that a damaged database is
    repaired by the one process that owns the folder.
    """

    def __init__(self, data_dir: str | os.PathLike, *, max_crashes: int = 2, create: bool = True):
        if max_crashes < 1:
            raise InputError(f"max_crashes must be at least 1 (got {max_crashes})")
        self.data_dir = Path(data_dir)
        self.db_path = self.data_dir / DB_NAME
        self.jobs_dir = self.data_dir / "jobs"
        self.max_crashes = max_crashes
        self._started: StartupReport | None = None
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        if create:
            self._prepare_schema()

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

    def _record(self, db: sqlite3.Connection, job_id: str) -> None:
        """Write the job's row to ``jobs/<id>/job.json`` (temp file + rename), inside the transaction
        that changed it: the file is never behind a committed status."""
        row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        record = {k: row[k] for k in _RECORD}
        record["params"] = json.loads(row["params"])
        record["files"] = json.loads(row["files"]) if row["files"] else []
        record["cancel_requested"] = bool(row["cancel_requested"])
        folder = self.job_dir(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{JOB_FILE}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(tmp, folder / JOB_FILE)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    # ---- start-up: check, repair, migrate ---------------------------------------------------
    def _prepare_schema(self) -> Path | None:
        """Create the tables, or upgrade older ones (after a backup); returns the backup's path."""
        backup = None
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            exists = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'").fetchone()
            if exists and version > SCHEMA_VERSION:
                raise InputError(f"{self.db_path} was written by a newer vidfuse (schema {version}, this one "
                                 f"reads {SCHEMA_VERSION}); upgrade vidfuse or use another --data-dir")
            if exists and version < SCHEMA_VERSION:
                backup = self.db_path.with_name(f"{DB_NAME}.v{version}-backup-{_stamp()}")
                with contextlib.closing(sqlite3.connect(backup)) as copy:
                    db.backup(copy)  # SQLite's online backup API: a consistent copy, WAL included
                log.info("job database schema %d → %d; a copy of the old one is at %s", version, SCHEMA_VERSION, backup)
                db.execute("BEGIN IMMEDIATE")
                try:
                    for v in range(version, SCHEMA_VERSION):
                        db.execute(_MIGRATIONS[v])
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            db.executescript(_SCHEMA)
            if not exists:
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return backup

    def _integrity_problem(self) -> str | None:
        """Why the database file cannot be trusted, or None (also when there is none yet)."""
        if not self.db_path.exists():
            return None
        try:
            with contextlib.closing(sqlite3.connect(f"file:{self.db_path}?mode=rw", uri=True, timeout=30)) as db:
                rows = [r[0] for r in db.execute("PRAGMA integrity_check(5)").fetchall()]
                if rows != ["ok"]:
                    return "PRAGMA integrity_check: " + "; ".join(str(r) for r in rows)
                tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if tables and "jobs" not in tables:
                    return f"it is an SQLite database without a jobs table (tables: {', '.join(sorted(tables))})"
        except sqlite3.OperationalError as e:  # locked or unreadable: no proof of damage, so never move it aside
            raise VidfuseError(f"cannot open the job database {self.db_path.name} ({e}); check that no other "
                               "program holds it and that this user may read and write it") from None
        except sqlite3.DatabaseError as e:  # "file is not a database", "database disk image is malformed"
            return str(e)
        return None

    def _move_aside(self) -> Path:
        """Rename the database (and its -wal/-shm files, under matching names) out of the way."""
        aside = self.db_path.with_name(f"{DB_NAME}.corrupt-{_stamp()}")
        n = 1
        while aside.exists():
            n += 1
            aside = self.db_path.with_name(f"{DB_NAME}.corrupt-{_stamp()}-{n}")
        # the database first: a kill after it leaves a -wal without its database, which startup moves aside;
        # the other order could leave the database without its WAL, silently rolled back to older states
        os.replace(self.db_path, aside)
        for suffix in ("-wal", "-shm"):
            side = self.db_path.with_name(DB_NAME + suffix)
            if side.exists():
                os.replace(side, aside.with_name(aside.name + suffix))
        return aside

    def _import_folders(self, report: StartupReport) -> None:
        """Add every job folder that the table lacks, from its job.json (oldest first)."""
        with self._write() as db:
            known = {r[0] for r in db.execute("SELECT id FROM jobs")}
            records = []
            for folder in sorted(self.jobs_dir.iterdir()):
                if not folder.is_dir() or not JOB_ID_RE.fullmatch(folder.name) or folder.name in known:
                    continue
                path = folder / JOB_FILE
                if not path.is_file():
                    report.without_record.append(folder.name)
                    continue
                try:
                    records.append(_checked_record(json.loads(path.read_text(encoding="utf-8")), folder.name))
                except Exception as e:  # one damaged record must not stop the recovery of the others
                    log.warning("cannot read %s: %s", path, e)
                    report.unreadable.append(folder.name)
            for r in sorted(records, key=lambda r: r["created_at"]):
                status, error, files = r["status"], r["error"], r["files"]
                if status == "done" and not all((self.job_dir(r["id"]) / f).is_file() for f in files):
                    status, error = "failed", "its output files were lost"
                db.execute(
                    "INSERT INTO jobs (id, kind, params, status, stage, progress, error, files, attempts, crashes, "
                    "cancel_requested, created_at, started_at, finished_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (r["id"], r["kind"], json.dumps(r["params"], ensure_ascii=False), status,
                     status if status != "running" else r["stage"] or "running", r["progress"],
                     error, json.dumps(files), r["attempts"], r["crashes"], int(r["cancel_requested"]),
                     r["created_at"], r["started_at"], r["finished_at"]))
                self._log(db, r["id"], "recovered", None, f"rebuilt from jobs/{r['id']}/{JOB_FILE} ({status})")
                if status != r["status"]:
                    self._record(db, r["id"])
                report.recovered[status] = report.recovered.get(status, 0) + 1

    def startup(self) -> StartupReport:
        """At server start, holding the data folder's lock: check the database, move a corrupt one
        aside, create or upgrade the tables, rebuild rows from job folders the table lacks, and give
        every job folder its job.json. Logs what it found; runs once per store."""
        if self._started is not None:
            return self._started
        report = StartupReport()
        report.problem = self._integrity_problem()
        if report.problem is not None:
            report.moved_to = self._move_aside()
            log.error("the job database %s is damaged (%s); moved it to %s and rebuilding the job list from "
                      "the job folders", self.db_path, report.problem, report.moved_to.name)
        elif not self.db_path.exists():
            for suffix in ("-wal", "-shm"):  # left by a database that is gone: SQLite would overwrite them
                side = self.db_path.with_name(DB_NAME + suffix)
                if side.exists():
                    os.replace(side, side.with_name(f"{side.name}.orphan-{_stamp()}"))
                    log.error("moved %s, left without its database, to %s", side.name, side.name + ".orphan-…")
            if any(self.jobs_dir.iterdir()):
                log.error("the job database %s is missing; rebuilding the job list from the job folders", self.db_path)
        report.backup = self._prepare_schema()
        self._import_folders(report)
        with self._connect() as db:  # job folders of older servers: give each its record now
            for (job_id,) in db.execute("SELECT id FROM jobs").fetchall():
                if not (self.job_dir(job_id) / JOB_FILE).is_file():
                    self._record(db, job_id)
        for tmp in self.jobs_dir.glob(f"*/.{JOB_FILE}.*.tmp"):  # left by a crash mid-write
            tmp.unlink(missing_ok=True)
        if report.recovered:
            total = sum(report.recovered.values())
            what = ", ".join(f"{n} {s}" for s, n in sorted(report.recovered.items()))
            log.warning("recovered %d job(s) from their folders (%s); running ones are re-queued", total, what)
        if report.unreadable:
            log.error("%d job folder(s) have an unreadable %s and were not recovered: %s", len(report.unreadable),
                      JOB_FILE, ", ".join(report.unreadable[:10]))
        if report.without_record:
            log.error("%d job folder(s) have no %s (written by an older vidfuse) and are not in the database: "
                      "their jobs cannot be listed: %s", len(report.without_record), JOB_FILE,
                      ", ".join(report.without_record[:10]))
        self._started = report
        return report

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
            self._record(db, job_id)
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
                self._record(db, job_id)
            elif row["status"] == "running":
                db.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
                self._log(db, job_id, "cancel-requested")
                self._record(db, job_id)
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
        """At start-up: re-queue every ``running`` job (the server that ran it stopped, which is not
        the job's fault: no crash is charged) and delete the half-written output of unfinished
        attempts. Returns the re-queued ids."""
        with self._write() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM jobs WHERE status = 'running'").fetchall()]
            for job_id in ids:
                self._release(db, job_id, "the server stopped while this job was running", crashed=False)
        for attempt in self.jobs_dir.glob("*/.attempt-*"):
            shutil.rmtree(attempt, ignore_errors=True)
        return ids

    def release_worker(self, pid: int, reason: str, *, crashed: bool = True) -> list[str]:
        """Re-queue (or fail, at ``max_crashes``) the jobs a dead or stopped worker was running.

        ``crashed=False`` (an orderly shutdown stopped the job) charges the job nothing.
        """
        with self._write() as db:
            rows = db.execute("SELECT id, claim FROM jobs WHERE status = 'running' AND worker = ?", (pid,)).fetchall()
            for job_id, _ in rows:
                self._release(db, job_id, reason, crashed=crashed)
        for job_id, claim in rows:  # the worker is gone: its half-written output goes too
            shutil.rmtree(self.job_dir(job_id) / f".attempt-{claim}", ignore_errors=True)
        return [job_id for job_id, _ in rows]

    def _release(self, db: sqlite3.Connection, job_id: str, reason: str, *, crashed: bool) -> None:
        row = db.execute("SELECT crashes, cancel_requested, claim FROM jobs WHERE id = ?", (job_id,)).fetchone()
        now = time.time()
        crashes = row["crashes"] + int(crashed)
        if row["cancel_requested"]:
            db.execute("UPDATE jobs SET status = 'cancelled', stage = 'cancelled', claim = NULL, worker = NULL, "
                       "crashes = ?, finished_at = ? WHERE id = ?", (crashes, now, job_id))
            self._log(db, job_id, "cancelled", row["claim"], reason)
        elif crashed and crashes >= self.max_crashes:
            error = (f"its worker process died each time it ran ({crashes} times; last: {reason}); not retrying, "
                     "since the job itself is the likely cause (too big for this machine's memory?)")
            db.execute("UPDATE jobs SET status = 'failed', stage = 'failed', error = ?, claim = NULL, worker = NULL, "
                       "crashes = ?, finished_at = ? WHERE id = ?", (error, crashes, now, job_id))
            self._log(db, job_id, "failed", row["claim"], error)
        else:
            db.execute("UPDATE jobs SET status = 'queued', stage = 'queued', progress = 0, claim = NULL, "
                       "worker = NULL, crashes = ?, started_at = NULL WHERE id = ?", (crashes, job_id))
            self._log(db, job_id, "requeued", row["claim"], reason + (" (a crash)" if crashed else ""))
        self._record(db, job_id)

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
            self._record(db, row["id"])
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
                self._record(db, job_id)
                return False
            final.mkdir(parents=True, exist_ok=True)
            for name in files:  # same file system, so each rename is atomic
                os.replace(work_dir / name, final / name)
            db.execute("UPDATE jobs SET status = 'done', stage = 'done', progress = 1, files = ?, finished_at = ? "
                       "WHERE id = ? AND claim = ?", (json.dumps(files), now, job_id, claim))
            self._log(db, job_id, "done", claim)
            self._record(db, job_id)
        return True

    def fail(self, job_id: str, claim: str, error: str) -> bool:
        with self._write() as db:
            cur = db.execute("UPDATE jobs SET status = 'failed', stage = 'failed', error = ?, finished_at = ? "
                             "WHERE id = ? AND claim = ? AND status = 'running'", (error, time.time(), job_id, claim))
            if cur.rowcount:
                self._log(db, job_id, "failed", claim, error)
                self._record(db, job_id)
            return cur.rowcount == 1

    def abort(self, job_id: str, claim: str) -> None:
        """The worker stopped on request: a cancelled job is marked so; a lost claim is left alone."""
        with self._write() as db:
            cur = db.execute("UPDATE jobs SET status = 'cancelled', stage = 'cancelled', finished_at = ? "
                             "WHERE id = ? AND claim = ? AND status = 'running' AND cancel_requested = 1",
                             (time.time(), job_id, claim))
            if cur.rowcount:
                self._log(db, job_id, "cancelled", claim)
                self._record(db, job_id)


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
    extra = {k: v for k, v in (("num_inference_steps", p.get("steps")), ("negative_prompt", p.get("negative_prompt")))
             if v is not None}  # the API takes them for pretrained diffusers models only
    if getattr(pipe, "is_diffusers", False):
        extra["progress"] = denoising_progress(progress, 0.05, 0.7)
    frames = pipe(p["prompt"], num_frames=p.get("frames"), height=p.get("height"), width=p.get("width"),
                  seed=p["seed"], guidance_scale=p.get("guidance_scale"), **extra)[0]  # (T, H, W, 3)
    progress("encoding", 0.7)
    write_video(work / VIDEO, frames, fps=p.get("fps", 8.0))
    progress("thumbnail", 0.9)
    _save_png(work / THUMB, _thumbnail(frames[len(frames) // 2]))
    contact_sheet([frames], [p["prompt"]], path=work / STORYBOARD)
    return [VIDEO, THUMB, STORYBOARD]


# Share of the whole job each story stage takes (render_story reports a fraction within each stage).
# shares of a story job's progress; frames stream into the encoder, so "frames" covers drawing, burning
# subtitles and encoding, and "subtitles"/"encode" only mark their end
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
    from vidfuse.story.compose import render_story

    p = job.params
    script = script_file(p["script"], work)
    options = {k: p[k] for k in ("aspect", "lang", "subtitles", "voice", "rate", "pitch", "no_voice", "fps",
                                 "frames", "steps", "negative_prompt", "music") if p.get(k) is not None}
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


MAX_LOADED_MODELS = 2  # pipelines a worker keeps loaded; the least recently used beyond it is dropped


def torch_cuda_available() -> bool:
    """Whether torch sees a GPU, without importing torch where nothing has yet."""
    torch = sys.modules.get("torch")
    return torch is not None and torch.cuda.is_available()


class ModelCache:
    """A worker's models by name: each is loaded when a job first asks for it, and at most
    :data:`MAX_LOADED_MODELS` are kept (least recently used dropped), so one worker serves any number of
    named models with bounded memory. A model that fails to load fails the job that asked for it, and is
    tried again by the next job (the folder may have been fixed)."""

    def __init__(self, folders: dict[str, str | None], default: str, *, max_loaded: int = MAX_LOADED_MODELS,
                 loader: Callable[[str | None], Any] | None = None):
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


def run_job(store: JobStore, job: Job, pipe, *, load_error: BaseException | None = None,
            should_stop: Callable[[], bool] = lambda: False) -> str:
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
        files = runner(job, pipe, work, progress)
        if store.complete(job.id, job.claim, work, files):
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
        public = public_error(error, (work, store.job_dir(job.id), store.data_dir),
                              {work / "script.json": "the script", work / "script.txt": "the script"})
        if public != error:
            log.info("job %s failed: %s", job.id, error)
        store.fail(job.id, job.claim, public)
        return "failed"
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# Worker processes


def worker_main(data_dir: str, models: dict[str, str | None], default: str, threads: int, inbox,
                max_crashes: int) -> None:
    """Entry point of one worker process (spawned): load the default model, then claim and run jobs, loading
    the other models (``models``: name → folder, None for the built-in one) as jobs ask for them
    (:class:`ModelCache`).

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
    parent = os.getppid()
    store = JobStore(data_dir, max_crashes=max_crashes, create=False)  # the server prepared it
    cache = ModelCache(models, default)
    try:
        cache.get(default)  # loaded and warmed up before the first job
    except Exception as e:  # a job that asks for it fails with this message (and it is tried again)
        log.error("cannot load the model %s: %s", default, e)

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
        state = run_job(store, job, cache, should_stop=should_stop)
        log.info("job %s: %s", job.id, state)


class WorkerPool:
    """``n`` spawned worker processes, restarted when one dies (its running job is charged a crash
    and re-queued, or failed at its ``max_crashes``-th)."""

    def __init__(self, store: JobStore, *, models: dict[str, str | None], default: str, workers: int,
                 threads_per_worker: int | None = None):
        self.store = store
        self.models, self.default = dict(models), default
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
                             args=(str(self.store.data_dir), self.models, self.default, self.threads, inbox,
                                   self.store.max_crashes))
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
                how = f"killed by signal {-p.exitcode}" if p.exitcode and p.exitcode < 0 else f"exit code {p.exitcode}"
                ids = self.store.release_worker(p.pid, f"the worker process died ({how})")
                log.warning("worker %s died (%s) while running %s", p.pid, how, ids or "no job")
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
                self.store.release_worker(p.pid, "the server stopped while this job was running", crashed=False)
        with self._lock:
            for outbox in self.outboxes:
                outbox.close()


def retry_after_seconds(store: JobStore, workers: int) -> int:
    """A guess at when a queue slot frees up: mean job time × waiting jobs / workers, 1 s to 10 min."""
    mean = store.mean_run_seconds() or 5.0
    waiting = store.counts()["queued"]
    return int(min(600, max(1, math.ceil(mean * max(1, waiting) / max(1, workers)))))
