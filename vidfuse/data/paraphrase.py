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

import re
from typing import Any

import numpy as np

from vidfuse.data.caption_words import COLOUR_ZH, EN_NUMBERS, ZH_NUMBERS, pick

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
# every word the grammar says a motion with ("rising", "leftward", "bottom", "skyward" …), less the words of its
# phrases that say other things too ("the", "screen"): read by vidfuse.data.clauses, which keeps the words before a
# prompt's first digit only where they say a colour or a motion
_NOT_MOTION = frozenset(
    "the to a an of and from in on over across screen again then between with direction frame back side edges "
    "toward towards heads".split()
)
EN_MOTION_WORDS = frozenset(
    w
    for phrases in (
        [p for ps in _EN_WAY.values() for p in ps],
        [p for ps in _EN_BACK.values() for p in ps],
        [w for pair in _EN_GO + _EN_GO_UP + _EN_GO_DOWN + _EN_BOUNCE for w in pair],
    )
    for p in phrases
    for w in re.findall(r"[a-z]+", p)
    if w not in _NOT_MOTION
)
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
# every colour's English names, the palette's own first (drawn half the time); shades of a palette colour that
# people use for it (crimson, teal, fuchsia) and, for magenta, the purple and pink it is nearest to
_EN_COLOURS = {
    "white": ["white", "snow-white", "pure white", "bright white", "milky white", "pale white"],
    "red": ["red", "crimson", "scarlet", "bright red", "cherry red", "ruby", "ruby red", "blood-red", "vermilion"],
    "green": ["green", "lime", "lime green", "emerald", "emerald green", "bright green", "grass green", "neon green"],
    "blue": ["blue", "royal blue", "cobalt", "cobalt blue", "sapphire", "bright blue", "azure", "deep blue"],
    "yellow": ["yellow", "golden", "gold", "lemon", "lemon yellow", "canary yellow", "bright yellow", "sunny yellow"],
    "cyan": ["cyan", "teal", "aqua", "turquoise", "aquamarine", "bright cyan", "light teal"],
    "magenta": ["magenta", "fuchsia", "hot pink", "pink", "purple", "violet", "bright magenta", "pinkish purple"],
}

# the shades taught with a hyphen ("snow-white", "blood-red"); others are read with a space ("canary yellow")
EN_HYPHENED_SHADES = frozenset(n for names in _EN_COLOURS.values() for n in names if "-" in n)
# each English colour word a reader meets, to the palette colour it names: a shade's last word ("hot pink",
# "lime green", "snow-white") and the one-word shades (crimson, teal); read by vidfuse.data.subjects and .clauses
EN_COLOUR_WORDS = {re.findall(r"[a-z]+", name)[-1]: c for c, names in _EN_COLOURS.items() for name in names}


def _en_colour(rng, colour: str) -> str:
    names = _EN_COLOURS[colour]
    return names[0] if rng.random() < 0.5 else pick(rng, names[1:])


def _en_subject(rng, digit: int, colour: str | None) -> str:
    n = EN_NUMBERS[digit] if rng.random() < 0.5 else str(digit)
    c, hand = _en_colour(rng, colour) if colour else "", pick(rng, _EN_HAND)
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
# The Chinese word lists were widened on 2026-12-05 from a lexicon written by a helper who read no project file
# (neither the templates, this grammar nor any test set): colour synonyms and traditional forms, every way of
# writing a digit, path phrases ("从画面右边往左边"), full predicates ("冉冉升起"), more request frames.

