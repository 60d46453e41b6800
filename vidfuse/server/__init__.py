"""``vidfuse serve``: an HTTP API and a web page over a persistent job queue.

- :func:`vidfuse.server.app.create_app` builds the FastAPI app; :func:`vidfuse.server.app.serve`
  runs it under uvicorn (the Python twin of ``vidfuse serve``).
- :mod:`vidfuse.server.jobs` holds the SQLite job store and the worker process pool.
- ``static/`` is the web page: plain HTML, CSS and JavaScript, no build step.

Worker processes are started with the ``spawn`` method, so a script that calls ``serve`` or
``create_app`` must guard its entry point with ``if __name__ == "__main__":``.
"""
from __future__ import annotations

__all__ = ["create_app", "serve", "Limits"]


def __getattr__(name: str):
    if name in __all__:
        from vidfuse.server import app

        return getattr(app, name)
    raise AttributeError(f"module 'vidfuse.server' has no attribute {name!r}")
