"""Subtitles: timed cues, SRT/WebVTT sidecar files, line wrapping, and burn-in onto frames.

A :class:`Cue` is one caption (``start_s``–``end_s``, text). Cues come from speech timings
(:func:`cues_from_timings`), are written beside a video as ``story.srt`` + ``story.vtt``
(:func:`write_sidecars`), and can be drawn into the frames themselves (:func:`burn_subtitles`).

Burn-in only ever changes pixels inside the caption band, a full-width strip covering the bottom
(or top) :data:`BAND_FRACTION` (22 %) of the frame; :func:`caption_band` gives its rows. The text
is white with a black outline on a translucent black box, in the CJK font from
:mod:`vidfuse.media.fonts`, so Chinese and English both render.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Protocol, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vidfuse.errors import InputError
from vidfuse.fileio import atomic_write_text
from vidfuse.media.fonts import load_font
from vidfuse.text import WIDE

__all__ = [
    "BAND_FRACTION",
    "Cue",
    "burn_subtitles",
    "caption_band",
    "caption_font_size",
    "cues_from_timings",
    "parse_srt",
    "parse_vtt",
    "to_srt",
    "to_vtt",
    "wrap_text",
    "write_sidecars",
]

BAND_FRACTION = 0.22  # share of the frame height that captions may draw into
_BOX_ALPHA = 0.55  # opacity of the black box behind the text
_MIN_FONT_PX = 8
_CHUNK_FRAMES = 32  # frames blended at once, bounding the float32 working memory

_CJK_PUNCT = "\u3000-\u303f\uff00-\uffef"
# Atoms a line may break between: whitespace, one character of an East Asian wide script (Chinese, kana,
# Hangul: vidfuse.text.WIDE), one CJK punctuation mark, or a run of anything else (a Latin word with its
# attached ASCII punctuation).
_ATOM_RE = re.compile(rf"\s+|[{WIDE}]|[{_CJK_PUNCT}]|[^\s{WIDE}{_CJK_PUNCT}]+")
_CLOSERS = set("，。！？、；：”’」』）》〉】…,.!?;:)]%")  # never start a line
_OPENERS = set("“‘「『（《〈【([")  # never end a line
_TIMING_RE = re.compile(r"^\s*((?:\d+:)?\d{1,2}:\d{2}[,.]\d{3})\s*-->\s*((?:\d+:)?\d{1,2}:\d{2}[,.]\d{3})(?:\s.*)?$")


class _Timed(Protocol):
    """Anything with a sentence's text and span, e.g. ``speech.SentenceTiming``."""

    @property
    def text(self) -> str: ...
    @property
    def start_s(self) -> float: ...
    @property
    def end_s(self) -> float: ...


@dataclass(frozen=True)
class Cue:
    """One caption shown from ``start_s`` (inclusive) to ``end_s`` (exclusive), in seconds."""

    start_s: float
    end_s: float
    text: str

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start_s) and math.isfinite(self.end_s)) or not 0 <= self.start_s <= self.end_s:
            raise InputError(f"a cue needs 0 <= start_s <= end_s, got {self.start_s} → {self.end_s}")
        if not self.text.strip():
            raise InputError(f"cue {self.start_s:.3f}–{self.end_s:.3f} s has no text")


def cues_from_timings(sentences: Iterable[_Timed], offset_s: float = 0.0) -> list[Cue]:
    """One cue per spoken sentence (e.g. ``Speech.sentences``), shifted by ``offset_s`` seconds."""
    return [Cue(s.start_s + offset_s, s.end_s + offset_s, s.text) for s in sentences]


# --------------------------------------------------------------------------- SRT / WebVTT