# every colour's names; the template name (COLOUR_ZH) first. A name ending in 的 ("红红的") is used as it is
_ZH_COLOURS = {
    "white": "白色 白 纯白 纯白色 雪白 雪白色 洁白 洁白色 亮白色 白颜色 乳白色 白白的 純白色".split(),
    "red": "红色 红 大红 大红色 鲜红 鲜红色 正红色 朱红色 赤红色 火红 火红色 亮红色 红颜色 红红的 紅色 紅".split(),
    "green": "绿色 绿 翠绿 翠绿色 鲜绿色 嫩绿色 草绿色 亮绿色 碧绿 碧绿色 绿颜色 绿油油的 綠色 綠".split(),
    "blue": "蓝色 蓝 宝蓝 宝蓝色 湛蓝 湛蓝色 亮蓝色 鲜蓝色 蔚蓝色 钴蓝色 蓝颜色 蓝蓝的 藍色 藍".split(),
    "yellow": "黄色 黄 金黄 金黄色 明黄色 鲜黄色 柠檬黄 柠檬黄色 亮黄色 嫩黄色 黄颜色 黄澄澄的 黃色 黃".split(),
    "cyan": "青色 青 亮青色 蓝绿色 蓝绿 水青色 碧青色 青颜色".split(),
    "magenta": "品红色 品红 洋红 洋红色 紫红 紫红色 玫红 玫红色 亮紫红色 紫色 亮紫色 品紅色 洋紅色 紫紅色".split(),
}
assert all(_ZH_COLOURS[c][0] == name for c, name in COLOUR_ZH.items())
# each Chinese colour word the grammar teaches, to the palette colour it names; read by vidfuse.data.clauses
ZH_COLOUR_WORDS = {w: c for c, names in _ZH_COLOURS.items() for w in names}
# other ways to write each digit than the Arabic one and ZH_NUMBERS': full width, the formal (banking) numerals,
# their traditional forms, 〇 and 幺
_ZH_DIGIT_FORMS = "０〇○ １壹幺 ２贰貳 ３叁參 ４肆 ５伍 ６陆陸 ７柒 ８捌 ９玖".split()
_ZH_NOUN = (
    "数字{n} 一个{n} 一个数字{n} 这个数字{n} 手写的{n} 一个手写数字{n} {n} 数字“{n}” 一个手写的{n} 手写数字{n} "
    "一个手写的数字{n} 手写体的{n} 手写体数字{n} 阿拉伯数字{n} 一个阿拉伯数字{n} 一个数字“{n}” “{n}”这个数字 "
    "{n}这个数字 一个{n}字 手写风格的{n} 一个手写的“{n}” 写出来的{n} 一个大大的{n} 那个数字{n} 字符{n} "
    "手寫數字{n} 數字{n}"
).split()
_ZH_WAY = {
    "left": (
        "向左 往左 朝左 向左边 往左边 朝左边 向左侧 从右往左 从右向左 从右到左 由右向左 自右向左 朝左方 向左方 "
        "往左侧 朝左侧 朝着左边 向左手边 由右至左 从右边向左边 从右侧往左侧 从画面右边往左边 朝画面左侧 "
        "向屏幕左边 往画面左边 朝着屏幕左侧 沿水平方向向左 向左邊 往左邊"
    ).split(),
    "right": (
        "向右 往右 朝右 向右边 往右边 朝右边 向右侧 从左往右 从左向右 从左到右 由左向右 自左向右 朝右方 向右方 "
        "往右侧 朝右侧 朝着右边 向右手边 由左至右 从左边向右边 从左侧往右侧 从画面左边往右边 朝画面右侧 "
        "向屏幕右边 往画面右边 朝着屏幕右侧 沿水平方向向右 向右邊 往右邊"
    ).split(),
    "up": (
        "向上 往上 朝上 向上方 往上边 从下往上 从下向上 从下到上 由下向上 自下而上 朝上方 向顶部 往上方 向上边 "
        "往上面 朝着上方 垂直向上 笔直向上 由下至上 从底部向顶部 从下方往上方 从画面底部往顶部 朝画面顶部 "
        "向屏幕上方 往画面上边 朝着屏幕顶端 沿竖直方向向上 往上邊"
    ).split(),
    "down": (
        "向下 往下 朝下 向下方 往下边 从上往下 从上向下 从上到下 由上向下 自上而下 朝下方 向底部 往下方 向下边 "
        "往下面 朝着下方 垂直向下 笔直向下 由上至下 从顶部向底部 从上方往下方 从画面顶部往底部 朝画面底部 "
        "向屏幕下方 往画面下边 朝着屏幕底端 沿竖直方向向下 往下邊"
    ).split(),
}
_ZH_GO = (
    "移动 运动 滑动 漂移 飘 飘去 走 跑 滑行 平移 前进 移过去 飞 滚动 游走 移 滑 滑去 滑过去 飘动 飘过去 走去 "
    "行进 挪动 挪 移去 移动过去 跑去 飞去 移动着 运动着 穿过画面 划过画面 移動 運動"
).split()
# predicates that carry their own direction
_ZH_GO_ALONE = {
    "left": (
        "左移 向左移动 往左走 往左移 向左平移 左滑 往左边滑过去 滑向左边 移向左侧 往左挪 一路向左 一路往左走 "
        "从右边移到左边 从右侧滑到左侧 从画面右侧移动到左侧 从右往左穿过画面 向左漂移 朝左边飘去 "
        "朝屏幕左边缘移动 向画面左侧移动 朝着屏幕左边缘前进 向左边缘靠近 向左移動"
    ).split(),
    "right": (
        "右移 向右移动 往右走 往右移 向右平移 右滑 往右边滑过去 滑向右边 移向右侧 往右挪 一路向右 一路往右走 "
        "从左边移到右边 从左侧滑到右侧 从画面左侧移动到右侧 从左往右穿过画面 向右漂移 朝右边飘去 "
        "朝屏幕右边缘移动 向画面右侧移动 朝着屏幕右边缘前进 向右边缘靠近 向右移動"
    ).split(),
    "up": (
        "上升 升起 飘起 往上飘 爬升 升高 上移 往上升 升上去 向上飘 飘上去 往上飞 飞上去 浮上去 上浮 向上漂浮 "
        "往上爬 冉冉升起 一路向上 向上移动 移向画面顶部 朝屏幕上边缘移动 从底部升到顶部 从下面移到上面 "
        "从画面底部移动到顶部 向上移動"
    ).split(),
    "down": (
        "下落 落下 掉下来 下降 往下掉 坠落 降落 落下来 下移 掉下去 掉落 下沉 沉下去 往下滑 滑下来 飘落 一路向下 "
        "向下移动 移向画面底部 朝屏幕下边缘移动 从顶部落到底部 从上面移到下面 从画面顶部移动到底部 向下移動"
    ).split(),
}
_ZH_BACK = {
    "left and right": (
        "左右 左右来回 在左右之间来回 水平来回 横向来回 从左到右来回 来回左右 一左一右地 左右反复 左右往返 "
        "在左右两边之间 水平方向来回 横着来回"
    ).split(),
    "up and down": (
        "上下 上下来回 在上下之间来回 竖直来回 纵向来回 从上到下来回 来回上下 一上一下地 上下反复 上下往返 "
        "在上下两端之间 竖直方向来回 竖着来回"
    ).split(),
}
_ZH_BOUNCE = (
    "弹跳 移动 跳动 摆动 晃动 弹 运动 蹦 跳 反弹 往返 穿梭 弹来弹去 摇摆 晃来晃去 摇来摇去 往返运动 往复运动 "
    "来回移动 晃悠 移動"
).split()
# bouncing predicates whole
_ZH_BACK_ALONE = {
    "left and right": (
        "在画面左右两侧之间弹来弹去 在屏幕左右两边之间来回弹跳 一会儿向左一会儿向右 忽左忽右地移动 "
        "从左到右再从右到左来回移动 向左再向右来回移动 左右來回移動"
    ).split(),
    "up and down": (
        "在画面顶部和底部之间弹来弹去 在屏幕上下两端之间来回弹跳 一会儿向上一会儿向下 忽上忽下地移动 "
        "像皮球一样上下弹跳 上蹿下跳 上下起伏 上下浮动 上下來回移動"
    ).split(),
}
_ZH_ADVERB = [""] * 4 + (
    "慢慢地 慢慢 快速地 缓缓地 不停地 一直 匀速 轻轻地 缓缓 缓慢地 徐徐 匀速地 平稳地 稳稳地 稳定地 均匀地 平滑地 "
    "顺畅地 悠悠地 不紧不慢地 一点一点地 持续地 稳步 勻速地"
).split()
_ZH_TAIL = ["", "", "", "", "，穿过屏幕", "，背景是黑色的", "，一直不停", "，在画面中", "，在黑色背景上"]
_ZH_BACK_TAIL = ["，来来回回"]  # a bounce's own tail: after a one-way motion it would say the opposite


