"""A clip length asked for in words: "a 5-second clip", "for 3 seconds", "16 frames", 持续3秒, 两秒, 十六帧.

A vidfuse model reads no lengths: the number of frames is an option (``num_frames``, ``--frames``). Left in
the prompt, a length is noise at best and a misreading at worst ("洋红色的3向右移动，两秒就行" drew a 2: the
encoder took 两 for the digit). :func:`length_asked` finds the first length phrase in a prompt and returns
it with the prompt without it, so the pipeline can make the clip that long (when the caller gave no
``num_frames``) and encode only what is to be drawn.

Read (after NFKC, so full-width digits count): a number (digits, a decimal, an English number word up to
twenty, Chinese numerals such as 两, 十六, 二十四; 半 adds half a second) before a unit of seconds, minutes or
frames ("s" only right after digits: "3s"), with the words that only introduce it ("for", "lasting",
"about", 持续, 时长, 大约 …; "-second" as an adjective: "a 5-second clip"). Ranges ("3-4 seconds", 3到4秒) take
their upper end.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from vidfuse.data.caption_words import EN_NUMBERS
from vidfuse.data.fields import read_fields
from vidfuse.data.negation import drop_negated
from vidfuse.data.paraphrase import EN_COLOUR_WORDS
from vidfuse.data.wording import (
    SHADE_WORDS,
    ZH_COLOUR_CHARS,
    article_after_make,
    bare_directions,
    drop_labels,
    drop_nothing_else,
    drop_numbering,
    drop_places,
    expand_shorthand,
    from_to,
    name_shades,
    one_as_digit,
    say_axis,
    say_plainly,
    says_motion,
)
from vidfuse.errors import InputError
from vidfuse.text import UNSPACED_RE

__all__ = ["LengthAsked", "LengthWarning", "length_asked", "model_text"]


class LengthWarning(UserWarning):
    """The clip lengths the prompts state cannot all be honoured (they differ, or one is over the limit)."""


class LengthOverriddenWarning(LengthWarning):
    """A prompt states a length in words, and the caller gave another as an option, which wins."""


_EN_NUMBERS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
}
_ZH_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2, "〇": 0}
_NUM = r"\d+(?:\.\d+)?|" + "|".join(sorted(_EN_NUMBERS, key=len, reverse=True))
_ZH_NUM = r"\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百]+"
_EN = re.compile(
    # the field or key that names the length goes with it ("Duration 2s.", "clip length: 3 seconds")
    r"(?:\b(?:the\s+)?(?:total\s+)?(?:(?:clip|video)\s+)?(?:duration|length|runtime)"
    r"(?:\s+of\s+the\s+(?:clip|video))?\s*(?:[:=—–-]|\bis\b|\bof\b|\bshould\s+be\b)?\s*)?"
    rf"(?:\b(?:for|lasting|over|about|around|roughly|approximately|of|in|during|within)\s+)*"
    rf"(?:(?<![0-9A-Za-z.])(?P<lo>{_NUM})\s*(?:-|–|to|or)\s*)?(?<![0-9A-Za-z.])(?P<n>{_NUM})\s*-?\s*"
    r"(?P<unit>seconds?|secs?|(?<=\d)s|(?<=\d\s)s(?=\s*(?:[,.;:!?)]|[—–-](?![a-z])|$))|minutes?|mins?|frames?)\b(?:\s+long)?",
    re.IGNORECASE,
)
_ZH = re.compile(
    rf"(?:(?:视频)?总?(?:时长|长度|片长|总长)[为是:：]?|持续时间[为是:：]?|时间[:：]|持续|大约|大概|约|总共|共|做成|做|来|要)?"
    rf"(?<![第0-9A-Za-z.])(?:(?P<lo>{_ZH_NUM})\s*(?:-|–|~|到|至)\s*)?(?<![第0-9A-Za-z.])(?P<n>{_ZH_NUM})\s*"
    r"(?P<unit>秒钟|秒|分钟|帧)(?P<half>半)?(?:左右|长|的)?"
)


@dataclass(frozen=True)
class LengthAsked:
    """A length found in a prompt: ``seconds`` or ``frames`` (one of them), and ``text``, the prompt without
    the phrase (nor any other length phrase); ``others``, the further lengths it states, in order."""

    seconds: float | None
    frames: int | None
    text: str
    others: tuple[LengthAsked, ...] = ()

    def num_frames(self, fps: float) -> int:
        """The length in frames at ``fps`` (at least 1)."""
        return self.frames if self.frames is not None else max(1, round(self.seconds * fps))

    def others_differ(self, fps: float) -> list[int]:
        """The further lengths, in frames at ``fps``, that are not this one (the first wins)."""
        return [n for n in dict.fromkeys(o.num_frames(fps) for o in self.others) if n != self.num_frames(fps)]


def _zh_int(s: str) -> int | None:
    """A Chinese numeral up to the hundreds (十六, 二十四, 两, 一百) as an int; None if it is not one."""
    if not s:
        return None
    if all(c in _ZH_DIGITS for c in s):  # digit by digit: 一五 = 15
        return int("".join(str(_ZH_DIGITS[c]) for c in s))
    total, current = 0, 0
    for c in s:
        if c in _ZH_DIGITS:
            current = _ZH_DIGITS[c]
        elif c == "十":
            total += (current or 1) * 10
            current = 0
        elif c == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


def _value(s: str) -> float | None:
    s = s.lower()
    if s in _EN_NUMBERS:
        return float(_EN_NUMBERS[s])
    try:
        return float(s)
    except ValueError:
        n = _zh_int(s)
        return None if n is None else float(n)


# before "4s", words that make it several 4s, not four seconds ("two red 4s", "both 7s", "the 3s")
_PLURAL_BEFORE = re.compile(
    r"(?i)\b(?:two|three|four|both|several|some|many|the|white|red|green|blue|yellow|cyan|magenta|purple|pink|"
    r"orange|black|grey|gray|big|small|little|tiny|large|handwritten)\s*$"
)


def _plural_digit(text: str, m: re.Match) -> bool:
    """Whether an English match "Ns" is a plural digit ("two red 4s") rather than N seconds."""
    return m.group("unit") == "s" and len(m.group("n")) == 1 and bool(_PLURAL_BEFORE.search(text[: m.start("n")]))


_MAX_LENGTHS = 4  # length phrases taken out of one prompt


def length_asked(prompt: str) -> LengthAsked | None:
    """The first clip length ``prompt`` states, or None (see the module docstring); any further ones are taken out
    of its text too ("for 3 seconds … for 5 seconds": the 5 would be drawn as a digit) and kept in ``others``."""
    first = _one_length(prompt)
    if first is None:
        return None
    others: list[LengthAsked] = []
    text = first.text
    while len(others) < _MAX_LENGTHS - 1 and (more := _one_length(text)) is not None and more.text != text:
        others.append(more)
        text = more.text
    return LengthAsked(first.seconds, first.frames, text, tuple(others)) if others else first


def _one_length(prompt: str) -> LengthAsked | None:
    """The first clip length ``prompt`` states, with the prompt without it."""
    text = unicodedata.normalize("NFKC", prompt)
    found = []
    for pattern in (_EN, _ZH):
        m = next((m for m in pattern.finditer(text) if not _plural_digit(text, m)), None)
        if m and _value(m.group("n")) is not None:
            found.append(m)
    if not found:
        return None
    m = min(found, key=lambda x: x.start())
    n = _value(m.group("n")) + (0.5 if m.groupdict().get("half") else 0.0)
    said = text[m.start("n") : m.end("unit")]
    if m.group("lo") is None and re.search(r"[-−–]\s*$", text[: m.start("n")]):
        raise InputError(f"the prompt asks for -{said}: a clip's length is positive; write it without the minus")
    if n <= 0:
        raise InputError(f"the prompt asks for {said}: a clip has at least one frame; ask for more or leave it out")
    unit = m.group("unit").lower()
    before, after = text[: m.start()].rstrip(), text[m.end() :].lstrip()
    joint = "" if UNSPACED_RE.search(before[-1:] + after[:1]) or not before or not after else " "
    rest = re.sub(r"\s+([,.;:!?])", r"\1", before + joint + after)
    rest = re.sub(r"([,.;:，。；：])\s*[,.;:，。；：]+", r"\1", rest)  # "red 3 left,, blue 7 up": one mark
    rest = re.sub(r"^(?:of|for|lasting)\s+", "", rest.strip(" ,;:，；：、").lstrip(" .。-–—"), flags=re.IGNORECASE)
    if unit.startswith("frame") or unit == "帧":
        return LengthAsked(None, int(n), rest)
    if unit.startswith("min") or unit == "分钟":
        n *= 60
    return LengthAsked(n, None, rest)


# arrows a prompt may use for a motion ("red 1 ↑", "2（白）→", "7 ->"), in the words the captions use: (the
# motion after a verb, the motion with its verb, Chinese)
_ARROWS = {
    "←": ("left", "moving left", "向左移动"),
    "→": ("right", "moving right", "向右移动"),
    "↑": ("up", "moving up", "向上移动"),
    "↓": ("down", "moving down", "向下移动"),
    "↔": ("left and right", "bouncing left and right", "左右来回弹跳"),
    "↕": ("up and down", "bouncing up and down", "上下来回弹跳"),
}
_ARROW = re.compile(r"(\s*)(<->|->|<-|[←→↑↓↔↕⇐⇒⇑⇓⇔⇕⟵⟶⬅➡⬆⬇]\ufe0f?)(\s*)")
_ARROW_SAME = {"<-": "←", "->": "→", "<->": "↔"} | dict(zip("⇐⇒⇑⇓⇔⇕⟵⟶⬅➡⬆⬇", "←→↑↓↔↕←→←→↑↓"))
# a run of arrows is one motion: the same arrow repeated ("go right ➡️➡️") is that arrow, opposite arrows in turn
# ("⬅️➡️⬅️➡️") the bounce (spelled one by one, "go right moving right moving right" was drawn right in 11 of 20 draws,
# "向左移动向右移动…" in 15)
_ARROW_RUN = re.compile(r"(?:(?:<->|->|<-|[←→↑↓↔↕⇐⇒⇑⇓⇔⇕⟵⟶⬅➡⬆⬇])\ufe0f?[ \t]*){2,}")
_CLAUSE_DIGIT = re.compile(rf"(?i)\d|\b(?:{'|'.join(EN_NUMBERS)})\b|[零〇一二三四五六七八九]")
_ARROW_ONE = re.compile(r"<->|->|<-|[←→↑↓↔↕⇐⇒⇑⇓⇔⇕⟵⟶⬅➡⬆⬇]")


def _one_arrow(m: re.Match) -> str:
    """The run of arrows at ``m`` as one arrow (its spaces kept after it), or as it is when it says no one motion:
    opposite arrows after two digits in one clause are the digits' own ("red 3 and blue 5 →←")."""
    arrows = {_ARROW_SAME.get(a, a) for a in _ARROW_ONE.findall(m.group(0))}
    tail = m.group(0)[len(m.group(0).rstrip()) :]
    if len(arrows) == 1:
        return arrows.pop() + tail
    clause = re.split(r"[,;，；。.!?！？]", m.string[: m.start()])[-1]
    if len(_CLAUSE_DIGIT.findall(clause)) > 1:
        return m.group(0)
    if arrows <= {"←", "→", "↔"}:
        return "↔" + tail
    if arrows <= {"↑", "↓", "↕"}:
        return "↕" + tail
    return m.group(0)


