"""How many digits a Moving Digits prompt asks to see at once: :func:`digits_asked`.

A model records the most digits one of its training captions named (``subjects`` in its vocabulary
record: 1 for a model trained on level 1). A prompt that asks for more ("a red 3 moving left and a blue 7
moving up") is drawn with one of them only, so the pipeline warns (:mod:`vidfuse.pipeline`). This module
reads a prompt the way a person would count the digits in it, in English and Chinese, after NFKC (so
full-width ３ is 3) and lower-casing:

- **A digit named**: a numeral on its own ("3", "the 3s"), a number word ("three"), a Chinese numeral
  (三, 叁, 〇, 幺), or a multi-digit number after "digit"/"number"/数字 ("the number 42": two glyphs).
  "one" is mostly the determiner or the pronoun: it is the digit after "digit"/"number"/"numeral"/"figure",
  beside another digit ("zero and one"), or after an article or a describing word when a verb follows ("a
  one goes up"); "a red one" alone is the digit only when no other digit is named ("a red 3, a big one" is
  the 3). 一 is mostly 一个, 一直, 一边: it is the digit after 数字/号/字符/的 or beside another digit (零和一).
  Distinct values count once: "the 5 moves left, then the 5 keeps going" names one digit; the same digit
  after two different colours counts twice ("a cyan 2 … a yellow 2"), and so does one brought in twice with an
  indefinite article ("a red 3 moving left and a red 3 moving up", 一个3往左，一个3往上; not after "like", "not").
- **Not a digit**: a number followed by a unit or a count word ("16 frames", "2 seconds", "3 times", "8-bit",
  "2x", "3秒", "16帧", "3像素", "两次", 跳三下), or by another plural noun ("two walls", "with 2 bounces"; but
  "a 9 bounces", "3 moves left" are a subject and its verb); a label or a measure ("frame 8", "step 1",
  "a speed of 4", 速度为3); an ordinal ("first", "3rd", 第一); a size, ratio, time or range ("64x64",
  "4:3", "3 o'clock", "2 or 3 pixels", 3-4秒); a decimal; a fraction (三分之二); and the Chinese words with
  numeral characters that are not numbers (四周, 两边, 十分, 五颜六色, 从零, 独一无二, 一…一…).
- **A count of digits**: a number before a plural digit noun ("two digits", "two red 4s", "3 numbers"),
  "both", "a pair of", "another", "second digit", and in Chinese a numeral with a measure word before a
  digit (两个数字, 两个5, 三个数字), 另一个, 一对, 一双.

:func:`digits_asked` is the larger of the distinct digits named and the largest count. The rule errs
towards silence: a warning that fires on a one-digit prompt is worse than one missed on a two-digit
prompt, since the clip shows one digit either way. ``bench/subject_count.py`` measures both.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from vidfuse.data.paraphrase import EN_BARE_VERBS, EN_COLOUR_WORDS  # the shades the encoder is taught

__all__ = ["COUNT_WORDS", "COUNTED_NOUNS", "DigitsAsked", "EN_COLOUR_NAMES", "digits_asked", "introduced_digits"]

_EN_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_EN_VALUE = {w: i for i, w in enumerate(_EN_WORDS)} | {"oh": 0, "nought": 0, "naught": 0}
_DIGIT_NOUNS = ("digit", "number", "numeral", "figure", "glyph", "character", "symbol")
_EN_PLURALS = {("sixes" if w == "six" else w + "s"): i for i, w in enumerate(_EN_WORDS) if w != "one"}
COUNTED_NOUNS = (*_DIGIT_NOUNS, "sprite", "object")  # what "two …s" may call the digits it counts
_PLURAL_NOUNS = (*(n + "s" for n in COUNTED_NOUNS), "ones")
# The words that count digits ("two digits", "three 4s", "two sevens"): read by this module, so a model that draws
# one layer per digit understands them even though no one-digit training caption holds them.
COUNT_WORDS = frozenset(_PLURAL_NOUNS) | frozenset(_EN_PLURALS)
# What a number can count or measure besides digits: "16 frames", "2 seconds", "3 times", "2 px" (not
# "bounces" or "passes": "a 9 bounces" is a verb more often than "3 bounces" is a count)
_EN_UNITS = frozenset(
    "frame frames second seconds sec secs s ms minute minutes min mins fps time times x px pixel pixels step steps "
    "loop loops cycle cycles round rounds lap laps trip trips way ways direction "
    "directions side sides edge edges corner corners percent per % st nd rd th d k hz beat beats unit units "
    "cell cells row rows column columns bit bits".split()
)
# Colour words: the same digit in two colours is two digits ("a cyan 2 … and a yellow 2")
# every English colour word, to the colour it names: a palette colour for the palette's words and the grammar's
# shades (crimson → red, teal → cyan), itself for a colour outside the palette (orange, black)
EN_COLOUR_NAMES = {
    w: EN_COLOUR_WORDS.get(w, w)
    for w in "white red green blue yellow cyan magenta purple pink violet orange black grey gray teal turquoise aqua "
    "crimson scarlet gold golden lime navy indigo maroon brown silver fuchsia".split()
} | EN_COLOUR_WORDS
_EN_COLOURS = frozenset(EN_COLOUR_NAMES)
_ZH_COLOURS = "白红紅绿綠蓝藍黄黃青紫粉橙黑灰金银"
_ZH_VALUE = {
    c: i for i, forms in enumerate("零〇○ 一壹幺 二贰貳 三叁參 四肆 五伍 六陆陸 七柒 八捌 九玖".split()) for c in forms
}
# Characters after a Chinese numeral that make it a count or a measure, not a digit: 两个, 三次, 16帧, 两边,
# 跳三下 (but 三下降 is "3 goes down": _ZH_DOWN)
_ZH_MEASURE = frozenset("个只位颗枚条张对双组串排")
_ZH_UNIT = frozenset("帧秒次遍倍趟圈步格度米厘毫年月日天下番轮拍周处边侧端")
_ZH_UNIT_WORDS = ("像素", "分钟", "分之", "点钟")
# After 一 only: the words it makes (一直, 一起, 一路, 一会儿 …); after another numeral these characters are
# the digit's own sentence going on (数字3会向左, 3和7同时, 3旁边还有7)
_ZH_ONE_WORD = _ZH_UNIT | frozenset("分点方面头角回阵会样般些切旁再味同齐直起路段时刻瞬闪定致共连贯口心意")
_ZH_NUMBER_PART = frozenset(_ZH_VALUE) | frozenset("十拾百佰千仟万萬两")
_ONE_BEFORE = frozenset(
    "a an the big small large tiny little huge giant bold thin thick handwritten written drawn painted colored "
    "coloured bright dark light pale glowing single lone".split()
)
_ONE_NOT_BEFORE = frozenset("of more another after by at".split()) | _EN_COLOURS
_ZH_PAIRED = "上下左右前后来去进退东西南北高低大小动静快慢"  # 一上一下: a pattern, not two ones
_ZH_AND = frozenset("和与跟及、同")
_ZH_DOWN = "降落移来去方面边"  # 三下降 is "3 goes down"; 三下 alone is "three times"
# 下滑, 下沉, 下坠 after a digit brought in as a subject (白色4下滑, 一个3下沉: the digit going down), not after a verb
# of repeating (跳三下滑到右边: "jumps three times, slides right")
_ZH_DOWN_SUBJECT = "滑沉坠"
_ZH_BEFORE_SUBJECT = "白红紅绿綠蓝藍黄黃青紫粉金银色的个只位颗枚，,。；;：:！!？? \t"


def _going_down(before: str, after: str) -> bool:
    """Whether 下 after a digit begins its going down (三下降, 白色4下滑), where ``before`` is the character before the
    digit and ``after`` the one after 下; else 下 counts times (跳三下, 跳三下滑到右边)."""
    return bool(after) and (
        after in _ZH_DOWN or after in _ZH_DOWN_SUBJECT and (not before or before[-1] in _ZH_BEFORE_SUBJECT)
    )


_EN_MEASURE_BEFORE = frozenset(
    "speed pace rate level size scale zoom factor length duration every each frame step loop take version part "
    "scene shot clip page round chapter episode".split()
)
_EN_VERB_AFTER = frozenset(
    "left right up down upward upwards downward downwards leftward rightward to toward towards across back around "
    "along from slowly quickly fast steadily smoothly gently horizontally vertically sideways".split()
)
_EN_DURATION_BEFORE = frozenset("for in over within lasting about around after takes take taking".split())
_ZH_DIGIT_NOUN = ("数字", "号码", "字符", "阿拉伯数字", "数", "字", "號", "号")
# Words and idioms whose numeral characters are not numbers
_ZH_NOT_NUMBERS = (
    "四周 四处 四面 八方 十分 万分 三番五次 五颜六色 五彩 七上八下 乱七八糟 一五一十 三角 三心二意 一模一样 "
    "七彩 四散 四溢 万一 唯一 统一 同一 专一 独一 第一 第二 第三 第四 第五 第六 第七 第八 第九 第零 "
    "数一数 一二 九宫 从零 归零 零星 零散 二话 无二 一同"
).split()
_ZH_MEASURE_BEFORE = ("速度为", "速度是", "速度", "大小为", "大小", "倍速", "约", "大约", "大概")
# 一 is the digit only after these, after 的 (白色的一) or beside another digit (零和一); 一直, 一个 are words
_ZH_ONE_AFTER = ("数字", "号", "字符", "数字“", "号“", "“", "数字:", "数字 ", "是")

_WORD_OR_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:st|nd|rd|th|s)?|[a-z]+|[^\sa-z\d]", re.UNICODE)


@dataclass(frozen=True)
class DigitsAsked:
    """What :func:`digits_asked` read in a prompt: the distinct digits ``named`` (in order of first
    mention) and the largest ``count`` of digits stated ("two digits": 2; 0 when none)."""

    named: tuple[int, ...]
    count: int

    @property
    def total(self) -> int:
        """How many digits the prompt asks to see at once."""
        return max(len(self.named), self.count)


# a school year said with its number: "Year 1 class", "grade 2 students", "my kid is in grade 2."
_SCHOOL_YEAR = re.compile(
    r"\b(year|grade|primary|form)[\s-]*\d{1,2}(?=\s+(?:class|classes|students?|pupils?|kids|children|learners)\b)"
    r"|\b(?<=in\s)(grade|year)\s+\d{1,2}(?=\s*(?:[,.;:!?]|$))"
)


@functools.lru_cache(maxsize=4096)  # a frozen answer; a batch asks for each prompt up to three times
def digits_asked(prompt: str) -> DigitsAsked:
    """The digits ``prompt`` names and the count of digits it states (see the module docstring)."""
    text = unicodedata.normalize("NFKC", prompt).lower()
    text = re.sub(r"\d+\s*[x×*]\s*\d+", " ", text)  # sizes: 64x64
    text = re.sub(r"\d+\s*:\s*\d+|\d+\s*o'?\s*clock", " ", text)  # ratios and times: 4:3, 3 o'clock
    text = re.sub(r"(?<![\d.])(\d+)-(?=[a-z])", r"\1 ", text)  # "8-bit": the number before its unit, as "8 bit"
    text = _SCHOOL_YEAR.sub(lambda m: m.group(1) or m.group(2), text)  # "for my Year 1 class": a school year
    text = re.sub(r"\bside[\s-]+by[\s-]+side\b", " beside each other ", text)  # "a 7 side by side": no unit
    text = re.sub(r"\bside[\s-]+to[\s-]+side\b", " sideways ", text)  # "white 2 side to side": its motion, no count
    # ranges: "2 or 3 pixels", "2 to 3 px", 3-4秒 (the unit is the end's)
    text = re.sub(r"\d+(?:\.\d+)?\s*(?:-|–|~|to|or|到|至)\s*(?=\d)", " ", text)
    named: list[tuple[int, str | None]] = []  # (digit, its colour word if one comes just before)
    counts = [0]

    def name(d: int, colour: str | None) -> None:
        if (d, colour) not in named:
            named.append((d, colour))

    tokens = _WORD_OR_NUMBER.findall(text)
    maybe_one: list[str | None] = []  # "a yellow one": the digit 1 only if nothing else is named
    _english(tokens, name, counts, maybe_one)
    _chinese(text, name, counts)
    counts.append(_introduced_twice(text))
    if not named and maybe_one:
        name(1, maybe_one[0])
    # one entry per digit, and one more per further colour it is named in
    subjects: list[int] = []
    for d, colour in named:
        others = [c for e, c in named if e == d and c is not None]
        if d not in subjects or (colour is not None and others.index(colour) > 0):
            subjects.append(d)
    return DigitsAsked(tuple(subjects), max(counts))


_CLAUSE_ENDS = ",.;:!?，。；：！？"

# A digit brought in with an indefinite article ("a red 3", "an 8", 一个红色的3): said twice of the same value ("a red 3
# moving left and a red 3 moving up", 一个3往左，一个3往上), that is two digits, as "another 3" is; after "like",
# "not", "than" … ("an 8 that bobs like an 8 on a spring") it is a comparison, not a digit to draw
_EN_DIGIT = "|".join(w for w in _EN_WORDS if w != "one")
_EN_INTRODUCED = re.compile(
    rf"(?<![a-z'])(?<!like )(?<!as )(?<!than )(?<!not )(?<!or )(?<!of )\ban?\s+"
    rf"(?:(?:{'|'.join(sorted(_ONE_BEFORE | _EN_COLOURS, key=len, reverse=True))})[\s-]+){{0,3}}"
    rf"(?:(?:digit|number|numeral)\s+)?(\d|{_EN_DIGIT})\b(?![.\d])"
)
_ZH_INTRODUCED = re.compile(
    rf"(?<![像如比非不])一[个只颗枚](?:[{_ZH_COLOURS}]|[色的数字号手写小大亮鲜深浅淡]){{0,8}}?"
    r"([0-9零〇二三四五六七八九])(?![0-9])"
)


def introduced_digits(text: str) -> list[int]:
    """The digits ``text`` brings in with an indefinite article ("a red 3", "an eight", 一个三), in order."""
    text = unicodedata.normalize("NFKC", text).lower()
    values = [_EN_VALUE.get(v, v) for v in _EN_INTRODUCED.findall(text)]
    return [int(v) for v in values + [_ZH_VALUE.get(v, v) for v in _ZH_INTRODUCED.findall(text)]]


def _introduced_twice(text: str) -> int:
    """The most times one digit value is brought in with an indefinite article in ``text`` when that is at
    least twice, else 0."""
    values = introduced_digits(text)
    most = max((values.count(v) for v in set(values)), default=0)
    return most if most >= 2 else 0


def _next_words(tokens: list[str], i: int, n: int) -> list[str]:
    """Up to ``n`` Latin words or numbers after ``tokens[i]``, skipping punctuation only up to a clause end."""
    out = []
    for t in tokens[i + 1 :]:
        if t in _CLAUSE_ENDS:
            break
        if t[0].isascii() and (t[0].isalnum()):
            out.append(t)
            if len(out) == n:
                break
    return out


def _counted(tokens: list[str], i: int) -> bool:
    """Whether the number at ``tokens[i]`` counts digits: a plural digit noun (or a plural numeral, "4s")
    within the next three words, before a clause end."""
    for w in _next_words(tokens, i, 3):
        if w in _PLURAL_NOUNS or re.fullmatch(r"\d+s", w) or w in _EN_PLURALS:
            return True
        if w in _DIGIT_NOUNS or w in _EN_UNITS:
            return False
    return False


def _en_colour(tokens: list[str], i: int) -> str | None:
    """The colour word among the three words before ``tokens[i]`` ("a yellow 2", "green number 7"), or the
    Chinese colour character among the four characters before it ("青色的２")."""
    before = tokens[max(0, i - 4) : i]
    ends = [j for j, t in enumerate(before) if t in _CLAUSE_ENDS]
    before = before[ends[-1] + 1 :] if ends else before  # "white 0; 3 moves up": the 3 is not white
    word = next((w for w in reversed(before[-3:]) if w in _EN_COLOURS), None)
    return EN_COLOUR_NAMES[word] if word else _zh_colour("".join(before))  # crimson is red


def _english(tokens: list[str], name, counts: list[int], maybe_one: list) -> None:
    prev = ""
    last_digit = -9  # the token index of the last digit named: "zero and one" names one too

    colours_named: set[str | None] = set()
    plural_named = False  # "two sevens", "two 4s": a later "a yellow one" is one of them, not the digit 1

    def named(i: int, d: int) -> None:
        nonlocal last_digit
        colour = _en_colour(tokens, i)
        name(d, colour)
        colours_named.add(colour)
        last_digit = i

    for i, t in enumerate(tokens):
        after = _next_words(tokens, i, 1)
        nxt = after[0] if after else ""
        raw = tokens[i + 1] if i + 1 < len(tokens) else ""
        if raw == "下" and i + 2 < len(tokens) and _going_down(tokens[i - 1] if i else "", tokens[i + 2]):
            raw = ""  # 1下降, 1 下移: the digit, going down
        zh_before = "".join(tokens[max(0, i - 3) : i])
        unit = (
            nxt in _EN_UNITS
            and raw == nxt
            or raw in _ZH_UNIT
            or raw in _ZH_MEASURE
            or "".join(tokens[i + 1 : i + 3]) in _ZH_UNIT_WORDS
            or prev in _EN_MEASURE_BEFORE
            or prev == "of"
            and i > 1
            and tokens[i - 2] in _EN_MEASURE_BEFORE  # "a speed of 4"
            or zh_before.endswith(_ZH_MEASURE_BEFORE)
            or _counts_other(tokens, i, prev)
        )
        if t[0].isdigit():
            if "." in t or t.endswith(("st", "nd", "rd", "th")):  # a decimal or an ordinal
                pass
            elif t.endswith("s"):  # "two red 4s" (the count is read at "two"); "for 2s" is a duration
                if len(t) == 2 and prev not in _EN_DURATION_BEFORE:
                    named(i, int(t[0]))
                    plural_named = True
            elif unit:
                pass
            elif _counted(tokens, i):
                counts.append(int(t))
            elif t == "1" and raw in _DIGIT_NOUNS and prev in ("", "just", "only", "exactly"):
                counts.append(1)  # "1 digit: a 9 …", "just 1 digit" count one ("a 1 digit" names it)
            elif len(t) == 1:
                named(i, int(t))
            elif prev in _DIGIT_NOUNS or zh_before.endswith(("数字", "号码")):  # "the number 42": two glyphs
                for c in t:
                    named(i, int(c))
        elif t in _EN_VALUE:
            v = _EN_VALUE[t]
            beside_digit = (
                prev in ("and", "or") and last_digit == i - 2 or nxt in ("and", "or") and _names_digit(tokens, i + 2)
            )
            if unit:
                pass
            elif t == "one" and prev in ("little", "young") and i > 1 and tokens[i - 2] in _POSSESSIVE and nxt in _SAYS:
                pass  # "my little one wants …": a child
            elif t == "one" and prev in ("a", "an") and _in_colour(tokens, i) and not plural_named:
                named(i, 1)  # "a one in cherry red": with nothing between the article and "one", the digit
            elif t == "one" and prev not in _DIGIT_NOUNS and not beside_digit:
                # "a red 5 and a blue 5, the red one …", "a fuchsia 2 …, the fuchsia one"
                if prev in EN_COLOUR_NAMES and EN_COLOUR_NAMES[prev] in colours_named:
                    pass
                elif plural_named:  # "two sevens: a yellow one sliding left …": one of them
                    pass
                elif _one_is_digit(prev, nxt) and _acts(nxt):  # "… and a one goes up": a subject of its own
                    named(i, 1)
                elif prev in _EN_COLOURS and nxt in _EN_HEADINGS and last_digit < 0 and not any(counts):
                    named(i, 1)  # "blue one up / cyan eight …": before any digit or count, no pronoun but the 1
                elif (
                    prev in _EN_COLOURS
                    and i > 1
                    and tokens[i - 2] in ("a", "an")
                    and nxt in _ONE_THEN_MOVES
                    and None not in colours_named
                    and not any(counts)
                ):
                    # "a" and a colour no digit had, then how it moves: "make a white one go upwards and a blue zero
                    # go right", "a cyan one that glides". Not after "the" or no article ("the red one should go up
                    # …: they are a 3 and a 7", "red one to the left is a 3"), and not where a digit named before has
                    # no colour ("a 3 and a 7, red one up, blue one left"): there "one" points at a digit
                    named(i, 1)
                elif _one_is_digit(prev, nxt):  # "a red one": the digit 1 if nothing else is named, else "a red 3,
                    maybe_one.append(_en_colour(tokens, i))  # a big one" means the 3
            elif t in ("oh", "nought", "naught") and prev not in _DIGIT_NOUNS and not beside_digit:
                pass
            elif v >= 2 and _counted(tokens, i):
                counts.append(v)
            else:
                named(i, v)
        elif t in _EN_PLURALS:  # "sevens": several digits of one value
            named(i, _EN_PLURALS[t])
            counts.append(2)
            plural_named = True
        elif (
            t == "both" and nxt not in _EN_UNITS or t in ("pair", "couple") and nxt == "of" and not _measures(tokens, i)
        ):
            counts.append(2)
        elif t in ("another", "second") and _another_digit(_next_words(tokens, i, 4)):  # "another digit", "another 5"
            counts.append(2)
        if t.isascii() and t.isalnum():
            prev = t
        elif t in _CLAUSE_ENDS:  # "… in the frame. 7 goes down": the 7 is no frame number
            prev = ""


def _another_digit(after: list[str]) -> bool:
    """Whether the words after "another"/"second" name a digit: a digit noun, "one", or a digit that does not
    count something ("another 5 moves down"; not "another three times", "another two steps")."""
    for j, w in enumerate(after[:3]):
        if w in _DIGIT_NOUNS or w == "one":
            return True
        if (w.isdigit() and len(w) == 1) or w in _EN_VALUE:
            nxt = after[j + 1] if j + 1 < len(after) else ""
            return nxt not in _EN_UNITS and not (len(nxt) > 3 and nxt.endswith("s") and nxt not in _EN_VERBS_S)
    return False


# plural-looking words after a digit that are its verb, not what it counts ("another 5 moves down")
_EN_VERBS_S = frozenset("moves goes slides drifts falls rises sinks bounces floats glides heads climbs drops".split())


def _acts(word: str) -> bool:
    """Whether ``word`` reads as the verb of a subject before it ("is", "goes", "moving", "slides")."""
    return word in ("is", "was", "goes", "keeps") or len(word) > 4 and word.endswith(("ing", "es", "s"))


_EN_WAYS = frozenset("upwards downwards leftwards rightwards sideways backwards forwards".split())
# a direction said right after a subject ("blue one up", "red 7 left")
_EN_HEADINGS = _EN_WAYS | frozenset("up down left right upward downward leftward rightward".split())


def _counts_other(tokens: list[str], i: int, prev: str) -> bool:
    """Whether the number at ``tokens[i]`` counts something other than digits: a plural noun right after it
    ("two walls", "with 2 bounces", "in two hops"), unless an article or a describing word before it, or a
    direction after the word, makes the number the subject and the word its verb ("a 9 bounces", "red 7
    moves", "a small 4 runs", "3 moves left")."""
    t = tokens[i]
    w = tokens[i + 1] if i + 1 < len(tokens) else ""
    if not (t.isdigit() or t in _EN_VALUE) or prev in _ONE_BEFORE or prev in _EN_COLOURS:
        return False
    if prev in _DIGIT_NOUNS or w in ("is", "was", "has", "does", "its") or w in _PLURAL_NOUNS or w in _EN_PLURALS:
        return False
    if w in _EN_WAYS:  # "7 upwards", "3 leftwards": the subject and its motion
        return False
    then = tokens[i + 2] if i + 2 < len(tokens) else ""
    if then in _EN_VERB_AFTER:  # "3 moves left": the subject and its verb
        return False
    return len(w) > 3 and w.isalpha() and w.endswith("s") and not w.endswith("ss")


def _one_is_digit(prev: str, nxt: str) -> bool:
    """Whether "one" after ``prev`` and before ``nxt`` is the digit: after an article or a describing word and
    not before a noun ("a yellow one is sliding", "a big one in white"; not "one blue digit", "one of")."""
    return (prev in _ONE_BEFORE or prev in _EN_COLOURS) and nxt not in _DIGIT_NOUNS and nxt not in _ONE_NOT_BEFORE


# what may follow "<colour> one" when it is the digit 1 and not a pronoun: a verb of moving in its bare form (after
# make / let / have), "that …", a modal, or a way to go
_ONE_THEN_MOVES = (
    EN_BARE_VERBS | frozenset("shake wiggle sway come that which who should will must can to".split()) | _EN_HEADINGS
)

_POSSESSIVE = frozenset("my our your his her their".split())


_SAYS = frozenset("wants want likes loves asked asks is says said needs would will can and".split())


def _in_colour(tokens: list[str], i: int) -> bool:
    """Whether "one" at ``tokens[i]`` is followed by its colour ("a one in cherry red", "a one coloured magenta",
    "a one that is blue": the grammar's own wordings of the 1)."""
    after = tokens[i + 1 : i + 5]
    return after[:1] in (["in"], ["coloured"], ["colored"], ["painted"], ["that"]) and any(
        w in _EN_COLOURS for w in after[1:]
    )


def _names_digit(tokens: list[str], i: int) -> bool:
    """Whether ``tokens[i]`` is a digit other than "one" (a numeral or a number word)."""
    t = tokens[i] if i < len(tokens) else ""
    return len(t) == 1 and t.isdigit() or t in _EN_VALUE and t != "one"


def _measures(tokens: list[str], i: int) -> bool:
    """Whether the phrase at ``tokens[i]`` ("a couple of times") ends in a unit within three words."""
    return any(w in _EN_UNITS for w in _next_words(tokens, i, 3))


def _chinese(text: str, name, counts: list[int]) -> None:
    if any(w in text for w in ("另一个", "另外一个", "另一只", "另外一只", "一对", "一双", "第二个")):
        counts.append(2)  # read before 一 and 第二 are masked below
    masked = text
    for w in _ZH_NOT_NUMBERS:
        masked = masked.replace(w, "\0" * len(w))
    masked = re.sub(
        r"[零〇○一二三四五六七八九两\d]+分之[零〇○一二三四五六七八九\d]+", lambda m: "\0" * len(m.group()), masked
    )
    masked = re.sub(f"一([{_ZH_PAIRED}])一", lambda m: "\0" + m.group(1) + "\0", masked)  # 一上一下, 一左一右
    masked = re.sub(f"一(?=[{''.join(_ZH_ONE_WORD | _ZH_MEASURE)}])", "\0", masked)  # 一直, 一个, 一边: words
    for i, c in enumerate(masked):
        if c == "两" and i + 1 < len(masked) and masked[i + 1] in _ZH_MEASURE and _digit_follows(masked, i + 2):
            counts.append(2)
            continue
        if c not in _ZH_VALUE:
            continue
        v = _ZH_VALUE[c]
        nxt = masked[i + 1] if i + 1 < len(masked) else ""
        if nxt == "下" and _going_down(masked[i - 1 : i], masked[i + 2 : i + 3]):
            nxt = ""  # 三下降: the digit, going down
        if nxt in _ZH_MEASURE:
            if v >= 2 and _digit_follows(masked, i + 2):
                counts.append(v)
            continue
        if nxt in _ZH_UNIT or masked.startswith(_ZH_UNIT_WORDS, i + 1) or masked[:i].endswith(_ZH_MEASURE_BEFORE):
            continue  # a measure: 三次, 3像素, 速度为三
        if (i and masked[i - 1] in _ZH_NUMBER_PART) or nxt in _ZH_NUMBER_PART:
            continue  # part of a longer number: 十六, 二十四
        beside = masked[i - 1 : i] in _ZH_AND and masked[i - 2 : i - 1] in _ZH_VALUE  # 零和一
        if c == "一" and not masked[:i].endswith(_ZH_ONE_AFTER) and not beside and masked[i - 1 : i] != "的":
            continue
        name(v, _zh_colour(masked[max(0, i - 4) : i]))
    # ASCII numerals in Chinese text are read by _english; those it took as digits may be measures here
    for m in re.finditer(r"(?<![\d.])(\d)(?![\d.])\s*([个只位颗枚])", text):
        if _digit_follows(text, m.end()):
            counts.append(int(m.group(1)))


def _zh_colour(before: str) -> str | None:
    """The colour character nearest before a digit in its clause ("青色的２": 青; not "白色0；3")."""
    before = re.split(r"[,.;:!?，。；：！？]", before)[-1]
    return next((c for c in reversed(before) if c in _ZH_COLOURS), None)


def _digit_follows(text: str, at: int) -> bool:
    """Whether a digit noun or a numeral follows within a few characters (两个红色的数字, 两个5)."""
    window = text[at : at + 8]
    return any(n in window for n in _ZH_DIGIT_NOUN) or any(ch.isdigit() or ch in _ZH_VALUE for ch in window)