def _zh_digit(rng, digit: int) -> str:
    r = rng.random()
    if r < 0.45:
        return str(digit)
    if r < 0.85:
        return ZH_NUMBERS[digit]
    return pick(rng, _ZH_DIGIT_FORMS[digit])


def _zh_subject(rng, digit: int, colour: str | None) -> str:
    n = _zh_digit(rng, digit)
    if not colour:
        return pick(rng, _ZH_NOUN).format(n=n)
    names = _ZH_COLOURS[colour]
    c = names[0] if rng.random() < 0.4 else pick(rng, names)  # the common name most often
    cd = c if c.endswith("的") else c + "的"
    forms = [
        "{cd}数字{n}",
        "一个{cd}{n}",
        "{c}数字{n}",
        "一个{cd}数字{n}",
        "{cd}{n}",
        "一个颜色是{cd}{n}",
        "数字{n}，{cd}，",
        "一个{c}手写数字{n}",
        "一个{n}（{c}）",
        "涂成{cd}{n}",
        "{cd}手写{n}",
        "一个{cd}数字“{n}”",
        "{cd}{n}" if c.endswith("的") else "用{c}写的{n}",  # not 用红红的写的
    ]
    return pick(rng, forms).format(c=c, cd=cd, n=n)


def _zh_predicate(rng, motion: str, after: str = "") -> str:
    """The motion's predicate; ``after``: the subject's last character (a numeral 一 followed by the adverb 一直
    would read 一一直, so the adverb is left out there)."""
    adverb, tail = pick(rng, _ZH_ADVERB), pick(rng, _ZH_TAIL if motion in _ZH_WAY else _ZH_TAIL + _ZH_BACK_TAIL)
    if after and adverb.startswith(after):
        adverb = ""
    if motion in _ZH_WAY:
        if rng.random() < 0.3:
            return f"{adverb}{pick(rng, _ZH_GO_ALONE[motion])}{tail}"
        return f"{adverb}{pick(rng, _ZH_WAY[motion])}{pick(rng, _ZH_GO)}{tail}"
    if rng.random() < 0.2:
        return f"{adverb}{pick(rng, _ZH_BACK_ALONE[motion])}{tail}"
    way = pick(rng, _ZH_BACK[motion])
    verbs = [v for v in _ZH_BOUNCE if not any(w in way and w in v for w in ("来回", "往返"))]  # not 来回来回
    return f"{adverb}{way}{pick(rng, verbs)}{tail}"


