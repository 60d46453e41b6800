"""A prompt's wording put in the words a Moving Digits model reads, where what the user meant is plain.

Each rewrite keeps the meaning; it only says it in words the encoder was taught. Measured on the shipped model
(ten digits, two seeds each, 2026-12-07, NOTES.md): "a navy 3 moving left" drew a white 3 every time and "a navy blue
3 moving left" a blue one; 粉色 and 藏青色 drew no colour either; "a white 8 falls from the top of the frame" drew a
rising 8 every time and "a white 8 falls" a falling one.

- :func:`name_shades`: a colour shade the paraphrase grammar does not teach is followed by the palette colour it is
  a shade of ("navy" → "navy blue", "maroon" → "maroon red"); in Chinese it is written as the taught shade of the
  same colour (藏青 → 藏蓝, 粉色 → 粉红色).
- :func:`name_shades` also names a colour said by a thing of that colour ("the colour of a banana" → "in yellow",
  a thing hyphened to a colour "banana-yellow" → "banana yellow", 香蕉色 → 黄色): "a 0 the colour of a banana" drew a
  magenta 0 every time.
- :func:`expand_shorthand`: chat shorthand ("n" for "and", "pls", "&"); an "oh" before "and" and an "again" after a
  direction, which the model read as a bounce ("a red 3 moving left again": 0 of 20 draws right).
- :func:`say_axis`: a bounce with no axis said is given the axis a reader takes ("a 3 hopping" → "a 3 hopping up and
  down", "back and forth" → "back and forth horizontally", 来回摆动 → 左右来回摆动; 垂直 is said as 竖直, the word
  taught): bare "hopping" drew a one-way rise in 20 of 20 draws, bare "back and forth" a vertical bounce in 19.
- :func:`say_plainly`: a motion said loosely or with a slip ("向又移动", "up an down", "side 2 side", "move up down",
  "vertically downward", "from the right side to the left side", "enters from the left and exits to the right",
  "starts at the top and drifts down") in the words taught: found by a battery of phrasings written blind.
- :func:`article_after_make`: a bare digit after "make"/"let" before a verb of moving takes "the" ("make 3 go left").
- :func:`bare_directions`: a Chinese direction right after a digit ends its clause ("白2上，红6下" → 白2往上，红6往下;
  "6下" alone reads as a count, like 跳三下).
- :func:`drop_places`: where a digit starts or stands ("from the top of the frame", "starting at the left",
  从画面上方) is left out of what is drawn when the rest still says how it moves: the model reads "top" as "up".
- :func:`from_to`: a Chinese start and its opposite end are said as the way to the end ("从左滑到右" → 往右滑).
- :func:`drop_labels`: a shot-list or catalogue label ("Shot 1:", "Element B:", 分镜1：) is no digit to draw;
  :func:`drop_numbering`: nor is a numbered list's number ("1. a red 3 going left 2. a blue 7 going up").
- :func:`drop_nothing_else`: a clause asking for nothing else ("no sound", 别加背景音乐) is not read as a digit's; nor
  is a remark on the clip's style or feel ("8-bit style", "Mood: playful", 简单点就行: "{d}往上走，颜色要绿色" was drawn
  right in 20 of 20 draws, with "，简单点就行" after it in 1), on what the clip is for ("for my kid's homework video")
  or a comparison after the digit's motion ("like two elevators passing each other": the "two" was drawn as a 2).
- :func:`one_as_digit`: a "one" or 一 that plainly names the digit 1 ("seven: … | one: …", 有个一是黄色的) is written
  "1", which the split reads as a digit.
- :func:`correct_spelling`: a word the model never saw, one typing slip from one it knows ("rigth", "nien",
  "blu", "moveing"), is read as that word.
"""

from __future__ import annotations

import functools
import re
from typing import Collection

from vidfuse.data.caption_words import EN_NUMBERS
from vidfuse.data.paraphrase import EN_BARE_VERBS, EN_COLOUR_WORDS, EN_HYPHENED_SHADES, EN_MOTION_WORDS
from vidfuse.data.subjects import digits_asked

__all__ = [
    "SHADE_PAIRS",
    "SHADE_WORDS",
    "article_after_make",
    "bare_directions",
    "correct_spelling",
    "drop_labels",
    "drop_nothing_else",
    "drop_numbering",
    "drop_places",
    "drop_style_fields",
    "expand_shorthand",
    "from_to",
    "is_english_word",
    "names_colour",
    "name_shades",
    "one_as_digit",
    "ONE_MORE",
    "ZH_COLOUR_CHARS",
    "say_axis",
    "say_plainly",
    "says_motion",
]

# shades people name that the paraphrase grammar does not teach, to the palette colour each is nearest to (pink and
# purple are magenta in the grammar, so their kin are too)
# (words that name other things more often than colours, such as sage, cardinal or cream, are left out)
_EN_SHADES = {
    "blue": "navy indigo cerulean denim cornflower periwinkle ultramarine",
    "red": "maroon burgundy carmine",
    "green": "mint olive jade chartreuse",
    "yellow": "amber mustard saffron ochre",
    "magenta": "lavender lilac mauve plum",
    "white": "ivory silver silvery",
}
_EN_SHADE = {w: c for c, words in _EN_SHADES.items() for w in words.split() if w not in EN_COLOUR_WORDS}
_COLOUR_ALT = "|".join(sorted(EN_COLOUR_WORDS, key=len, reverse=True))  # the taught colour words, longest first
SHADE_WORDS = frozenset(_EN_SHADE)  # the English shades name_shades reads through their palette colour
_EN_SHADE_RE = re.compile(
    rf"\b({'|'.join(sorted(_EN_SHADE, key=len, reverse=True))})\b(?:[\s-]+(?:coloured|colored))?"
    rf"(?![\s-]+(?:{_COLOUR_ALT})\b)"
)
# Chinese shades the grammar does not teach, written as a taught shade of the same colour (藏青 is navy, a blue); 粉
# and 银 only as colours (粉色, 粉的, 粉3, 粉数字; not 粉笔 "chalk" or 银河 "galaxy")
_ZH_DIGIT = "0-9零〇一二三四五六七八九"
_ZH_SHADES = [
    # 篮色, 兰色: common slips for 蓝色 ("一个篮色的0" drew a cyan or white 0); not 紫罗兰色, 玉兰色 (violet, magnolia)
    (re.compile(r"篮(?=颜?色)|(?:^|(?<=[个是成为用，,：:的、\s深浅淡天湖宝]))兰(?=颜?色)"), "蓝"),
    (re.compile(r"藏青|海军蓝"), "藏蓝"),
    (re.compile(rf"粉(?:色|(?=的|[{_ZH_DIGIT}]|数字))"), "粉红色"),
    (re.compile(rf"银(?:色|(?=的|[{_ZH_DIGIT}]|数字))"), "银白色"),
]
# the shades name_shades writes (藏蓝, 粉红, 银白), which the grammar does not teach: a model with a word list reads
# them (one digit moving left, ten digits × two seeds: 粉红色 20 of 20 right, 藏蓝色 20, 银白色 18)
SHADE_PAIRS = frozenset(taught[:2] for _, taught in _ZH_SHADES)


