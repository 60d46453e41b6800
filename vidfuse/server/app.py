"""``vidfuse serve``: the FastAPI app over the persistent job queue, and running it under uvicorn.

:func:`create_app` wires the parts together: the job store (:mod:`.store`), the worker pool
(:mod:`.pool`), the guard in front of everything (:mod:`.security`) and the routes (:mod:`.routes`,
which lists the API).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Iterable, Iterator

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from vidfuse.errors import InputError
from vidfuse.fileio import check_writable_dir
from vidfuse.server.datafolder import data_dir_lock
from vidfuse.server.pool import WorkerPool
from vidfuse.server.routes import Service, limit_error, pages, v1, validation_error
from vidfuse.server.schemas import SCRIPT_ONLY, LimitError, Limits, VideoRequest
from vidfuse.server.security import Guard, MediaSigner, RedactToken, is_loopback
from vidfuse.server.security import allowed_hosts as check_hosts
from vidfuse.server.served import served_models, vidfuse_version
from vidfuse.server.store import JobStore

# Limits, VideoRequest and SCRIPT_ONLY are imported from here by callers that predate schemas.py.
__all__ = ["create_app", "serve", "serve_in_background", "Limits", "VideoRequest", "SCRIPT_ONLY"]

log = logging.getLogger("vidfuse.server")


def create_app(
    *,
    data_dir: str | os.PathLike,
    model: str | os.PathLike | None = None,
    models_dir: str | os.PathLike | None = None,
    token: str | None = None,
    workers: int = 1,
    queue_size: int = 16,
    limits: Limits | None = None,
    max_crashes: int = 2,
    allowed_hosts: Iterable[str] = (),
) -> FastAPI:
    """The FastAPI app: API, web page and (while it runs) a pool of ``workers`` processes.

    ``workers=0`` accepts and stores jobs without running any (for tests, or to drain a queue
    later). ``allowed_hosts``: host names clients may use besides localhost, 127.0.0.1 and [::1]
    (``"*"``: any). ``max_crashes``: a job whose worker process dies this many times while running
    it fails (see :mod:`vidfuse.server.store`). Raises :class:`InputError` at once when the model
    folder is missing. The job database is checked and repaired when the app starts (lifespan).
    """
    if workers < 0 or queue_size < 1:
        raise InputError(f"workers must be >= 0 and queue_size >= 1 (got {workers}, {queue_size})")
    limits = limits or Limits()
    hosts = check_hosts(allowed_hosts)
    data_dir = check_writable_dir(Path(data_dir).resolve())  # a file there, or /proc: one line, not a traceback
    data_dir.mkdir(parents=True, exist_ok=True)
    served, default_model = served_models(model, models_dir)
    store = JobStore(data_dir, max_crashes=max_crashes, create=False)
    signer = MediaSigner()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        with data_dir_lock(data_dir):
            store.startup()
            recovered = store.recover()
            if recovered:
                log.info("re-queued %d job(s) left running by the last server", len(recovered))
            pool = (
                WorkerPool(
                    store,
                    models={n: m.worker_folder for n, m in served.items()},
                    default=default_model,
                    workers=workers,
                )
                if workers
                else None
            )
            app.state.pool = pool
            if pool:
                pool.start()
            try:
                yield
            finally:
                if pool:
                    await asyncio.to_thread(pool.stop)

    app = FastAPI(
        title="vidfuse",
        version=vidfuse_version(),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        description="Text to video: submit a prompt or a script, follow the job, download the MP4.",
    )
    app.state.service = Service(
        store=store,
        limits=limits,
        served=served,
        default_model=default_model,
        signer=signer,
        sign_urls=bool(token),
        queue_size=queue_size,
        workers=workers,
    )
    # also one by one, for serve() and tests; the pool is set while the app runs (lifespan)
    app.state.store, app.state.limits, app.state.pool, app.state.signer = store, limits, None, signer
    app.add_middleware(Guard, hosts=hosts, token=token, signer=signer, max_body=limits.max_body_bytes)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(LimitError, limit_error)
    app.include_router(pages)
    app.include_router(v1)
    return app


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` (0: a free port), made before anything else starts so that a port
    in use or an address that is not this machine's is one line (an :class:`InputError`), not a traceback or
    uvicorn's own error after the server has said where its page is."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InputError(f"--port {port!r}: give a port number from 1 to 65535")
    # the family uvicorn itself would use: IPv6 for an address with a colon, else IPv4 (a name resolves to IPv4)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait for TIME_WAIT
    try:
        sock.bind((host, port))
    except (socket.gaierror, UnicodeError) as e:
        sock.close()
        raise InputError(f"--host {host!r}: not an address or a known host name ({e}); try 127.0.0.1") from None
    except OSError as e:
        sock.close()
        why = {
            errno.EADDRINUSE: "is in use by another program; pick another --port",
            errno.EACCES: "needs more rights (ports below 1024 are for the system); pick a port from 1024",
            errno.EADDRNOTAVAIL: "is not an address of this machine; use 127.0.0.1, 0.0.0.0 or one of its own",
        }.get(e.errno, f"cannot be listened on ({e.strerror or e})")
        raise InputError(f"{host}:{port} {why}") from None
    return sock


def serve(host: str = "127.0.0.1", port: int = 8000, allowed_hosts: Iterable[str] = (), **kwargs) -> None:
    """Run the app under uvicorn until interrupted (``vidfuse serve``); ``kwargs`` go to :func:`create_app`.

    Clients must name the server by ``host``, a loopback name or one of ``allowed_hosts`` (``*``: any)."""
    import uvicorn

    sock = listening_socket(host, port)  # first: a busy port leaves no data folder behind
    port = sock.getsockname()[1]
    with contextlib.closing(sock):
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        if not is_loopback(host) and not kwargs.get("token"):
            log.warning(
                "listening on %s without a token: anyone who can reach this port can use it (add --token)", host
            )
        wildcard = host in ("", "0.0.0.0", "::")
        app = create_app(allowed_hosts=[*allowed_hosts, *([] if wildcard else [host])], **kwargs)
        if "*" in [h.strip() for h in allowed_hosts]:
            log.warning(
                "--allowed-host '*': any Host header is answered, so a web page of another site can reach this "
                "server through DNS rebinding; use it behind a proxy that checks the host name"
            )
        elif wildcard:
            log.warning(
                "listening on all addresses: clients must name this server by localhost, 127.0.0.1, [::1] or an "
                "--allowed-host (e.g. --allowed-host 192.168.1.20, or the machine's name); others get 400"
            )
        with data_dir_lock(Path(kwargs["data_dir"]).resolve()):
            # fail here, with a plain message, when another server holds the folder or the database
            # cannot be repaired (lifespan locks it again; the check runs once)
            app.state.store.startup()
        logging.getLogger("uvicorn.access").addFilter(RedactToken())
        log.info(
            "data folder %s; web page at http://%s:%d/",
            Path(kwargs["data_dir"]).resolve(),
            host if ":" not in host else f"[{host}]",
            port,
        )
        server = uvicorn.Server(uvicorn.Config(app, timeout_graceful_shutdown=5, log_level="info"))
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C is the way to stop it (uvicorn.run does the same)
            server.run(sockets=[sock])


@contextlib.contextmanager
def serve_in_background(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread (port 0 = a free one); yields the base URL. For tests and bench."""
    import uvicorn

    sock = listening_socket(host, port)
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
