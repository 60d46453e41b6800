"""A wider caption grammar for training: the ways people ask for a moving digit, in English and Chinese.

Moving Digits' own templates (:func:`vidfuse.data.moving_digits.make_caption`) are few: a model trained
on them alone keys on single template words and is thrown by any other (docs/decisions/text.md#paraphrase).
:func:`make_paraphrase`
draws a caption for the same attributes from a compositional grammar — a request frame ("show …",
"请生成…"), a subject (numeral or number word, colour before or after), a verb that fits the motion,
a direction phrase of many forms ("leftward", "from right to left", "towards the top", "从下往上",
"朝左边"), an optional adverb and place — so that the text encoder learns what the direction and
digit words *mean*, not which template they came in.

Training mixes it in with ``TrainConfig.paraphrase`` (the share of captions drawn from here; 0 keeps
the template captions exactly, rng draws included). Test captions never come from here: ``vidfuse
eval``'s captions stay the templates', and the novel-wording sets in ``bench/`` are judged on
sentences this grammar was not written from (``bench/novel_captions_v2.jsonl`` was written blind to it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vidfuse.data.caption_words import COLOUR_ZH, EN_NUMBERS, ZH_NUMBERS, pick

# (the templates' name, a second form): 红色 / 红 ("红色的5", "红色数字" vs "红5"); magenta's second is 洋红色
_ZH_COLOURS = {c: (name, "洋红色" if c == "magenta" else name.removesuffix("色")) for c, name in COLOUR_ZH.items()}


# ─────────────────────────────────────────── English ───────────────────────────────────────────

# (-ing form, present form) of verbs for a one-way motion; some only fit one direction
_EN_GO = [
    ("moving", "moves"),
    ("going", "goes"),
    ("sliding", "slides"),
    ("drifting", "drifts"),
    ("gliding", "glides"),
    ("floating", "floats"),
    ("travelling", "travels"),
    ("traveling", "travels"),
    ("heading", "heads"),
    ("shifting", "shifts"),
    ("sweeping", "sweeps"),
    ("scrolling", "scrolls"),
    ("running", "runs"),
    ("flying", "flies"),
    ("rolling", "rolls"),
    ("passing", "passes"),
    ("creeping", "creeps"),
    ("walking", "walks"),
    ("zooming", "zooms"),
    ("wandering", "wanders"),
]
_EN_GO_UP = [("rising", "rises"), ("climbing", "climbs"), ("ascending", "ascends"), ("lifting", "lifts")]
_EN_GO_DOWN = [("falling", "falls"), ("dropping", "drops"), ("sinking", "sinks"), ("descending", "descends")]
_EN_WAY = {
    "left": [
        "left",
        "to the left",
        "leftward",
        "leftwards",
        "towards the left",
        "toward the left",
        "to the left side",
        "from right to left",
        "from the right to the left",
        "right to left",
        "across to the left",
        "across the screen to the left",
        "over to the left",
        "in the left direction",
    ],
    "right": [
        "right",
        "to the right",
        "rightward",
        "rightwards",
        "towards the right",
        "toward the right",
        "to the right side",
        "from left to right",
        "from the left to the right",
        "left to right",
        "across to the right",
        "across the screen to the right",
        "over to the right",
        "in the right direction",
    ],
    "up": [
        "up",
        "upward",
        "upwards",
        "towards the top",
        "toward the top",
        "to the top",
        "from bottom to top",
        "from the bottom to the top",
        "bottom to top",
        "up the screen",
        "skyward",
        "higher and higher",
    ],
    "down": [
        "down",
        "downward",
        "downwards",
        "towards the bottom",
        "toward the bottom",
        "to the bottom",
        "from top to bottom",
        "from the top to the bottom",
        "top to bottom",
        "down the screen",
        "lower and lower",
    ],
}
_EN_BOUNCE = [
    ("bouncing", "bounces"),
    ("moving", "moves"),
    ("going", "goes"),
    ("swinging", "swings"),
    ("oscillating", "oscillates"),
    ("hopping", "hops"),
    ("jumping", "jumps"),
    ("sliding", "slides"),
    ("rocking", "rocks"),
    ("shuttling", "shuttles"),
    ("bobbing", "bobs"),
    ("travelling", "travels"),
    ("pacing", "paces"),
    ("wobbling", "wobbles"),
]
_EN_BACK = {
    "left and right": [
        "left and right",
        "right and left",
        "from side to side",
        "side to side",
        "back and forth horizontally",
        "horizontally back and forth",
        "horizontally",
        "left and right again and again",
        "between the left and right edges",
        "back and forth from left to right",
        "to the left and to the right",
    ],
    "up and down": [
        "up and down",
        "down and up",
        "vertically",
        "back and forth vertically",
        "vertically back and forth",
        "up and down again and again",
        "between the top and the bottom",
        "back and forth from top to bottom",
        "up and then down",
        "upward and downward",
    ],
}
_EN_ADVERB = ["", "", "", "slowly ", "quickly ", "steadily ", "smoothly ", "gently ", "fast ", "constantly "]
_EN_TAIL = [
    "",
    "",
    "",
    "",
    " across the screen",
    " on a black background",
    " in the frame",
    " on the screen",
    " over and over",
    " the whole time",
    " without stopping",
    " all the time",
    " in the video",
    " on a dark background",
    " through the frame",
]
_EN_HAND = ["", "", "", "handwritten ", "hand-written ", "hand drawn ", "small ", "big "]


def _en_subject(rng, digit: int, colour: str | None) -> str:
    n = EN_NUMBERS[digit] if rng.random() < 0.5 else str(digit)
    c, hand = colour or "", pick(rng, _EN_HAND)
    if not colour:
        forms = [
            "a {h}{n}",
            "the {h}{n}",
            "a {h}digit {n}",
            "the {h}digit {n}",
            "the {h}number {n}",
            "a {h}number {n}",
            "digit {n}",
            "number {n}",
            "the figure {n}",
            "a single {n}",
        ]
    else:
        forms = [
            "a {c} {h}{n}",
            "the {c} {h}{n}",
            "a {c} {h}digit {n}",
            "the {c} {h}number {n}",
            "a {h}{n} in {c}",
            "the {h}digit {n} in {c}",
            "a {c}-coloured {n}",
            "a {c}-colored {n}",
            "a {h}{n} coloured {c}",
            "a {h}{n} colored {c}",
            "a {h}{n} that is {c}",
            "{c} digit {n}",
            "a {h}number {n} painted {c}",
            "the {c} figure {n}",
        ]
    noun = pick(rng, forms).format(c=c, h=hand, n=n)
    if noun.startswith("a ") and noun[2:3] in "8aeiou" and not noun.startswith(("a one", "a uni")):
        noun = "an" + noun[1:]
    return noun


def _en_predicate(rng, motion: str) -> tuple[str, str]:
    """(participle phrase, finite phrase) for ``motion``: ("drifting slowly leftward", "drifts slowly leftward")."""
    adverb, tail = pick(rng, _EN_ADVERB), pick(rng, _EN_TAIL)
    if motion in _EN_WAY:
        verbs = _EN_GO + (_EN_GO_UP if motion == "up" else _EN_GO_DOWN if motion == "down" else [])
        ing, pres = pick(rng, verbs)
        way = pick(rng, _EN_WAY[motion])
        if (ing, pres) in _EN_GO_UP + _EN_GO_DOWN and rng.random() < 0.5:
            way = ""  # "rising", "falling": the verb alone says it
    else:
        ing, pres = pick(rng, _EN_BOUNCE)
        way = pick(rng, _EN_BACK[motion])
    way = f" {way}" if way else ""
    if rng.random() < 0.5:  # adverb before the verb or after the direction
        return f"{adverb}{ing}{way}{tail}", f"{adverb}{pres}{way}{tail}"
    after = f" {adverb.strip()}" if adverb else ""
    return f"{ing}{way}{after}{tail}", f"{pres}{way}{after}{tail}"


# {x}: "a red 3 drifting left" (subject + participle), {s}: "a red 3 drifts left" (a clause)
_EN_FRAMES = [
    "{x}",
    "{x}",
    "{s}",
    "{s}",
    "show {x}",
    "show me {x}",
    "draw {x}",
    "render {x}",
    "generate {x}",
    "make {x}",
    "animate {x}",
    "create {x}",
    "a video of {x}",
    "an animation of {x}",
    "a clip of {x}",
    "a short video of {x}",
    "video: {x}",
    "i want {x}",
    "i'd like to see {x}",
    "please show {x}",
    "can you make {x}",
    "could you animate {x}",
    "generate a video where {s}",
    "make a clip in which {s}",
    "there is {x}",
    "we see {x}",
    "watch {x}",
    "here {s}",
    "in this video {s}",
    "picture {x}",
    "imagine {x}",
    "{s} in this clip",
    "let's see {x}",
    "a scene where {s}",
    "produce a video of {x}",
]
_EN_JOIN = [" and ", ", and ", " while ", "; ", ", with "]


def _en_caption(rng, items: list[tuple[int, str, str | None]]) -> str:
    parts = []
    for digit, motion, colour in items:
        subject = _en_subject(rng, digit, colour)
        ing, pres = _en_predicate(rng, motion)
        parts.append((f"{subject} {ing}", f"{subject} {pres}"))
    frame = pick(rng, _EN_FRAMES)
    key = "s" if "{s}" in frame else "x"
    body = pick(rng, _EN_JOIN).join(p[1 if key == "s" else 0] for p in parts)
    text = frame.format(**{key: body})
    return text + pick(rng, ["", "", ".", "!", " please"])


# ─────────────────────────────────────────── Chinese ───────────────────────────────────────────

_ZH_WAY = {
    "left": [
        "向左",
        "往左",
        "朝左",
        "向左边",
        "往左边",
        "朝左边",
        "向左侧",
        "从右往左",
        "从右向左",
        "从右到左",
        "由右向左",
        "自右向左",
        "朝左方",
        "向左方",
    ],
    "right": [
        "向右",
        "往右",
        "朝右",
        "向右边",
        "往右边",
        "朝右边",
        "向右侧",
        "从左往右",
        "从左向右",
        "从左到右",
        "由左向右",
        "自左向右",
        "朝右方",
        "向右方",
    ],
    "up": [
        "向上",
        "往上",
        "朝上",
        "向上方",
        "往上边",
        "从下往上",
        "从下向上",
        "从下到上",
        "由下向上",
        "自下而上",
        "朝上方",
        "向顶部",
    ],
    "down": [
        "向下",
        "往下",
        "朝下",
        "向下方",
        "往下边",
        "从上往下",
        "从上向下",
        "从上到下",
        "由上向下",
        "自上而下",
        "朝下方",
        "向底部",
    ],
}
_ZH_GO = [
    "移动",
    "运动",
    "滑动",
    "漂移",
    "飘",
    "飘去",
    "走",
    "跑",
    "滑行",
    "平移",
    "前进",
    "移过去",
    "飞",
    "滚动",
    "游走",
]
_ZH_GO_UP = ["上升", "升起", "飘起", "往上飘", "爬升"]
_ZH_GO_DOWN = ["下落", "落下", "掉下来", "下降", "往下掉", "坠落"]
_ZH_BACK = {
    "left and right": [
        "左右",
        "左右来回",
        "在左右之间来回",
        "水平来回",
        "横向来回",
        "从左到右来回",
        "来回左右",
        "一左一右地",
    ],
    "up and down": [
        "上下",
        "上下来回",
        "在上下之间来回",
        "竖直来回",
        "纵向来回",
        "从上到下来回",
        "来回上下",
        "一上一下地",
    ],
}
_ZH_BOUNCE = ["弹跳", "移动", "跳动", "摆动", "晃动", "弹", "运动", "蹦", "跳", "反弹", "往返", "穿梭", "弹来弹去"]
_ZH_ADVERB = ["", "", "", "慢慢地", "慢慢", "快速地", "缓缓地", "不停地", "一直", "匀速", "轻轻地"]
_ZH_TAIL = ["", "", "", "", "，穿过屏幕", "，背景是黑色的", "，一直不停", "，在画面中", "，在黑色背景上", "，来来回回"]


def _zh_subject(rng, digit: int, colour: str | None) -> str:
    n = ZH_NUMBERS[digit] if rng.random() < 0.5 else str(digit)
    if not colour:
        forms = ["数字{n}", "一个{n}", "一个数字{n}", "这个数字{n}", "手写的{n}", "一个手写数字{n}", "{n}", "数字“{n}”"]
        return pick(rng, forms).format(n=n)
    c, short = _ZH_COLOURS[colour]
    forms = [
        "{c}的数字{n}",
        "一个{c}的{n}",
        "{c}数字{n}",
        "一个{c}的数字{n}",
        "{c}的{n}",
        "一个颜色是{c}的{n}",
        "{s}色的{n}" if len(short) == 1 else "{c}的{n}",
        "数字{n}，{c}的，",
        "一个{c}手写数字{n}",
        "一个{n}（{c}）",
        "涂成{c}的{n}",
    ]
    return pick(rng, forms).format(c=c, s=short, n=n)


def _zh_predicate(rng, motion: str) -> str:
    adverb, tail = pick(rng, _ZH_ADVERB), pick(rng, _ZH_TAIL)
    if motion in _ZH_WAY:
        special = _ZH_GO_UP if motion == "up" else _ZH_GO_DOWN if motion == "down" else []
        if special and rng.random() < 0.3:
            verb = pick(rng, special)
            if rng.random() < 0.5:
                return f"{adverb}{verb}{tail}"
            return f"{adverb}{pick(rng, _ZH_WAY[motion])}{verb}{tail}"
        return f"{adverb}{pick(rng, _ZH_WAY[motion])}{pick(rng, _ZH_GO)}{tail}"
    way = pick(rng, _ZH_BACK[motion])
    return f"{adverb}{way}{pick(rng, _ZH_BOUNCE)}{tail}"


_ZH_FRAMES = [
    "{s}",
    "{s}",
    "{s}",
    "画一个{s}",
    "生成一段{s}的视频",
    "生成{s}的动画",
    "请画{s}",
    "请生成：{s}",
    "我想看{s}",
    "我想要{s}",
    "显示{s}",
    "展示{s}",
    "屏幕上有{s}",
    "画面里{s}",
    "视频中{s}",
    "让{s}",
    "做一个{s}的视频",
    "来一段{s}",
    "帮我生成{s}",
    "一段视频：{s}",
    "动画：{s}",
    "黑色背景上{s}",
]
_ZH_JOIN = ["，", "；", "，同时", "，而", "，另外", "。"]


def _zh_caption(rng, items: list[tuple[int, str, str | None]]) -> str:
    clauses = [_zh_subject(rng, d, c) + _zh_predicate(rng, m) for d, m, c in items]
    text = pick(rng, _ZH_FRAMES).format(s=pick(rng, _ZH_JOIN).join(clauses))
    return text + pick(rng, ["", "", "。", "！"])


def make_paraphrase(attrs: dict[str, Any], lang: str, rng: np.random.Generator) -> str:
    """A caption for ``attrs`` (digits, motions, colours, colour_named) in ``lang`` from the wide grammar."""
    items = [
        (int(d), m, c if named else None)
        for d, m, c, named in zip(attrs["digits"], attrs["motions"], attrs["colours"], attrs["colour_named"])
    ]
    return (_en_caption if lang == "en" else _zh_caption)(rng, items)
