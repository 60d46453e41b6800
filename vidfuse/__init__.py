"""vidfuse: text-to-video generation by multimodal fusion.

    text ─► TextEncoder ─H─┐
                           ├─► Fusion (cross-attention) ─Z─► Generator ─► frames uint8 (T, H, W, 3)
    image ─► VisualEncoder ─V─┘

Public API (imported lazily so that ``import vidfuse`` stays cheap):

- :class:`vidfuse.pipeline.TextToVideoPipeline` — ``from_pretrained`` / ``save_pretrained`` / ``__call__``
- :func:`vidfuse.media.video_io.write_video`, :func:`~vidfuse.media.video_io.read_video`
- :class:`vidfuse.data.moving_digits.MovingDigits`
"""

from __future__ import annotations

from vidfuse.version import __version__

__all__ = ["TextToVideoPipeline", "write_video", "read_video", "MovingDigits", "__version__"]


def __getattr__(name: str):
    if name == "TextToVideoPipeline":
        from vidfuse.pipeline import TextToVideoPipeline

        return TextToVideoPipeline
    if name in ("write_video", "read_video"):
        from vidfuse.media import video_io

        return getattr(video_io, name)
    if name == "MovingDigits":
        from vidfuse.data.moving_digits import MovingDigits

        return MovingDigits
    raise AttributeError(f"module 'vidfuse' has no attribute {name!r}")
