"""The job store: every read and write of the job table, one SQLite database in the data folder
(:mod:`vidfuse.server.datafolder` holds its layout, schema and repairs). Life of a job::

    queued ──claim──► running ──complete──► done
      │                 │  └──fail──► failed
      └─cancel─► cancelled ◄─cancel flag seen by the worker─┘
                        │
    server stopped or killed: running ──► queued again (costs the job nothing)
    its worker process died:  running ──► queued again, or failed at the ``max_crashes``-th death

It survives crashes and never completes a job twice: :meth:`JobStore.create` commits the row before the
API answers ``202``; :meth:`JobStore.claim` moves one ``queued`` row to ``running`` in one write
transaction under a fresh random *claim token*, and every later write by the worker is ``... WHERE id = ?
AND claim = ? AND status = 'running'``, so a worker whose claim was taken away can no longer touch the
job; :meth:`JobStore.complete` checks the claim, renames the files out of the attempt's folder and marks
the row ``done`` in one transaction. At start, :meth:`JobStore.startup` checks and repairs the database
(rebuilding a lost one from the job folders' ``job.json``) and :meth:`JobStore.recover` re-queues rows
left ``running``.

What a job is charged (``crashes``; ``attempts`` only counts starts): an error raised by the job fails it
at once; the server stopping while it runs re-queues it at no charge; its worker process dying is a crash,
re-queued until the ``max_crashes``-th (default 2) fails it. Why: ``docs/decisions/service.md``.

Every transition is also appended to the ``job_log`` table, which tests and people read to see that a
job was claimed, re-queued and completed exactly once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from vidfuse.errors import InputError, VidfuseError
from vidfuse.server.datafolder import (
    DB_NAME,
    JOB_FILE,
    JOB_ID_RE,
    RECORD_FIELDS,
    STATUSES,
    checked_record,
    integrity_problem,
    move_aside,
    move_orphans,
    prepare_schema,
)

log = logging.getLogger("vidfuse.server")

TERMINAL = ("done", "failed", "cancelled")


class QueueFull(VidfuseError):
    """More jobs are waiting than the server's queue size allows."""


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
        return cls(
            id=row["id"],
            kind=row["kind"],
            params=json.loads(row["params"]),
            status=row["status"],
            stage=row["stage"],
            progress=row["progress"],
            error=row["error"],
            files=json.loads(row["files"]) if row["files"] else [],
            claim=row["claim"],
            worker=row["worker"],
            attempts=row["attempts"],
            crashes=row["crashes"],
            cancel_requested=bool(row["cancel_requested"]),
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
        )


