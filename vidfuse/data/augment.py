"""Augmentations that keep a clip and its caption telling the same story.

A horizontal flip mirrors the motion, so a caption that says "left" must then say "right";
flipping the pixels alone would teach the model that "moving left" looks like moving right.
:func:`hflip_clip` flips both. :func:`swap_left_right` is the caption half on its own.

English: ``left``/``right`` and their forms (``leftward(s)``, ``rightmost``, ``left-hand``,
``right-handed``, ...) swap as whole words with their case kept (``Left`` → ``Right``,
``LEFT`` → ``RIGHT``); ``leftover`` or ``bright`` are other words and stay. A few phrases where
the word is not a direction stay too: "right" meaning *exactly* or *correct* (``right now``,
``right away``, ``right here``, ``right there``, ``right after``, ``right before``,
``all right``, ``right angle``, ``right side up``) and "left" as the past of *leave*
(``has left``, ``have left``, ``had left``, ``been left``, ``left behind``, ``left over``,
``left alone``). Other uses of "left" as a verb ("she left the room") cannot be told from the
direction by a pattern and are swapped; such captions are rare in video data.

Chinese: 左 ↔ 右 (``向左`` → ``向右``, ``从左到右`` → ``从右到左``), except where the pair is
symmetric or 左/右 is not a direction: ``左右`` (左右移动 is side to side both ways round; 三秒左右
is "about three seconds"), idioms that pair them (左顾右盼, 左邻右舍, 左思右想, 左摇右摆, ...),
座右铭 and 相左.
"""

from __future__ import annotations

import re

import torch

_EN_KEEP = (
    r"all right|right (?:now|away|here|there|after|before|side up)|right[- ]?angle(?:s|d)?"
    r"|(?:has|have|had|having|been) left|left (?:behind|over|alone)"
)
_EN = re.compile(
    rf"\b(?:(?P<keep>{_EN_KEEP})|(?P<word>left|right)(?P<suffix>wards?|most|-?hand(?:ed|er)?|-most)?)\b",
    re.IGNORECASE,
)

_ZH_KEEP = (
    "左顾右盼",
    "左邻右舍",
    "左思右想",
    "左摇右摆",
    "左拥右抱",
    "左膀右臂",
    "左支右绌",
    "左冲右突",
    "左躲右闪",
    "左右",
    "右左",
    "座右铭",
    "相左",
)
_ZH = re.compile("|".join([*_ZH_KEEP, "左", "右"]))
_ZH_SWAP = {"左": "右", "右": "左"}


def _match_case(word: str, like: str) -> str:
    """``word`` written in the case pattern of ``like`` (lower, Title or UPPER)."""
    if like.isupper():
        return word.upper()
    if like[0].isupper():
        return word.capitalize()
    return word


def _swap_en(m: re.Match) -> str:
    if m.group("keep"):
        return m.group(0)
    word = m.group("word")
    other = "right" if word.lower() == "left" else "left"
    return _match_case(other, word) + (m.group("suffix") or "")


def swap_left_right(caption: str) -> str:
    """Swap left and right in an English and/or Chinese caption (rules in the module docstring)."""
    caption = _EN.sub(_swap_en, caption)
    return _ZH.sub(lambda m: _ZH_SWAP.get(m.group(0), m.group(0)), caption)


def hflip_clip(video: torch.Tensor, caption: str) -> tuple[torch.Tensor, str]:
    """Mirror a clip horizontally and swap left/right in its caption.

    ``video`` is ``(..., H, W)``, e.g. ``(C, T, H, W)`` from the datasets; the last axis is flipped.
    """
    return video.flip(-1), swap_left_right(caption)
