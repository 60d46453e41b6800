"""Subtitle cues of a story: one per spoken sentence, timed to its exact span, and burnt into frames on request.

A cue is timed to its sentence's sample span, start rounded up and end rounded down to the millisecond,
so it never shows before its words or after them. A sentence wider on screen than :data:`MAX_CUE_WEIGHT`
is split at clause punctuation, else spaces, else between characters, into several cues that share its
span in proportion to their spoken length. Burnt in, every cue of a story has one font size
(:func:`vidfuse.media.subtitles.caption_font_size`): a long cue wraps onto more lines instead of shrinking.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from vidfuse.media.subtitles import Cue, burn_subtitles, caption_font_size
from vidfuse.story.planner import split_to_weight, spoken_weight
from vidfuse.text import WIDE_RE

__all__ = ["MAX_CUE_WEIGHT", "burnt", "cue_pieces", "display_weight", "sentence_cues"]

MAX_CUE_WEIGHT = 84  # display width of one cue (Latin char 1, East Asian wide char 2): about two lines at 720p
_CHUNK = 16  # frames captioned at once (16 full-size frames: 44 MB at 1280×720)


def display_weight(text: str) -> int:
    """Columns ``text`` takes on screen: 2 for a character of an East Asian wide script (Chinese, kana,
    Hangul: :data:`vidfuse.text.WIDE`), 1 for any other, 0 for spaces."""
    return sum(2 if WIDE_RE.match(c) else 1 for c in text if not c.isspace())


def cue_pieces(text: str, max_weight: int = MAX_CUE_WEIGHT) -> list[str]:
    """Split a long sentence for display: after clause punctuation, else spaces, else between characters."""
    return split_to_weight(text, max_weight, display_weight)


def _ceil_ms(t: float) -> float:
    return math.ceil(round(t * 1000, 6)) / 1000


def _floor_ms(t: float) -> float:
    return math.floor(round(t * 1000, 6)) / 1000


def sentence_cues(text: str, start: float, end: float) -> list[Cue]:
    """Cues inside [start, end] (ms-rounded inwards), split in proportion to spoken weight."""
    pieces = cue_pieces(text)
    weights = np.array([max(1, spoken_weight(p)) for p in pieces], dtype=np.float64)
    bounds = start + (end - start) * np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    stamps = [_ceil_ms(start)] + [round(float(b), 3) for b in bounds[1:-1]] + [_floor_ms(end)]
    cues = []
    for piece, a, b in zip(pieces, stamps, stamps[1:]):
        if b > a:
            cues.append(Cue(a, b, piece))
    return cues or [Cue(start, end, text)]


def burnt(frames: Iterator[np.ndarray], cues: list[Cue], fps: float, size: tuple[int, int]) -> Iterator[np.ndarray]:
    """``frames`` (``size`` = (H, W)) with ``cues`` burnt in, :data:`_CHUNK` frames at a time (bounded
    memory), every cue at the one font size :func:`caption_font_size` picks for the whole story."""
    font_size = caption_font_size(*size, [c.text for c in cues])
    chunk: list[np.ndarray] = []
    start = 0  # index of chunk[0] on the timeline

    def flush() -> Iterator[np.ndarray]:
        t0, t1 = start / fps, (start + len(chunk)) / fps
        local = [Cue(max(0.0, c.start_s - t0), c.end_s - t0, c.text) for c in cues if c.end_s > t0 and c.start_s < t1]
        yield from burn_subtitles(np.stack(chunk), local, fps, font_size=font_size) if local else chunk

    for frame in frames:
        chunk.append(frame)
        if len(chunk) == _CHUNK:
            yield from flush()
            start += len(chunk)
            chunk = []
    if chunk:
        yield from flush()
