"""A prompt written as fields ("digit=5 colour=lemon motion=right", "--digit 3 --color red --motion left_right",
``{数字:8, 颜色:「红」, 运动:「左右」}``) said as the plain clauses a Moving Digits model reads.

People who script a tool, or think in forms, type key=value text, command-line flags or JSON-like records. The
model was taught one record's fields as a short clause ("red 3, left", "digit: 3, colour: red, motion: left"),
but not two records run together with ``=``, ``--`` and braces: such prompts did not split into one clause per
digit, or split at the wrong places (7 of the 35 misses of bench set h, 2026-12-07). :func:`read_fields` finds the
fields, groups them into one record per digit and writes each record as a taught short clause: "lemon 5, right;
turquoise 0, up", 墨绿色4，向下；白色9，左右来回. A prompt that is not plainly fields, or whose fields do not make
one whole record per digit, is returned as it is: the sentence rules read it. Fields written as columns, one list
per field ("digits: [7, 4] colors: [magenta, blue] motions: [up_down, left_right]", 数字=5,9；颜色=蓝,绿), are read
the same way, the k-th items the k-th digit's (set l, 2026-12-07: drawn as one digit before).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vidfuse.data.caption_words import EN_NUMBERS, ZH_NUMBERS
from vidfuse.data.subjects import digits_asked
from vidfuse.data.wording import drop_style_fields, names_colour, says_motion

__all__ = ["read_fields"]

# the names people give each field (a plural such as "digits=2" is a count, not a digit's field)
_DIGIT_KEYS = (  # an ordinal keys its record's digit too ("{first: 3, colour: …} {second: 7, …}")
    r"digit|number|num|numeral|glyph|value|val|char|character|d\d|digit\s*#\s*\d|数字|值|字符"
    r"|(?:first|second|third|fourth)(?=\s*[:=：]\s*[\"']?\d\b)"
)
_COLOUR_KEYS = r"colou?r|tint|hue|shade|paint|fill|col|颜色|顏色|着色|色彩|配色|色"
_MOTION_KEYS = (
    r"motion|move|movement|moves|direction|dir|behaviou?r|action|path|anim|animation|trajectory|"
    r"动作|運動|运动|方向|行为|移动|轨迹|动画"
)
# a key may carry which record it is ("digit_a", "color_b", "motion2", "digit-1")
_WHICH = r"(?:(?<=[a-z])\d|[_-]\d|[_-][a-d])?"  # not 数字2: that is the key 数字 and its value
_KINDS = tuple(
    (kind, f"(?:{keys}){_WHICH}")
    for kind, keys in (("digit", _DIGIT_KEYS), ("colour", _COLOUR_KEYS), ("motion", _MOTION_KEYS))
)
_KEY = "|".join(f"(?P<{kind}>{keys})" for kind, keys in _KINDS)
_KNOWN_KEY = re.compile(rf"(?i)(?:{'|'.join(keys for _, keys in _KINDS)})")  # a whole key of any kind
# a key with what divides it from its value: "=", ":", "：" after it or "--" before it; or, once a prompt is
# plainly fields, a space ("glyph 8, tint yellow")
_EXPLICIT = re.compile(
    rf"(?i)(?:(?<=[\s{{(\[,;，；、|&+:：\"'])|^)(?P<dash>--)?(?:{_KEY})(?(dash)(?=\s)|[\"']?\s*[=:：](?!\s*[=:]))"
    r"|(?<![\w-])(?:" + _KEY.replace("(?P<", "(?P<x_") + r")(?![a-z-])"
)
_QUOTES = "'\"`「」『』“”‘’"
_ZH_DIGITS = {ch: d for d, ch in enumerate(ZH_NUMBERS)} | {"〇": 0}
_WORD_DIGITS = {w: d for d, w in enumerate(EN_NUMBERS)}
_ZH_DIRECTION = {"左": "向左", "右": "向右", "上": "向上", "下": "向下"}
_CJK = re.compile(r"[\u4e00-\u9fff]")
# what divides fields or records from one another: a list mark, a brace, a sentence's end; a value ends at the
# first of these or at the next flag
_LIST_MARK = r"[;,|{}&+\n，；、。]|[.!?](?:\s|$)|\s/\s"
_VALUE_END = re.compile(_LIST_MARK + r"|\s--")
# any key written with "=" or as a flag, known or not ("id=1", "--scale 2"), and the keys that only count the digits
_ANY_KEY = re.compile(r"(?i)(?:^|(?<=[\s{(\[,;，；、|&+:：\"']))(?:--([^\W\d_][\w-]*)|([^\W\d_][\w#-]*)[\"']?\s*=)")
_COUNTS = re.compile(r"(?i)\b(?:both|all|each|two|three|digits?|numbers?)\b|两个|俩|都")
_COUNT_KEYS = re.compile(r"(?i)digits|numbers|count|n|num_digits|数字个数|个数")
# what ends a record for good: fields before the first digit field and divided from it by one of these are said of
# every digit ("colour=red; digit=3 …; digit=7 …")
_RECORD_END = re.compile(r"[;；\n}]|[.。](?:\s|$)")


@dataclass
class _Record:
    digit: str | None = None
    colour: str | None = None
    motion: str | None = None
    free: list[str] = field(default_factory=list)


def _digit(value: str) -> str | None:
    """The one digit ``value`` names ("5", "five", 五, "'0'"), or ``None``."""
    v = value.strip(_QUOTES + " ").lower()
    if len(v) == 1 and v.isdigit():
        return v
    if v in _WORD_DIGITS:
        return str(_WORD_DIGITS[v])
    if len(v) == 1 and v in _ZH_DIGITS:
        return str(_ZH_DIGITS[v])
    return None


def _fields(text: str, *, loose: bool) -> list[tuple[str, str, int, int]] | None:
    """Each field of ``text`` as (kind, value, start, end), with explicit dividers only unless ``loose``."""
    found: list[tuple[str, int, int]] = []  # (kind, where the key starts, where its value starts)
    for m in _EXPLICIT.finditer(text):
        kind = next((k for k in ("digit", "colour", "motion") if m.group(k)), None)
        if kind is None:
            if not loose:
                continue
            kind = next((k for k in ("digit", "colour", "motion") if m.group("x_" + k)), None)
            # a key word in a sentence ("move the 3"): a field only where a value follows it
            after = text[m.end() :]
            cjk = bool(_CJK.match(m.group(0)[-1]))
            if kind is None or not re.match(r"\s*\S" if cjk else r"\s+\S", after):
                continue
        found.append((kind, m.start(), m.end()))
    out: list[tuple[str, str, int, int]] = []
    for k, (kind, start, at) in enumerate(found):
        nxt = found[k + 1][1] if k + 1 < len(found) else len(text)
        end = _VALUE_END.search(text, at, nxt)
        stop = end.start() if end else nxt
        value = text[at:stop].strip().strip(_QUOTES + " ").strip()
        if not value:
            return None
        out.append((kind, value, start, stop))
    return out


def _said(between: str) -> list[str]:
    """The words of ``between`` (the text between two fields) that belong to the record before: each piece a list
    mark ends ("goes left", 竖向来回); the last piece, which no mark divides from the next key, is that key's
    label ("Second" of "Second digit:", "Sprite B:" before "glyph 3") and is left out."""
    pieces = re.split(_LIST_MARK, between)[:-1]
    return [p for p in (p.strip(" {}()[]（）【】:：=-/" + _QUOTES) for p in pieces) if p]


def _says_look(text: str) -> bool:
    """Whether ``text`` says a colour or a way to move ("Both blue", "all moving left")."""
    return says_motion(text) or names_colour(text)


def _motion(value: str, zh: bool) -> str:
    """A motion's value said as the grammar's short motions are ("left_right" → "left-right", 右 → 向右)."""
    v = value.strip(_QUOTES + " ")
    v = re.sub(r"(?i)\b(left|right|up|down)\s*[_/]\s*(left|right|up|down)\b", r"\1-\2", v)
    return _ZH_DIRECTION.get(v, v) if zh else v.replace("_", " ")


def _colour(value: str, zh: bool) -> str:
    """A colour's value as a describing word (白 → 白色: the grammar says a bare Chinese colour with 色)."""
    v = value.strip(_QUOTES + " ")
    return v + "色" if zh and _CJK.fullmatch(v[-1:] or "x") and not v.endswith("色") and len(v) <= 2 else v


