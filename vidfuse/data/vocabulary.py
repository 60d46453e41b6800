"""What a from-scratch model knows: the words of a prompt that its training captions never held.

A vidfuse model with the from-scratch text encoder carries its training vocabulary in ``tokenizer.json``:
the frequent words of its captions (:attr:`CharTokenizer.words`) and every character they held
(:attr:`CharTokenizer.chars`). A prompt word outside it still encodes (spelled by characters or bytes)
but the model never learned what it means: "a cat playing the piano" gives a digit. :func:`unknown_words`
names such words so that a caller can warn, or refuse with ``strict``.

The rule, applied to the prompt after the tokenizer's normalisation (NFKC, lower case):

- **Spaced scripts** (Latin, Greek, Cyrillic): each run of letters is a word. It is known when it is one of
  the tokenizer's words; when it has one letter ("a", "i"); when it is a function word or a request-frame
  word (:data:`EN_STOP_WORDS`: articles, pronouns, prepositions, auxiliaries, "show", "generate", "video",
  "screen" …); or when it is a number word ("three", "twenty", "first"). A tokenizer without a word list
  (characters only) knows every word whose letters it has.
- **Other scripts** (Chinese, Japanese, …): letters are judged one character at a time: known when it is
  one of the tokenizer's characters, a function or measure character (:data:`ZH_STOP_CHARS`: 的 了 只 个
  从 向 …), a Chinese numeral, or part of a request-frame word (:data:`ZH_STOP_WORDS`: 生成 视频 动画 屏幕
  背景 同时 …). Neighbouring unknown characters are reported together (猫, 钢琴).
- Digits, punctuation, symbols and spaces are never unknown.

A model's record may also say how many digits it draws at once (``subjects``: the most digits one of its
training captions named, 1 for Moving Digits level 1). :meth:`Vocabulary.digits_beyond` reads how many a
prompt asks for (:mod:`vidfuse.data.subjects`). The pipeline draws such a prompt one layer per digit when it
splits into one clause per digit (:meth:`Vocabulary.subject_layers`, :mod:`vidfuse.data.clauses`): "a red 3
moving left and a blue 7 moving up" is two layers. A prompt it cannot split warns that only one digit will be
drawn, instead of silently dropping the others.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cached_property, lru_cache

from vidfuse.data.clauses import MAX_SUBJECTS, subject_clauses
from vidfuse.data.subjects import COUNT_WORDS, DigitsAsked, digits_asked
from vidfuse.data.wording import SHADE_PAIRS, SHADE_WORDS, correct_spelling
from vidfuse.errors import InputError

VOCABULARY_FILE = (
    "vocabulary.json"  # a pretrained encoder's record, in a model folder, of the words its video model was taught
)

_WORD = re.compile(r"[a-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]+")  # the tokenizer's word scripts

EN_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million "
    "first second third fourth fifth sixth seventh eighth ninth tenth".split()
)
EN_STOP_WORDS = frozenset(
    (
        # articles, determiners, pronouns
        "an the this that these those some any each every another other its it he she they them their his her "
        "me my we us our you your what which who where when how "
        # prepositions and conjunctions
        "of on in at to from by with without for into onto over under across through along about around near "
        "toward towards between off out upon within against behind beside "
        "and or but while as than then so also too both either "
        # a story's connectives (its scenes' prompts come from its sentences)
        "next finally after afterwards later meanwhile once suddenly "
        # auxiliaries and modals
        "is are was were be been being am do does did can could would will shall should may might must has have had "
        # politeness and the request frame
        "please let just now here there very really again want need like get make show generate create render draw "
        "produce give see animate "
        # what is being asked for, and where
        "video videos clip clips animation animations movie film scene shot frame frames screen background picture "
        "image"
    ).split()
)
ZH_STOP_WORDS = (
    "生成",
    "视频",
    "动画",
    "画面",
    "影片",
    "短片",
    "片段",
    "屏幕",
    "背景",
    "制作",
    "展示",
    "显示",
    "同时",
    "一段",
    "一下",
    "我们",
    "你们",
    "他们",
    "她们",
    "它们",
    "帮我",
    "给我",
    "一个",
    "这个",
    "那个",
    # a story's connectives (its scenes' prompts come from its sentences)
    "首先",
    "然后",
    "接着",
    "之后",
    "后来",
    "随后",
    "最后",
    "最终",
    "其次",
)
ZH_STOP_CHARS = frozenset(
    "的了着过地得之个只条张头位段幅匹支颗一在是有和与及或而且也都就又还正请帮给让把被将使"
    "我你他她它们这那从向往到朝对于以为上下中里内外边方面侧要想能会可看画做吧呢吗啊呀"
    "零〇一二两三四五六七八九十百千万"
)


_NUMBER = re.compile(r"(?<![\d.])[-−]?\d+(?:\.\d+)*")
_ONE_DIGIT = re.compile(r"\d")
_SYMBOLS = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F\u200D]+")  # emoji, dingbats, stars
_SLOT = re.compile(r"\{[^{}]*\}")  # a template's slot ("{c}digit {n}"): a name for code, not a word of a caption
_NOT_CAPTION_TEXT = frozenset({"LANGS"})  # upper-case names whose strings are codes ("en", "zh"), not caption text


def _md_vocabulary() -> tuple[frozenset[str], frozenset[str]]:
    """The words and non-ASCII characters Moving Digits' caption templates and paraphrase grammar use: every
    string of their upper-case tables, less the templates' slot names."""
    from vidfuse.data import digit_captions, moving_digits, paraphrase

    texts: list[str] = []

    def walk(v) -> None:
        if isinstance(v, str):
            texts.append(_SLOT.sub(" ", v))
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(k)
                walk(x)
        elif isinstance(v, (list, tuple, frozenset, set)):
            for x in v:
                walk(x)

    for module in (moving_digits, digit_captions, paraphrase):
        for name, value in vars(module).items():
            if (name.isupper() or name.startswith("_") and name[1:2].isupper()) and name not in _NOT_CAPTION_TEXT:
                walk(value)
    text = unicodedata.normalize("NFKC", " ".join(texts)).lower()
    return frozenset(_WORD.findall(text)), frozenset(c for c in text if ord(c) > 127 and c.isalpha())