_ZH_FRAMES = ["{s}"] * 3 + (
    "画一个{s} 生成一段{s}的视频 生成{s}的动画 请画{s} 请生成：{s} 我想看{s} 我想要{s} 显示{s} 展示{s} 屏幕上有{s} "
    "画面里{s} 视频中{s} 让{s} 做一个{s}的视频 来一段{s} 帮我生成{s} 一段视频：{s} 动画：{s} 黑色背景上{s} "
    "{s}。 请生成{s}的视频 帮我生成一个{s}的视频 给我做一个{s}的短视频 我想要一段{s}的动画 请制作一段视频：{s} "
    "视频内容：{s} 画面中，{s} 视频里，{s} 画面：{s} 生成视频：{s} 一段短视频：{s} 做个视频，{s} 来一段{s}的视频 "
    "我需要一个视频，内容是{s} 想看{s}的画面 请你生成一段小动画，{s} 播放一个{s}的动画 请画出{s}的动画 "
    "帮忙做个{s}的小视频呗 麻烦生成一段{s}的视频，谢谢 能不能生成一个{s}的视频？ 可以帮我做一段{s}的视频吗？ "
    "能否生成{s}的动画？ 有没有可能做一个{s}的视频？ 黑色背景上，{s} 在黑色背景中，{s} {s}，背景为黑色 {s}，黑底 "
    "{s}，纯黑背景 一个短片，{s}，背景是黑的 用黑色背景，{s} 请生成{s}的影片 幫我做一段{s}的影片 請生成{s}的視頻"
).split()
_ZH_JOIN = (
    "， ； ，同时 。 ，同时， ，与此同时 ，与此同时， ，而 ，另外 ；另外， ，此外 ，还有 ，并且 ，旁边 ，旁边还有 "
    "，另一边 。另外， ，以及 ；同時"
).split()


