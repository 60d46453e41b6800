"""Narration text as the speech engines take it: sentences, and Chinese as the numbered-tone pinyin that espeak-ng's
``cmn-latn-pinyin`` voice reads (numerals spelled in Chinese first, Latin words left to the English voice).

:func:`split_sentences` is also the split the planner and the subtitles use, so that every spoken sentence is one
subtitle cue.
"""

from __future__ import annotations

import re
import unicodedata

from pypinyin import Style, lazy_pinyin

from vidfuse.text import HAN_RE, UNSPACED_RE

__all__ = ["chinese_segments", "is_chinese", "is_pronounceable", "split_sentences", "to_pinyin"]

# A run of Latin words (with inner apostrophes/hyphens and the spaces between them).
_LATIN_RUN_RE = re.compile(r"[A-Za-z][A-Za-z'’\-]*(?:\s+[A-Za-z][A-Za-z'’\-]*)*")
_PINYIN_SYLLABLE_RE = re.compile(r"^[a-zü]+[1-5]$")
_LIST_NUMBER_RE = re.compile(r"\d{1,9}")  # "1." opening a sentence numbers a list item
# Chinese punctuation inside a sentence that should become a short pause.
_PAUSE_MARKS = set('，、：,:（）()「」『』“”"—-')

_CN_DIGITS = "零一二三四五六七八九"
# Measure words after which the numeral 2 is read 两 (两个, 两只), not 二.
_LIANG_MEASURES = set("个只条件本张次位岁天双把辆")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences, keeping each sentence's closing punctuation and quotes.

    Breaks after ``。！？；…`` and newlines always, and after ``. ! ? ;`` only when followed by
    whitespace, a character of a script written without spaces (Chinese, Japanese kana:
    :data:`vidfuse.text.UNSPACED`) or the end (so ``3.14`` and ``vidfuse.media`` stay whole), and
    not after a number that opens a sentence (``1. Mix the flour.`` is one sentence: a list item).
    Blank pieces are dropped.
    """
    sentences: list[str] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            sentences.append(text[start:i])
            start = i = i + 1
            continue
        if ch in "。！？；…!?;.":
            j = i
            while j < n and text[j] in "。！？；…!?;.":
                j += 1
            while j < n and text[j] in "\"'”’」』）)]":
                j += 1
            ascii_only = all(c in "!?;." for c in text[i:j].rstrip("\"'”’」』）)]"))
            if text[i:j] == "." and _LIST_NUMBER_RE.fullmatch(text[start:i].strip()):
                i = j  # "1. Mix the flour": a list number, not a sentence
                continue
            if not ascii_only or j == n or text[j].isspace() or UNSPACED_RE.match(text[j]):
                sentences.append(text[start:j])
                start = j
            i = j
            continue
        i += 1
    sentences.append(text[start:])
    return [s.strip() for s in sentences if s.strip()]


def is_pronounceable(sentence: str) -> bool:
    """Whether ``sentence`` holds a letter or a digit (only punctuation, symbols or emoji are not spoken)."""
    return any(unicodedata.category(c)[0] in "LN" for c in sentence)


def is_chinese(sentence: str) -> bool:
    """Whether ``sentence`` holds a Chinese character (it is then read through pinyin)."""
    return HAN_RE.search(sentence) is not None


def _int_to_chinese(digits: str) -> str:
    """Read an integer written in Arabic numerals the Chinese way: ``105`` → ``一百零五``."""
    if (len(digits) > 1 and digits.startswith("0")) or len(digits) > 16:
        return "".join(_CN_DIGITS[int(d)] for d in digits)  # codes like 007, or huge numbers
    n = int(digits)
    if n == 0:
        return "零"

    def four(x: int) -> str:  # 0 < x < 10000
        out, zero = "", False
        for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            d = x // value % 10
            if d:
                out += ("零" if zero and out else "") + _CN_DIGITS[d] + unit
                zero = False
            else:
                zero = True
        return out

    groups = []  # groups of four digits, most significant first
    while n:
        groups.insert(0, n % 10000)
        n //= 10000
    out, zero_pending = "", False
    for k, group in enumerate(groups):
        if group == 0:
            zero_pending = bool(out)
            continue
        if out and (group < 1000 or zero_pending):
            out += "零"  # 1005 0023 → 一千零五万零二十三
        out += four(group) + ("", "万", "亿", "万亿")[len(groups) - 1 - k]
        zero_pending = False
    return out[1:] if out.startswith("一十") else out  # 12 → 十二


def _numbers_to_chinese(text: str) -> str:
    """Spell the Arabic numerals in a Chinese sentence as Chinese numerals."""

    def year(m: re.Match) -> str:  # 2024年 → 二零二四年
        return "".join(_CN_DIGITS[int(d)] for d in m.group(1)) + "年"

    def percent(m: re.Match) -> str:
        return "百分之" + number(m.group(1))

    def number(s: str) -> str:
        whole, _, frac = s.partition(".")
        spoken = _int_to_chinese(whole)
        return spoken + ("点" + "".join(_CN_DIGITS[int(d)] for d in frac) if frac else "")

    def any_number(m: re.Match) -> str:
        if m.group(0) == "2" and m.string[m.end() : m.end() + 1] in _LIANG_MEASURES:
            return "两"
        return number(m.group(0))

    text = re.sub(r"(?<!\d)(\d{4})年", year, text)
    text = re.sub(r"(\d+(?:\.\d+)?)[%％]", percent, text)
    return re.sub(r"\d+(?:\.\d+)?", any_number, text)


def to_pinyin(text: str) -> str:
    """Chinese text → the numbered-tone pinyin that espeak's ``cmn-latn-pinyin`` voice reads.

    Tones are digits 1–4, the neutral tone is 5, ü is written ``v`` (``绿`` → ``lv4``), numerals
    are read in Chinese, and in-sentence punctuation becomes a comma (a short pause); other
    non-Chinese characters are dropped, so pass Latin words to an English voice instead.

    >>> to_pinyin("我有3个苹果，很好吃。")
    'wo3 you3 san1 ge4 ping2 guo3, hen3 hao3 chi1'
    """
    out: list[str] = []
    for item in lazy_pinyin(_numbers_to_chinese(text), style=Style.TONE3, neutral_tone_with_five=True):
        if _PINYIN_SYLLABLE_RE.match(item):
            out.append(item)
        elif out and any(c in _PAUSE_MARKS for c in item) and not out[-1].endswith(","):
            out[-1] += ","
    return " ".join(out).rstrip(",")


def chinese_segments(sentence: str, zh_voice, en_voice) -> list[tuple[object, str]]:
    """Split a Chinese sentence into ``(voice, text)`` runs: pinyin for Chinese, English for Latin."""
    segments: list[tuple[object, str]] = []
    pos = 0
    for m in _LATIN_RUN_RE.finditer(sentence):
        segments.append((zh_voice, to_pinyin(sentence[pos : m.start()])))
        segments.append((en_voice, m.group(0)))
        pos = m.end()
    segments.append((zh_voice, to_pinyin(sentence[pos:])))
    return [(voice, text) for voice, text in segments if text.strip()]