@lru_cache(maxsize=1)
def moving_digits_vocabulary() -> tuple[frozenset[str], frozenset[str]]:
    return _md_vocabulary()


def describe_training(words, chars) -> str:
    """What a model with this vocabulary was trained on, for messages: "Moving Digits captions" when (nearly)
    all of its words and non-ASCII characters are Moving Digits caption vocabulary, else a count."""
    md_words, md_chars = moving_digits_vocabulary()
    wide = [c for c in chars if ord(c) > 127 and c.isalpha()]
    if words or wide:
        share_w = sum(w in md_words for w in words) / len(words) if words else 1.0
        share_c = sum(c in md_chars for c in wide) / len(wide) if wide else 1.0
        if share_w >= 0.9 and share_c >= 0.9:
            return "Moving Digits captions"
    return f"captions of {len(words)} frequent words and {len(chars)} characters"


class Vocabulary:
    """A model's known words and characters (from its tokenizer), and :meth:`unknown_words` of a prompt."""

    def __init__(self, words, chars, *, trained_on: str | None = None, subjects: int | None = None) -> None:
        self.words = frozenset(words)
        self.chars = frozenset(chars)
        self.trained_on = trained_on or describe_training(self.words, self.chars)
        self.subjects = subjects  # the most digits it draws at once; None: no record, no check

    @classmethod
    def from_tokenizer(cls, tokenizer) -> "Vocabulary | None":
        """The vocabulary of a from-scratch :class:`CharTokenizer`; ``None`` for any other tokenizer (a
        pretrained text encoder has no record of what the video model was trained on)."""
        words, chars = getattr(tokenizer, "words", None), getattr(tokenizer, "chars", None)
        if words is None or chars is None:
            return None
        return cls(words, chars, subjects=getattr(tokenizer, "subjects", None))

    def digits_message(self, prompts: list[str], *, layered: bool = True) -> str | None:
        """The one-line message for the prompts that ask for more digits at once than the model draws (their
        numbers in a batch), or None when none does. With ``layered`` (the pipeline draws a prompt it can split
        one layer per digit: :meth:`subject_layers`), only the prompts it cannot split count."""
        beyond = [self.digits_beyond(p) if p and not (layered and self.subject_layers(p)) else None for p in prompts]
        if not any(beyond):
            return None
        which = None if len(prompts) == 1 else [i for i, b in enumerate(beyond) if b]
        return too_many_digits_message(self.subjects, [b for b in beyond if b], which)

    def digits_beyond(self, prompt: str) -> DigitsAsked | None:
        """How ``prompt`` asks for more digits at once than the model draws (``None``: it does not, or the
        model keeps no record)."""
        if self.subjects is None:
            return None
        asked = digits_asked(prompt)
        return asked if asked.total > self.subjects else None

    def subject_layers(self, prompt: str) -> list[str] | None:
        """One clause per digit (:func:`vidfuse.data.clauses.subject_clauses`) when ``prompt`` asks for more
        digits at once than the model draws and splits safely, so that each can be drawn as a layer of one
        scene; ``None`` otherwise (the prompt is drawn whole)."""
        if self.digits_beyond(prompt) is None:
            return None
        return subject_clauses(prompt)

    def spelled(self, text: str) -> str:
        """``text`` (lower case, as :func:`vidfuse.data.durations.model_text` gives it) with each word this model
        never saw that is one typing slip from one it knows read as that word ("rigth" → "right", "blu" →
        "blue"; :func:`vidfuse.data.wording.correct_spelling`); as it is for a characters-only tokenizer."""
        if not self.words:
            return text
        return correct_spelling(text, self._spelling_words)

    @cached_property
    def _spelling_words(self) -> frozenset[str]:
        """The words a slip is corrected to, and that are never themselves taken for slips (built once)."""
        return self.words | EN_STOP_WORDS | EN_NUMBER_WORDS | COUNT_WORDS

    def _word_known(self, w: str) -> bool:
        if len(w) == 1 or w in EN_STOP_WORDS or w in EN_NUMBER_WORDS or w in self.words:
            return True
        if w in SHADE_WORDS and self.words:  # "navy": read as "navy blue" (vidfuse.data.wording)
            return True
        if self.subjects is not None and w in COUNT_WORDS:  # "two digits: …": the layering reads it (subjects.py)
            return True
        return not self.words and all(c in self.chars for c in w)  # a characters-only tokenizer

    def unknown_words(self, prompt: str) -> list[str]:
        """The words and character runs of ``prompt`` this model never saw in training, in order, each once
        (see the module docstring for the rule)."""
        if not isinstance(prompt, str):
            raise InputError(f"a prompt must be a str, got {type(prompt).__name__}")
        text = unicodedata.normalize("NFKC", prompt).lower()
        out: list[str] = []

        def add(w: str) -> None:
            if w not in out:
                out.append(w)

        at = 0
        for m in _WORD.finditer(text):
            self._other_scripts(text[at : m.start()], add)
            if not self._word_known(m.group()):
                add(m.group())
            at = m.end()
        self._other_scripts(text[at:], add)
        if not out and text.strip() and not any(c.isalnum() for c in text):  # "?!.,;:": nothing to draw
            add(text.strip()[:20])
        return out

    def _other_scripts(self, text: str, add) -> None:
        # numbers a digit model cannot draw as one digit ("10", "3.5", "-3"; not "3", nor a size or time, which
        # digits_asked reads), and symbols (emoji, ★): each one unknown "word"
        for m in _NUMBER.finditer(text):
            if not _ONE_DIGIT.fullmatch(m.group()):
                add(m.group())
        for m in _SYMBOLS.finditer(text):
            add(m.group())
        run, i = "", 0
        while i < len(text):
            frame = next((w for w in ZH_STOP_WORDS if text.startswith(w, i)), None)
            if frame:
                i += len(frame)
                if run:
                    add(run)
                    run = ""
                continue
            c = text[i]
            i += 1
            shade = text[i - 1 : i + 1] in SHADE_PAIRS and bool(self.words)  # 粉红色, not 粉笔
            known = c in self.chars or c in ZH_STOP_CHARS or shade
            if not c.isalpha() or known:
                if run:
                    add(run)
                    run = ""
            else:
                run += c
        if run:
            add(run)


