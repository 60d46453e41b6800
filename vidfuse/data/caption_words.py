"""Words that captions of Moving Digits are made of, shared by the template captions
(:mod:`vidfuse.data.moving_digits`) and the wider paraphrase grammar (:mod:`vidfuse.data.paraphrase`)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["COLOUR_ZH", "EN_NUMBERS", "ZH_NUMBERS", "pick"]

EN_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ZH_NUMBERS = "零一二三四五六七八九"
# The Chinese name of each colour of vidfuse.data.moving_digits.COLOURS
COLOUR_ZH = {
    "white": "白色",
    "red": "红色",
    "green": "绿色",
    "blue": "蓝色",
    "yellow": "黄色",
    "cyan": "青色",
    "magenta": "品红色",
}


def pick(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    """One of ``options``, drawn with one ``rng.integers`` call (the caption streams depend on that draw)."""
    return options[rng.integers(len(options))]