# where a frame and a subject meet, or a tail and a frame ("画一个" + "一个红色的3", "黑色的" + "的视频")
_ZH_SEAMS = (("一个一个", "一个"), ("一个这个", "这个"), ("一个那个", "那个"), ("的的", "的"))


def _zh_caption(rng, items: list[tuple[int, str, str | None]]) -> str:
    clauses = []
    for d, m, c in items:
        subject = _zh_subject(rng, d, c)
        clauses.append(subject + _zh_predicate(rng, m, after=subject[-1]))
    text = pick(rng, _ZH_FRAMES).format(s=pick(rng, _ZH_JOIN).join(clauses))
    for seam, mended in _ZH_SEAMS:
        text = text.replace(seam, mended)
    return text + ("" if text[-1] in "。？！" else pick(rng, ["", "", "。", "！"]))


def make_paraphrase(attrs: dict[str, Any], lang: str, rng: np.random.Generator) -> str:
    """A caption for ``attrs`` (digits, motions, colours, colour_named) in ``lang`` from the wide grammar."""
    items = [
        (int(d), m, c if named else None)
        for d, m, c, named in zip(attrs["digits"], attrs["motions"], attrs["colours"], attrs["colour_named"])
    ]
    return (_en_caption if lang == "en" else _zh_caption)(rng, items)


# ─────────────────────────────────────── short wordings ────────────────────────────────────────
# What people type when they list rather than write a sentence ("3, green, right", "数字3（绿色），左右晃"), say it
# with a copula ("the 3 is green and moves right", "3是绿色的，往右走") or name the motion as a noun ("a left-right
# bounce"). These are also the shapes a two-digit prompt's clauses take once split (vidfuse/data/clauses.py).
# Distillation mixes them in with ``DistilConfig.short``; the sentence grammar above is unchanged by them.