# a direction said in words right after an arrow: the arrow only points to it
_DIRECTION_AFTER = re.compile(
    r"(?i)(?:left|right|up|down|upward|downward|leftward|rightward|sideways|back and forth)\b|[向往朝]?[左右上下]"
)
# a colour right after an arrow: the arrow lists the digit's fields ("5 → blue, moving left"), it is no motion
_COLOUR_AFTER = re.compile(
    rf"(?i)\s*(?:{'|'.join(sorted(set(EN_COLOUR_WORDS) | SHADE_WORDS, key=len, reverse=True))})\b"
    rf"|\s*(?:品红|洋红|[{ZH_COLOUR_CHARS}])"
)
# a motion in words right before an arrow, which then says it again ("go right ➡️")
_SAID_BEFORE = re.compile(
    r"(?i)\b(?:mov\w*|go|goes|going|head\w*|travel\w*|drift\w*|slid\w*|glid\w*|run\w*|float\w*|bounc\w*|"
    r"swing\w*|shift\w*|scroll\w*)\s+(?:to\s+the\s+|towards?\s+the\s+)?(?:left|right|up|down|"
    r"left\s+and\s+right|up\s+and\s+down)\s*$"
)
_VERB_BEFORE = re.compile(r"(?i)\b(?:moving|moves|move|going|goes|go|heading|heads|travelling|traveling|bouncing)\s*$")