def _timestamp(seconds: float, decimal: str) -> str:
    ms = round(seconds * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{decimal}{ms:03d}"


def _cue_text(text: str) -> str:
    # A blank line would end the cue and "-->" would read as a timing line; neither may appear.
    lines = [line.strip() for line in text.replace("-->", "->").splitlines()]
    return "\n".join(line for line in lines if line)


def _blocks(cues: Sequence[Cue], decimal: str) -> list[str]:
    return [
        f"{i}\n{_timestamp(c.start_s, decimal)} --> {_timestamp(c.end_s, decimal)}\n{_cue_text(c.text)}\n"
        for i, c in enumerate(cues, 1)
    ]


def to_srt(cues: Sequence[Cue]) -> str:
    """SubRip text: numbered blocks, ``00:00:01,250 --> 00:00:03,000`` timings, blank-line separated."""
    return "\n".join(_blocks(cues, ","))


def to_vtt(cues: Sequence[Cue]) -> str:
    """WebVTT text: a ``WEBVTT`` header, then numbered cues with ``00:00:01.250`` timings."""
    return "\n".join(["WEBVTT\n", *_blocks(cues, ".")])


def _seconds(stamp: str) -> float:
    *hours, minutes, rest = stamp.replace(",", ".").split(":")
    return int(hours[0] if hours else 0) * 3600 + int(minutes) * 60 + float(rest)


def _parse_blocks(blocks: list[str], kind: str) -> list[Cue]:
    cues = []
    for n, block in enumerate(blocks, 1):
        lines = block.split("\n")
        timing = next((i for i, line in enumerate(lines[:2]) if "-->" in line), None)
        match = _TIMING_RE.match(lines[timing]) if timing is not None else None
        if match is None:
            raise InputError(f"{kind} block {n} has no valid timing line: {block!r}")
        text = "\n".join(lines[timing + 1 :]).strip()
        cues.append(Cue(_seconds(match.group(1)), _seconds(match.group(2)), text))
    return cues


def _split_blocks(text: str) -> list[str]:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return [b.strip("\n") for b in re.split(r"\n[ \t]*\n", text) if b.strip()]


def parse_srt(text: str) -> list[Cue]:
    """Read SubRip text back into cues (the inverse of :func:`to_srt`)."""
    return _parse_blocks(_split_blocks(text), "SRT")


def parse_vtt(text: str) -> list[Cue]:
    """Read WebVTT text back into cues, skipping ``NOTE``/``STYLE``/``REGION`` blocks and cue settings."""
    blocks = _split_blocks(text)
    if not blocks or not re.match(r"WEBVTT(\s|$)", blocks[0]):
        raise InputError("not a WebVTT file: the first line must be 'WEBVTT'")
    cues = [b for b in blocks[1:] if not re.match(r"(NOTE|STYLE|REGION)(\s|$)", b)]
    return _parse_blocks(cues, "WebVTT")


def write_sidecars(video_path: str | os.PathLike, cues: Sequence[Cue]) -> tuple[Path, Path]:
    """Write ``<stem>.srt`` and ``<stem>.vtt`` beside ``video_path`` (atomically); return their paths."""
    video_path = Path(video_path)
    srt_path, vtt_path = video_path.with_suffix(".srt"), video_path.with_suffix(".vtt")
    atomic_write_text(srt_path, to_srt(cues))
    atomic_write_text(vtt_path, to_vtt(cues))
    return srt_path, vtt_path


# --------------------------------------------------------------------------- wrapping


def _atoms(paragraph: str) -> list[str]:
    """Unbreakable pieces of a paragraph, with closing punctuation glued to what precedes it and
    opening punctuation glued to what follows; whitespace atoms mark where a space belongs."""
    atoms: list[str] = []
    glue_next = False
    for tok in _ATOM_RE.findall(paragraph):
        if tok.isspace():
            atoms.append(" ")
            glue_next = False
        elif atoms and not atoms[-1].isspace() and (glue_next or all(c in _CLOSERS for c in tok)):
            atoms[-1] += tok
            glue_next = all(c in _OPENERS for c in tok)
        else:
            atoms.append(tok)
            glue_next = all(c in _OPENERS for c in tok)
    return atoms


def wrap_text(text: str, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, max_width_px: float) -> list[str]:
    """Break ``text`` into lines no wider than ``max_width_px`` when drawn in ``font``.

    English breaks at spaces; Chinese (and Japanese/Korean) may break between any two characters.
    A Latin word is split only when it alone is wider than a line. Closing punctuation (``，。”``)
    never starts a line and opening punctuation (``“（``) never ends one. Newlines in ``text`` are
    kept as line breaks. A single character wider than the line gets a line of its own.
    """
    if max_width_px <= 0:
        raise InputError(f"max_width_px must be positive, not {max_width_px}")

    def fits(s: str) -> bool:
        return font.getlength(s) <= max_width_px

    lines: list[str] = []
    for paragraph in text.splitlines():
        line, space = "", False
        for atom in _atoms(paragraph.strip()):
            if atom == " ":
                space = bool(line)
                continue
            joined = line + (" " if space else "") + atom
            space = False
            if fits(joined):
                line = joined
                continue
            if line:
                lines.append(line)
            line = ""
            for ch in atom if not fits(atom) else [atom]:  # split an over-long word by character
                if line and not fits(line + ch):
                    lines.append(line)
                    line = ""
                line += ch
        if line:
            lines.append(line)
    return lines


# --------------------------------------------------------------------------- burn-in


def caption_band(height: int, width: int, band: str = "bottom") -> tuple[int, int]:
    """Rows ``[y0, y1)`` of the full-width strip that :func:`burn_subtitles` may draw into."""
    if height <= 0 or width <= 0:
        raise InputError(f"frame size must be positive, got {height}x{width}")
    rows = max(1, round(height * BAND_FRACTION))
    if band == "bottom":
        return height - rows, height
    if band == "top":
        return 0, rows
    raise InputError(f"band must be 'bottom' or 'top', not {band!r}")


def _wrapped(
    text: str, band_h: int, width: int, size: int, margin: int
) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, list[str], int, int, int, int]:
    """``text`` wrapped at font ``size``: ``(font, lines, line_height, padding, stroke, lines_the_band_holds)``."""
    font = load_font(size)
    pad, stroke = max(1, size // 4), max(1, size // 12)
    ascent, descent = font.getmetrics()
    line_h = ascent + descent
    lines = wrap_text(text, font, max(1, width - 2 * (margin + pad + stroke)))
    return font, lines, line_h, pad, stroke, (band_h - margin - 2 * pad) // line_h


def _default_margin(height: int, width: int) -> int:
    return max(1, round(0.03 * min(height, width)))


def caption_font_size(
    height: int, width: int, texts: Iterable[str] = (), *, margin: int | None = None, max_size: int | None = None
) -> int:
    """The one font size for every caption burnt into a ``height``×``width`` video.

    It is chosen from the frame size: ``max_size``, by default 6 % of the frame's smaller side (at least
    12 px; the smaller side, so a 9:16 frame gets the same text as a 16:9 one, not text too big for its
    width). It is lowered only if one of ``texts`` (the video's cues), wrapped onto as many lines as the
    caption band holds, would still overflow the band; then it is the largest size at which every one
    fits (at least 8 px). Cues then differ in their number of lines, never in their size.
    """
    if height <= 0 or width <= 0:
        raise InputError(f"frame size must be positive, got {height}x{width}")
    y0, y1 = caption_band(height, width)
    margin = _default_margin(height, width) if margin is None else margin
    size = max(12, round(0.06 * min(height, width))) if max_size is None else max_size
    texts = list(dict.fromkeys(t for t in texts if t.strip()))  # each distinct text measured once
    while size > _MIN_FONT_PX and any(
        len(w[1]) > w[5] for w in (_wrapped(t, y1 - y0, width, size, margin) for t in texts)
    ):
        size = max(_MIN_FONT_PX, int(size * 0.9))
    return size


def _layout(
    text: str, band_h: int, width: int, font_size: int, margin: int
) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, list[str], int, int, int]:
    """Wrap ``text`` at exactly ``font_size`` (never smaller: every cue of a video shares one size);
    return ``(font, lines, line_height, padding, stroke)``. Lines the band cannot hold even at the
    smallest size are dropped and the last kept line ends with an ellipsis."""
    font, lines, line_h, pad, stroke, fit = _wrapped(text, band_h, width, font_size, margin)
    fit = max(1, fit)
    if len(lines) > fit:
        lines = lines[: fit - 1] + [lines[fit - 1].rstrip() + "…"]
    return font, lines, line_h, pad, stroke


