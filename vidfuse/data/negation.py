"""What a prompt says is *not* to be drawn: "a red 9, not a 3", "not a blue 3 but a green 5 moving up",
"moving left, not right", "draw a 9 rather than a 3", 不是3, 而不是红色的5, 不要往右.

A text encoder reads "not a 3" as a 3: the shipped default drew the excluded digit in three of four such prompts,
and counted it as a second digit asked for (a hostile-user probe, 2026-12-07). :func:`drop_negated` takes such
phrases out of what a vidfuse model reads (:func:`vidfuse.data.durations.model_text`), so the digit counter,
the layering and the encoder see only what is to be drawn.

Read: a negation ("not", "never", "nor", "no", "instead of", "rather than", "except (for)", "without", "isn't",
"doesn't", "don't"; 不是, 并非, 而非, 除了, 不要) followed by at most three small words (articles, "digit",
"moving", a colour …) and then a digit (a numeral or a number word: 0–9) or a direction ("left", "up and
down", 向右). A comma before it and a "but" after it go too. A negation followed by anything else ("without
stopping", 不要太快) is left alone, and so is a prompt that would be left with nothing.
"""

from __future__ import annotations

import re

from vidfuse.data.subjects import EN_COLOUR_NAMES

__all__ = ["drop_negated"]

_COLOURS = "|".join(sorted(EN_COLOUR_NAMES, key=len, reverse=True))
_EN_NEGATION = (
    r"not|never|nor|no|instead\s+of|rather\s+than|except(?:\s+for)?|without|isn't|aren't|doesn't|don't|"
    r"is\s+not|are\s+not|does\s+not|do\s+not"
)
_EN_SMALL = (
    r"a|an|the|any|digit|number|numeral|figure|go|going|goes|move|moving|moves|to|toward|towards|"
    rf"want|need|draw|show|make|see|{_COLOURS}"
)
_EN_DIGIT = r"[0-9０-９]|zero|one|two|three|four|five|six|seven|eight|nine"
_EN_MOTION = (
    r"left\s+and\s+right|right\s+and\s+left|up\s+and\s+down|down\s+and\s+up|side\s+to\s+side|back\s+and\s+forth|"
    r"leftwards?|rightwards?|upwards?|downwards?|left|right|up|down"
)
_EN = re.compile(
    rf"(?i)\s*[,;]?\s*\b(?:{_EN_NEGATION})(?:\s+(?:{_EN_SMALL})){{0,3}}\s+(?:{_EN_DIGIT}|{_EN_MOTION})\b"
    r"(?!\s*(?:digits|numbers|times|seconds|frames|of\b))(?:\s*,?\s*\bbut\b)?"
)
_ZH_COLOURS = "品红|洋红|紫红|玫红|[白红紅绿綠蓝藍黄黃青紫粉橙黑灰金]"
_ZH = re.compile(
    r"[，,]?\s*(?:而不是|不是|并非|而非|除了|不要)"
    rf"(?:一个|个)?(?:(?:{_ZH_COLOURS})色?的?)?(?:数字)?"
    r"(?:[0-9０-９零〇一二三四五六七八九](?![个只位颗枚次遍秒帧些点直起路])|(?:向|往|朝)[左右上下](?![左右上下]))"
    r"(?:[，,]?\s*而是)?"
)


def drop_negated(text: str) -> str:
    """``text`` without the phrases that say what not to draw (the module docstring); ``text`` itself, unchanged,
    when it holds none or nothing else would be left."""
    out = _ZH.sub("", _EN.sub("", text))
    if out == text:
        return text
    out = re.sub(r"\s{2,}", " ", out).strip(" ,;，")
    return out if out else text
