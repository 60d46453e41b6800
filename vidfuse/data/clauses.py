"""One prompt per subject: :func:`subject_clauses` splits a prompt that names several digits into one
clause per digit, so that a model which draws one subject can draw each as a layer of one scene.

"a red 3 moving left and a blue 7 moving up" → ["a red 3 moving left", "a blue 7 moving up"]. The pipeline
draws each clause with the same model and stacks the clips (:mod:`vidfuse.models.compose`). What a clause
is comes from the words only, in English and Chinese, after NFKC:

1. **Pieces.** The prompt is cut at clause boundaries: punctuation (also / + — and, in Chinese, a space),
   "and", "while", "whereas", "as well as", "as", "meanwhile", "but", "then", "with", "beside (it)", "next to";
   in Chinese ，；。：、和 与 跟 而 同时 另外 然后 还有(个) 旁边有 再加, and 再 before a verb of drawing or placing
   (再画, 再让, 再来一个), and between the items of a list with nothing between them (一个三一个七). "and" between two
   direction words ("up and down", "to the left and to the right", "back and forth"), "left/right" and 和
   between two (左和右) are not boundaries.
2. **Groups.** A piece that names a digit (:func:`vidfuse.data.subjects.digits_asked`) starts a group;
   a piece that names none joins the group before it ("a 3, red, moving left"), or, when it holds a colour
   and a colon follows it, the digit after it ("Red: 3 moving left. Blue: 7 …"). Pieces before the first
   digit ("Make a video:", "生成一个视频：") are a prefix every clause keeps, without its counts and in the
   singular ("Generate two digits" → "generate digit"); one that only counts them ("Two digits:", "two
   figures,", 两个数字：) is dropped. A piece that
   starts with a pronoun ("one rising and one sinking", "the red one moving left", 另一个往下, 红的往左) goes to
   the next digit that has nothing said after it (the one of its colour, if it names one); framing such as
   "One digit is …" is dropped (the model would read "One" as the digit 1).
3. **Shared words.** Words said of both ("both cyan", "都往左飘") go to every digit. A digit with nothing said
   after it ("a red three and a blue seven bouncing up and down") takes what the next digit says after
   itself, or failing that the previous one, without "both"/都.
4. **The same digit again** ("Two digits: 5 and 2. The 5 goes down, the 2 goes up") is one subject: its
   groups join, unless they name different colours ("a red 5 and a blue 5"), the second is "another 5", or
   both bring the digit in with "a" or 一个 ("a red 5 moving left and a red 5 moving up": two 5s).
5. **A count of one digit** ("two red 4s moving right", 两个红色的5) is that clause once per digit, the count
   taken out ("red 4 moving right"); told apart by as many pronouns ("two sevens: a yellow one sliding left and
   a red one sliding right", 两个7：黄色的向左滑，红色的向右滑), one clause each: the digit, what the pronoun says
   of it, and its words ("show seven, yellow, sliding left").
6. **"Respectively"** ("a white 8 and a cyan 2, moving right and left respectively", 分别向右和向左移动): the
   list's k-th item joins the k-th digit's clause; a later item shares the first one's verb ("left" → "moving
   left").

The split is trusted only when every clause names exactly one digit and at most one colour, the clauses are as
many as the digits the whole prompt asks for, every pronoun found its digit, and no digit is one not to draw
or one of a choice ("not a 9", "shaped like an 8", "or 7", 不是9, 或者7); otherwise :func:`subject_clauses`
returns ``None`` and the pipeline draws the prompt whole, with its warning. Not read: attributes shared before
a list of digits after a digit is named ("a red 3 and two green digits 4 and 6"), and the same digit twice
told apart only by a list of its colours ("two 1s, one cyan and one red; the cyan 1 rises …").
"""

from __future__ import annotations

import re
import unicodedata

from vidfuse.data.paraphrase import EN_MOTION_WORDS, ZH_COLOUR_WORDS
from vidfuse.data.subjects import COUNTED_NOUNS, digits_asked, introduced_digits
from vidfuse.data.subjects import EN_COLOUR_NAMES as _PALETTE  # colour word → the colour it names
from vidfuse.data.wording import ONE_MORE, says_motion

__all__ = ["subject_clauses", "MAX_SUBJECTS"]

MAX_SUBJECTS = 4  # more clauses than this: drawn whole (each layer costs a model call)

