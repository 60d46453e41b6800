"""Moving Digits' template captions: one sentence per clip, English or Chinese, drawn from a few subject forms,
predicate styles, number forms and endings (the wider grammar used in training is :mod:`vidfuse.data.paraphrase`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from vidfuse.data.caption_words import COLOUR_ZH, EN_NUMBERS, ZH_NUMBERS, pick
from vidfuse.errors import InputError

__all__ = ["LANGS", "make_caption"]

LANGS = ("en", "zh")

# A caption picks one subject form, one predicate style, one number form and one ending; both
# clauses of a level-2 caption share them. {c} is "red " or "" when the colour is not named.
_EN_SUBJECTS = ("{c}digit {n}", "the {c}digit {n}", "{a} {c}{n}", "{a} {c}digit {n}", "the {c}number {n}")
# (one-way, bouncing); {d} = left/right/up/down, {to} = "to the left"/"to the right"/up/down, {b} = "left and right"/...
_EN_PREDICATES = (
    ("is moving {d}", "is {b}"),  # SBMG: "digit 3 is left and right."
    ("is moving {to}", "is moving {b}"),
    ("moves {d}", "moves {b}"),
    ("is going {d}", "is going {b}"),
    ("moving {to}", "bouncing {b}"),
    ("slides {to}", "bounces {b}"),
    ("is sliding {to}", "is bouncing {b}"),
    ("goes {d}", "keeps bouncing {b}"),
    ("is heading {to}", "is moving {b}"),
)
_EN_JOINERS = (" and ", ", and ", " while ")
_EN_ENDINGS = ("", ".", " .")

_ZH_SUBJECTS = ("{c}数字{n}", "{c_of}数字{n}", "一个{c_of}数字{n}")
# (one-way, bouncing); {d} = 左/右/上/下, {b} = 左右/上下
_ZH_PREDICATES = (
    ("在向{d}移动", "在{b}移动"),  # 数字3在左右移动
    ("向{d}移动", "{b}弹跳"),  # 红色的数字7向下移动 · 蓝色数字五上下弹跳
    ("正在向{d}移动", "正在{b}弹跳"),
    ("往{d}移动", "{b}移动"),
    ("向{d}运动", "{b}来回移动"),
    ("一直往{d}移动", "不停地{b}弹跳"),
)
_ZH_DIRECTIONS = {
    "left": "左",
    "right": "右",
    "up": "上",
    "down": "下",
    "left and right": "左右",
    "up and down": "上下",
}
_ZH_JOINERS = ("，", "；", "，同时", "，而")
_ZH_ENDINGS = ("", "。")


def _en_clause(
    digit: int, motion: str, colour: str | None, subject: str, predicate: tuple[str, str], words: bool
) -> str:
    number = EN_NUMBERS[digit] if words else str(digit)
    coloured = f"{colour} " if colour else ""
    noun = subject.format(c=coloured, n=number, a="a")
    if noun.startswith(("a 8", "a eight")):
        noun = "an" + noun[1:]
    one_way = " and " not in motion
    verb = predicate[0 if one_way else 1].format(
        d=motion, b=motion, to=f"to the {motion}" if motion in ("left", "right") else motion
    )
    return f"{noun} {verb}"


def _zh_clause(
    digit: int, motion: str, colour: str | None, subject: str, predicate: tuple[str, str], words: bool
) -> str:
    number = ZH_NUMBERS[digit] if words else str(digit)
    zh_colour = COLOUR_ZH[colour] if colour else ""
    noun = subject.format(c=zh_colour, c_of=f"{zh_colour}的" if colour else "", n=number)
    one_way = " and " not in motion
    return noun + predicate[0 if one_way else 1].format(d=_ZH_DIRECTIONS[motion], b=_ZH_DIRECTIONS[motion])


def make_caption(attrs: dict[str, Any], lang: str, rng: np.random.Generator) -> str:
    """One caption for ``attrs`` in ``lang`` (``"en"`` or ``"zh"``), drawn from the templates.

    The digit is a numeral or a number word; the colour appears exactly when
    ``attrs["colour_named"]`` says so. A level-2 caption joins one clause per digit.
    """
    if lang not in LANGS:
        raise InputError(f"caption language must be 'en' or 'zh', got {lang!r}")
    en = lang == "en"
    subject = pick(rng, _EN_SUBJECTS if en else _ZH_SUBJECTS)
    predicate = pick(rng, _EN_PREDICATES if en else _ZH_PREDICATES)
    words = bool(rng.random() < 0.5)
    joiner = pick(rng, _EN_JOINERS if en else _ZH_JOINERS)
    ending = pick(rng, _EN_ENDINGS if en else _ZH_ENDINGS)
    clause = _en_clause if en else _zh_clause
    clauses = [
        clause(d, m, c if named else None, subject, predicate, words)
        for d, m, c, named in zip(attrs["digits"], attrs["motions"], attrs["colours"], attrs["colour_named"])
    ]
    return joiner.join(clauses) + ending