_EN_SHORT_WAY = {
    "left": ["left", "leftward", "to the left", "moving left", "going left", "heading left", "a slide to the left"],
    "right": ["right", "rightward", "to the right", "moving right", "going right", "heading right", "a drift right"],
    "up": ["up", "upward", "upwards", "moving up", "going up", "rising", "a rise to the top", "floating up"],
    "down": ["down", "downward", "downwards", "moving down", "going down", "falling", "a drop to the bottom"],
    "left and right": [
        "left-right",
        "side-to-side",
        "back-and-forth horizontally",
        "a left-right bounce",
        "bouncing left-right",
        "left-right bouncing",
        "bouncing side to side",
        "left and right",
    ],
    "up and down": [
        "up-down",
        "up-and-down",
        "bobbing vertically",
        "an up-down bounce",
        "bouncing up-down",
        "up-down bouncing",
        "bouncing up and down",
        "up and down",
    ],
}
# {n} digit, {c} colour, {w} a short motion; forms without {c} serve an unnamed colour
_EN_SHORT = [
    "{n}, {c}, {w}",
    "{c}, {n}, {w}",
    "{c} {n}, {w}",
    "{c} {n} {w}",
    "{c} {n}: {w}",
    "{n} ({c}), {w}",
    "{n} ({c}) {w}",
    "{n} - {c} - {w}",
    "{n} in {c}, {w}",
    "digit {n}, {c}, {w}",
    "digit: {n}, colour: {c}, motion: {w}",
    "number {n}; color {c}; movement {w}",
]
_EN_SHORT_BARE = ["{n}, {w}", "{n} {w}", "{n}: {w}", "digit {n}, {w}", "number {n}; movement {w}", "the {n}, {w}"]
# copular sentences: {p} a finite predicate ("moves to the left"), {i} its bare form ("move to the left")
_EN_COPULA = [
    "the {n} is {c} and {p}",
    "{n} is {c} and {p}",
    "the {n} is {c}, it {p}",
    "make the {n} {c} and have it {i}",
    "the {n} should be {c} and {i}",
    "a {n} that is {c} and {p}",
    "colour the {n} {c} and let it {i}",
    "the digit is {n}, it is {c} and it {p}",
]
_EN_COPULA_BARE = ["the {n} {p}", "have the {n} {i}", "the digit is {n} and it {p}", "let the {n} {i}"]
# telegraphic: a subject with no article and a whole predicate ("blue 0 moving up", "cyan six slides left",
# "green 5 descending slowly"), as in headlines and quick requests; {g} the participle phrase, {p} the finite one
_EN_TELEGRAPH = [
    "{c} {n} {g}",
    "{c} {n} {g}",
    "{c} {n} {p}",
    "{c} {n}, {g}",
    "{n} in {c} {g}",
    "{n} in {c}, {g}",
    "{c} digit {n} {g}",
    "{c} number {n} {p}",
]
_EN_TELEGRAPH_BARE = ["{n} {g}", "{n} {p}", "digit {n} {g}", "number {n} {p}", "{n}, {g}"]

_ZH_SHORT_WAY = {
    "left": "向左 往左 左移 往左走 向左移 朝左 从右往左 左滑".split(),
    "right": "向右 往右 右移 往右走 向右移 朝右 从左往右 右滑".split(),
    "up": "向上 往上 上移 往上飘 上升 朝上 从下往上 往上走".split(),
    "down": "向下 往下 下移 往下掉 下落 朝下 从上往下 往下走".split(),
    "left and right": "左右晃 左右弹 左右来回 左右摆动 横向来回 左右来回弹 来回左右移".split(),
    "up and down": "上下跳 上下弹 上下来回 上下晃 竖向来回 上下来回弹 来回上下移".split(),
}
_ZH_SHORT = [
    "{n}，{c}，{w}",
    "{c}，{n}，{w}",
    "{c}{n}，{w}",
    "{c}{n} {w}",
    "{c}的{n}：{w}",
    "数字{n}（{c}），{w}",
    "{n}（{c}）{w}",
    "{n}-{c}-{w}",
    "数字{n}，{c}，{w}",
    "数字：{n}，颜色：{c}，运动：{w}",
    "颜色{c}，数字{n}，方向{w}",
    "{c}数字{n}，{w}",
]
_ZH_SHORT_BARE = ["{n}，{w}", "{n} {w}", "数字{n}：{w}", "数字{n}，{w}", "数字：{n}，运动：{w}"]
_ZH_COPULA = [
    "{n}是{c}的，{w}",
    "数字{n}是{c}的，{w}",
    "把{n}涂成{c}，让它{w}",
    "{n}要{c}的，{w}",
    "这个{n}是{c}的，它{w}",
    "数字是{n}，颜色是{c}，{w}",
    "{n}用{c}，{w}",
]
_ZH_COPULA_BARE = ["数字是{n}，{w}", "让{n}{w}", "这个{n}{w}", "{n}要{w}"]


