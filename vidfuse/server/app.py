"""Moved: the app is :mod:`vidfuse.server.routes`; this name re-exports it while the split lands."""
from vidfuse.server.routes import *  # noqa: F401,F403
from vidfuse.server.routes import _data_dir_lock, _served_models  # noqa: F401