class UnknownWordsWarning(UserWarning):
    """A prompt holds words the model was never trained on; ``words`` names them, ``trained_on`` says
    what the model was trained on."""

    def __init__(self, message: str, words: list[str], trained_on: str) -> None:
        super().__init__(message)
        self.words = list(words)
        self.trained_on = trained_on


class StrictUncheckedWarning(UserWarning):
    """``strict`` was asked of a model that keeps no record of the words it was trained on (a pretrained text
    encoder without one, an open-domain pipeline): nothing could be checked."""


STRICT_UNCHECKED = (
    "--strict (strict=True) checks a prompt against the words the model was trained on, and this model keeps no "
    "such record: nothing was checked"
)


class UnknownWordsError(InputError):
    """``strict`` generation refused a prompt with words the model was never trained on."""

    def __init__(self, message: str, words: list[str], trained_on: str) -> None:
        super().__init__(message)
        self.words = list(words)
        self.trained_on = trained_on


class TooManyDigitsWarning(UserWarning):
    """A prompt asks for more digits at once than the model draws; the clip shows fewer."""


class TooManyDigitsError(InputError):
    """``strict`` generation refused a prompt that asks for more digits at once than the model draws."""


def too_many_digits_message(subjects: int, asked: list[DigitsAsked], prompts: list[int] | None = None) -> str:
    """ "this model draws one digit per clip; the prompt asks for 5 (1, 2, 3, 4, 5): only one will be drawn — give
    each digit its own clause …" (one line), with the prompt numbers of a batch."""
    most = max(a.total for a in asked)
    named = list(dict.fromkeys(d for a in asked for d in a.named))  # each digit once, in order
    which = ""
    if named:
        which = f" ({', '.join(map(str, named))})"
    whose = (
        "the prompt asks"
        if not prompts
        else f"prompt{'s' if len(prompts) > 1 else ''} "
        + ", ".join(f"#{i}" for i in prompts)
        + (" ask" if len(prompts) > 1 else " asks")
    )
    n = _COUNT_WORDS.get(subjects, str(subjects))
    return (
        f"this model draws {n} digit{'s' if subjects > 1 else ''} per clip; {whose} for {most}{which}: only {n} "
        f"will be drawn — give each digit its own clause with its own motion, at most {MAX_SUBJECTS} (drawn as layers; "
        "not with a first frame), or tell it as a story (one scene per digit)"
    )


_COUNT_WORDS = {1: "one", 2: "two", 3: "three"}


OPEN_DOMAIN_HINT = (
    "for open-domain video pass --model DIR with a pretrained diffusers pipeline folder "
    "(README: Pretrained video models)"
)


def unknown_words_message(trained_on: str, words: list[str], prompts: list[int] | None = None) -> str:
    """ "this model was trained on Moving Digits captions; it does not know: cat, piano" (one line), with the
    prompt numbers of a batch."""
    if not prompts:
        which = "it does not know"
    else:
        many = len(prompts) > 1
        numbers = ", ".join(f"#{i}" for i in prompts)
        which = f"prompt{'s' if many else ''} {numbers} hold{'' if many else 's'} words it does not know"
    return f"this model was trained on {trained_on}; {which}: {', '.join(words)}"