# things whose colour is plain to a reader, by the palette colour it is (fruit, flowers, the sky, snow …); "+" joins
# the words of one thing (not cherry, milk, corn, leaves: cherry blossoms, milk chocolate, cornflower, "leaves trails")
_EN_THINGS = {
    "yellow": "banana bananas lemon lemons sunflower sunflowers canary canaries sun butter daffodil daffodils "
    "egg+yolk yolk school+bus taxi",
    "red": "strawberry strawberries tomato tomatoes blood fire+engine fire+truck firetruck ladybug ladybird ruby "
    "rubies",
    "green": "grass leaf lime limes frog frogs emerald emeralds pea peas broccoli",
    "blue": "sky ocean blueberry blueberries sapphire sapphires",
    "white": "snow cloud clouds paper chalk",
    "magenta": "flamingo flamingos bubblegum grape grapes plum plums",
}
_EN_THING = {  # not the colour words the grammar teaches ("lemon-colored", "ruby-colored")
    w.replace("+", " "): c for c, words in _EN_THINGS.items() for w in words.split() if w not in EN_COLOUR_WORDS
}
_THING_RE = "|".join(sorted(map(re.escape, _EN_THING), key=len, reverse=True))
# "coloured like a sunflower", "the colour of a banana", "banana-coloured": the thing's colour, where it is said of a
# digit, right after it ("a zero colored like a sunflower") or right before it ("a banana-coloured 3"); not of a
# background ("on a sky colored background")
_EN_DIGIT_WORD = rf"(?:\d|{'|'.join(EN_NUMBERS)})"
_EN_NOT_ONE = "|".join(
    w for w in EN_NUMBERS if w != "one"
)  # the number words that are only digits ("one" is a pronoun too)
_EN_THING_COLOUR = re.compile(
    rf"\b({_EN_DIGIT_WORD}),?\s+(?:(?:that\s+is|that'?s|thats|which\s+is)\s+)?"  # "a seven thats the colour of …"
    rf"(?:colou?red\s+like|(?:in\s+)?the\s+colou?r\s+of|(?:as\s+)?colou?red\s+as)\s+"
    rf"(?:an?\s+|the\s+|some\s+)?(?:(?:ripe|fresh|bright|clear|summer)\s+)?({_THING_RE})\b(?:[\s-]+colou?red\b)?"
    rf"|\b({_THING_RE})[\s-]+colou?red\s+(?={_EN_DIGIT_WORD}\b)"
)
# a colour word after a hyphened thing ("banana-yellow", "canary-yellow"): the hyphen read as no space ("a
# banana-yellow 5" drew a magenta 5 every time, "a banana yellow 5" a yellow one; the grammar teaches "canary yellow")
_HYPHEN_COLOUR = re.compile(rf"\b([a-z]+)-(?=(?:{_COLOUR_ALT})\b)")
_ZH_THINGS = [
    (re.compile(r"(?:香蕉|柠檬|向日葵|金丝雀)色"), "黄色"),
    (re.compile(r"(?:草莓|樱桃|番茄|西红柿)色"), "红色"),
    (re.compile(r"(?:草地|青草|树叶)色"), "绿色"),
    (re.compile(r"天空色"), "蓝色"),
]


def _thing_colour(m: re.Match) -> str:
    """The colour a thing says at ``m``: "zero colored like a sunflower" → "zero in yellow", "banana-coloured 3" →
    "yellow 3"."""
    if m.group(1):
        before = m.string[: m.start(1)].split()[-1:]  # "yellow 8 which is the colour of a taxi": said already
        return m.group(1) if before and before[0] in _COLOUR_WORDS else f"{m.group(1)} in {_EN_THING[m.group(2)]}"
    return f"{_EN_THING[m.group(3)]} "


def _thing_hyphen(m: re.Match) -> bool:
    """Whether ``m`` is a thing hyphened to a colour word ("banana-yellow"), not a shade the grammar teaches with
    its hyphen ("snow-white", "blood-red") nor one of two colour words ("navy-blue")."""
    colour = re.match(r"[a-z]+", m.string[m.end() :])
    return m.group(1) in _EN_THING and f"{m.group(1)}-{colour.group(0) if colour else ''}" not in EN_HYPHENED_SHADES


def name_shades(text: str) -> str:
    """``text`` (lower case) with each colour shade the model was not taught followed by its palette colour, and a
    colour said by a thing of that colour said by the colour ("a zero the colour of a banana" → "a zero in yellow")."""
    text = _EN_THING_COLOUR.sub(_thing_colour, text)
    text = _HYPHEN_COLOUR.sub(lambda m: f"{m.group(1)} " if _thing_hyphen(m) else m.group(0), text)
    text = _EN_SHADE_RE.sub(lambda m: f"{m.group(0)} {_EN_SHADE[m.group(1)]}", text)
    for pattern, taught in _ZH_SHADES + _ZH_THINGS:
        text = pattern.sub(taught, text)
    return text


_SHORTHAND = {"n": "and", "pls": "please", "plz": "please", "u": "you", "ur": "your", "thx": "thanks"}
_SHORTHAND_RE = re.compile(rf"(?<![\w'-])({'|'.join(_SHORTHAND)})(?![\w'-])")


# an "oh" that opens a clause before "and" ("oh and a red 3 …": 6 of 20 draws right, as a bounce; "and a red 3 …"
# 19 of 20), and an "again" after a direction ("moving left again": 0 of 20, a bounce, as 再 is)
_OH = re.compile(r"(?:^|(?<=[,.;:!?]\s)|(?<=[,.;:!?]))\s*oh[,!]?\s+(?=(?:and|also|plus|then|yeah)\b)")
_AGAIN = re.compile(  # not "again and again", which the grammar teaches
    r"\b(left|right|up|down|upward|upwards|downward|downwards|leftward|leftwards|rightward|rightwards)"
    r"\s+(?:once\s+)?again\b(?!\s+and\s+again)"
)


# a direction's slip that is an English word ("rite", "write"), said in a pair with its opposite ("left and rite")
_OPPOSITE = {"left": "right", "right": "left", "up": "down", "down": "up"}
_SOUNDS_LIKE = {"right": ("rite", "write", "wright"), "left": ("lef", "leff"), "down": ("dawn", "don")}
_PAIR_SLIP = re.compile(  # where the pair ends its clause or a motion word follows ("left and write a letter" is meant)
    r"\b(left|right|up|down)(\s+and\s+)([a-z]+)\b"
    r"(?=\s*(?:[,.;:!?)]|$|(?:again|over|repeatedly|continuously|constantly|motion|movement|and|while|then|with)\b))"
)


def _pair_slip(m: re.Match) -> str:
    """The pair at ``m`` with its second word read as the first's opposite where it is a slip of it."""
    want, typed = _OPPOSITE[m.group(1)], m.group(3)
    slip = typed in _slips(want) and not is_english_word(typed)  # not "eight", "let", "lefty"
    if typed != want and (typed in _SOUNDS_LIKE.get(want, ()) or slip):
        return f"{m.group(1)}{m.group(2)}{want}"
    return m.group(0)


def expand_shorthand(text: str) -> str:
    """``text`` (lower case) with chat shorthand spelled out: "a red 6 n a blue 8" → "a red 6 and a blue 8",
    "bounces up & down" → "bounces up and down"; an "oh" before "and" and an "again" after a direction left out; a
    slip of a direction paired with its opposite as that direction ("left and rite")."""
    text = re.sub(r"(?<=[a-z0-9])\s*&\s*(?=[a-z0-9])", " and ", text)
    text = _PAIR_SLIP.sub(_pair_slip, text)
    text = _AGAIN.sub(r"\1", _OH.sub(" ", text)).strip()
    return _SHORTHAND_RE.sub(lambda m: _SHORTHAND[m.group(1)], text)


