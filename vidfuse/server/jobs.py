"""Moved: the job store is :mod:`vidfuse.server.store`; this name re-exports it while the split lands."""
from vidfuse.server.store import *  # noqa: F401,F403