_EN_PRESENT = frozenset(pres for _, pres in _EN_GO + _EN_GO_UP + _EN_GO_DOWN + _EN_BOUNCE)


def _bare(present: str) -> str:
    """The bare form of a verb's third person: flies → fly, goes → go, passes → pass, moves → move."""
    if present.endswith("ies"):
        return present[:-3] + "y"
    if present.endswith(("sses", "shes", "ches", "xes", "oes")):
        return present[:-2]
    return present[:-1]


# the bare forms of the grammar's verbs of moving ("go", "fall", "bounce"): read by vidfuse.data.wording, which gives a
# bare digit after "make"/"let" its article ("make 3 go left" → "make the 3 go left")
EN_BARE_VERBS = frozenset(_bare(p) for p in _EN_PRESENT)


def _en_short(rng, digit: int, motion: str, colour: str | None) -> str:
    n = EN_NUMBERS[digit] if rng.random() < 0.4 else str(digit)
    shape = rng.random()
    if shape < 0.4:
        form = pick(rng, _EN_SHORT if colour else _EN_SHORT_BARE)
        return form.format(n=n, c=colour and _en_colour(rng, colour), w=pick(rng, _EN_SHORT_WAY[motion]))
    participle, finite = _en_predicate(rng, motion)
    if shape < 0.7:
        n = "1" if n == "one" else n  # "blue one moving up" reads as "the blue one"
        form = pick(rng, _EN_TELEGRAPH if colour else _EN_TELEGRAPH_BARE)
        return form.format(n=n, c=colour and _en_colour(rng, colour), g=participle, p=finite)
    verb = next(w for w in finite.split() if w in _EN_PRESENT)
    bare = re.sub(rf"\b{verb}\b", _bare(verb), finite, count=1)
    form = pick(rng, _EN_COPULA if colour else _EN_COPULA_BARE)
    return form.format(n=n, c=colour and _en_colour(rng, colour), p=finite, i=bare)


def _zh_short(rng, digit: int, motion: str, colour: str | None) -> str:
    n = _zh_digit(rng, digit)
    if n == "一":  # a bare 一 joins the next word: 一向 (always), 一下 (a moment), 一朝 (one day)
        n = "数字一"
    c = None
    if colour:
        names = _ZH_COLOURS[colour]
        c = names[0] if rng.random() < 0.5 else pick(rng, [x for x in names if not x.endswith("的")])
    w = pick(rng, _ZH_SHORT_WAY[motion])
    if rng.random() < 0.65:
        forms = _ZH_SHORT if colour else _ZH_SHORT_BARE
    else:
        forms = _ZH_COPULA if colour else _ZH_COPULA_BARE
    return pick(rng, forms).format(n=n, c=c, w=w).replace("数字数字", "数字")


def make_short(attrs: dict[str, Any], lang: str, rng: np.random.Generator) -> str:
    """A short caption for ``attrs`` (as :func:`make_paraphrase`): a list of attributes, a copular sentence, or
    a motion named as a noun; a clause per digit."""
    # clauses joined where a list's own commas cannot run into the next digit's
    short, join = (_en_short, ["; ", ", and ", " / ", ". "]) if lang == "en" else (_zh_short, ["；", "。", " / "])
    clauses = [
        short(rng, int(d), m, c if named else None)
        for d, m, c, named in zip(attrs["digits"], attrs["motions"], attrs["colours"], attrs["colour_named"])
    ]
    text = pick(rng, join).join(clauses)
    return re.sub(r"\b([Aa]) (?=(?:8|eight)\b)", r"\1n ", text) if lang == "en" else text  # "an 8 that is white"
