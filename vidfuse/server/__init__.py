"""``vidfuse serve``: an HTTP API and a web page over a persistent job queue.

- :func:`vidfuse.server.app.create_app` builds the FastAPI app; :func:`vidfuse.server.app.serve`
  runs it under uvicorn (the Python twin of ``vidfuse serve``).
- The HTTP side: :mod:`.routes` (the page and the API), :mod:`.schemas` (what requests and jobs look
  like), :mod:`.checks` (a request against the limits), :mod:`.served` (the models and what this install
  can run), :mod:`.security` (host, token, body size, signed media URLs), :mod:`.docs_page` (``/docs``).
- The job side: :mod:`.store` (the SQLite job store), :mod:`.datafolder` (the data folder's layout,
  schema and repairs), :mod:`.runners` (running one job), :mod:`.pool` (the worker processes);
  :mod:`.jobs` re-exports them under their earlier module name.
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
