"""What counts as plain text in a prompt, a script or a request: one rule for the CLI, the Python API,
the story planner and the server (a prompt the server accepts must not fail later in a worker)."""
from __future__ import annotations

import unicodedata

# Unicode categories refused anywhere text goes into a model, a voice or a subtitle
BAD_CATEGORIES = {"Cc": "a control character", "Cs": "a lone surrogate", "Co": "a private-use character",
                  "Cn": "an unassigned code point"}
ALLOWED_CONTROLS = frozenset("\t\n\r")


def first_bad_char(text: str) -> tuple[int, str, str] | None:
    """(index, character, what it is) of the first character plain text may not hold — a control character
    other than tab and newlines, a lone surrogate, a private-use or unassigned code point — or None."""
    if text.isascii() and text.isprintable():
        return None  # the common case, without a per-character loop
    for i, ch in enumerate(text):
        kind = BAD_CATEGORIES.get(unicodedata.category(ch))
        if kind is not None and ch not in ALLOWED_CONTROLS:
            return i, ch, kind
    return None