_EN_DIRECTIONS = (
    "left right up down back forth to fro in out round around side sideways upward upwards downward downwards "
    "top bottom leftward leftwards rightward rightwards"
).split()
_ZH_DIRECTIONS = "左右上下前后来去东西南北"
_EN_BOUNDARY = (
    r"\b(?:and|while|whilst|whereas|as\s+well\s+as|as|meanwhile|but|then|plus|(?:next\s+to|beside|besides|alongside|along\s+with"
    r"|together\s+with|accompanied\s+by|with)(?:\s+it)?)\b"
)
_ZH_BOUNDARY = (
    r"与此同时|與此同時|同時|旁边(?:还)?有(?:一)?个?|(?:另外)?还有(?:一)?个?|再加(?:上)?|和|与|跟|而且"
    r"|(?<![自由][上下左右])而|同时|另外|然后"  # not the 而 of 自上而下
    r"|并且|以及"
    # 再 ("then also") before a verb of drawing or placing: 再画/再放/再让/再来一个 … The model read a clause that
    # kept it as "again", back and forth (再让绿色的八往左移 bounced left and right); 再来回 is a motion, not a join
    r"|再(?=[画做放让添弄搞给]|来(?!回)|生成|出现|有)"
)
_PIECE_END = re.compile(
    rf"[,;:!?，；：。！？、/|+•—–\n]+|\.(?!\d)|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff\d])|{_EN_BOUNDARY}"
    rf"|{_ZH_BOUNDARY}|(?=另一|另外一|其中另)"
    # a list with nothing between its items: 一个三一个七, 一个红色的3一个蓝色的7
    r"|(?<=[0-9零〇一二三四五六七八九])(?=[一1][个只位颗枚])",
    re.IGNORECASE,
)
# "and" between direction words: not a boundary (placeholder restored after the split)
_AND_KEPT = "\x00"
_EN_PAIR = re.compile(
    # "left-and-right" too (the grammar teaches "up-and-down"; set m's "swaying left-and-right" was cut at its "and")
    rf"\b({'|'.join(_EN_DIRECTIONS)})(\s+|-)and(\s+|-)(?=(?:the\s+)?(?:{'|'.join(_EN_DIRECTIONS)})\b)"
    r"|\b(over|again|on)(\s+)and(\s+)(?=\4\b)",  # "over and over", "again and again": one phrase, not two clauses
    re.IGNORECASE,
)
_ZH_PAIR = re.compile(f"([{_ZH_DIRECTIONS}])和(?=[{_ZH_DIRECTIONS}])")
_SLASH_PAIR = re.compile(rf"(?i)\b({'|'.join(_EN_DIRECTIONS)})\s*/\s*(?=(?:{'|'.join(_EN_DIRECTIONS)})\b)")
# English colour words, longest first; read through _PALETTE, so "a lime green 3" has one colour and "the red one"
# finds a crimson 3
_COLOURS = "|".join(sorted(_PALETTE, key=len, reverse=True))
# where the digits stand to each other: the layers are placed apart anyway, and "side" in a clause reads as a
# side-to-side bounce
_LAYOUT = re.compile(r"(?i)\s*,?\s*\b(?:side[\s-]+by[\s-]+side|next\s+to\s+each\s+other|beside\s+each\s+other)\b")
_ANOTHER = re.compile(r"(?i)\banother\b|\bthe\s+other\b|\bsecond\b|另一|另外一|第二")
# before a digit in its piece: a digit not to draw ("not a 9", "shaped like an 8", 不是9) or one of a choice ("or 7")
_NOT_DRAWN = re.compile(
    # "like" compares ("shaped like an 8") unless someone would like it ("I'd like the number 6")
    r"(?i)(?:\b(?:not|no|never|nor|or|instead\s+of|rather\s+than|(?<!'d\s)(?<!would\s)(?<!\bi\s)(?<!\bwe\s)like"
    r"|except|without|than|unlike)\s+"
    r"(?:(?:a|an|the|digit|number|numeral|single)\s+){0,3}"
    r"|(?:不是|不要|不需要|并非|而非|没有|像|或者|或是|还是|除了)(?:一个)?(?:数字)?)$"
)
# a label said of several digits ("Two green digits: …"), not of the one after it
_MANY = re.compile(r"(?i)\b(?:digits|numbers|numerals|both|two|three|four)\b|两|俩|数字们|都")
# a Chinese colour as written before a digit or in a pronoun (红的 "the red one")
_ZH_COLOUR_NAME = r"品红|洋红|紫红|[白红紅绿綠蓝藍黄黃青紫粉橙黑灰金]"
# a count and a colour right before a list of digits, said of all of them: "两个绿色的数字4和6", "two green digits 4
# and 6" (:func:`_list_label`)
_LIST_LABEL = re.compile(
    rf"(?i)(?:^|\s)(?:two|both|three|four)\s+(?:{_COLOURS})\s+(?:(?:digits|numbers|numerals|figures)\s*)?$"
    rf"|(?<!第)[两俩二三四][个只位颗枚]?(?:{_ZH_COLOUR_NAME})色?的?(?:手写)?(?:数字|号)?$"
)
_FRAMING = re.compile(
    r"(?i)^\s*(?:the\s+)?(?:one|first|second|other|former|latter)(?:\s+(?:digit|number|numeral|one))?\s+(?:is|being|will\s+be)\s+"
    # 第二个数字是白色的3: 第二 reads as a count
    r"|^\s*(?:其中)?(?:第[一二三四]|另外?一|一)[个只位](?:数字|数)?(?:是|为)"
)
# A clause's leading 再 ("again, also": 再要一个…, 再一个…) or 另(外) before 一个 and the digit it names
# (wording.ONE_MORE): drawn on its own, the model read it as a bounce (the grammar has 再 only in 向左再向右来回移动):
# "再要一个数字{z}往左走" 0 of 20 draws right, "要一个数字{z}往左走" 19 of 20; 另外一个数字{z}往左走 1 of 20;
# and the English "another" before the digit of its clause ("and another blue 5 moving up" → "a blue 5 moving up"):
# "another {d} moving left" 5 of 20 draws right, "a {d} moving left" 19 of 20
_EN_ANOTHER = re.compile(r"(?i)^\s*another\s+(?=(\w))")
_RESPECTIVELY = re.compile(r"(?i)\brespectively\b|\bin that order\b|分别|依次")
# what may join an ordinal label to its digit ("the second is a red 9", 第二个是品红色的9)
_ORDINAL_TAIL = re.compile(r"^\s*(?:数字|号)?\s*(?:(?:is|was|will\s+be|should\s+be)\b|[:：,，\-是为])?\s*")
_PRONOUN = re.compile(
    rf"^\s*(?:the\s+)?(?:(?:{_COLOURS})\s+)?"
    r"(?:one|other|another|first|second|former|latter)(?:\s+(?:one|digit|number|numeral))?\b"
    r"|^\s*(?:其中)?(?:一个|另一个|另外一个|另一只|前者|后者|第一个|第二个)"
    rf"|^\s*(?:{_ZH_COLOUR_NAME})色?的(?:那个|那只)?"  # 红的往左移: the red one
)
# several digits of one value: "two sevens", "two green 4s", 两个7, 两个绿色的4
_SEVERAL_OF_ONE = re.compile(
    r"(?i)\b\d'?s\b|\b(?:zeroe?s|ones|twos|threes|fours|fives|sixes|sevens|eights|nines)\b"
    r"|[两俩二三四][个只位颗枚]?(?:[^，,。；;：:0-9零〇一二三四五六七八九]{0,6}?)[0-9零〇一二三四五六七八九](?![0-9])"
)
# "a yellow one": a pronoun only where the digits are several of one value ("two sevens: a yellow one …"); elsewhere
# "a red one moving up" is the digit 1
_A_ONE = re.compile(rf"^\s*an?\s+(?:(?:{_COLOURS})\s+)?one\b")
# a piece said of every subject named so far: "both cyan", "two of them magenta", 都往左飘, 两个都是青色的
_SHARED = re.compile(
    r"(?i)^\s*(?:both|all|they|the\s+two|two\s+of\s+them|both\s+of\s+them)\b|^\s*(?:两个|两者|俩|它们|它俩)?(?:都|均)"
)
# words that count digits or say "both": taken out of a clause that draws one of them
_EN_BOTH = re.compile(r"(?i)\b(?:both|each|all)\b(?:\s+of\s+them)?\s*")
_ZH_BOTH = re.compile(r"都|均|各自|皆")
_EN_COUNTS = re.compile(r"(?i)\b(?:two|three|four|a\s+pair\s+of|a\s+couple\s+of|pair\s+of|couple\s+of|[2-4])\b\s*")
# a count of digits: before a digit or 数字 within a few characters (两个5, 两个绿色的数字), or before 都
# (两个都是青色的);
# not 两次, 两秒, 第二个
_ZH_COUNTS = re.compile(
    r"(?<!第)(?:[两俩二三四2-4][个只位颗枚]|一对|一双|俩)(?=[^，。；,;]{0,6}?(?:数字|号|[0-9零〇一二三四五六七八九])|都)"
)
_EN_PLURAL_DIGITS = {
    "zeros": "zero",
    "zeroes": "zero",
    "ones": "one",
    "twos": "two",
    "threes": "three",
    "fours": "four",
    "fives": "five",
    "sixes": "six",
    "sevens": "seven",
    "eights": "eight",
    "nines": "nine",
    "digits": "digit",
    "numbers": "number",
    "numerals": "numeral",
}
_EN_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_ZH_DIGIT_CHARS = ("零〇○", "一壹幺", "二贰貳两", "三叁參", "四肆", "五伍", "六陆陸", "七柒", "八捌", "九玖")
_FILLER = re.compile(
    rf"^[\s,;:.!?，；：。！？、]*(?:s\b|(?:{'|'.join(COUNTED_NOUNS)})s?|数字|号)?[\s,;:.!?，；：。！？、\"“”]*$",
    re.IGNORECASE,
)
_EN_COLOUR = re.compile(rf"\b({_COLOURS})\b")
# what joins the items of a list ("red and blue", 红色和蓝色)
_LIST_SEP = re.compile(r"(?i)\band\b|[和与、,，]")
# a colour word right before another is its shade: "navy-blue", "sky blue", "lime green" name one colour
_SHADE_OF = re.compile(rf"\b(?:{_COLOURS}|sky|baby|royal|dark|light|pale|deep)[\s-]+(?=(?:{_COLOURS})\b)")
_ZH_COLOUR_WORD = re.compile(r"(?:[品洋玫碧]?[白红紅绿綠蓝藍黄黃青紫粉橙灰金银])+")
# Chinese colour words as the palette colour they name, where one is meant (紫, 粉 and 金 are shades of it)
_ZH_PALETTE = {re.sub(r"颜色|色|的", "", w): c for w, c in ZH_COLOUR_WORDS.items()} | {
    "粉": "magenta",  # pink and gold, which the grammar does not teach, read as the palette colour nearest them
    "粉红": "magenta",
    "粉紅": "magenta",
    "金": "yellow",
}
_ZH_COLOUR = re.compile(_ZH_COLOUR_NAME)


