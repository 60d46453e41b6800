"""What counts as plain text in a prompt, a script or a request: one rule for the CLI, the Python API,
the story planner and the server (a prompt the server accepts must not fail later in a worker).

Also which characters belong to East Asian scripts, written once for the planner, speech and subtitles.
"""

from __future__ import annotations

import re
import unicodedata

# Unicode categories refused anywhere text goes into a model, a voice or a subtitle
BAD_CATEGORIES = {
    "Cc": "a control character",
    "Cs": "a lone surrogate",
    "Co": "a private-use character",
    "Cn": "an unassigned code point",
}
ALLOWED_CONTROLS = frozenset("\t\n\r")
# embeddings, overrides and isolates (U+202A-202E, U+2066-2069): they reorder how text is shown, so a prompt
# holding one reads differently in a file list, a job title or a subtitle than what was drawn ("Trojan Source")
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# what an empty prompt's error tells the user to do (the pipeline's check and every tokenizer's)
EMPTY_PROMPT_HINT = "write what the video should show, e.g. 'a red digit 3 moving left'"


def is_blank(text: str) -> bool:
    """Whether ``text`` shows nothing: only whitespace and invisible format characters (Unicode category Cf:
    zero-width spaces and joiners, word joiners, byte-order marks, soft hyphens). Such a prompt is empty."""
    return all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in text)


# East Asian scripts, as regex character-class ranges. Three sets, because callers ask three questions:
# Han ideographs (Chinese characters: Extension A, the unified block, compatibility ideographs, Extensions
# B–F). "Is this Chinese?": a scene with one is Chinese, and the Mandarin voice reads them through pinyin;
# kana or Hangul are not Chinese, and pinyin has no reading for them.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
# Scripts written without spaces between words: Han plus CJK radicals, kana and bopomofo (Japanese puts no
# space between kana and kanji either). Wrapped lines of such text join with nothing between them, a sentence
# may end at "." with no space after it, and a prompt may be cut between any two of them.
UNSPACED = "\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f" + HAN
# East Asian wide scripts: the above plus Hangul syllables, which Korean separates with spaces but which are
# drawn as wide as Han. Each takes two columns of a subtitle line, and a line may break between any two.
WIDE = UNSPACED + "\uac00-\ud7af"
HAN_RE = re.compile(f"[{HAN}]")  # one character; HAN_RE.search(text) asks whether text holds any
UNSPACED_RE = re.compile(f"[{UNSPACED}]")
WIDE_RE = re.compile(f"[{WIDE}]")


def first_bad_char(text: str) -> tuple[int, str, str] | None:
    """(index, character, what it is) of the first character plain text may not hold — a control character
    other than tab and newlines, a lone surrogate, a private-use or unassigned code point, a bidirectional-text
    control (:data:`BIDI_CONTROLS`) — or None."""
    if text.isascii() and text.isprintable():
        return None  # the common case, without a per-character loop
    for i, ch in enumerate(text):
        kind = BAD_CATEGORIES.get(unicodedata.category(ch))
        if "\udc80" <= ch <= "\udcff":  # how Python keeps a byte of the command line that is not UTF-8
            kind = f"the byte 0x{ord(ch) - 0xDC00:02X}, which is not UTF-8 (type or save the text as UTF-8)"
        if kind is not None and ch not in ALLOWED_CONTROLS:
            return i, ch, kind
        if ch in BIDI_CONTROLS:
            return i, ch, "a bidirectional-text control"
    return None
