"""How long narration takes to speak, estimated from its text alone (no speech engine): what the story's limits
bound and what a silent render (``no_voice``) is timed by.

The unit is a Latin letter's speaking time (:func:`spoken_weight`): espeak at its default rate speaks about
:data:`WEIGHT_PER_S` of them a second, and a Chinese character, a digit or a symbol read out weighs
:data:`CJK_WEIGHT`. A scene's length adds the composer's fades and the pauses around its voice.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Sequence

from vidfuse.media.speech import split_sentences
from vidfuse.story.scene import Scene
from vidfuse.story.text_rules import has_words
from vidfuse.text import HAN_RE

__all__ = [
    "CJK_WEIGHT",
    "CROSSFADE_S",
    "DEFAULT_RATE",
    "LEAD_S",
    "MIN_SENTENCE_S",
    "SENTENCE_PAUSE_S",
    "TAIL_S",
    "WEIGHT_PER_S",
    "estimate_seconds",
    "scene_seconds",
    "speech_seconds",
    "split_to_weight",
    "spoken_weight",
]

CJK_WEIGHT = 4  # a Chinese character, a digit or a spoken symbol (%, &, emoji…) weighs 4 Latin letters
WEIGHT_PER_S = 15.0  # espeak at its default rate speaks about 15 Latin letters a second
DEFAULT_RATE = 175  # espeak's default words per minute; a rate r scales spoken time by DEFAULT_RATE / r
MIN_SENTENCE_S, SENTENCE_PAUSE_S = 0.8, 0.25  # no sentence is spoken faster; the pause between two
# The composer's timing (vidfuse.story.compose), here so a story's length can be estimated before
# it is rendered: scenes overlap by a crossfade, and a scene's voice sits between LEAD_S and TAIL_S.
CROSSFADE_S = 0.5  # between scenes, and the fade from / to black at the ends
LEAD_S = 0.25  # after a scene's incoming fade, before its voice
TAIL_S = 0.35  # after its voice, before its outgoing fade

_SPOKEN_SIGNS = set("%&@#*/\\|_^~+=<>$€£¥")  # ASCII-ish signs espeak reads as words
# Where a too-long sentence may be cut, best first: after clause punctuation, after a space.
_CUT_RES = (re.compile(r".+?(?:[，,、；;：:—]+\s*|$)", re.S), re.compile(r".+?(?:\s+|$)", re.S))


def _char_weight(c: str) -> int:
    if c.isspace():
        return 0
    if HAN_RE.match(c) or c in _SPOKEN_SIGNS:  # a Chinese character is a syllable; kana and Hangul stay 1
        return CJK_WEIGHT
    cat = unicodedata.category(c)
    return CJK_WEIGHT if cat == "Nd" or cat[0] == "S" else 1  # "2024", "%" and "😀" are read as words


def spoken_weight(text: str) -> int:
    """Rough speaking time in units of one Latin letter (:data:`WEIGHT_PER_S` a second): a Chinese
    character, a digit or a symbol that is read out (``%``, ``&``, ``+``, emoji) counts 4."""
    return sum(_char_weight(c) for c in text)


def _rate_factor(rate: int | None) -> float:
    return 1.0 if rate is None else DEFAULT_RATE / max(1, rate)


def speech_seconds(narration: str, *, rate: int | None = None) -> float:
    """Estimated length of ``narration`` spoken by espeak at ``rate`` words a minute (None: its
    default), sentence by sentence as :func:`vidfuse.media.speech.synthesize` speaks it: each
    pronounceable sentence at least :data:`MIN_SENTENCE_S`, with :data:`SENTENCE_PAUSE_S` between."""
    spoken = [s for s in split_sentences(narration) if has_words(s)]
    if not spoken:
        return 0.0
    talk = sum(max(MIN_SENTENCE_S, spoken_weight(s) / WEIGHT_PER_S) for s in spoken)
    return talk * _rate_factor(rate) + SENTENCE_PAUSE_S * (len(spoken) - 1)


def scene_seconds(speech_s: float, duration_s: float | None = None) -> float:
    """How long a scene lasts with ``speech_s`` of narration (the composer's timing, before it is
    rounded to whole frames): fade in, lead, voice, tail, fade out, or its ``duration_s`` if longer."""
    need = 2 * CROSSFADE_S + LEAD_S + speech_s + TAIL_S
    return max(need, duration_s) if duration_s is not None else need


def estimate_seconds(scenes: Sequence[Scene], *, rate: int | None = None) -> float:
    """Estimated length of a story, crossfades counted once: what :data:`MAX_STORY_SECONDS` bounds."""
    if not scenes:
        return 0.0
    total = sum(scene_seconds(speech_seconds(s.narration, rate=rate), s.duration_s) for s in scenes)
    return total - CROSSFADE_S * (len(scenes) - 1)


def split_to_weight(text: str, max_weight: int, weight=spoken_weight) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_weight``: after clause punctuation where possible,
    else after spaces, else (Chinese, or one very long word) between characters. Greedy, so the
    pieces are as long as they may be; joined back (with a space, or nothing between Chinese
    characters) they give the text again."""

    def atoms(piece: str, level: int) -> list[str]:
        if weight(piece) <= max_weight:
            return [piece]
        if level >= len(_CUT_RES):
            return list(piece)
        return [a for part in _CUT_RES[level].findall(piece) for a in atoms(part, level + 1)]

    pieces, cur, cur_weight = [], "", 0  # a weight is a sum over characters, so it adds up
    for atom in atoms(text, 0):
        w = weight(atom)
        if cur.strip() and cur_weight + w > max_weight:
            pieces.append(cur)
            cur, cur_weight = "", 0
        cur, cur_weight = cur + atom, cur_weight + w
    pieces.append(cur)
    return [p.strip() for p in pieces if p.strip()]