# Motions said loosely or with a slip that a reader takes at once, said as the model was taught. Each was found by the
# blind battery of phrasings (bench/phrase_battery_blind.jsonl, its dev half) and measured on the shipped model, the
# ten digits × two seeds (NOTES.md, thirty-fourth session): as written / as rewritten.
_EN_SIDE_END = (
    r"(?:the\s+)?(?:very\s+)?(left|right|top|bottom)(?:[\s-]+hand)?"
    r"(\s+(?:side|edge|end|part)(?:\s+of\s+(?:the\s+)?(?:frame|screen|picture|video|canvas))?"
    r"|\s+of\s+(?:the\s+)?(?:frame|screen|picture|video|canvas))?"
)
_PLAIN = (
    # a pinyin slip in Chinese: 向又 for 向右 (0 / 20 of 20), 上夏 for 上下 (15 / 19 of 20)
    (re.compile(r"(?<!往往)(?<=[向往朝])又(?=[移动走滑跑飘去边侧面方飞挪]|$|[，,。！!])"), "右"),  # not 往往又 "often"
    (re.compile(r"(?<=上)夏(?=[来回跳动移晃摆弹飘浮蹦])"), "下"),
    # "an" for "and" in a pair ("bob up an down": 12 / 19 of 20); "side 2 side", whose 2 is no digit (6 / 20 of 20)
    (
        re.compile(r"\b(?:up\s+an(?=\s+d)|down\s+an(?=\s+u)|left\s+an(?=\s+r)|right\s+an(?=\s+l)|back\s+an(?=\s+f))\b"),
        lambda m: m.group(0)[:-2] + "and",
    ),
    (re.compile(r"\bside\s+(?:2|two)\s+side\b"), "side to side"),
    # "please and thank you" after the motion (1 of 20; ", please" 20 of 20)
    (re.compile(r"\bplease\s+and\s+thank\s+(?:you|u)\b"), "please"),
    # an axis between a verb of moving and a one-way direction ("translating vertically downward" 0 of 20,
    # "translating downward" 20 of 20; "bounces vertically", "jumping vertically up", "vertically up and down" are
    # bounces and stay, "flipping horizontally right away" and "positioned horizontally left of centre" are no motion)
    (
        re.compile(
            r"\b((?:mov|translat|travel|slid|glid|drift|head|scroll|shift|float|pan|sail|go|goes|going|went|run|runs|"
            r"running)\w*\s+)(?:vertically|horizontally)\s+(?=(?:downwards?|upwards?|down|up|leftwards?|rightwards?|"
            r"left|right|to\s+the\s+(?:left|right))\b(?!\s*(?:-|and\b|n\b|&|to\b)\s*(?:up|down|left|right|back|forth)\b)"
            r"(?!\s*\w+\s+(?:away|of|now)\b))"
        ),
        r"\1",
    ),
)
# a pair said without "and", alone or over and over ("move up down up down": 5 of 20; "move up and down" 20 of 20)
_EN_BARE_PAIR = re.compile(
    r"(?:\b(?:up|down)(?:\s+(?:up|down)\b)+|\b(?:left|right)(?:\s+(?:left|right)\b)+)"
    r"(?!\s+(?:away|now|after|next|of|top|bottom|here|there|the|a|side|below|above|hand)\b)"  # "right away", "down the"
)
# from one side to the other said with "side" or "edge" ("moves from the right side to the left side": 0 of 20; "moves
# from right to left" 20 of 20); entering on one side and leaving by the other ("enters from the left and exits to the
# right": 0 of 20; "moves from left to right" 20 of 20)
_EN_FROM_SIDE = re.compile(
    rf"\bfrom\s+{_EN_SIDE_END}\s+(?:(?:over|across|all\s+the\s+way)\s+)?(?:to|towards?|into)\s+{_EN_SIDE_END}"
    r"(?!\s+of\b)"  # not "to the right side of the 8"
)
_EN_ENTERS = re.compile(
    rf"\b(?:enters|comes\s+in|slides\s+in|appears)\s+(?:from|on|at)\s+{_EN_SIDE_END}\s*,?\s+(?:and\s+)?(?:then\s+)?"
    r"(?:exits|leaves|goes\s+out|slides\s+out|disappears|vanishes)\s+(?:(?:to|on|at|through|via|off|from|out)\s+)*"
    + _EN_SIDE_END
)
# where a digit starts, joined to its motion by "and" ("starts at the top and drifts down": 0 of 20; "appears near the
# top and drifts down out of the frame" 2 of 20; "drifts down out of the frame" 20 of 20)
_EN_START_AND = re.compile(
    rf"\b(?:starts|begins|appears|starting|beginning|appearing)\s+(?:off\s+)?(?:at|near|in|on|from)\s+{_EN_SIDE_END}"
    r"\s*,?\s+and\s+(?:then\s+)?(?!(?:the\s+)?(?:left|right|top|bottom|middle|centre|center)\b)"
)
_EN_OPPOSITE = {"left": "right", "right": "left", "top": "bottom", "bottom": "top"}


def _side_to_side(start: str, end: str) -> str:
    return f"from {start} to {end}" if start in ("left", "right") else f"from the {start} to the {end}"


def say_plainly(text: str) -> str:
    """``text`` (lower case) with a motion said loosely or with a slip said as the model was taught: 向又移动 →
    向右移动, "up an down" → "up and down", "side 2 side" → "side to side", "move up down up down" → "move up and down",
    "vertically downward" → "downward", "from the right side to the left side" → "from right to left", "enters from
    the left and exits to the right" → "moves from left to right", "starts at the top and drifts down" → "drifts
    down", "please and thank you" → "please"."""
    for pattern, said in _PLAIN:
        text = pattern.sub(said, text)

    def pair(m: re.Match) -> str:
        words = m.group(0).split()
        if any(a == b for a, b in zip(words, words[1:])):
            return m.group(0)  # "up up": no bounce said
        return "up and down" if words[0] in ("up", "down") else "left and right"

    def sides(m: re.Match, verb: str = "") -> str:
        start, end = m.group(1), m.group(3)
        if _EN_OPPOSITE[start] != end or not (verb or m.group(2) or m.group(4)):
            return m.group(0)  # not opposite ends, or already the taught "from left to right"
        return verb + _side_to_side(start, end)

    def start_and(m: re.Match) -> str:
        rest = _clauses(m.string[m.end() :])[0][0]  # its motion, not another digit's ("… and a blue 8 moves down")
        return "" if _MOTION.search(rest) and not _EN_DIGIT_SAID.search(rest) else m.group(0)

    text = _EN_BARE_PAIR.sub(pair, text)
    text = _EN_FROM_SIDE.sub(sides, text)
    text = _EN_ENTERS.sub(lambda m: sides(m, "moves "), text)
    return _EN_START_AND.sub(start_and, text)


