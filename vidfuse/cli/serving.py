"""``vidfuse serve``: the HTTP API and web page."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def serve(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on; 0.0.0.0 opens it to the network (add --token)."
    ),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on, 1-65535."),
    data_dir: Path = typer.Option(
        Path("vidfuse-data"), "--data-dir", help="Job database and outputs; jobs survive restarts."
    ),
    model: Optional[Path] = typer.Option(
        None, "--model", help="Model folder (default: the one shipped inside vidfuse)."
    ),
    models_dir: Optional[Path] = typer.Option(
        None,
        "--models-dir",
        help="Serve these models too, by name (default: $VIDFUSE_MODELS, else ~/.cache/vidfuse/models).",
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        help="Worker processes; each loads a model when a job first needs it and keeps the last two.",
    ),
    queue_size: int = typer.Option(16, "--queue-size", min=1, help="Jobs that may wait; past it the API answers 429."),
    token: Optional[str] = typer.Option(
        None,
        "--token",
        envvar="VIDFUSE_TOKEN",
        show_envvar=True,
        help="Require 'Authorization: Bearer TOKEN' on every API call.",
    ),
    allowed_host: Optional[list[str]] = typer.Option(
        None,
        "--allowed-host",
        metavar="NAME",
        help="A host name clients may use besides localhost, 127.0.0.1, "
        "[::1] and --host (repeatable; '*': any). Other Host headers get 400, so that a web page of another site "
        "cannot reach the server.",
    ),
) -> None:
    """HTTP API + web page with a persistent job queue. (vidfuse.server.app.serve)"""
    from vidfuse.server.app import serve as run_server
    from vidfuse.userdirs import check_models_dir

    check_models_dir(models_dir)

    run_server(
        host=host,
        port=port,
        data_dir=data_dir,
        model=model,
        models_dir=models_dir,
        workers=workers,
        queue_size=queue_size,
        token=token,
        allowed_hosts=allowed_host or (),
    )
