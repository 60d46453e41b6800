"""The one place in vidfuse that writes and reads video (PyAV for codecs, Pillow for GIF and stills).

Frames are ``uint8`` arrays shaped ``(T, H, W, 3)``, RGB, at every public boundary.

Writing (:func:`write_video`, in :mod:`vidfuse.media.video_write`), by file suffix:

- ``.mp4``: H.264 (libx264, ``yuv420p``, BT.709 tagged, ``+faststart`` so browsers stream it),
  optional AAC audio and a soft ``mov_text`` subtitle track. 4:2:0 chroma needs even sizes, so an
  odd height or width is padded by one row/column that repeats the edge; reading the file back
  gives the padded, even size.
- ``.webm``: VP9 (``yuv420p``, any size kept as is), optional Opus audio at 48 kHz and a soft
  WebVTT subtitle track.
- ``.gif``: Pillow, one adaptive 256-colour palette per frame, looping forever, no audio.

Every write goes through :func:`vidfuse.fileio.atomic_path`: a failed write leaves neither a
partial file nor a temp file behind.

Reading (:mod:`vidfuse.media.video_read`): :func:`read_video` (any format FFmpeg decodes, plus still
images as one-frame clips), :func:`read_audio`, :func:`read_subtitles`, :func:`probe_video`. A file that
exists but cannot be decoded raises :class:`VideoDecodeError`, which data loaders catch to skip corrupt files.
:func:`audio_stream_count` tells whether a file has sound before any of it is decoded.

Both directions convert colours the same way (:mod:`vidfuse.media.colour`). Contact sheets (grids of
frames with captions) are in :mod:`vidfuse.media.sheets`. This module re-exports the names of all three,
so callers import from one place.
"""

from __future__ import annotations

from vidfuse.media.sheets import contact_sheet
from vidfuse.media.video_read import (
    VideoDecodeError,
    VideoInfo,
    audio_stream_count,
    probe_video,
    read_audio,
    read_subtitles,
    read_video,
)
from vidfuse.media.video_write import MAX_FPS, MIN_FPS, PathLike, check_fps, write_video

__all__ = [
    "MAX_FPS",
    "MIN_FPS",
    "PathLike",
    "VideoDecodeError",
    "VideoInfo",
    "audio_stream_count",
    "check_fps",
    "contact_sheet",
    "probe_video",
    "read_audio",
    "read_subtitles",
    "read_video",
    "write_video",
]