# where the words after an arrow's colour stop being its digit's: a clause mark, another digit or arrow
_NEXT_DIGIT = re.compile(
    rf"[;/；。|]|\d|\b(?:{'|'.join(EN_NUMBERS)})\b|[零〇一二三四五六七八九]|<->|->|<-|[←→↑↓↔↕]", re.IGNORECASE
)


def _maps_fields(m: re.Match) -> bool:
    """Whether the arrow at ``m`` lists a digit's fields rather than saying its motion: a colour follows it and a
    motion is said after that colour, before the next digit or clause ("5 → blue, moving left"; not "number 2 ←
    red, number 7 → green", whose arrows are the motions)."""
    colour = _COLOUR_AFTER.match(m.string, m.end())
    if not colour:
        return False
    rest = _NEXT_DIGIT.split(m.string[colour.end() :], maxsplit=1)[0]
    return says_motion(rest)


def spell_arrows(prompt: str) -> str:
    """``prompt`` with arrows standing for motions spelled in words (English, or Chinese when the prompt has
    Chinese characters): "red 1 ↑" → "red 1 moving up", "a 5 moving ↑" → "a 5 moving up", "白色8↑ 蓝色7↓" →
    "白色8向上移动 蓝色7向下移动" (the space between clauses kept). An arrow before a direction in words only points
    to it: "blue 0 -> right" → "blue 0 moving right". A run of arrows is one motion: "go right ➡️➡️" → "go right",
    "3 ⬅️➡️⬅️➡️" → "3 bouncing left and right"."""
    if not _ARROW.search(prompt):
        return prompt
    prompt = _ARROW_RUN.sub(_one_arrow, prompt)
    zh = any("\u4e00" <= ch <= "\u9fff" for ch in prompt)

    def word(m: re.Match) -> str:
        arrow = m.group(2).rstrip("\ufe0f")
        bare, en, cn = _ARROWS[_ARROW_SAME.get(arrow, arrow)]
        after = _DIRECTION_AFTER.match(m.string, m.end())
        if _maps_fields(m):  # "5 → blue, moving left": the arrow maps the digit to its fields
            return "，" if zh else ", "
        if after:  # "blue 0 -> right", "3→往上", "6→下": it points to the direction after it ("6下" would count)
            if zh:  # "⬆️⬇️ 上下蹦": a pair after the arrow is the bounce, said already
                pair = m.string[after.start() : after.start() + 2] in ("上下", "左右")
                return m.group(1) + ("" if pair or after.group(0)[0] in "向往朝" else "往")
            return " " if _VERB_BEFORE.search(m.string[: m.start()]) else " moving "
        if _SAID_BEFORE.search(m.string[: m.start()]) and m.string[: m.start()].rstrip().endswith(bare):
            # "go right ➡️": said in words already (not "a 3 on the left ⬅️", whose arrow is its motion)
            return m.group(3) or " "
        if zh:
            return m.group(1) + cn + m.group(3)
        return f" {bare if _VERB_BEFORE.search(m.string[: m.start()]) else en} "

    out = _ARROW.sub(word, prompt)
    return re.sub(r" +([,.;:!?])", r"\1", re.sub(" {2,}", " ", out)).strip()


