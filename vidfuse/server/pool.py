"""The worker processes: each claims jobs from the store and runs them (:func:`worker_main`); the
server's :class:`WorkerPool` spawns them, wakes them when a job is queued, restarts one that dies and
stops them.
"""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import os
import threading
import time
from typing import Any

from vidfuse.server.runners import ModelCache, run_job
from vidfuse.server.store import JobStore
from vidfuse.sysinfo import keep_freed_memory

log = logging.getLogger("vidfuse.server")


def worker_main(
    data_dir: str, models: dict[str, str | None], default: str, threads: int, inbox, max_crashes: int
) -> None:
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
    keep_freed_memory()  # a spawned process starts with glibc's defaults again (the CLI set the server's)
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

    def __init__(
        self,
        store: JobStore,
        *,
        models: dict[str, str | None],
        default: str,
        workers: int,
        threads_per_worker: int | None = None,
    ):
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
        p = self.ctx.Process(
            target=worker_main,
            name="vidfuse-worker",
            daemon=True,
            args=(str(self.store.data_dir), self.models, self.default, self.threads, inbox, self.store.max_crashes),
        )
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