# a bounce whose axis is not said, in the stretch between two digits: "a 3 hopping", "back and forth", 来回摆动. Bare,
# the model drew "hopping", "bouncing", "jumping" as a one-way rise and "bobbing" as a fall (2 to 3 of 20 draws a
# bounce), "back and forth" and 来回摆动 as a vertical bounce (0 of 20 horizontal), 垂直来回移动 as a horizontal one (3
# of 20 vertical); with the axis said, 20 of 20 right.
_EN_BOUNCE = re.compile(r"\b(?:bounc(?:e|es|ing|y)|hop|hops|hopping|bob|bobs|bobbing|jump|jumps|jumping)\b")
_EN_TO_AND_FRO = re.compile(r"\b(?:back[\s-]+and[\s-]+forth|to[\s-]+and[\s-]+fro)\b")
_EN_AXIS = re.compile(  # "horizont…", "vertic…": slips are corrected later ("horizontaly")
    r"\b(?:up|down|left|right|upwards?|downwards?|leftwards?|rightwards?|sideways|side|sides|horizont\w*"
    r"|vertic\w*|diagonal\w*|top|bottom|ceiling|floor|walls?|edges?|ends?|across|around|over|off|along)\b"
)
# said of several digits ("two digits bouncing: …", "both side to side", 两个数字弹跳：, 都): their own clauses, or
# words said of all of them, say the axis
_SEVERAL = re.compile(r"\b(?:digits|numbers|numerals|both|each|all)\b|[:：]|两个|俩|都|均")
_ZH_SWAY = re.compile(r"来回|摆动|摇摆|晃动|晃来晃去|往返")
_ZH_HOP = re.compile(r"蹦蹦跳跳|跳上跳下|弹跳|跳动|蹦跳")
_ZH_AXIS = re.compile(r"[左右上下横竖纵顶底前后边侧周]|水平|垂直|斜")
# 垂直 "vertical" is said as 竖直, the word the grammar teaches (垂直来回移动 was drawn a horizontal bounce)
_ZH_VERTICAL = re.compile(r"垂直(?=(?:方向)?(?:地|上)?(?:来回|往返|弹|移|运|晃|摆|跳))")
# where a stretch ends: a numeral, a number word after an article, a colour or a digit noun ("a blue seven"; not "from
# one side to the other", "the two side walls"), a Chinese numeral that is no part of a word (一直, 一边, 四周 are
# words; 一 only after 的 or a digit noun)
_EN_SUBJECT_WORD = re.compile(
    "(?:"
    + "|".join(
        f"(?<=\\b{w}\\s)" for w in ("a", "an", "the", "digit", "number", "numeral", *sorted(set(EN_COLOUR_WORDS)))
    )
    + ")"
    rf"(?:{_EN_NOT_ONE})\b(?![\s-]+(?:sides?|walls?|edges?|ends?|ways?|directions?))"
)
_DIGIT_CUT = re.compile(
    r"(?<![\w])\d(?![\w])|[0-9]|"
    + _EN_SUBJECT_WORD.pattern
    + r"|(?:(?<=的)|(?<=数字)|(?<=号))一|[零〇二三五六七八九]|四(?![周处面散溢])"
)


def say_axis(text: str) -> str:
    """``text`` (lower case) with a bounce whose axis is not said given the axis a reader takes: "a 3 hopping" →
    "a 3 hopping up and down", "a 5 going back and forth" → "… back and forth horizontally", 来回摆动 → 左右来回摆动,
    蹦蹦跳跳 → 上下蹦蹦跳跳, 垂直来回移动 → 竖直来回移动. Nothing changes where an axis, a side or a direction is said
    between the digit before and the digit after ("bouncing. it goes left and right", "hops off the walls",
    从一边蹦跳到另一边), nor in a prompt that says something of several digits ("both side to side", 都)."""
    text = _ZH_VERTICAL.sub("竖直", text)
    if _SEVERAL.search(text):
        return text
    cuts = [m.span() for m in _DIGIT_CUT.finditer(text)]
    starts = [0] + [e for _, e in cuts]
    ends = [b for b, _ in cuts] + [len(text)]
    out, last = [], 0
    for k, (a, b) in enumerate(zip(starts, ends)):
        part = text[a:b]
        # the stretch before the first digit says its verb first ("bounce a yellow eight vertically", 来回来回～品红色
        # 的8左右弹): the stretch after that digit is the same clause's
        then = text[starts[1] : ends[1]] if k == 0 and len(starts) > 1 else ""
        if not _EN_AXIS.search(part) and not _EN_AXIS.search(then):
            if m := _EN_TO_AND_FRO.search(part):  # "bouncing back and forth": the axis is what is missing
                part = part[: m.end()] + " horizontally" + part[m.end() :]
            elif m := _EN_BOUNCE.search(part):
                part = part[: m.end()] + " up and down" + part[m.end() :]
        if not _ZH_AXIS.search(part) and not _ZH_AXIS.search(then):
            if m := _ZH_SWAY.search(part):
                part = part[: m.start()] + "左右" + part[m.start() :]
            elif m := _ZH_HOP.search(part):
                part = part[: m.start()] + "上下" + part[m.start() :]
        out.append(text[last:a] + part)
        last = b
    return "".join(out) + text[last:]


# the characters that name a colour in Chinese (白 … 金, 银), read by names_colour and the arrows (durations)
ZH_COLOUR_CHARS = "白红紅绿綠蓝藍黄黃青紫粉金银"
_BARE_DIRECTION = re.compile(
    rf"(?:(?<=[{ZH_COLOUR_CHARS}])|(?<=^)|(?<=[，,。；;：:！!？?、\s]))([{_ZH_DIGIT}])([上下左右])"
    r"(?=$|[，,。；;！!？?、\s])"
)


def bare_directions(text: str) -> str:
    """``text`` with a Chinese direction that ends a digit's clause given its 往: "白2上，红6下" → "白2往上，
    红6往下"."""
    return _BARE_DIRECTION.sub(r"\1往\2", text)


# a bare digit between "make"/"let"/"have" and a verb of moving: "make 3 go left" (of ten digits × two seeds 75% right,
# "make the 3 go left" 95%), "make five fall" (40%; with "the" 90%), "make 3 go left in green" (50%; 100%), also
# with its colour before it: "make cyan 0 move left" (60%, read as a bounce; "make the cyan 0 move left" 100%)
_BARE_VERB_ALT = "|".join(sorted(EN_BARE_VERBS, key=len, reverse=True))
_MAKE_DIGIT = re.compile(
    rf"\b((?:make|makes|let|lets|have|has|get|gets)\s+)"
    rf"(?=(?:(?:{_COLOUR_ALT})\s+)?(?:[0-9]|{'|'.join(EN_NUMBERS)})\s+(?:{_BARE_VERB_ALT})\b)"
)


def article_after_make(text: str) -> str:
    """``text`` (lower case) with a bare digit after "make", "let" or "have" and before a verb of moving given
    "the": "make 3 go left in green" → "make the 3 go left in green", "make cyan 0 move left" → "make the cyan 0
    move left"."""
    return _MAKE_DIGIT.sub(r"\1the ", text)