# an aside in brackets, innermost first: "an eight (yellow) that bobs", 8（蓝色）往左边走
_ASIDE = re.compile(r"\s*[(（\[【]\s*([^()（）\[\]【】]*?)\s*[)）\]】]")


def set_off_asides(prompt: str) -> str:
    """``prompt`` with bracketed asides set off by commas (Chinese commas beside Chinese text): "an eight
    (yellow) that bobs up and down" → "an eight, yellow, that bobs up and down". The encoder was taught no
    brackets and read the colour in them as nothing (white, every seed); set off by commas it reads it. Empty
    brackets go; a bracket with no partner stays."""
    if not _ASIDE.search(prompt):
        return prompt

    def comma(m: re.Match) -> str:
        inner = m.group(1)
        if not inner:
            return " "
        zh = UNSPACED_RE.search(m.string[max(0, m.start() - 1) : m.end() + 1])
        return f"，{inner}，" if zh else f", {inner}, "

    out = prompt
    while True:  # nested brackets: the inner aside first, then the one around it
        nxt = _ASIDE.sub(comma, out)
        if nxt == out:
            break
        out = nxt
    # an aside at the end, or before other punctuation, leaves no comma of its own behind
    out = re.sub(r"\s*[,，]\s*(?=[,，.;:!?。；：！？]|$)", "", out)
    out = re.sub(r"([,，])\s*[,，]", r"\1", out)
    return re.sub(r" {2,}", " ", out).strip()


