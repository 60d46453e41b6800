"""The job side of the server under its earlier module name: the store (:mod:`.store`, :mod:`.datafolder`),
running one job (:mod:`.runners`) and the worker pool (:mod:`.pool`), re-exported for code that imports
them from here."""

from __future__ import annotations

from vidfuse.server.datafolder import (
    DB_NAME,
    JOB_FILE,
    JOB_ID_RE,
    LOCK_NAME,
    OUTPUT_FILES,
    SCHEMA_VERSION,
    SRT,
    STATUSES,
    STORYBOARD,
    THUMB,
    VIDEO,
    VTT,
)
from vidfuse.server.pool import WorkerPool, retry_after_seconds, worker_main
from vidfuse.server.runners import (
    DENOISING,
    MAX_LOADED_MODELS,
    JobAborted,
    ModelCache,
    ProgressFn,
    denoising_progress,
    denoising_stage,
    public_error,
    run_job,
    script_file,
    torch_cuda_available,
)
from vidfuse.server.store import TERMINAL, Job, JobStore, QueueFull, StartupReport

__all__ = [
    "DB_NAME",
    "DENOISING",
    "JOB_FILE",
    "JOB_ID_RE",
    "LOCK_NAME",
    "MAX_LOADED_MODELS",
    "OUTPUT_FILES",
    "SCHEMA_VERSION",
    "SRT",
    "STATUSES",
    "STORYBOARD",
    "TERMINAL",
    "THUMB",
    "VIDEO",
    "VTT",
    "Job",
    "JobAborted",
    "JobStore",
    "ModelCache",
    "ProgressFn",
    "QueueFull",
    "StartupReport",
    "WorkerPool",
    "denoising_progress",
    "denoising_stage",
    "public_error",
    "retry_after_seconds",
    "run_job",
    "script_file",
    "torch_cuda_available",
    "worker_main",
]