def subject_clauses(prompt: str) -> list[str] | None:
    """One clause per digit of ``prompt`` when it names two or more (see the module docstring), or ``None``:
    one digit or none, more than :data:`MAX_SUBJECTS`, or a prompt these rules cannot split safely."""
    text = _LAYOUT.sub("", unicodedata.normalize("NFKC", prompt)).strip()
    asked = digits_asked(text)
    if not 2 <= asked.total <= MAX_SUBJECTS:
        return None
    text, lists = _respectively(text)
    if text is None:
        return None
    pieces = _pieces(text)
    prefix: list[str] = []
    groups: list[list[str]] = []  # pieces of each subject, in order
    pronouns: list[tuple[int | str | None, str]] = []  # (the position or colour it refers by, what it says)
    told: list[str] = []  # each pronoun's own describing words ("a yellow one" → "yellow", 黄色的 → 黄色)
    one_value = len(set(asked.named)) == 1 and asked.count >= 2 and bool(_SEVERAL_OF_ONE.search(text))
    told_apart = False
    shared: list[str] = []
    label: list[str] = []  # "Red: 3 moving left": a colour before a colon belongs to the digit after it
    after_pronoun = False  # "前者红色、向右": what follows a pronoun's words, before the next digit, is its too
    for k, (piece, sep) in enumerate(pieces):
        named = digits_asked(piece).named
        if named and any(_NOT_DRAWN.search(_before_digit(piece, end)) for end in _digit_positions(piece)):
            return None  # "a red 6 moving left, not a 9", "或者7向上移动": a digit not to draw, or a choice
        pronoun = _PRONOUN.match(piece.lower()) if groups else None
        if groups and not pronoun and one_value:  # "two sevens: a yellow one sliding left"
            pronoun = _A_ONE.match(piece.lower())
        if pronoun and pronoun.group(0).endswith("的") and named:
            pronoun = None  # 黄色的一左右晃: a colour, 的 and a digit character name that digit
        if pronoun and named == (1,) and 1 in asked.named and pronoun.group(0).rstrip().endswith("one"):
            if not any(1 in digits_asked(p).named for g in groups for p in g):  # "yellow zero → right, red one → up
                pronoun = None  # and down": the prompt's 1, named nowhere else, is this "red one"
        if pronoun and pronoun.group(0).endswith("的") and not piece[pronoun.end() :].strip(" ,，"):
            pronoun = None  # "数字2，黄色的，不停地…": a colour alone after a digit is that digit's (it was lost)
        if pronoun and not digits_asked(piece[pronoun.end() :]).named:  # "the red one moving left"
            words, at = piece[pronoun.end() :].strip(), _position(pronoun.group(0))
            if words:
                pronouns.append((at if at is not None else _colour(pronoun.group(0)), words))
                told.append(_told_by(pronoun.group(0)))
                after_pronoun = True
        elif groups and _SHARED.match(piece) and not named:
            shared.append(_strip_counts(piece))  # "a 1 and a 5, both blue, drifting down": said of every digit
        elif named:
            if pronoun and _position(pronoun.group(0)) is not None:  # 第二个是品红色的9, "the second is a red 9":
                piece = _ORDINAL_TAIL.sub("", piece[pronoun.end() :])  # only which digit this is (第二个 counted two)
            if not groups and len(asked.named) >= 2 and (lead := _list_label(piece)):
                prefix.append(lead)  # "两个绿色的数字4和6": the colour is said of every digit of the list
                piece = piece[len(lead) :]
            groups.append([*label, piece])
            label, after_pronoun = [], False
        elif (
            ":" in sep
            and (_colour(piece) or says_motion(piece))  # "Red: 3 …", "Sliding to the left: a cyan 1", 向上移动的：…
            and k + 1 < len(pieces)
            and digits_asked(pieces[k + 1][0]).named
        ):
            listed = k > 0 and _colour(pieces[k - 1][0]) and _LIST_SEP.search(pieces[k - 1][1])
            if _MANY.search(piece) or listed:  # "Two green digits: 4 and 6 …", "Red and blue: …": said of both
                (shared if groups else prefix).append(piece)
            else:
                label.append(piece)
        elif not groups:
            prefix.append(piece)
        elif after_pronoun:
            pronouns[-1] = (pronouns[-1][0], _join([pronouns[-1][1], piece]))
        else:
            groups[-1].append(piece)
    if one_value and len(groups) == 1 and len(pronouns) == asked.count and _says_nothing_after(groups[0]):
        # several digits of one value told apart by what each is ("two sevens: a yellow one sliding left and a red
        # one sliding right", 两个7：黄色的向左滑，红色的向右滑): one clause each, the digit and its own words
        base = _singular(_strip_counts(_join(groups[0])))
        groups = [[base, *([by] if by else []), words] for by, (_, words) in zip(told, pronouns)]
        pronouns, told_apart = [], True
    open_groups = [g for g in groups if _says_nothing_after(g)]
    by_colour: set[int] = set()  # the groups (their ids) a pronoun found by its colour
    for (which, words), by in zip(pronouns, told):
        if isinstance(which, int):  # "the first …", "the latter …", 后者: by position
            g = groups[which] if which < len(groups) else None
        else:  # "the red one …" by its colour; "one …", "the other …" the next digit with nothing said yet
            same = [g for g in groups if which and _colour(_join(g)) == which]
            if len(same) > 1:  # "a pink 3 and a purple 8, the pink one …": both magenta; the word itself tells
                same = [g for g in same if by and by.lower() in _join(g).lower()]
                if len(same) != 1:
                    return None
            g = same[0] if same else next(iter(open_groups), None)
            if same:
                if id(g) in by_colour:
                    return None  # two pronouns found one digit: which is which is not plain
                by_colour.add(id(g))
        if g is None:
            return None  # "a 5 moving right, then another one moving left": which digit is not said
        if g in open_groups:
            open_groups.remove(g)
        g.append(words)
    clauses = [_join(g) for g in groups]
    # rule 3: "数字5和数字8都往左移动": what follows 都/both after a digit is said of the bare digits before it
    for i, c in enumerate(clauses):
        if _SHARED.match(_after_digit(c).lstrip(" ,，")):
            said = _strip_counts(_after_digit(c))
            clauses[:i] = [_join([b, said]) if _says_nothing_after([b]) else b for b in clauses[:i]]
    clauses = clauses if told_apart else _merge_same_digit(clauses)
    # "a red three and a blue seven bouncing up and down": a digit with nothing said takes the next one's words
    for i, c in enumerate(clauses):
        if _says_nothing_after([c]) and not _says_motion_before(c):  # "来回弹跳的蓝色5", "a bouncing blue 5": said
            said = [_after_digit(o) for o in clauses[i + 1 :] + clauses[:i][::-1] if not _says_nothing_after([o])]
            clauses[i] = _join([c, _strip_counts(said[0])]) if said else c
    clauses = [_join([c, *shared]) for c in clauses]
    # the prefix draws one digit in each clause, so what it counted is singular: "Generate two digits" → "generate
    # digit" (the model read a one-way 7 after "generate digits:" as a bounce in 4 draws of 6)
    head = _singular(_strip_counts(_join(prefix)))
    if len(_colours(head)) > 1:  # "Red and blue: a red 1 …": said of the digits together, each clause names its own
        if not _colours(head) <= set().union(*(_colours(c) for c in clauses)):
            return None  # "Colours: cyan and red. Digits: 2 and 6": whose colour is which is not said
        head = _EN_COLOUR.sub(" ", re.sub(f"(?:{_ZH_COLOUR_WORD.pattern})(?:颜?色)?的?", " ", head.lower()))
        head = re.sub(r"(?i)\b(?:and|or)\b|[和与或]", " ", head)
        head = _clean(head)
    head = "" if _FILLER.match(head.lower()) or not head.strip() else head
    if not _colours(head) and not _says_way(head):  # request framing ("can you do one", 给一年级学生做个视频):
        head = ""  # the model read numbers in it ("one", 一 drew a 1)
    if len(clauses) == 1 and asked.count >= 2 and len(asked.named) == 1:
        clauses = [_singular(_strip_counts(clauses[0]))] * asked.count
    for items in lists:  # "moving right and left respectively": the k-th item is the k-th digit's
        if len(items) != len(clauses):
            return None
        clauses = [_join([c, item]) for c, item in zip(clauses, items)]
    clauses = [_EN_ANOTHER.sub(_an, ONE_MORE.sub("", c)) for c in clauses]
    out = [_clean(_no_other_one(_one_subject(f"{head}: {c}" if head else c))) for c in clauses]
    if len(out) != asked.total or any(digits_asked(c).total != 1 for c in out):
        return None
    if any(len(_colours(c)) > 1 for c in out):  # "digits 3 and 7: red and blue": whose colour is which is not said
        return None
    return out