def model_text(prompt: str, asked: LengthAsked | None = None) -> str:
    """The part of ``prompt`` a vidfuse model reads: without its length phrase (``asked``, when the caller
    has :func:`length_asked`'s answer already), or the whole prompt when nothing else would be left; without
    what it says not to draw ("not a 3": :func:`vidfuse.data.negation.drop_negated`); fields ("digit=5
    colour=red motion=left; digit=0 …") said as one short clause per digit (:func:`vidfuse.data.fields.read_fields`);
    arrows spelled as words (:func:`spell_arrows`); bracketed asides set off by commas (:func:`set_off_asides`); in
    lower case, as every vidfuse tokenizer reads it, so that the clause split, the digit count and the encoder see one
    text ("A Magenta 0 And A Blue 6 Moving Down And Up Respectively" did not split); and in words the model was taught
    (:mod:`vidfuse.data.wording`: a motion said loosely or with a slip said plainly, a "one" that plainly names the
    digit written "1"; a shot-list label, a request for nothing else, a remark on style or purpose and a comparison
    after a motion left out, chat shorthand spelled out, colour shades named by their palette colour, a bare Chinese
    direction given its 往, a Chinese start and its opposite end said as the way to the end, where a digit starts left
    out beside its motion)."""
    asked = asked if asked is not None else length_asked(prompt)
    text = asked.text if asked is not None and asked.text.strip() else prompt
    text = spell_arrows(set_off_asides(read_fields(drop_numbering(drop_negated(text))))).lower()
    text = drop_nothing_else(drop_labels(one_as_digit(say_plainly(text))))
    return say_axis(drop_places(from_to(bare_directions(name_shades(article_after_make(expand_shorthand(text)))))))