def _overlay(
    text: str, band_h: int, width: int, font_size: int, margin: int, band: str
) -> tuple[np.ndarray, np.ndarray]:
    """Render one caption for a band of ``(band_h, width)``; return ``(alpha, premultiplied)``,
    both float32 ``(band_h, width, 1)``, so that ``out = pixels * (1 - alpha) + premultiplied``."""
    font, lines, line_h, pad, stroke = _layout(text, band_h, width, font_size, margin)
    block_w = max(font.getlength(line) for line in lines) + 2 * pad + 2 * stroke
    block_h = len(lines) * line_h + 2 * pad
    top = band_h - margin - block_h if band == "bottom" else margin
    left = (width - block_w) / 2

    box, outline, fill = (Image.new("L", (width, band_h), 0) for _ in range(3))
    ImageDraw.Draw(box).rectangle([left, top, left + block_w - 1, top + block_h - 1], fill=255)
    for i, line in enumerate(lines):
        xy = (width / 2, top + pad + i * line_h)
        ImageDraw.Draw(outline).text(xy, line, font=font, fill=255, anchor="ma", stroke_width=stroke, stroke_fill=255)
        ImageDraw.Draw(fill).text(xy, line, font=font, fill=255, anchor="ma")
    b, o, f = (np.asarray(m, dtype=np.float32)[..., None] / 255.0 for m in (box, outline, fill))
    b = b * _BOX_ALPHA
    # Layers, bottom up: black box, black outline, white text.
    alpha = 1.0 - (1.0 - b) * (1.0 - o) * (1.0 - f)
    return alpha, 255.0 * f


