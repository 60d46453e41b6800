"""The server's data folder on disk, and how it is checked and repaired at start.

``DATA_DIR/jobs.sqlite3`` is the job table (:mod:`vidfuse.server.store` reads and writes it);
``DATA_DIR/jobs/<id>/`` holds a job's own record ``job.json`` (what the table is rebuilt from) and its
outputs under names the server picks; ``DATA_DIR/server.lock`` is held by the one server using the folder.

Here: those names, the table's schema and migrations, the integrity check, moving a damaged database
aside, and the field-by-field check of a ``job.json`` before it becomes a row again.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator

from vidfuse.errors import InputError, VidfuseError

log = logging.getLogger("vidfuse.server")

STATUSES = ("queued", "running", "done", "failed", "cancelled")
DB_NAME = "jobs.sqlite3"
LOCK_NAME = "server.lock"
JOB_FILE = "job.json"  # a job's own record, in its folder: what the database is rebuilt from
JOB_ID_RE = re.compile(r"[0-9a-f]{32}")
# Output files a job may have, by the name the server gives them.
VIDEO, THUMB, STORYBOARD, SRT, VTT = "video.mp4", "thumb.png", "storyboard.png", "subtitles.srt", "subtitles.vtt"
OUTPUT_FILES = frozenset((VIDEO, THUMB, STORYBOARD, SRT, VTT))

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
RECORD_FIELDS = (
    "id",
    "kind",
    "params",
    "status",
    "stage",
    "progress",
    "error",
    "files",
    "attempts",
    "crashes",
    "cancel_requested",
    "created_at",
    "started_at",
    "finished_at",
)


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime())


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """One server per data folder: a second one would re-queue the first one's running jobs."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    path = data_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = Path(path).read_text().strip() or "?"
            raise InputError(
                f"another vidfuse server (pid {other}) is using {data_dir}; stop it or pick another --data-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)  # releases the lock


def prepare_schema(db: sqlite3.Connection, db_path: Path) -> Path | None:
    """Create the tables, or upgrade older ones (after a backup); returns the backup's path."""
    backup = None
    db.execute("PRAGMA journal_mode=WAL")
    version = db.execute("PRAGMA user_version").fetchone()[0]
    exists = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'").fetchone()
    if exists and version > SCHEMA_VERSION:
        raise InputError(
            f"{db_path} was written by a newer vidfuse (schema {version}, this one "
            f"reads {SCHEMA_VERSION}); upgrade vidfuse or use another --data-dir"
        )
    if exists and version < SCHEMA_VERSION:
        backup = db_path.with_name(f"{DB_NAME}.v{version}-backup-{_stamp()}")
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


def integrity_problem(db_path: Path) -> str | None:
    """Why the database file cannot be trusted, or None (also when there is none yet)."""
    if not db_path.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=rw", uri=True, timeout=30)) as db:
            rows = [r[0] for r in db.execute("PRAGMA integrity_check(5)").fetchall()]
            if rows != ["ok"]:
                return "PRAGMA integrity_check: " + "; ".join(str(r) for r in rows)
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and "jobs" not in tables:
                return f"it is an SQLite database without a jobs table (tables: {', '.join(sorted(tables))})"
    except sqlite3.OperationalError as e:  # locked or unreadable: no proof of damage, so never move it aside
        raise VidfuseError(
            f"cannot open the job database {db_path.name} ({e}); check that no other "
            "program holds it and that this user may read and write it"
        ) from None
    except sqlite3.DatabaseError as e:  # "file is not a database", "database disk image is malformed"
        return str(e)
    return None


def move_aside(db_path: Path) -> Path:
    """Rename the database (and its -wal/-shm files, under matching names) out of the way."""
    aside = db_path.with_name(f"{DB_NAME}.corrupt-{_stamp()}")
    n = 1
    while aside.exists():
        n += 1
        aside = db_path.with_name(f"{DB_NAME}.corrupt-{_stamp()}-{n}")
    # the database first: a kill after it leaves a -wal without its database, which startup moves aside;
    # the other order could leave the database without its WAL, silently rolled back to older states
    os.replace(db_path, aside)
    for suffix in ("-wal", "-shm"):
        side = db_path.with_name(DB_NAME + suffix)
        if side.exists():
            os.replace(side, aside.with_name(aside.name + suffix))
    return aside


def move_orphans(db_path: Path) -> None:
    """Move aside the -wal/-shm files of a database that is gone: SQLite would apply them to a new one."""
    for suffix in ("-wal", "-shm"):
        side = db_path.with_name(DB_NAME + suffix)
        if side.exists():
            os.replace(side, side.with_name(f"{side.name}.orphan-{_stamp()}"))
            log.error("moved %s, left without its database, to %s", side.name, side.name + ".orphan-…")


def checked_record(raw: Any, job_id: str) -> dict[str, Any]:
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
        "id": job_id,
        "kind": raw["kind"],
        "params": raw["params"],
        "status": raw["status"],
        "files": files,
        **text,
        "progress": number("progress", optional=True, hi=1.0) or 0.0,
        "attempts": int(number("attempts", optional=True) or 0),
        "crashes": int(number("crashes", optional=True) or 0),
        "cancel_requested": bool(raw.get("cancel_requested")),
        "created_at": number("created_at", optional=True) or time.time(),
        "started_at": number("started_at", optional=True),
        "finished_at": number("finished_at", optional=True),
    }
