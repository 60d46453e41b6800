"""The video formats vidfuse writes, and the file suffixes that name them: one table for the writer, the
command line and the Python API (no codec is imported here)."""

from __future__ import annotations

__all__ = ["VIDEO_FORMATS", "SUFFIX_FORMATS"]

VIDEO_FORMATS = ("mp4", "webm", "gif")
SUFFIX_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".webm": "webm", ".gif": "gif"}  # .m4v is Apple's name for MP4