# fields written as columns, one list per field: "digits: [7, 4] colors: [magenta, blue] motions: [up_down,
# left_right]", 数字=5,9；颜色=蓝,绿；运动=向右,向下 (the key may be plural; the lists' k-th items are the k-th digit's)
_COLUMN_KEYS = tuple(
    (kind, rf"(?:{keys})(?:s|\s*list)?|(?:{keys})(?:列表|们)?")
    for kind, keys in (
        ("digit", r"digit|number|numeral|数字"),
        ("colour", r"colou?r|hue|颜色|顏色|色彩"),
        ("motion", r"motion|movement|move|direction|action|运动|運動|动作|方向|移动"),
    )
)
_COLUMN = re.compile(
    r"(?i)(?:^|(?<=[\s{(\[,;，；、|/:：\"'—–-]))(?:"
    + "|".join(f"(?P<{kind}>{keys})" for kind, keys in _COLUMN_KEYS)
    + r")[\"']?\s*[=:：]\s*"
)
# what divides a column's items: digits and colours also by "and" (3和7, "red and blue"); motions by a comma only,
# as "up and down" is one motion
_ITEM_SEP = {
    "digit": r"[,，、/]|\band\b|和",
    "colour": r"[,，、/]|\band\b|和",
    "motion": r"[,，、]|(?<=[向往朝][左右上下])和(?=[向往朝][左右上下])",  # 向左和向上: two motions, 左和右 one
}
_COLUMN_END = re.compile(r"[;；\n|]|[.。](?:\s|$)|\s[/—–-]\s")
_BETWEEN = " \t\n,，、;；|/—–-.。{}()[]【】（）" + _QUOTES  # what may stand between columns, and nothing else
_IN_ORDER = re.compile(r"(?i)\brespectively\b|\bin\s+that\s+order\b|分别|依次")