_SIDES = r"top|bottom|left|right|middle|centre|center|corner"
_EN_PLACE = re.compile(  # the phrase whole (an atomic group), then what may not follow it
    rf"\b(?>(?:(?:starting|beginning|starts|begins|appearing|appears|coming|comes)\s+)?"
    rf"(?:from|at|near|in|on)\s+(?:the\s+)?(?:very\s+)?(?:{_SIDES})(?:[\s-]+(?:{_SIDES}))?"
    r"(?:[\s-]+(?:hand\s+)?(?:edge|side|corner|part|end|half))?"
    r"(?:\s+(?:of|in|on)\s+(?:the\s+)?(?:frame|screen|picture|video|scene|canvas|image|clip|view))?)"
    r"(?!\s*(?:to|toward|towards|into|and|or|direction|directions|way|hand|of)\b|[\s-]*(?:ward|wards)\b)"
)
_ZH_SIDES = (
    "顶部|顶端|顶上(?![边方面头那部端])|上方|上面|上边|上端|底部|底端|底下(?![边方面头那部端])|下方|下面|下边|下端|左边|"
    "左侧|左方|左端|右边|右侧|右方|右端|中间|中央|角落"
)
_ZH_PLACE = re.compile(
    rf"(?>(?:从|在|自)(?:画面|屏幕|视频|图片|画布)?(?:的)?(?:最)?(?:{_ZH_SIDES})(?:开始|出发|出来)?)"
    # not a start with its end ("从左边往右边", "从顶部落到底部") nor one of two ends ("在画面顶部和底部之间")
    rf"(?![往向到朝至和与跟及、]|[^，,。；;]{{0,6}}?[到至往向朝](?:画面|屏幕)?的?(?:{_ZH_SIDES}))"
)
# what says a motion once the place is gone: a direction or a verb of moving
_EN_MOTION = (
    r"\b(?:left|right|up|down|upward|upwards|downward|downwards|leftward|leftwards|rightward|rightwards|sideways|"
    r"rise|rises|rising|fall|falls|falling|sink|sinks|sinking|drop|drops|dropping|climb|climbs|climbing|"
    r"descend|descends|descending|ascend|ascends|ascending|"
    r"bounce|bounces|bouncing|back and forth|horizontally|vertically)\b"
)
_MOTION = re.compile(_EN_MOTION + r"|[左右上下升降落沉]")


# a way to move said on its own, as a label before a digit ("Sliding to the left: a cyan 1", 向上移动的：绿色的1): in
# Chinese a direction after 向/往/朝, a pair (左右, 上下) or a verb of moving, not a lone 上 or 下 (上课, 下午)
_WAY = re.compile(_EN_MOTION + r"|[向往朝][左右上下]|左右|上下|[升降落沉飘跳弹滑移]")


def _clauses(text: str, also: str = "") -> list[tuple[str, str]]:
    """``text`` cut after each clause mark (and each of ``also``): (clause, the mark and the spaces after it)."""
    parts = re.split(rf"([,，;；。.!?！？{also}]\s*)", text)
    return [(parts[k], parts[k + 1] if k + 1 < len(parts) else "") for k in range(0, len(parts), 2)]


def says_motion(text: str) -> bool:
    """Whether ``text`` says a way to move (a direction or a verb of moving: "sliding to the left", 向上移动的)."""
    return bool(_WAY.search(text))


def drop_places(text: str) -> str:
    """``text`` (lower case) without where a digit starts or stands, where that is said beside its motion: in a
    clause that says a motion as well ("a white 8 falls from the top of the frame" → "a white 8 falls"), or as a
    clause of its own before one that does ("starting at the top, a blue 4 falls", 从左边出发，一个黄色的三向右移动).
    A place that is the only motion said ("a 3 comes from the top") or a destination ("to the top",
    从左边往右边) stays."""
    pieces = _clauses(text, ":：")
    out: list[str] = []
    for k, (piece, sep) in enumerate(pieces):
        rest = _ZH_PLACE.sub("", _EN_PLACE.sub(" ", piece))
        rest = re.sub(r" {2,}", " ", rest).strip()
        if rest != piece.strip():
            if not rest.strip(" ,，") and k + 1 < len(pieces) and _MOTION.search(pieces[k + 1][0]):
                continue  # "starting at the top, …": the place alone, before the clause that moves
            if _MOTION.search(rest):
                piece = (" " if piece[:1].isspace() else "") + rest
        out.append(piece + sep)
    return "".join(out).strip()


# "从左滑到右", "从顶端滑到底端", 从画面左侧移动到右侧: a start and the opposite end, with the verb between (read as a
# bounce, or as the start's direction: 从左滑到右 after 黄5 0%, 从顶端滑到底端 5%; 往右滑, 往下滑 100%)
_ZH_END = r"(?:画面|屏幕|视频)?的?最?(顶上|底下|[左右上下顶底])(?:边缘|边|侧|端|部|方|面)?"
_ZH_FROM_TO = re.compile(
    rf"[从由自]{_ZH_END}(?:进来|出来|开始|出发)?([^，,。；;从由自到至往向朝左右上下]{{0,4}}?)[到至往向朝]{_ZH_END}"
)
_ZH_SIDE = {"左": "左", "右": "右", "上": "上", "顶": "上", "顶上": "上", "下": "下", "底": "下", "底下": "下"}
_ZH_OPPOSITE = {"左": "右", "右": "左", "上": "下", "下": "上"}


def from_to(text: str) -> str:
    """``text`` with a Chinese start and its opposite end said as the way to the end: "黄5从左滑到右" → "黄5往右滑",
    "从顶端滑到底端" → "往下滑", "从左往右移动" → "往右移动" (a start and an end that are not opposite stay)."""

    def way(m: re.Match) -> str:
        start, verb, end = _ZH_SIDE[m.group(1)], m.group(2), _ZH_SIDE[m.group(3)]
        return f"往{end}{verb}" if _ZH_OPPOSITE[start] == end else m.group(0)

    return _ZH_FROM_TO.sub(way, text)


# a shot-list or catalogue label before what is drawn: "Shot 1:", "SHOT 5 (3s):", "Lot 44:", 分镜1：, 精灵A： (the model
# drew the label's number: "Shot 1: … a cobalt 8" drew a 1)
_LABEL = re.compile(
    r"(?i)(?:^|(?<=[.;!?。；！？—:：]\s)|(?<=[.;!?。；！？—:：]))\s*"
    r"(?:(?:shot|scene|panel|lot|clip|sprite|object|element|item|entry|option|variant|version)\s*#?\s*[0-9a-z]{1,3}"
    r"|(?P<ordinal>(?:digit|number)\s*#?\s*(?:one|two|three|four|\d)\b)"
    r"|(?:分镜|镜头|场景|精灵|对象|元素|物体|项目|条目)\s*[0-9a-z一二三四五六七八九]{1,2})"
    r"\s*(?:\([^()]{0,12}\)|（[^（）]{0,12}）)?\s*(?:[:：]|(?<=[\u4e00-\u9fff0-9a-z])[为是](?=数字|号))\s*"
)
# a request about what not to add, with no digit in it: "No sound, no text.", "Please don't add anything else.",
# 别加背景音乐, 不要出现重复的数字 (said after the last digit, it was read as that digit's: "… a teal 9 moving left. No
# sound, no text, no other digits" drew a bounce)
# A closing ("That's all.", "that's it") is one too: after the last digit the model read "that's" as its motion
# ("number {d}, white, going left, that's" 0 of 20 draws right, without it 19 of 20).
_NOTHING_ELSE = re.compile(
    r"(?i)^\s*(?:please\s+)?(?:no|don't|do\s+not|never|without|nothing|keep\s+it\s+free\s+of)\b"
    r"|^\s*(?:and\s+)?(?:that'?s|that\s+is|that\s+will\s+be|that'?ll\s+be)\s+(?:all|it|everything)\b"
    r"|^\s*(?:请)?(?:不要|别|不需要|无需|不用)"
)


