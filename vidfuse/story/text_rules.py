"""How the story reads script text: what counts as words, which characters are written without spaces, how two
pieces of a paragraph join, and which language a scene is in. Shared by the planner, the Markdown stripper, the
prompt rules and the length estimate."""

from __future__ import annotations

import unicodedata

from vidfuse.text import HAN_RE, UNSPACED_RE

__all__ = ["has_words", "is_unspaced", "join_text", "scene_lang"]

_CJK_PUNCT = "。！？；，、：…“”‘’「」『』（）《》【】"


def has_words(text: str) -> bool:
    """Whether ``text`` holds a letter or a digit (of any script)."""
    return any(unicodedata.category(c)[0] in "LN" for c in text)


def scene_lang(text: str, lang: str) -> str:
    """A scene's language: ``lang`` when forced (``"en"``/``"zh"``), else ``"zh"`` when ``text`` holds a Chinese
    character (``"auto"``)."""
    if lang != "auto":
        return lang
    return "zh" if HAN_RE.search(text) else "en"


def is_unspaced(ch: str) -> bool:
    """A character of a script written without spaces (Chinese, kana) or a CJK punctuation mark."""
    return bool(UNSPACED_RE.match(ch)) or ch in _CJK_PUNCT


def join_text(a: str, b: str, *, wrapped: bool = False) -> str:
    """Join two pieces of one paragraph with a space, or with nothing between Chinese (or Japanese) sentences
    (``wrapped``: between lines of a wrapped paragraph, nothing next to any such character)."""
    if not a:
        return b
    tight_a, tight_b = is_unspaced(a[-1]), is_unspaced(b[0])
    if (tight_a or tight_b) if wrapped else (tight_a and tight_b):
        return a + b
    return a + " " + b