def burn_subtitles(
    frames: np.ndarray,
    cues: Sequence[Cue],
    fps: float,
    *,
    font_size: int | None = None,
    margin: int | None = None,
    band: str = "bottom",
) -> np.ndarray:
    """Draw each cue onto the frames it covers; return a new ``(T, H, W, 3)`` uint8 array.

    Frame ``t`` shows at time ``t / fps`` and carries every cue with ``start_s <= t / fps < end_s``
    (overlapping cues are stacked, earlier first). Text is centred, wrapped to the frame width and
    drawn inside :func:`caption_band`; nothing outside the band changes, and frames without a
    cue are untouched. Every cue of the call is drawn at one size, :func:`caption_font_size` of the
    frame size and these cues (``font_size``, when given, is its largest): a long cue wraps onto
    more lines instead of shrinking alone. A caller burning a video in pieces (as the story
    composer does) passes the size it chose once for the whole video. ``margin`` (default 3 % of the smaller side) is
    the gap kept to the frame's sides and its bottom (or top) edge. ``frames`` is not modified.
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise InputError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    if not fps > 0:
        raise InputError(f"fps must be positive, not {fps}")
    t_count, height, width, _ = frames.shape
    y0, y1 = caption_band(height, width, band)
    margin = _default_margin(height, width) if margin is None else margin
    if (font_size is not None and font_size < 1) or margin < 0:
        raise InputError(f"font_size must be >= 1 and margin >= 0, got {font_size} and {margin}")

    # Group frames by the caption they show, so each distinct caption is rendered once.
    times = np.arange(t_count) / fps
    active = np.array([(c.start_s <= times) & (times < c.end_s) for c in cues]).reshape(len(cues), t_count)
    groups: dict[str, list[int]] = {}
    for t in np.flatnonzero(active.any(axis=0)):
        groups.setdefault("\n".join(cues[i].text for i in np.flatnonzero(active[:, t])), []).append(t)
    font_size = caption_font_size(height, width, groups, margin=margin, max_size=font_size)

    out = frames.copy()
    for text, idx in groups.items():
        alpha, premultiplied = _overlay(text, y1 - y0, width, font_size, margin, band)
        for start in range(0, len(idx), _CHUNK_FRAMES):
            chunk = idx[start : start + _CHUNK_FRAMES]
            region = out[chunk, y0:y1].astype(np.float32)  # (n, band_h, W, 3)
            out[chunk, y0:y1] = np.clip(region * (1.0 - alpha) + premultiplied + 0.5, 0, 255).astype(np.uint8)
    return out