# a remark on the clip's style or feel ("8-bit style", "smooth motion", "Mood: playful, clean", 风格：极简,
# 简单点就行, 节奏感强一点): said after a digit's clause it was read as that digit's ("{d}往上走，颜色要绿色" 20 of
# 20 draws right, with "，简单点就行" after it 1 of 20; "黄{d}左右跳动" 20 of 20, with "，节奏感强一点" 12 of 20;
# "a blue {d} moving up" 20 of 20, with ", 8-bit style" 13 of 20)
_STYLE = re.compile(
    r"(?i)\b(?:style[sd]?|stylized|stylised|look|looks|vibes?|feel|feeling|aesthetics?|theme|mood|tone|animation|"
    r"animated|art|artwork|quality|render(?:ing|ed)?|retro|vintage|cinematic|cartoon(?:y|ish)?|"
    r"minimal(?:ist|istic)?|clean|simple|smooth|fluid|playful|cute|fun|calm|relaxing|cheerful|energetic|"
    r"rhythm(?:ic)?|pixel(?:ated)?)\b"
    r"|风格|画风|感觉|氛围|质感|节奏|效果|简单|简洁|极简|可爱|好看|流畅|顺滑|清爽|干净|动感|活泼|轻松|欢快|复古|像素|卡通"
)
# a remark set off as a field: "Mood: playful, clean.", 风格：极简。 (to the end of its sentence)
_STYLE_FIELD = re.compile(
    r"(?i)(?:^|(?<=[.;!?。；！？\n]))\s*(?:mood|style|vibe|tone|aesthetic|look|feel|theme|风格|氛围|感觉|画风|基调)"
    r"\s*[:：=][^.;!?。；！？\n]*[.;!?。；！？]?\s*"
)
# a comparison set off as its own clause ("like two elevators passing each other", 像两辆小车, 像在水里一样): the model
# read its words as the digit's ("a cyan {d} going down, like two elevators passing" 7 of 20 draws right, the "two"
# drawn as a 2)
_SIMILE = re.compile(
    r"(?i)^\s*(?:(?:just|kind\s+of|sort\s+of|a\s+bit|almost|exactly)\s+)?(?:like|as\s+if|as\s+though|similar\s+to)\b"
    r"|^\s*(?:(?:就|好|有点)?像|仿佛|宛如|犹如|如同|如(?![果何此今]))"
)
# what the clip is for, as a clause of its own ("yellow three move right (for my kid's homework video)": 7 of 20 draws
# right; without it 19 of 20)
_PURPOSE = re.compile(
    r"(?i)^\s*(?:(?:it'?s|this\s+is|that'?s|just|mainly|mostly)\s+)?for\s+(?:my|our|his|her|their|your|a|an|the|some)\b"
)
# 拜托了 ("I'm counting on you") after a Chinese request, as a clause of its own or after a space
# ("白色的4下滑，拜托了": 5 of 20 draws right, without it 20 of 20); the grammar's own "，谢谢" stays (17 of 20)
_THANKS_ZH = r"拜托(?:了|啦|你了|您了)?[啦呀哈~～!！。]*"
_ZH_THANKS = re.compile(rf"^\s*{_THANKS_ZH}\s*$")
_ZH_THANKS_END = re.compile(rf"(?<=[\u4e00-\u9fff\w])\s+{_THANKS_ZH}\s*$")
# words that point at a digit: a remark holding one is said of that digit ("the other one in a retro style")
_POINTS = re.compile(r"(?i)\b(?:one|other|another|former|latter|first|second)\b|前者|后者|另|都")
_MOVING_WORDS = EN_MOTION_WORDS | {"side", "sideways"}
_EACH_OTHER = re.compile(r"(?i)\b(?:each\s+other|one\s+another)\b")  # no digit pointed at


def _remark(piece: str) -> bool:
    """Whether ``piece`` says nothing of which digit or what colour: no digit, count, colour (nor the word, nor a
    thing's colour: 草莓色) or word pointing at a digit."""
    asked = digits_asked(piece)
    points = _POINTS.search(_EACH_OTHER.sub(" ", piece))
    return not (asked.named or asked.count or names_colour(piece) or _SAYS_COLOUR.search(piece) or points)


# a word of moving, by its stem ("bouncy", "jumpy", 晃来晃去, 来回): a remark that holds one may be a digit's motion
_MOVING = re.compile(
    r"(?i)\b(?:bounc|hop|jump|bob|sway|wobbl|swing|rock|shak|zig|zag|oscill|ping|pong|drift|float|fall|ris|sink|"
    r"climb|slid|glid|wander|roll|spin|turn|circl|side|up|down|left|right|horizont|vertic|back\b|forth)"
    r"|[来回摆晃摇往返跳弹蹦飘滑升降落沉浮移走跑飞左右上下]"
)
_THING_WORDS = _THING_RE.replace("\\ ", "[\\s-]")  # "fire engine", "fire-engine"
_SAYS_COLOUR = re.compile(
    rf"(?i)\bcolou?r|色|\b(?:blu|redd|green|yellow|pink|purpl|whit)ish\b|\b(?:{_THING_WORDS}|cherry|cherries|rainbow)\b"
)
# a way said, not only a bounce: after it a comparison adds nothing ("bouncing, like a ball going side to side" is
# the axis of the bounce; "goes up, like two elevators passing" is not)
_DIRECTION = re.compile(
    r"(?i)\b(?:left|right|up|down|upwards?|downwards?|leftwards?|rightwards?|sideways|horizontally|vertically|"
    r"rises|rising|falls|falling|sinks|sinking|drops|dropping|climbs|climbing)\b|[左右上下升降落沉]"
)


def _moves(piece: str) -> bool:
    """Whether ``piece`` holds a word of moving ("movement side-to-side", "bouncy", 来回摆动)."""
    return bool(_MOVING.search(piece)) or bool(set(re.findall(r"[a-z]+", piece.lower())) & _MOVING_WORDS)


# "8-bit", "in a 16-bit look": a style, wherever it stands ("a red 3 in an 8-bit look": the 8 was read as a digit)
_BITS = re.compile(
    r"(?i)(?:,\s*)?\b(?:in\s+(?:an?\s+)?)?\d+[\s-]?bits?\b(?:\s+(?:style|look|graphics|art|aesthetic|vibe|feel))*"
)


def drop_style_fields(text: str) -> str:
    """``text`` without a style field ("Mood: playful, clean.") that says nothing a digit is drawn with."""

    def drop(m: re.Match) -> str:
        said = re.sub(r"^\W*\w+\s*[:：=]", "", m.group(0))
        return " " if _remark(said) and not _moves(said) else m.group(0)

    return _STYLE_FIELD.sub(drop, text)


# a clause that only says the colour does not matter: "any colour is fine for that one", "doesn't matter what colour
# the six is", "leave the 1 uncoloured", 颜色无所谓 (said of a digit, it was read as that digit's: "that one" drew a 1)
_ANY_COLOUR = re.compile(
    r"(?i)\b(?:any|whatever|whichever)\s+colou?rs?\b|\bcolou?rs?\b[^.;]{0,30}\b(?:doesn'?t|does\s+not|don'?t|do\s+not)"
    r"\s+matter\b|\b(?:doesn'?t|does\s+not|don'?t|do\s+not)\s+(?:matter|care)\b[^.;]{0,20}\bcolou?rs?\b"
    r"|\bno\s+particular\s+colou?rs?\b|\b(?:leave|keep)\b[^.;]{0,20}\b(?:uncolou?red|colou?rless)\b"
    r"|\bcolou?rs?\b[^.;]{0,12}\b(?:up\s+to\s+you|optional|your\s+choice)\b"
    r"|\bdefault\s+colou?rs?\b|\bno\s+colou?rs?\s+needed\b"
    r"|颜色(?:无所谓|随意|随便|不限|都行|都可以|不重要|自定)|(?:什么|任何|随便什么)颜色都(?:行|可以|好)|不(?:用|必|需要)?上色"
    r"|默认的?颜?色"
)