def _respectively(text: str) -> tuple[str | None, list[list[str]]]:
    """``text`` without its "respectively" lists, and the lists' items in order ("a white 8 and a cyan 2,
    moving right and left respectively" → "a white 8 and a cyan 2", [["moving right", "moving left"]]; 分别向右和
    向左移动 → [["向右", "向左移动"]]). An English list runs from the last digit before "respectively" to it; a
    Chinese one from 分别 to the end of its clause; an English one with nothing before "respectively" ("…, respectively
    moving down and moving left") from it to the end of the sentence. ``(None, [])`` when a list cannot be read."""
    lists = []
    while m := _RESPECTIVELY.search(text):
        if m.group(0).lower() in ("respectively", "in that order"):
            ends = [e for e in _digit_positions(text[: m.start()])]
            if not ends:
                return None, []
            start, end = ends[-1], m.end()
            listed = text[start : m.start()]
            if not listed.strip(" ,;:"):  # "…, respectively moving down and moving left": the list comes after
                listed = re.split(r"[.;!?]", text[m.end() :], maxsplit=1)[0]
                start, end = m.start(), m.end() + len(listed)
        else:  # 分别(为|是)…, to the end of the clause
            rest = re.split(r"[,;:.!?，；：。！？]", text[m.end() :], maxsplit=1)[0]
            start, end = m.start(), m.end() + len(rest)
            listed = re.sub(r"^(?:为|是)", "", rest)
        items = [i.strip(" ,，、") for i in re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+|和|与|跟|、|以及", listed)]
        items = [i for i in items if i]
        if len(items) < 2:
            return None, []
        lead = items[0].split()  # "moving right", "left": the later items share the first one's verb
        items = [items[0]] + [
            " ".join(lead[: len(lead) - len(i.split())] + [i]) if len(i.split()) < len(lead) else i for i in items[1:]
        ]
        lists.append(items)
        text = text[:start] + text[end:]
    return text, lists


def _says_way(text: str) -> bool:
    """Whether ``text`` says a way to move in any of the grammar's words ("skyward", "from top to bottom", 上浮,
    掉下去), not only those :func:`vidfuse.data.wording.says_motion` reads."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    return (
        says_motion(text) or bool(words & EN_MOTION_WORDS) or bool(re.search(r"[浮掉飞]|[往向朝](?:画面|屏幕)", text))
    )


def _no_other_one(clause: str) -> str:
    """``clause`` without a "one" before its digit that the digit count does not take for the digit 1 ("hey, quick
    one - a blue nine …": the model drew a 1)."""
    named = digits_asked(clause).named
    if len(named) != 1 or named[0] == 1:
        return clause
    d = named[0]
    m = re.search(rf"{d}|\b{_EN_DIGIT_WORDS[d]}(?:e?s)?\b|[{_ZH_DIGIT_CHARS[d]}]", clause.lower())
    if m is None:
        return clause
    return re.sub(r"(?i)\bone\b\s*", "", clause[: m.start()]) + clause[m.start() :]


def _one_subject(clause: str) -> str:
    """A clause as said of one digit: without "both", counts (两个, "two digits") and "another"/另一个."""
    clause = _strip_both(_ZH_COUNTS.sub("", clause))
    clause = re.sub(r"(?i)\b(?:two|three|four|[2-4])\s+(digits|numbers|numerals)\b", r"\1", clause)
    clause = re.sub(r"(?i)\banother\b", "a", clause)
    # "One digit is a green 9 …", "the first one is a 6 …": framing the model would read as the digit 1
    framed = _FRAMING.sub("", clause, count=1)
    if framed != clause and digits_asked(framed).named == digits_asked(clause).named:
        clause = framed
    return re.sub(r"另(?:外)?一(?=[个只位颗])", "一", clause)


def _keep_and(m: re.Match) -> str:
    """The pair at ``m`` ("up and down", "over and over") with its "and" marked as no boundary."""
    word, before, after = m.group(1, 2, 3) if m.group(1) else m.group(4, 5, 6)
    return f"{word}{before}{_AND_KEPT}{after}"


def _pieces(text: str) -> list[tuple[str, str]]:
    """``text`` cut at clause boundaries (rule 1): each piece, stripped, with the boundary after it (empty
    pieces dropped)."""
    kept = _EN_PAIR.sub(_keep_and, text)
    kept = re.sub(r"(?i)\b(?:such\s+as|as\s+if|as\s+though|the\s+same\s+as)\b", _protect, kept)
    kept = _ZH_PAIR.sub(lambda m: m.group(1) + "\x01", kept)
    kept = _SLASH_PAIR.sub(lambda m: m.group(1) + "\x03", kept)  # "left/right": one motion
    out, start = [], 0
    for m in [*_PIECE_END.finditer(kept), None]:
        end = m.start() if m else len(kept)
        piece = kept[start:end].replace(_AND_KEPT, "and").replace("\x01", "和").replace("\x02", "")
        piece = piece.replace("\x03", "/").strip()
        if piece:
            out.append((piece, m.group(0) if m else ""))
        elif out and m:
            out[-1] = (out[-1][0], out[-1][1] + m.group(0))
        start = m.end() if m else start
    return out


def _protect(m: re.Match) -> str:
    """A phrase with "as" in it that is not a clause boundary, its "as" hidden from the split."""
    return m.group(0).replace("as", "a\x02s")


def _digit_positions(text: str) -> list[int]:
    """Where the digits ``text`` names are written (the end of each numeral, number word or Chinese numeral;
    only those digits, so 一 in 一起 is no digit unless the clause names 1)."""
    low = text.lower()
    ends = []
    for d in digits_asked(text).named:
        forms = [str(d), rf"\b{_EN_DIGIT_WORDS[d]}(?:e?s)?\b", f"[{_ZH_DIGIT_CHARS[d]}]"]
        ends += [m.end() for form in forms for m in re.finditer(form, low)]
    return sorted(ends)


def _list_label(piece: str) -> str:
    """The words before ``piece``'s first digit when they count digits and name their colour, and nothing else
    comes between those and the digit ("两个绿色的数字4", "two green digits 4"), else ''."""
    for end in _digit_positions(piece):  # 两 of 两个 is a position of 2 as well
        before = _before_digit(piece, end)
        if _LIST_LABEL.search(before):
            return before
        if before.strip():
            return ""
    return ""


def _before_digit(text: str, end: int) -> str:
    """``text`` before the digit that ends at ``end`` (a numeral or number word, or one Chinese numeral)."""
    head = text[:end]
    return re.sub(r"[A-Za-z0-9]+$", "", head) if head[-1:].isascii() else head[:-1]


def _after_digit(clause: str) -> str:
    """What ``clause`` says after its last digit."""
    ends = _digit_positions(clause)
    return clause[ends[-1] :] if ends else ""


def _says_motion_before(clause: str) -> bool:
    """Whether ``clause`` says a motion before its first digit ("来回弹跳的蓝色5", "a bouncing blue 5")."""
    ends = _digit_positions(clause)
    return bool(ends) and says_motion(_before_digit(clause, ends[0]))


def _says_nothing_after(group: list[str]) -> bool:
    """Whether a group names its digit and says nothing after it ("a red three", "3", "红色的3")."""
    return bool(_FILLER.match(_after_digit(_join(group)).lower()))


def _position(pronoun: str) -> int | None:
    """The digit a pronoun names by position: "the first" 0, "the second"/"the latter"/后者 1; else None."""
    if re.search(r"(?i)\b(?:first|former)\b|前者|第一个", pronoun):
        return 0
    if re.search(r"(?i)\b(?:second|latter)\b|后者|第二个", pronoun):
        return 1
    return None


def _colours(clause: str) -> set[str]:
    """The colours ``clause`` names (black, the background, left out): a shade before a palette colour is that
    colour ("navy-blue", "sky blue"), and Chinese colour words count by the palette colour they name (紫色偏粉 is
    magenta once; 蓝绿, 金黄, 紫红 one colour each)."""
    low = _SHADE_OF.sub("", clause.lower())
    found = {_PALETTE[m.group(0)] for m in _EN_COLOUR.finditer(low)}
    found |= {_ZH_PALETTE.get(w, w) for w in _ZH_COLOUR_WORD.findall(clause)}
    return found - {"black"}


def _colour(clause: str) -> str | None:
    m = _EN_COLOUR.search(clause.lower())
    if m:
        return _PALETTE[m.group(0)]
    m = _ZH_COLOUR.search(clause)
    return m.group(0) if m else None


def _told_by(pronoun: str) -> str:
    """What a pronoun says of its digit besides pointing at it: "a yellow one" → "yellow", 黄色的 → 黄色."""
    words = re.sub(
        r"(?i)\b(?:the|a|an|one|other|another|digit|number|numeral)\b|其中|另外一[个只]|另一[个只]|一[个只]|那[个只]|的",
        " ",
        pronoun,
    )
    return _clean(words)


def _an(m: re.Match) -> str:
    """The indefinite article for the word that starts with ``m.group(1)`` ("an 8", "an orange 3", "a blue 5")."""
    return "an " if m.group(1).lower() in "aeio8" else "a "


def _merge_same_digit(clauses: list[str]) -> list[str]:
    """Rule 4: clauses naming the same digit, with no two different colours, are one subject."""
    out: list[str] = []
    for c in clauses:
        same = next((i for i, o in enumerate(out) if _same_subject(o, c)), None)
        if same is None:
            out.append(c)
        elif _says_nothing_after([out[same]]):
            out[same] = c if _colour(c) or not _colour(out[same]) else _join([out[same], _after_digit(c)])
        elif not _says_nothing_after([c]):
            out[same] = _join([out[same], c])
    return out


def _same_subject(a: str, b: str) -> bool:
    """Whether clauses ``a`` and ``b`` name the same digit in no two different colours."""
    ca, cb = _colour(a), _colour(b)
    if _ANOTHER.search(b):  # "a yellow 5 moving left while another 5 moves down": a second 5
        return False
    if introduced_digits(a) and introduced_digits(b):  # "a red 3 moving left and a red 3 moving up": two 3s
        return False
    return digits_asked(a).named == digits_asked(b).named and (ca is None or cb is None or ca == cb)


def _strip_both(text: str) -> str:
    """``text`` without "both", "each", "all of them", 都, 均."""
    return _ZH_BOTH.sub("", _EN_BOTH.sub("", text))


def _strip_counts(text: str) -> str:
    """``text`` without words that count digits ("two", 两个) or say "both"."""
    return _strip_both(_ZH_COUNTS.sub("", _EN_COUNTS.sub("", text)))


def _singular(text: str) -> str:
    """Plural digits and digit nouns made singular ("red 4s" → "red 4", "sevens" → "seven")."""
    text = re.sub(r"\b(\d)'?s\b", r"\1", text)
    return re.sub(r"\b(\w+)\b", lambda m: _EN_PLURAL_DIGITS.get(m.group(1).lower(), m.group(1)), text)


def _join(parts: list[str]) -> str:
    """Pieces joined back into one clause, separated as a reader expects (a comma in English, ， in Chinese)."""
    parts = [p.strip(" ,;:.，；：。") for p in parts if p and p.strip(" ,;:.，；：。")]
    if not parts:
        return ""
    sep = "，" if any("\u4e00" <= ch <= "\u9fff" for ch in "".join(parts)) else ", "
    return sep.join(parts)


def _clean(clause: str) -> str:
    """Spaces tidied: one between words, none before punctuation."""
    clause = re.sub(r"\s+", " ", clause).strip(" ,;:，；：")
    return re.sub(r"\s+([,.;:!?])", r"\1", clause)