def _column_item(kind: str, item: str) -> bool:
    """Whether ``item`` is plainly one value of a ``kind`` column: a digit, a colour (a few words), a motion."""
    if kind == "digit":
        return _digit(item) is not None
    if re.search(r"[()（）\[\]]", item) or len(item.split()) > 4 or len(item) > 24:
        return False  # "right (no sound)": more than a value
    if kind == "colour":
        return names_colour(item)
    return says_motion(_motion(item, bool(_CJK.search(item))))


_EVERY = re.compile(r"(?i)^\s*(?:both|all|each|都是?|均为?|全是)\s*")
_EACH_THEIR_OWN = re.compile(r"(?i)一[个只].*一[个只]|\bone\b.*\bother\b|分别|各自")


def _without_digit(item: str, digit: str) -> str:
    """``item`` without the digit it names ("the 6 goes down" → "goes down", "green for the 5" → "green")."""
    word = EN_NUMBERS[int(digit)]
    said = rf"(?:(?:for|of)\s+)?(?:the\s+)?(?:(?:number|digit)\s+)?(?:{digit}|{word}|{ZH_NUMBERS[int(digit)]})\b"
    return re.sub(rf"(?i){said}\s*(?:is\s+|should\s+be\s+)?", " ", item).strip(" ,，")


def _columns(prompt: str) -> str | None:
    """``prompt`` said as one clause per digit when it is nothing but columns (see ``_COLUMN``) after a label: a
    digit column of two or more digits and a colour or motion column of as many items, or of one said of every
    digit; else None (words outside the columns, an item that is not plainly its column's, a column of another
    length: the sentence rules read it)."""
    prompt = drop_style_fields(prompt).strip()  # "Style: smooth.": no column, and said of no digit
    keys = list(_COLUMN.finditer(prompt))
    kinds = [next(k for k in ("digit", "colour", "motion") if m.group(k)) for m in keys]
    if "digit" not in kinds or len(kinds) < 2 or len(set(kinds)) != len(kinds):
        return None
    label = prompt[: keys[0].start()]  # "参数：", "Settings:": nothing a digit is drawn with
    if digits_asked(label).total or _says_look(label):
        return None
    columns: dict[str, list[str]] = {}
    for k, (kind, m) in enumerate(zip(kinds, keys)):
        span = prompt[m.end() : keys[k + 1].start() if k + 1 < len(keys) else len(prompt)]
        cut = _COLUMN_END.search(span)
        value, rest = (span[: cut.start()], span[cut.start() :]) if cut else (span, "")
        if rest.strip(_BETWEEN):
            return None  # "Digits: 4, 9. Colors: yellow, cyan. The 4 moves left …": words outside the columns
        value = _IN_ORDER.sub(" ", value).strip(_BETWEEN)
        items = [v.strip(_BETWEEN) for v in re.split(rf"(?i)\s*(?:{_ITEM_SEP[kind]})\s*", value)]
        if kind != "digit" and len(items) == 1:  # "都是红色", "both rising": said of every digit
            items = [_EVERY.sub("", items[0])]
        if not all(items) or _EACH_THEIR_OWN.search(value):
            return None  # "一个往上一个往下": whose is which is not said
        columns[kind] = items
    digits = [_digit(d) for d in columns["digit"]]
    n = len(digits)
    if n < 2 or any(len(v) not in (1, n) for v in columns.values()):
        return None
    for kind in ("colour", "motion"):
        if len(columns.get(kind, [])) == 1:
            columns[kind] = columns[kind] * n  # "motion: up and down": said of every digit
        said = [[str(d) for d in digits_asked(v).named] for v in columns.get(kind, [])]
        if any(said):  # "Motions: the 6 goes down, the 2 goes right": each item its own digit's, said without it
            order = [next((k for k, v in enumerate(said) if v == [d]), None) for d in digits]
            if None in order or len(set(order)) != n:
                return None
            columns[kind] = [_without_digit(columns[kind][k], digits[i]) for i, k in enumerate(order)]
        if not all(_column_item(kind, v) for v in columns.get(kind, [])):
            return None
    colours, motions = columns.get("colour", [None] * n), columns.get("motion", [None] * n)
    return _say([_Record(digit, colour, motion) for digit, colour, motion in zip(digits, colours, motions)])