# an English clause that only describes the scene every clip has (a black background, a handwritten look): "black
# bg", "handwritten look, black backdrop". Said after a weak motion word it took the motion away ("a navy blue 7
# descending, handwritten look, black backdrop" 0 of 20 draws right, "a navy blue 7 descending" 20 of 20). The
# Chinese grammar teaches such clauses (背景是黑色的: 20 of 20 right after 往下掉), so Chinese ones stay.
_SCENE_WORDS = frozenset(
    "a an the on in with and all of it its is should be keep just please only plain pure solid pitch pitch-black "
    "black dark background backgrounds backdrop bg screen canvas frame scene handwritten hand-written handwriting "
    "look style font strokes".split()
)
_SCENE_NEEDS = re.compile(r"(?i)\b(?:background|backdrop|bg|screen|canvas|handwritten|hand-written|handwriting)\b")


def _scene_only(piece: str) -> bool:
    """Whether ``piece`` (English) only describes the scene every clip has: a black background, handwriting."""
    text = piece.strip(" ,.;:!?~")
    if not _SCENE_NEEDS.search(text) or re.search(r"[^\x00-\x7f]|\d", text):
        return False
    return all(w in _SCENE_WORDS for w in re.findall(r"[a-z-]+", text.lower()))


def names_colour(text: str) -> bool:
    """Whether ``text`` names a colour (a palette colour, a taught shade or a Chinese colour character)."""
    return bool(set(re.findall(r"[a-z]+", text.lower())) & (_COLOUR_WORDS | SHADE_WORDS)) or bool(
        re.search(f"[{ZH_COLOUR_CHARS}]", text)
    )


# a follow-up request's "one more" (再来一个…, 另外一个…): drawn alone, the model read 再 and 另外 as a bounce
# (再一个{zc}的{d}往左移动 0 of 20 draws right, 另外一个… 0 of 20, 一个… 20 of 20); the split drops it from each clause
# (vidfuse.data.clauses)
ONE_MORE = re.compile(
    r"^\s*(?:然后|接着)?(?:再(?=要|来(?!回)|加|画|放|给|弄|搞|一[个只位颗枚])|另外?(?=一[个只位颗枚]))"
)


# a record keyed by its digit ("seven: yellow, bounce up/down | one: green, …"): "one:" keys the digit 1 where another
# digit keys a record too (it was read as the pronoun, and the prompt drawn as one digit)
_RECORD_START = r"(?:^|(?<=[|;\n•/])|(?<=[.!?]\s))\s*"
_EN_KEYS = re.compile(rf"(?i){_RECORD_START}(?:{_EN_NOT_ONE}|\d)\s*:(?!\d)")
_ONE_KEY = re.compile(rf"(?i)({_RECORD_START})one(?=\s*:)")
# 一 brought in by a measure word or a colour and then described (有个一是黄色的, 洋红色一左右晃来晃去): the digit,
# which the split did not read as one (not 一直, 颜色一样, 一上一下)
_ZH_ONE = re.compile(
    rf"(?<=[个只位颗枚色{ZH_COLOUR_CHARS}])(?<!颜色)(?<!一[{ZH_COLOUR_CHARS}])一"
    # what it is or how it moves next: 白色一和蓝色九, 青色一做…, 绿色一：向右 (not 跟/与: 绿色一跟着它)
    rf"(?=[是在往向朝从做稳慢缓匀轻：:和、{ZH_COLOUR_CHARS}]|左右|上下)"
    r"(?![^，,。；;]*[一就])"  # not 一红一蓝, 一往左一往右 (one and the other), nor 一…就 ("as soon as")
)
# "One: …, the other: …", "One: the green one …": "one" is one of the digits, not the digit 1
_ONE_OF_THEM = re.compile(r"(?i)\b(?:the\s+other|another|the\s+second|second)\s*:|\bone\s*:[^.;|\n]*\bone\b")


def one_as_digit(text: str) -> str:
    """``text`` with a "one" or 一 that plainly names the digit 1 written as "1": a record key "one:" beside other
    digits' keys, 一 after a measure word or a colour before what it is or how it moves (有个一是黄色的), while the
    prompt names fewer than two other digits (in "红色一上下，蓝色一左右，数字是3和7" 一 is "one of them")."""
    if _EN_KEYS.search(text) and not _ONE_OF_THEM.search(text):
        text = _ONE_KEY.sub(r"\g<1>1", text)
    if len(digits_asked(text).named) < 2:
        text = _ZH_ONE.sub("1", text)
    return text


# a list's numbering: "1. a red 3 going left 2. a blue 7 going up", "1) …, 2) …", "(1) … (2) …", 1、…；2、…
_NUMBERING = re.compile(
    r"(?:^|(?<=\s)|(?<=[;；,，。.!?！？:：]))(?:[(（](?P<a>\d{1,2})[)）]|(?P<b>\d{1,2})[.)）:：、](?!\d))\s*"
)


def drop_numbering(text: str) -> str:
    """``text`` without a numbered list's numbers ("1. a red 3 going left 2. a blue 7 going up" → "a red 3 going
    left; a blue 7 going up"): numbers 1, 2, … in order, each before a record that names a digit of its own (in "1:
    red, left; 2: blue, up" the numbers are the digits). The numbers were read as digits: 1 and 2 drawn beside the
    3 and the 7."""
    marks = list(_NUMBERING.finditer(text))
    if len(marks) < 2 or [int(m.group("a") or m.group("b")) for m in marks] != list(range(1, len(marks) + 1)):
        return text
    ends = [m.start() for m in marks[1:]] + [len(text)]
    records = [text[m.end() : end].strip() for m, end in zip(marks, ends)]
    if not all(digits_asked(r).total for r in records):
        return text
    head = text[: marks[0].start()].strip()
    said = [r.rstrip(" ,;，；") for r in records]
    joined = "; ".join(said) if not re.search(r"[\u4e00-\u9fff]", text) else "；".join(said)
    return f"{head} {joined}".strip() if head else joined


_STARTS_WITH_DIGIT = re.compile(rf"(?i)\s*[\"'“]?(?:\d|{_EN_NOT_ONE})\b")


def drop_labels(text: str) -> str:
    """``text`` without a shot-list or catalogue label before a clause ("Shot 1: …" → "…", 分镜1：… → …) and
    without a follow-up's "one more" before the first digit (再来一个蓝色的5往上 → 来一个蓝色的5往上)."""

    def drop(m: re.Match) -> str:
        record = re.split(r"[.;!?。；！？\n]", text[m.end() :])[0]
        if not digits_asked(record).total:  # "Item 3: red, moving left.": the label's number is the digit
            return m.group(0)
        if m.group("ordinal") and not _STARTS_WITH_DIGIT.match(record):
            return m.group(0)  # "Digit 3: the red one, moving left": the 3 is the digit ("Digit one: 6, …" is not)
        return " " if m.start() else ""

    return ONE_MORE.sub("", re.sub(r" {2,}", " ", _LABEL.sub(drop, text)).strip())