@dataclass
class StartupReport:
    """What :meth:`JobStore.startup` found and did."""

    problem: str | None = None  # why the database was unusable (None: it was fine or absent)
    moved_to: Path | None = None  # where the unusable database went
    backup: Path | None = None  # the copy taken before a schema change
    recovered: dict[str, int] = field(default_factory=dict)  # jobs rebuilt from folders, by status
    unreadable: list[str] = field(default_factory=list)  # job folders whose job.json could not be read
    without_record: list[str] = field(default_factory=list)  # job folders with no job.json (older servers)


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
        db.execute(
            "INSERT INTO job_log (job_id, at, event, claim, detail) VALUES (?, ?, ?, ?, ?)",
            (job_id, time.time(), event, claim, detail),
        )

    def job_dir(self, job_id: str) -> Path:
        return self.jobs_dir / job_id

    def _record(self, db: sqlite3.Connection, job_id: str) -> None:
        """Write the job's row to ``jobs/<id>/job.json`` (temp file + rename), inside the transaction
        that changed it: the file is never behind a committed status."""
        row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        record = {k: row[k] for k in RECORD_FIELDS}
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
        with self._connect() as db:
            return prepare_schema(db, self.db_path)

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
                    records.append(checked_record(json.loads(path.read_text(encoding="utf-8")), folder.name))
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
                    (
                        r["id"],
                        r["kind"],
                        json.dumps(r["params"], ensure_ascii=False),
                        status,
                        status if status != "running" else r["stage"] or "running",
                        r["progress"],
                        error,
                        json.dumps(files),
                        r["attempts"],
                        r["crashes"],
                        int(r["cancel_requested"]),
                        r["created_at"],
                        r["started_at"],
                        r["finished_at"],
                    ),
                )
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
        report.problem = integrity_problem(self.db_path)
        if report.problem is not None:
            report.moved_to = move_aside(self.db_path)
            log.error(
                "the job database %s is damaged (%s); moved it to %s and rebuilding the job list from the job folders",
                self.db_path,
                report.problem,
                report.moved_to.name,
            )
        elif not self.db_path.exists():
            move_orphans(self.db_path)
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
            log.error(
                "%d job folder(s) have an unreadable %s and were not recovered: %s",
                len(report.unreadable),
                JOB_FILE,
                ", ".join(report.unreadable[:10]),
            )
        if report.without_record:
            log.error(
                "%d job folder(s) have no %s (written by an older vidfuse) and are not in the database: "
                "their jobs cannot be listed: %s",
                len(report.without_record),
                JOB_FILE,
                ", ".join(report.without_record[:10]),
            )
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
            db.execute(
                "INSERT INTO jobs (id, kind, params, status, created_at) VALUES (?, ?, ?, 'queued', ?)",
                (job_id, kind, json.dumps(params, ensure_ascii=False), time.time()),
            )
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
                "FROM jobs j WHERE j.id = ? AND j.status = 'queued'",
                (job_id,),
            ).fetchone()
        return row[0] if row else None

    def mean_run_seconds(self, last: int = 20) -> float | None:
        """Mean claim-to-finish time of the last ``last`` finished jobs (for Retry-After)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT AVG(finished_at - started_at) FROM (SELECT finished_at, started_at FROM jobs "
                "WHERE status = 'done' AND started_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?)",
                (last,),
            ).fetchone()
        return row[0] if row and row[0] is not None else None

    def cancel(self, job_id: str) -> Job | None:
        """Queued → cancelled now; running → flag it (the worker stops at its next progress report)."""
        with self._write() as db:
            row = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            if row["status"] == "queued":
                db.execute(
                    "UPDATE jobs SET status = 'cancelled', stage = 'cancelled', finished_at = ? WHERE id = ?",
                    (time.time(), job_id),
                )
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
            db.execute(
                "UPDATE jobs SET status = 'cancelled', stage = 'cancelled', claim = NULL, worker = NULL, "
                "crashes = ?, finished_at = ? WHERE id = ?",
                (crashes, now, job_id),
            )
            self._log(db, job_id, "cancelled", row["claim"], reason)
        elif crashed and crashes >= self.max_crashes:
            error = (
                f"its worker process died each time it ran ({crashes} times; last: {reason}); not retrying, "
                "since the job itself is the likely cause (too big for this machine's memory?)"
            )
            db.execute(
                "UPDATE jobs SET status = 'failed', stage = 'failed', error = ?, claim = NULL, worker = NULL, "
                "crashes = ?, finished_at = ? WHERE id = ?",
                (error, crashes, now, job_id),
            )
            self._log(db, job_id, "failed", row["claim"], error)
        else:
            db.execute(
                "UPDATE jobs SET status = 'queued', stage = 'queued', progress = 0, claim = NULL, "
                "worker = NULL, crashes = ?, started_at = NULL WHERE id = ?",
                (crashes, job_id),
            )
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
                (token, worker, time.time(), row["id"]),
            )
            if cur.rowcount != 1:  # cannot happen under BEGIN IMMEDIATE; kept as the protocol's guard
                return None
            self._log(db, row["id"], "claimed", token, f"worker {worker}")
            self._record(db, row["id"])
        return self.get(row["id"])

    def progress(self, job_id: str, claim: str, stage: str, fraction: float) -> bool:
        """Record progress; False when the worker must stop (cancel requested, or the claim is gone)."""
        fraction = min(max(float(fraction), 0.0), 1.0)
        with self._write() as db:
            cur = db.execute(
                "UPDATE jobs SET stage = ?, progress = MAX(progress, ?) "
                "WHERE id = ? AND claim = ? AND status = 'running' AND cancel_requested = 0",
                (stage, fraction, job_id, claim),
            )
            return cur.rowcount == 1

    def complete(
        self, job_id: str, claim: str, work_dir: Path, files: list[str], recorded: Mapping[str, Any] | None = None
    ) -> bool:
        """Move ``files`` from ``work_dir`` into the job's folder and mark it done, at most once; ``recorded``:
        what the run found out, kept in the job's params (``run_warnings``: what it warned of; ``video``: the
        written video's size, frames and rate).

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
                db.execute(
                    "UPDATE jobs SET status = 'cancelled', stage = 'cancelled', finished_at = ? WHERE id = ?",
                    (now, job_id),
                )
                self._log(db, job_id, "cancelled", claim)
                self._record(db, job_id)
                return False
            final.mkdir(parents=True, exist_ok=True)
            for name in files:  # same file system, so each rename is atomic
                os.replace(work_dir / name, final / name)
            db.execute(
                "UPDATE jobs SET status = 'done', stage = 'done', progress = 1, files = ?, finished_at = ? "
                "WHERE id = ? AND claim = ?",
                (json.dumps(files), now, job_id, claim),
            )
            if recorded:
                params = json.loads(db.execute("SELECT params FROM jobs WHERE id = ?", (job_id,)).fetchone()[0])
                params.update(recorded)
                db.execute("UPDATE jobs SET params = ? WHERE id = ?", (json.dumps(params, ensure_ascii=False), job_id))
            self._log(db, job_id, "done", claim)
            self._record(db, job_id)
        return True

    def fail(self, job_id: str, claim: str, error: str) -> bool:
        with self._write() as db:
            cur = db.execute(
                "UPDATE jobs SET status = 'failed', stage = 'failed', error = ?, finished_at = ? "
                "WHERE id = ? AND claim = ? AND status = 'running'",
                (error, time.time(), job_id, claim),
            )
            if cur.rowcount:
                self._log(db, job_id, "failed", claim, error)
                self._record(db, job_id)
            return cur.rowcount == 1

    def abort(self, job_id: str, claim: str) -> None:
        """The worker stopped on request: a cancelled job is marked so; a lost claim is left alone."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE jobs SET status = 'cancelled', stage = 'cancelled', finished_at = ? "
                "WHERE id = ? AND claim = ? AND status = 'running' AND cancel_requested = 1",
                (time.time(), job_id, claim),
            )
            if cur.rowcount:
                self._log(db, job_id, "cancelled", claim)
                self._record(db, job_id)
