"""Contact sheets: a PNG grid of sampled frames with captions, for eyeballing clips.

One row per clip, its frames picked evenly over the clip and upscaled nearest-neighbour, its caption
(Chinese included) wrapped underneath in the CJK font from :mod:`vidfuse.media.fonts`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from vidfuse.errors import InputError
from vidfuse.fileio import atomic_path
from vidfuse.media.fonts import load_font
from vidfuse.media.frames import check_frames, even_indices, is_int
from vidfuse.media.subtitles import wrap_text

__all__ = ["contact_sheet"]

PathLike = str | os.PathLike

_SHEET_BACKGROUND = (48, 48, 48)  # dark grey, so that black frame edges still show a border
_SHEET_TEXT = (235, 235, 235)


def contact_sheet(
    clips: Sequence[np.ndarray],
    captions: Sequence[str | None] | None = None,
    *,
    path: PathLike | None = None,
    n_cols: int = 8,
    scale: int = 2,
    gap: int = 2,
    font_size: int = 16,
    title: str | None = None,
) -> Image.Image:
    """A grid image for eyeballing clips: one row per clip, its caption written underneath.

    Args:
        clips: uint8 arrays ``(T, H, W, 3)``; sizes may differ between clips.
        captions: one string (or None) per clip, Chinese included; wrapped to the row's width.
        path: if given, the sheet is also saved there atomically (PNG for a ``.png`` suffix).
        n_cols: frames per row, picked evenly over each clip (first and last included; a clip
            shorter than ``n_cols`` repeats frames).
        scale: integer nearest-neighbour upscaling, so that 64×64 pixels stay visible.
        gap: pixels of dark grey between frames, rows and around the sheet.
        font_size: caption font size in pixels.
        title: text written above the first row (wrapped to the sheet's width), e.g. what the clips share.

    Returns:
        An RGB :class:`PIL.Image.Image`.
    """
    clips = list(clips)
    if not clips:
        raise InputError("contact_sheet needs at least one clip.")
    clips = [check_frames(c) for c in clips]
    if captions is not None and len(captions) != len(clips):
        raise InputError(f"got {len(captions)} captions for {len(clips)} clips; pass one per clip (None for none).")
    limits = (("n_cols", n_cols, 1), ("scale", scale, 1), ("gap", gap, 0), ("font_size", font_size, 1))
    for name, value, low in limits:
        if not is_int(value) or value < low:
            raise InputError(f"{name} must be an integer >= {low}, got {value!r}.")

    font = load_font(font_size)
    line_height = font.getbbox("Ág国")[3] + max(2, font_size // 4)
    rows = []  # (strip image, wrapped caption lines)
    for i, clip in enumerate(clips):
        picked = clip[even_indices(len(clip), n_cols)]  # (n_cols, H, W, 3)
        picked = picked.repeat(scale, axis=1).repeat(scale, axis=2)  # nearest-neighbour upscale
        n, h, w, _ = picked.shape
        strip = np.full((h, n * w + (n - 1) * gap, 3), _SHEET_BACKGROUND, np.uint8)  # (h, row width, 3)
        for j in range(n):
            strip[:, j * (w + gap) : j * (w + gap) + w] = picked[j]
        caption = captions[i] if captions is not None else None
        lines = wrap_text(caption, font, strip.shape[1]) if caption else []
        rows.append((strip, lines))

    width = max(strip.shape[1] for strip, _ in rows) + 2 * gap
    heading = wrap_text(title, font, width - 2 * gap) if title and title.strip() else []
    height = (
        gap + len(heading) * line_height + sum(strip.shape[0] + len(lines) * line_height + gap for strip, lines in rows)
    )
    sheet = Image.new("RGB", (width, height), _SHEET_BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    y = gap
    for line in heading:
        draw.text((gap, y), line, font=font, fill=_SHEET_TEXT)
        y += line_height
    for strip, lines in rows:
        sheet.paste(Image.fromarray(strip), (gap, y))
        y += strip.shape[0]
        for line in lines:
            draw.text((gap, y), line, font=font, fill=_SHEET_TEXT)
            y += line_height
        y += gap
    if path is not None:
        with atomic_path(path) as tmp:
            sheet.save(tmp, format=Image.registered_extensions().get(Path(path).suffix.lower(), "PNG"))
    return sheet