def drop_nothing_else(text: str) -> str:
    """``text`` without its clauses that only ask for nothing else to be added ("no sound", 别加背景音乐), those in
    which :func:`vidfuse.data.subjects.digits_asked` names no digit, English ones that only describe the scene every
    clip has ("black bg", "handwritten look"), and those that only say the colour does not matter ("any colour is fine
    for that one", "doesn't matter what colour the six is", 颜色无所谓: the digit is drawn white) and name no colour
    and no digit that was not named before; ``text`` as it is when nothing else would be left."""
    kept, seen = [], set()
    moved = False  # whether what was kept since the last digit says how it moves
    text = _ZH_THANKS_END.sub("", text)  # "白色4下滑 拜托了": a space ends a Chinese clause
    pieces = _clauses(re.sub(r" {2,}", " ", drop_style_fields(_BITS.sub("", text))), "—–")
    for k, (piece, sep) in enumerate(pieces):
        named = set(digits_asked(piece).named)
        if (_NOTHING_ELSE.search(piece) or _scene_only(piece)) and not named:
            continue
        if _remark(piece) and (_STYLE.search(piece) and not _moves(piece) or _SIMILE.match(piece) and moved):
            continue  # "8-bit style", 简单点就行; "like two elevators passing" after the digit's way
        if _remark(piece) and (_PURPOSE.match(piece) and not _moves(piece) or _ZH_THANKS.match(piece)):
            continue  # ", for my kid's homework video", "，拜托了"
        moved = bool(_DIRECTION.search(piece)) or (moved and not named)  # 浮上来: a way, said loosely
        if _ANY_COLOUR.search(piece) and not says_motion(piece) and named <= seen and len(named) <= 1:
            if not names_colour(piece):  # "the 3 red and the 7 any colour" still says the 3's colour
                said = _digit_said(piece) if named and _refers_back(pieces, k) else None
                if said is None:
                    continue
                piece = f"the {said}"  # "The nine can be whatever colour, just have it move left": "it" is the nine
        kept.append(piece + sep)
        seen |= named
    kept = "".join(kept).strip(" ,，—–:：")
    return kept if kept.strip(" ,，;；。.") else text


_EN_DIGIT_SAID = re.compile(rf"(?i)(?<![\w.])(?:\d|{'|'.join(EN_NUMBERS)})(?![\w.])")
_IT = re.compile(r"(?i)\bit\b|\bits\b")


def _digit_said(piece: str) -> str | None:
    """The digit ``piece`` names as written ("nine", "9"), English only."""
    m = _EN_DIGIT_SAID.search(piece)
    return m.group(0) if m else None


def _refers_back(pieces: list[tuple[str, str]], k: int) -> bool:
    """Whether the clause after ``pieces[k]``, in the same sentence, says "it" and names no digit of its own."""
    if k + 1 >= len(pieces) or not re.match(r"[,，]", pieces[k][1]):
        return False
    nxt = pieces[k + 1][0]  # "just have it move left"; not "it doesn't matter"
    return bool(_IT.search(nxt)) and says_motion(nxt) and not digits_asked(nxt).named


# the words of a number a slip must not turn another word into ("tree" is no "three", "eighth" no "eight"): these
# are reached by a swap of two letters only ("nien", "eigth")
_NUMBER_WORDS = frozenset(EN_NUMBERS) | frozenset(("sixes" if w == "six" else w + "s") for w in EN_NUMBERS)
_COLOUR_WORDS = frozenset(EN_COLOUR_WORDS)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _slips(word: str) -> dict[str, str]:
    """Every way ``word`` is mistyped by one slip, with the kind of slip: ``swap`` (two letters swapped: "nien"),
    ``drop`` (a letter left out: "blu"), ``extra`` (a letter added: "moveing"), ``typo`` (a letter mistyped)."""
    out: dict[str, str] = {}
    for i in range(len(word)):
        out.setdefault(word[:i] + word[i + 1 :], "drop")
        for c in _LETTERS:
            if c != word[i]:
                out.setdefault(word[:i] + c + word[i + 1 :], "typo")
    for i in range(len(word) + 1):
        for c in _LETTERS:
            out.setdefault(word[:i] + c + word[i:], "extra")
    for i in range(len(word) - 1):
        if word[i] != word[i + 1]:
            out[word[:i] + word[i + 1] + word[i] + word[i + 2 :]] = "swap"
    return out


def _allowed(slip: str, target: str, typed: str) -> bool:
    if target in _NUMBER_WORDS:
        return slip == "swap"  # "tree" → "three", "eighth" → "eight", "once" → "one" would draw a digit
    if target in _COLOUR_WORDS:
        return slip in ("swap", "drop")  # "read" → "red" would colour a digit
    return slip != "typo" or len(typed) >= 6  # "nice" → "nine", "line" → "lime": short words collide


@functools.lru_cache(maxsize=8)
def _corrections(known: frozenset[str]) -> dict[str, str]:
    """Each slip of a word of ``known`` (four letters or more) that is not itself known, to that word, when only
    one word of ``known`` is that slip away; an "s" added or left out at the end is no slip ("glide" is not
    "glides", "digits" not "digit")."""
    found: dict[str, set[str]] = {}
    for target in known:
        if len(target) < 4 or not target.isalpha():
            continue
        for typed, slip in _slips(target).items():
            if typed in known or len(typed) < 3 or typed + "s" == target or typed == target + "s":
                continue
            if _allowed(slip, target, typed):
                found.setdefault(typed, set()).add(target)
    return {typed: next(iter(ts)) for typed, ts in found.items() if len(ts) == 1}


@functools.lru_cache(maxsize=1)
def _english_words():
    """An English word list (pyspellchecker's, inside its wheel): a word in it is meant, not mistyped."""
    from spellchecker import SpellChecker

    return SpellChecker(language="en", distance=1)


# words people write without their apostrophe: a contraction ("dont", "youre", "theyll") or one of these with 's
_APOSTROPHE_S = frozenset("its theres thats whats heres lets hes shes wheres whos hows everyones nothings".split())
_CONTRACTION = re.compile(r"(?:n't|'re|'ll|'ve|'d|'m)$")


def is_english_word(word: str) -> bool:
    """Whether ``word`` (lower case) is an English word, by :func:`_english_words`' list, or a contraction written
    without its apostrophe ("theres", "dont", "youre": not slips of "threes", "done", "your"; "gos" is no "go's" and
    stays a slip of "goes")."""
    words = _english_words()
    if words.known([word]) or word in _APOSTROPHE_S:
        return True
    return any(
        _CONTRACTION.search(w) and words.known([w]) for w in (f"{word[:k]}'{word[k:]}" for k in range(1, len(word)))
    )


def correct_spelling(text: str, known: Collection[str]) -> str:
    """``text`` (lower case) with each Latin word that is neither in ``known`` nor an English word replaced by the
    one word of ``known`` a typing slip away, when there is exactly one (words of three letters or more,
    corrections of four or more): "a blu 6 going to the rigth" → "a blue 6 going to the right"; "hey", "ink" and
    "tree" are words, not slips of "they", "pink" and "three". Digit words are reached only by swapped letters
    and colour words by swapped or left-out ones."""
    fixes = _corrections(known if isinstance(known, frozenset) else frozenset(known))

    def fix(m: re.Match) -> str:
        typed = m.group(0)
        target = fixes.get(typed)
        return target if target is not None and not is_english_word(typed) else typed

    return re.sub(r"(?<![\w'-])[a-z]+(?![\w'-])", fix, text) if fixes else text
