"""The limits of one story and the checks that enforce them (the table in :mod:`vidfuse.story.planner`).

They bound what one story costs: the render's time grows with its length. The server checks a script against
them before it accepts a job (``validate_script``); ``render_story`` checks them before it speaks.
"""

from __future__ import annotations

from typing import Sequence

from vidfuse.errors import InputError
from vidfuse.story.scene import Scene
from vidfuse.story.spoken import CJK_WEIGHT, WEIGHT_PER_S, estimate_seconds, speech_seconds
from vidfuse.story.text_rules import has_words
from vidfuse.text import first_bad_char

__all__ = [
    "LANGS",
    "MAX_SCENES",
    "MAX_SCENE_PROMPT_CHARS",
    "MAX_SCENE_SECONDS",
    "MAX_SCRIPT_CHARS",
    "MAX_STORY_SECONDS",
    "SPOKEN_SLACK",
    "check_chars",
    "check_lang",
    "check_story",
    "check_text",
]

MAX_SCRIPT_CHARS = 20_000  # characters of script: a bound on the text itself, Markdown included
MAX_SCENES = 60
MAX_SCENE_SECONDS = 60.0  # a scene's narration as estimated, and the most a JSON "duration" may ask for
MAX_SCENE_PROMPT_CHARS = 300  # a JSON scene's own prompt (the model reads far less: prompts.MAX_PROMPT_CHARS)
MAX_STORY_SECONDS = 600.0  # the whole story as estimated: 10 minutes, ≈ 60 full scenes
SPOKEN_SLACK = 1.25  # the spoken length may pass a limit by this factor before the composer refuses it
LANGS = ("auto", "en", "zh")


def check_lang(lang: str) -> str:
    """``lang`` when it is one of :data:`LANGS`, else :class:`InputError`."""
    if lang not in LANGS:
        raise InputError(f"lang must be one of {', '.join(LANGS)}, not {lang!r}")
    return lang


def check_text(
    text: str, max_chars: int, where: str = "the script", advice: str = "split it into several stories"
) -> str:
    """Normalise newlines and refuse text that is too long, empty, wordless or holds bad characters."""
    if not isinstance(text, str):
        raise InputError(f"{where} must be text (str), got {type(text).__name__}")
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    n = len(text.strip())
    if n > max_chars:
        raise InputError(f"{where} is {n:,} characters long; the limit is {max_chars:,} characters: {advice}")
    check_chars(text, where)
    if not text.strip():
        raise InputError(f"{where} is empty: write a few sentences to narrate")
    if not has_words(text):
        raise InputError(f"{where} has no words, only punctuation or symbols: write a few sentences to narrate")
    return text


def check_chars(text: str, where: str) -> None:
    """Refuse what is not plain text (:func:`vidfuse.text.first_bad_char`), naming its line and column."""
    bad = first_bad_char(text)
    if bad:
        i, ch, kind = bad
        line = text.count("\n", 0, i) + 1
        col = i - (text.rfind("\n", 0, i) + 1) + 1
        raise InputError(
            f"{where} holds U+{ord(ch):04X}, {kind}, at "
            f"line {line}, column {col}; remove it (control and private-use characters cannot be spoken "
            "or shown)"
        )


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} minutes" if seconds >= 90 else f"{seconds:.0f} s"


def check_story(scenes: Sequence[Scene], where: str, rate: int | None) -> None:
    """Refuse a story past :data:`MAX_SCENES`, :data:`MAX_SCENE_SECONDS` or :data:`MAX_STORY_SECONDS`.

    ``where`` names the script in messages (``"the script"``, ``"story.json"``)."""
    for i, scene in enumerate(scenes, 1):
        spoken = speech_seconds(scene.narration, rate=rate)
        if spoken > MAX_SCENE_SECONDS:
            raise InputError(
                f"scene {i} of {where} ({scene.narration[:30]!r}…) would be spoken for about {spoken:.0f} s; "
                f"a scene's narration may last at most {MAX_SCENE_SECONDS:g} s (about "
                f"{int(MAX_SCENE_SECONDS * WEIGHT_PER_S):,} Latin letters or "
                f"{int(MAX_SCENE_SECONDS * WEIGHT_PER_S / CJK_WEIGHT)} Chinese characters): split it into "
                "several scenes"
            )
    total = estimate_seconds(scenes, rate=rate)
    if total > MAX_STORY_SECONDS:
        raise InputError(
            f"{where} would make a story of about {_minutes(total)} ({len(scenes)} scenes); the limit is "
            f"{_minutes(MAX_STORY_SECONDS)} (MAX_STORY_SECONDS): shorten it or split it into several stories"
        )
    if len(scenes) > MAX_SCENES:
        raise InputError(
            f"{where} makes {len(scenes)} scenes; the limit is {MAX_SCENES} (MAX_SCENES): "
            "shorten it or split it into several stories"
        )