def read_fields(prompt: str) -> str:
    """``prompt`` said as plain clauses, one per digit, when it is written as fields (two or more keys with "=",
    ":" or "--" that name a digit, a colour or a motion), each digit's record whole; else ``prompt`` unchanged.

    "digits=2; d1=5 colour=lemon motion=right; d2=0 colour=turquoise motion=up" → "lemon 5, right; turquoise 0,
    up"; "gen --数字 6 --颜色 白 --动作 右 --数字 3 --颜色 蓝 --动作 上下" → "白色6，向右；蓝色3，上下". A record starts
    at a field whose kind the current record has already; every record must name exactly one digit. Words a list mark
    sets off between fields ("goes left", 竖向来回) stay with their record; a key's own label ("Sprite B:", "Second
    digit") is left out, and so is what comes before the first field (a command name) unless it says a colour or a
    motion ("Both blue: …"). Fields before the first digit's, a record's end between ("colour=red; digit=3 …"), and
    those words are said of every digit that says no colour or motion of its own. A key these rules do not know
    ("id=1"), or a record with nothing but its digit, leaves the prompt as it is, and so does one record: the model
    was taught a digit's fields ("digit: 3, colour: red, motion: left")."""
    columns = _columns(prompt)
    if columns is not None:
        return columns
    explicit = _fields(prompt, loose=False)
    if explicit is None or len(explicit) < 2:
        return prompt
    for m in _ANY_KEY.finditer(prompt):
        key = m.group(1) or m.group(2)
        if not _KNOWN_KEY.fullmatch(key) and not _COUNT_KEYS.fullmatch(key):
            return prompt  # "id=1", "scale=2": a field these rules do not know, which could be drawn as a digit
    found = _fields(prompt, loose=True)
    if not found:
        return prompt
    shared = _Record()
    for piece in _said(prompt[: found[0][2]] + "\n"):  # what comes before the fields: said of every digit where it
        piece = re.sub(r"\s{2,}", " ", _COUNTS.sub(" ", piece)).strip()  # says a colour or a motion ("Both blue: …")
        if names_colour(piece) and not says_motion(piece) and shared.colour is None:
            shared.colour = piece
        elif _says_look(piece):
            shared.free.append(piece)
    first_digit = next((k for k, f in enumerate(found) if f[0] == "digit"), None)
    if first_digit:  # fields before the first digit, a record end between: said of every digit
        if _RECORD_END.search(prompt, found[first_digit - 1][3], found[first_digit][2]):
            for kind, value, *_ in found[:first_digit]:
                setattr(shared, kind, value)
            found = found[first_digit:]
    records: list[_Record] = [_Record()]
    last = found[0][3]
    for k, (kind, value, start, stop) in enumerate(found):
        if k:
            records[-1].free += _said(prompt[last:start])
        if getattr(records[-1], kind) is not None:
            records.append(_Record())
        setattr(records[-1], kind, value)
        last = stop
    records[-1].free += _said(prompt[last:] + "\n")
    if len(records) < 2:
        return prompt  # one record: the model was taught a digit's fields as they are ("digit: 3, colour: red")
    if any(r.digit is None or _digit(r.digit) is None for r in records):
        return prompt  # a record with no digit, or a digit field that is not one digit ("digit: 12")
    for r in records:
        r.colour, r.motion, r.free = r.colour or shared.colour, r.motion or shared.motion, [*r.free, *shared.free]
    if any(r.colour is None and r.motion is None and not r.free for r in records):
        return prompt  # "d1=1 d2=7 color=red motion=left": whose colour and motion these are is not plain
    return _say(records)


def _say(records: list[_Record]) -> str:
    """Each record as the grammar's short clause ("lemon 5, right", 白色6，向右), joined by semicolons."""
    said = [v for r in records for v in (r.colour, r.motion, *r.free) if v]
    zh = bool(_CJK.search(" ".join(said)))
    comma = "，" if zh else ", "
    clauses = []
    for r in records:
        colour = _colour(r.colour, zh) if r.colour else ""
        head = colour + ("" if not colour or (zh and _CJK.match(colour[-1])) else " ")
        words = ([_motion(r.motion, zh)] if r.motion else []) + r.free
        clauses.append(f"{head}{_digit(r.digit)}{comma + comma.join(words) if words else ''}")
    return ("；" if zh else "; ").join(clauses)
