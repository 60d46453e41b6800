"""The planner (the seed's "文本生成", section 2.1): a script becomes scenes, each a narration and a visual prompt.

Rules, deterministic (same script → same scenes):

1. **Checks.** A script longer than :data:`MAX_SCRIPT_CHARS` is refused with :class:`InputError`,
   as is one with no letters or digits (empty, or only punctuation / symbols) and one holding
   control, private-use or unassigned characters (they come from binary files or broken
   encodings, and neither espeak nor a font can show them); so are stories past the limits
   below.
2. **Markdown.** Markup is removed and the words kept (:func:`strip_markdown`): ``#`` headings
   become paragraphs of their own, ``**bold**``, ``*em*``, ``_em_``, ``~~struck~~`` and
   ```` `code` ```` keep their text, ``[text](url)`` keeps the text, images ``![alt](url)``
   and link definitions go, ``>`` quote and ``-``/``*``/``+`` bullet markers go (each list item
   ends its sentence; ordered-list numbers are kept), rules (``---``) separate paragraphs.
   Fenced code blocks (```` ``` ```` or ``~~~``) are dropped whole: code is not narration.
   Plain text is left alone (``snake_case``, ``2 * 3``, ``#1`` are not markup).
3. **Paragraphs.** Blank lines separate paragraphs; a scene never spans two. Lines inside a
   paragraph are joined (with a space, or with nothing next to a Chinese or Japanese character).
4. **Sentences.** Each paragraph is split with :func:`vidfuse.media.speech.split_sentences`
   (``. ! ? ;`` followed by a space, and ``。！？；…``), the same split the speech synthesizer and
   the subtitles use, so every sentence becomes one subtitle cue.
5. **Scenes.** Consecutive sentences of a paragraph are packed into one scene while its spoken
   weight stays within :data:`SCENE_WEIGHT` (:func:`spoken_weight`: about 15 units a second of
   espeak's speech, so about 10 s a scene). A sentence heavier than that is cut into several
   scenes, at clause punctuation (``, ; :`` and ``，、；：``) where it can, else between words,
   else (Chinese) between characters.
6. **Visual prompt.** The model was trained on one-sentence captions ("the red digit 3 is moving
   to the left", "红色的数字7向下移动"), so a scene's prompt is one of its sentences, kept as
   written: the one with the most caption-like words (digits and number words, colours, motion
   and direction words, English and Chinese; the first sentence on a tie), without its closing
   punctuation and quotes, trimmed to :data:`MAX_PROMPT_CHARS` characters at a word boundary
   (Chinese at any character). The renderer trims it further if the model's tokenizer needs.

**Limits.** They bound what one story costs (the render's time grows with its length, and its
frames are encoded as they are drawn); every way in (text, JSON, a list of :class:`Scene`) is
checked against them before any speech or frame is made, and :func:`validate_script` runs the
same checks on a script sent to a server:

==============================  =========================================================
:data:`MAX_SCRIPT_CHARS`        20,000 characters of script (Markdown included)
:data:`MAX_SCENES`              60 scenes
:data:`MAX_SCENE_SECONDS`       60 s: a scene's narration, as estimated, and a JSON ``duration``
:data:`MAX_SCENE_PROMPT_CHARS`  300 characters: a JSON scene's own ``prompt``
:data:`MAX_STORY_SECONDS`       600 s (10 minutes): the whole story, as estimated
==============================  =========================================================

Lengths are estimated from the text (:func:`estimate_seconds`, within about 10 % of espeak at
its default rate, scaled by a chosen ``rate``). Text whose speech is much longer than its
characters suggest (long numbers, symbols) is caught while it is spoken: the composer refuses a
scene or story whose *spoken* length passes its limit by more than :data:`SPOKEN_SLACK`.

Optionally a local causal language model (a Hugging Face folder, loaded with
``local_files_only=True`` and safetensors weights only) rewrites each scene's prompt
(:class:`LMPromptWriter`); its output is sanitised (first line, printable, at most
:data:`MAX_PROMPT_CHARS` characters) and the rule prompt is kept when nothing usable is left.

A script may also be JSON, ``[{"narration": …, "prompt": …, "duration": …}, …]``, which skips
planning (and Markdown stripping: its fields are taken as written); see :func:`load_script`.
"""
from __future__ import annotations

import json
import logging
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

from vidfuse.errors import InputError, MissingDependencyError
from vidfuse.text import HAN_RE, UNSPACED_RE, first_bad_char
from vidfuse.media.speech import split_sentences

__all__ = [
    "MAX_PROMPT_CHARS",
    "MAX_SCENES",
    "MAX_SCENE_PROMPT_CHARS",
    "MAX_SCENE_SECONDS",
    "MAX_SCRIPT_CHARS",
    "MAX_STORY_SECONDS",
    "LMPromptWriter",
    "Scene",
    "estimate_seconds",
    "is_json_script",
    "load_script",
    "plan_story",
    "rule_prompt",
    "sanitize_prompt",
    "speech_seconds",
    "split_to_weight",
    "strip_markdown",
    "validate_script",
]

log = logging.getLogger(__name__)

# ---- Limits of one story (the module docstring's table). The server checks a script against
# them before it accepts a job (validate_script); render_story checks them before it speaks.
MAX_SCRIPT_CHARS = 20_000  # characters of script: a bound on the text itself, Markdown included
MAX_SCENES = 60
MAX_SCENE_SECONDS = 60.0  # a scene's narration as estimated, and the most a JSON "duration" may ask for
MAX_SCENE_PROMPT_CHARS = 300  # a JSON scene's own prompt (the model reads far less; see MAX_PROMPT_CHARS)
MAX_STORY_SECONDS = 600.0  # the whole story as estimated: 10 minutes, ≈ 60 full scenes
SPOKEN_SLACK = 1.25  # the spoken length may pass a limit by this factor before the composer refuses it

MAX_PROMPT_CHARS = 60  # the default model reads 64 tokens (characters) including its begin/end markers
SCENE_WEIGHT = 150  # spoken weight a scene may hold: about 10 s
CJK_WEIGHT = 4  # a Chinese character, a digit or a spoken symbol (%, &, emoji…) weighs 4 Latin letters
WEIGHT_PER_S = 15.0  # espeak at its default rate speaks about 15 Latin letters a second
DEFAULT_RATE = 175  # espeak's default words per minute; a rate r scales spoken time by DEFAULT_RATE / r
MIN_SENTENCE_S, SENTENCE_PAUSE_S = 0.8, 0.25  # no sentence is spoken faster; the pause between two
# The composer's timing (vidfuse.story.compose), here so a story's length can be estimated before
# it is rendered: scenes overlap by a crossfade, and a scene's voice sits between LEAD_S and TAIL_S.
CROSSFADE_S = 0.5  # between scenes, and the fade from / to black at the ends
LEAD_S = 0.25  # after a scene's incoming fade, before its voice
TAIL_S = 0.35  # after its voice, before its outgoing fade
LANGS = ("auto", "en", "zh")
JSON_KEYS = ("narration", "prompt", "duration")

_CJK_PUNCT = "。！？；，、：…“”‘’「」『』（）《》【】"
# Caption-like words: what the Moving Digits captions (and captions in general) are made of.
_VISUAL_EN = re.compile(
    r"\b(?:\d|zero|one|two|three|four|five|six|seven|eight|nine|digits?|numbers?|red|green|blue|yellow|"
    r"white|black|orange|purple|pink|grey|gray|cyan|magenta|mov(?:e|es|ed|ing)|go(?:es|ing)?|left|right|"
    r"up|down|bounc(?:e|es|ed|ing)|jump(?:s|ed|ing)?|slid(?:e|es|ing)|fly|flies|flying|fall(?:s|ing)?|"
    r"rise|rises|rising|spin(?:s|ning)?|turn(?:s|ing)?|across|towards?)\b",
    re.IGNORECASE,
)
_VISUAL_ZH = re.compile(r"[0-9０-９零一二三四五六七八九红绿蓝黄白黑橙紫粉灰]|数字|移动|向|左|右|上|下|弹|跳|飞|"
                        r"落|转|滑")
_CLOSING = "。！？；…!?;.,，、：:\"'“”‘’「」『』（）()[]【】《》 \t"
_JSON_START_RE = re.compile(r"\s*\[\s*\{")
_SPOKEN_SIGNS = set("%&@#*/\\|_^~+=<>$€£¥")  # ASCII-ish signs espeak reads as words
# Where a too-long sentence may be cut, best first: after clause punctuation, after a space.
_CUT_RES = (re.compile(r".+?(?:[，,、；;：:—]+\s*|$)", re.S), re.compile(r".+?(?:\s+|$)", re.S))


@dataclass(frozen=True)
class Scene:
    """One scene of a story.

    ``narration`` is spoken and subtitled; ``prompt`` is what the text-to-video model sees;
    ``duration_s`` (optional) is the least the scene lasts, in seconds (it lasts longer when
    its narration needs more); ``lang`` is ``"en"`` or ``"zh"`` (a scene with any Chinese
    character is ``"zh"`` unless the language was forced).
    """

    narration: str
    prompt: str
    duration_s: float | None = None
    lang: str = "en"


class PromptWriter(Protocol):
    """Anything that rewrites a scene's visual prompt, e.g. :class:`LMPromptWriter`."""

    def rewrite(self, narration: str, rule_prompt: str) -> str: ...


# --------------------------------------------------------------------------- checks


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise InputError(f"lang must be one of {', '.join(LANGS)}, not {lang!r}")
    return lang


def _check_text(text: str, max_chars: int, where: str = "the script",
                advice: str = "split it into several stories") -> str:
    """Normalise newlines and refuse text that is too long, empty, wordless or holds bad characters."""
    if not isinstance(text, str):
        raise InputError(f"{where} must be text (str), got {type(text).__name__}")
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    n = len(text.strip())
    if n > max_chars:
        raise InputError(
            f"{where} is {n:,} characters long; the limit is {max_chars:,} characters: {advice}"
        )
    _check_chars(text, where)
    if not text.strip():
        raise InputError(f"{where} is empty: write a few sentences to narrate")
    if not _has_words(text):
        raise InputError(f"{where} has no words, only punctuation or symbols: write a few sentences to narrate")
    return text


def _check_chars(text: str, where: str) -> None:
    """Refuse what is not plain text (:func:`vidfuse.text.first_bad_char`), naming its line and column."""
    bad = first_bad_char(text)
    if bad:
        i, ch, kind = bad
        line = text.count("\n", 0, i) + 1
        col = i - (text.rfind("\n", 0, i) + 1) + 1
        raise InputError(
            f"{where} holds U+{ord(ch):04X}, {kind}, at "
            f"line {line}, column {col}; remove it (control and private-use characters cannot be spoken "
            "or shown)"
        )


def _has_words(text: str) -> bool:
    return any(unicodedata.category(c)[0] in "LN" for c in text)


def _scene_lang(text: str, lang: str) -> str:
    if lang != "auto":
        return lang
    return "zh" if HAN_RE.search(text) else "en"


def _is_unspaced(ch: str) -> bool:
    """A character of a script written without spaces (Chinese, kana) or a CJK punctuation mark."""
    return bool(UNSPACED_RE.match(ch)) or ch in _CJK_PUNCT


def _join(a: str, b: str, *, wrapped: bool = False) -> str:
    """Join two pieces of one paragraph with a space, or with nothing between Chinese (or Japanese) sentences
    (``wrapped``: between lines of a wrapped paragraph, nothing next to any such character)."""
    if not a:
        return b
    tight_a, tight_b = _is_unspaced(a[-1]), _is_unspaced(b[0])
    if (tight_a or tight_b) if wrapped else (tight_a and tight_b):
        return a + b
    return a + " " + b


def _char_weight(c: str) -> int:
    if c.isspace():
        return 0
    if HAN_RE.match(c) or c in _SPOKEN_SIGNS:  # a Chinese character is a syllable; kana and Hangul stay 1
        return CJK_WEIGHT
    cat = unicodedata.category(c)
    return CJK_WEIGHT if cat == "Nd" or cat[0] == "S" else 1  # "2024", "%" and "😀" are read as words


def spoken_weight(text: str) -> int:
    """Rough speaking time in units of one Latin letter (:data:`WEIGHT_PER_S` a second): a Chinese
    character, a digit or a symbol that is read out (``%``, ``&``, ``+``, emoji) counts 4."""
    return sum(_char_weight(c) for c in text)


def _rate_factor(rate: int | None) -> float:
    return 1.0 if rate is None else DEFAULT_RATE / max(1, rate)


def speech_seconds(narration: str, *, rate: int | None = None) -> float:
    """Estimated length of ``narration`` spoken by espeak at ``rate`` words a minute (None: its
    default), sentence by sentence as :func:`vidfuse.media.speech.synthesize` speaks it: each
    pronounceable sentence at least :data:`MIN_SENTENCE_S`, with :data:`SENTENCE_PAUSE_S` between."""
    spoken = [s for s in split_sentences(narration) if _has_words(s)]
    if not spoken:
        return 0.0
    talk = sum(max(MIN_SENTENCE_S, spoken_weight(s) / WEIGHT_PER_S) for s in spoken)
    return talk * _rate_factor(rate) + SENTENCE_PAUSE_S * (len(spoken) - 1)


def scene_seconds(speech_s: float, duration_s: float | None = None) -> float:
    """How long a scene lasts with ``speech_s`` of narration (the composer's timing, before it is
    rounded to whole frames): fade in, lead, voice, tail, fade out, or its ``duration_s`` if longer."""
    need = 2 * CROSSFADE_S + LEAD_S + speech_s + TAIL_S
    return max(need, duration_s) if duration_s is not None else need


def estimate_seconds(scenes: Sequence[Scene], *, rate: int | None = None) -> float:
    """Estimated length of a story, crossfades counted once: what :data:`MAX_STORY_SECONDS` bounds."""
    if not scenes:
        return 0.0
    total = sum(scene_seconds(speech_seconds(s.narration, rate=rate), s.duration_s) for s in scenes)
    return total - CROSSFADE_S * (len(scenes) - 1)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} minutes" if seconds >= 90 else f"{seconds:.0f} s"


def _check_story(scenes: Sequence[Scene], where: str, rate: int | None) -> None:
    """Refuse a story past :data:`MAX_SCENES`, :data:`MAX_SCENE_SECONDS` or :data:`MAX_STORY_SECONDS`.

    ``where`` names the script in messages (``"the script"``, ``"story.json"``)."""
    for i, scene in enumerate(scenes, 1):
        spoken = speech_seconds(scene.narration, rate=rate)
        if spoken > MAX_SCENE_SECONDS:
            raise InputError(
                f"scene {i} of {where} ({scene.narration[:30]!r}…) would be spoken for about {spoken:.0f} s; "
                f"a scene's narration may last at most {MAX_SCENE_SECONDS:g} s (about "
                f"{int(MAX_SCENE_SECONDS * WEIGHT_PER_S):,} Latin letters or "
                f"{int(MAX_SCENE_SECONDS * WEIGHT_PER_S / CJK_WEIGHT)} Chinese characters): split it into "
                "several scenes"
            )
    total = estimate_seconds(scenes, rate=rate)
    if total > MAX_STORY_SECONDS:
        raise InputError(
            f"{where} would make a story of about {_minutes(total)} ({len(scenes)} scenes); the limit is "
            f"{_minutes(MAX_STORY_SECONDS)} (MAX_STORY_SECONDS): shorten it or split it into several stories"
        )
    if len(scenes) > MAX_SCENES:
        raise InputError(f"{where} makes {len(scenes)} scenes; the limit is {MAX_SCENES} (MAX_SCENES): "
                         "shorten it or split it into several stories")


def split_to_weight(text: str, max_weight: int, weight=spoken_weight) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_weight``: after clause punctuation where possible,
    else after spaces, else (Chinese, or one very long word) between characters. Greedy, so the
    pieces are as long as they may be; joined back (with a space, or nothing between Chinese
    characters) they give the text again."""

    def atoms(piece: str, level: int) -> list[str]:
        if weight(piece) <= max_weight:
            return [piece]
        if level >= len(_CUT_RES):
            return list(piece)
        return [a for part in _CUT_RES[level].findall(piece) for a in atoms(part, level + 1)]

    pieces, cur, cur_weight = [], "", 0  # a weight is a sum over characters, so it adds up
    for atom in atoms(text, 0):
        w = weight(atom)
        if cur.strip() and cur_weight + w > max_weight:
            pieces.append(cur)
            cur, cur_weight = "", 0
        cur, cur_weight = cur + atom, cur_weight + w
    pieces.append(cur)
    return [p.strip() for p in pieces if p.strip()]


# --------------------------------------------------------------------------- Markdown

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HEADING_RE = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+|$)")
_BREAK_RE = re.compile(r"^ {0,3}(?:(?:[*_-][ \t]*){3,}|=+|-+)[ \t]*$")  # a rule or a setext underline
_QUOTE_RE = re.compile(r"^ {0,3}(?:>[ \t]?)+")
_BULLET_RE = re.compile(r"^[ \t]*[-*+•][ \t]+(?:\[[ xX]\][ \t]+)?")
_ORDERED_RE = re.compile(r"^[ \t]*\d{1,9}[.)][ \t]+")
_LINK_DEF_RE = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]*<?[^\s>]+>?(?:[ \t]+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?[ \t]*$")
_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")
_ESCAPED = 0xF0000  # escaped punctuation is parked in a private-use plane, which scripts may not hold
_CODE_SPAN_RE = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)")
_URL = r"(?:<[^<>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*"
_IMAGE_RE = re.compile(r"!\[[^\[\]]*\](?:\(" + _URL + r"\)|\[[^\[\]]*\])")
# An emphasis span holds no delimiter of its own kind and a link text no bracket, so a pattern
# never scans past the next candidate: linear time on hostile input such as "*a " * 6000.
_INLINE_RES = (
    (_IMAGE_RE, ""),  # images: not narration
    (re.compile(r"\[([^\[\]]+)\]\(" + _URL + r"\)"), r"\1"),  # [text](url)
    (re.compile(r"\[([^\[\]]+)\]\[[^\[\]]*\]"), r"\1"),  # [text][ref]
    (re.compile(r"<((?:https?|ftp|mailto):[^<>\s]+|[^<>\s@]+@[^<>\s@]+)>"), r"\1"),  # <autolink>
    (re.compile(r"\*\*(?=[^\s*])([^*]+?)(?<=[^\s*])\*\*"), r"\1"),
    (re.compile(r"(?<!\w)__(?=[^\s_])([^_]+?)(?<=[^\s_])__(?!\w)"), r"\1"),
    (re.compile(r"\*(?=[^\s*])([^*]+?)(?<=[^\s*])\*"), r"\1"),  # *em*, also inside a word
    (re.compile(r"(?<!\w)_(?=[^\s_])([^_]+?)(?<=[^\s_])_(?!\w)"), r"\1"),  # _em_, never inside snake_case
    (re.compile(r"~~(?=[^\s~])([^~]+?)(?<=[^\s~])~~"), r"\1"),
)
_SENTENCE_END = set(".!?;:。！？；：…")
_CLOSE_QUOTES = "\"'”’」』）)]"


def _strip_inline(line: str) -> str:
    """Inline markup off one line: code spans keep their text as written, the rest loses emphasis,
    link and image syntax; backslash escapes keep their character."""
    line = _ESCAPE_RE.sub(lambda m: chr(_ESCAPED + ord(m.group(1))), line)
    parts = _CODE_SPAN_RE.split(line)  # text, ticks, code, text, ticks, code, …, text
    out = []
    for i, part in enumerate(parts):
        if i % 3 == 1:
            continue
        if i % 3 == 2:
            out.append(part[1:-1] if len(part) > 2 and part[0] == part[-1] == " " else part)
            continue
        for _ in range(3):  # inner spans first: "**bold *and em***" takes two rounds
            before = part
            for pattern, repl in _INLINE_RES:
                part = pattern.sub(repl, part)
            if part == before:
                break
        out.append(part)
    text = "".join(out)
    if text != line:
        text = re.sub(r"[ \t]{2,}", " ", text)
        if _IMAGE_RE.search(line):  # "a digit ![pic](a.png)." → "a digit."
            text = re.sub(r"(?<=\S) ([.,;:!?。，；：！？])", r"\1", text)
    return "".join(chr(ord(c) - _ESCAPED) if ord(c) >= _ESCAPED else c for c in text)


def _end_sentence(line: str) -> str:
    """``line`` ending a sentence: a list item without closing punctuation gets a full stop."""
    line = line.rstrip()
    core = line.rstrip(_CLOSE_QUOTES)
    if not core or core[-1] in _SENTENCE_END or not _has_words(line):
        return line
    return line + ("。" if _is_unspaced(core[-1]) else ".")


def strip_markdown(text: str, where: str = "the script") -> str:
    """Markdown markup off a script, its words kept (rule 2 of the module docstring).

    Block structure becomes what the planner reads: a heading or a rule separates paragraphs,
    each list item ends its sentence, and a fenced code block is dropped with its content. Text
    that is not Markdown comes back as it was.

    >>> strip_markdown("# Title\\n\\n**The red** digit [3](http://x) moves `left`.")
    'Title\\n\\nThe red digit 3 moves left.'

    Raises:
        InputError: a code fence that is never closed (the rest of the script would be lost).
    """
    out: list[str] = []
    items: list[int] = []  # indices in ``out`` where a list item starts
    fence: tuple[str, int, int] | None = None  # (fence character, its length, the line it opened)
    for number, line in enumerate(text.split("\n"), 1):
        if fence is not None:
            closing, indent = line.strip(), len(line) - len(line.lstrip())
            if closing and set(closing) == {fence[0]} and len(closing) >= fence[1] and indent < 4:
                fence = None
                out.append("")
            continue
        m = _FENCE_RE.match(line)
        if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
            fence = (m.group(1)[0], len(m.group(1)), number)
            out.append("")
            continue
        if _LINK_DEF_RE.match(line):
            continue
        line = _QUOTE_RE.sub("", line)
        if _BREAK_RE.match(line):
            out.append("")
            continue
        m = _HEADING_RE.match(line)
        if m:
            title = line[m.end():].rstrip()
            if title.rstrip("#") != title and (not title.rstrip("#") or title.rstrip("#")[-1] in " \t"):
                title = title.rstrip("#").rstrip()  # "## Title ##": the closing hashes go
            out += ["", _strip_inline(title), ""]
            continue
        m = _BULLET_RE.match(line)
        if m or _ORDERED_RE.match(line):
            items.append(len(out))
            line = line[m.end():] if m else line.lstrip()  # an ordered item keeps its number
        out.append(_strip_inline(line))
    if fence is not None:
        mark = fence[0] * fence[1] if fence[1] <= 10 else f"{fence[0] * 3}…, {fence[1]} long"
        raise InputError(f"{where} opens a code block ({mark}) at line {fence[2]} and never closes it: close "
                         "it with as long a fence on a line of its own, or remove it (code blocks are not narrated)")
    # Each list item (with its continuation lines) ends its sentence.
    starts, last = set(items), None
    for i, line in enumerate(out + [""]):
        if (i in starts or not line.strip()) and last is not None:
            out[last] = _end_sentence(out[last])
            last = None
        if i in starts or (last is not None and line.strip()):
            last = i
    return re.sub(r"\n(?:[ \t]*\n){2,}", "\n\n", "\n".join(out)).strip("\n")


# --------------------------------------------------------------------------- prompts


def _trim(text: str, max_chars: int) -> str:
    """Cut ``text`` to ``max_chars`` at a word boundary (or anywhere in Chinese or Japanese / one long word)."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    nxt = text[max_chars]
    if not nxt.isspace() and not UNSPACED_RE.match(nxt) and not UNSPACED_RE.match(cut[-1]):
        space = cut.rfind(" ")
        if space > max_chars // 3:  # don't throw away most of the prompt for one long word
            cut = cut[:space]
    return cut.rstrip(_CLOSING)


def _clean(sentence: str) -> str:
    s = " ".join(sentence.split())
    return s.strip(_CLOSING)


def rule_prompt(narration: str, *, max_chars: int = MAX_PROMPT_CHARS) -> str:
    """The visual prompt the rules give a narration (rule 5 of the module docstring).

    >>> rule_prompt("Once upon a time. The red digit 3 is moving to the left!")
    'The red digit 3 is moving to the left'
    """
    sentences = [s for s in split_sentences(narration) if _has_words(s)] or [narration]
    scores = [len(_VISUAL_EN.findall(s)) + len(_VISUAL_ZH.findall(s)) for s in sentences]
    best = sentences[scores.index(max(scores))]
    prompt = _trim(_clean(best), max_chars)
    return prompt or _trim(" ".join(narration.split()), max_chars)


def sanitize_prompt(text: str, *, fallback: str, max_chars: int = MAX_PROMPT_CHARS) -> str:
    """Make generated text usable as a prompt: its first non-empty line, printable characters only,
    whitespace collapsed, quotes and closing punctuation stripped, at most ``max_chars`` characters.
    Returns ``fallback`` when nothing with a letter or digit is left."""
    line = next((ln for ln in (text or "").splitlines() if ln.strip()), "")
    line = "".join(c for c in line if unicodedata.category(c)[0] != "C")
    line = _trim(_clean(line), max_chars)
    return line if line and _has_words(line) else fallback


class LMPromptWriter:
    """Rewrites visual prompts with a local causal language model (Hugging Face folder format).

    The folder holds ``config.json``, ``model.safetensors`` and tokenizer files; nothing is
    downloaded (``local_files_only``) and no pickled ``.bin`` weights are loaded. Decoding is
    greedy, so the same model and script give the same prompts. The model sees a short few-shot
    template and writes one caption; :func:`sanitize_prompt` cleans it, and the rule prompt is
    kept when the model writes nothing usable.
    """

    TEMPLATE = (
        "Write a short video caption for each narration.\n"
        "Narration: A little red three walked slowly to the left.\n"
        "Caption: the red digit 3 is moving to the left\n"
        "Narration: 蓝色的七从天上掉了下来。\n"
        "Caption: 蓝色的数字7向下移动\n"
        "Narration: {narration}\n"
        "Caption:"
    )

    def __init__(self, folder: str | os.PathLike, *, max_new_tokens: int = 24,
                 max_chars: int = MAX_PROMPT_CHARS, device: str | None = None) -> None:
        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise InputError(
                f"{folder} is not a language-model folder: it needs config.json, model.safetensors and "
                "tokenizer files (as written by save_pretrained)"
            )
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:  # pragma: no cover - transformers is a dependency
            raise MissingDependencyError(f"the prompt-writing language model needs transformers: {e}; "
                                         "pip install transformers") from e
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, use_safetensors=True)
        except (OSError, ValueError, KeyError) as e:
            raise InputError(f"cannot load a causal language model from {folder}: {e}") from e
        self.tokenizer.truncation_side = "left"  # keep the end of the template ("Caption:")
        self.device = torch.device(device or "cpu")
        self.model.to(self.device).eval()
        self.max_new_tokens, self.max_chars = max_new_tokens, max_chars
        self.context = int(getattr(self.model.config, "max_position_embeddings", 0) or 1024)

    def rewrite(self, narration: str, rule_prompt: str) -> str:
        import torch

        text = self.TEMPLATE.format(narration=" ".join(narration.split()))
        room = max(8, self.context - self.max_new_tokens)
        enc = self.tokenizer(text, return_tensors="pt", truncation=True, max_length=room)
        enc.pop("token_type_ids", None)
        pad = self.tokenizer.pad_token_id
        pad = pad if pad is not None else (self.tokenizer.eos_token_id or 0)
        with torch.no_grad():
            out = self.model.generate(**{k: v.to(self.device) for k, v in enc.items()}, do_sample=False,
                                      max_new_tokens=self.max_new_tokens, pad_token_id=pad)
        new = out[0, enc["input_ids"].shape[1]:]
        raw = self.tokenizer.decode(new, skip_special_tokens=True)
        prompt = sanitize_prompt(raw, fallback=rule_prompt, max_chars=self.max_chars)
        if prompt is rule_prompt:
            log.info("the language model wrote no usable prompt for %r; keeping the rule prompt", narration[:40])
        return prompt


def _writer(llm: str | os.PathLike | PromptWriter | None) -> PromptWriter | None:
    if llm is None or hasattr(llm, "rewrite"):
        return llm  # type: ignore[return-value]
    return LMPromptWriter(llm)


# --------------------------------------------------------------------------- planning


def plan_story(script: str, *, lang: str = "auto", max_chars: int = MAX_SCRIPT_CHARS,
               llm: str | os.PathLike | PromptWriter | None = None, rate: int | None = None) -> list[Scene]:
    """Split a script (English, Chinese or mixed; plain text or Markdown) into scenes with
    narrations and visual prompts.

    Args:
        script: the story text; blank lines separate paragraphs.
        lang: ``"auto"`` (each scene by its characters), ``"en"`` or ``"zh"`` (forced).
        max_chars: the longest script accepted.
        llm: a language-model folder (or a :class:`PromptWriter`) that rewrites each prompt;
            ``None`` keeps the rule prompts.
        rate: the speaking rate the story will be read at (words a minute; None: espeak's
            default), for the length limits.

    Raises:
        InputError: empty, wordless, too long or holding unusable characters; an unclosed code
            fence; past a limit (:data:`MAX_SCENES`, :data:`MAX_STORY_SECONDS`). Checked before
            ``llm`` is loaded.
    """
    _check_lang(lang)
    text = _check_text(script, max_chars)
    text = strip_markdown(text)
    if not _has_words(text):
        raise InputError("the script has no words outside Markdown markup and code blocks (code is not "
                         "narrated): write a few sentences to narrate")
    narrations: list[str] = []
    for paragraph in re.split(r"\n[ \t\u3000]*\n", text):
        joined = ""
        for line in paragraph.split("\n"):
            if line.strip():
                joined = _join(joined, line.strip(), wrapped=True)
        scene = ""
        for sentence in split_sentences(joined):
            for piece in split_to_weight(sentence, SCENE_WEIGHT):  # a very long sentence: several scenes
                candidate = _join(scene, piece)
                if scene and spoken_weight(candidate) > SCENE_WEIGHT:
                    narrations.append(scene)
                    candidate = piece
                scene = candidate
        if scene:
            narrations.append(scene)
    narrations = [n for n in narrations if _has_words(n)]  # a stray "…" line is no scene
    _check_story([Scene(n, "", lang="en") for n in narrations], "the script", rate)
    writer = _writer(llm)
    scenes = []
    for narration in narrations:
        prompt = rule_prompt(narration)
        if writer is not None:
            prompt = writer.rewrite(narration, prompt)
        scenes.append(Scene(narration=narration, prompt=prompt, lang=_scene_lang(narration, lang)))
    return scenes


def _is_path_like(value: str) -> bool:
    """A str names a file when it is one line and either exists or ends in a script suffix."""
    if "\n" in value or len(value) > 4096 or not value.strip():
        return False
    p = Path(value.strip())
    if p.suffix.lower() in (".txt", ".json", ".md"):
        return True
    try:
        return p.is_file()
    except OSError:  # e.g. a one-line story longer than a file name may be
        return False


def _read_file(path: Path, max_chars: int) -> str:
    if not path.exists():
        where = "" if path.is_absolute() else f" (relative to {Path.cwd()})"
        raise InputError(f"script file not found: {path}{where}")
    if not path.is_file():
        raise InputError(f"{path} is not a file; pass a .txt or .json script")
    # UTF-8 takes up to 4 bytes a character: anything bigger cannot be within the limit.
    size = path.stat().st_size
    if size > 4 * max_chars + 4096:
        raise InputError(f"{path} is {size:,} bytes; a script may hold at most {max_chars:,} characters: "
                         "split it into several stories")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read the script {path}: {e.strerror or e}") from e
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(
            f"{path} is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); save it as UTF-8 "
            "(e.g. iconv -f GBK -t UTF-8 IN > OUT for a GBK file)"
        ) from None


def _scenes_from_json(data: Any, lang: str, max_chars: int, where: str, rate: int | None = None) -> list[Scene]:
    if not isinstance(data, list):
        raise InputError(f"{where} must be a JSON list of scenes, "
                         '[{"narration": "...", "prompt": "...", "duration": 4}], got a JSON '
                         f"{type(data).__name__}")
    if not data:
        raise InputError(f"{where} lists no scenes")
    if len(data) > MAX_SCENES:
        raise InputError(f"{where} lists {len(data)} scenes; the limit is {MAX_SCENES} (MAX_SCENES): split it "
                         "into several stories")
    scenes, total = [], 0
    for i, item in enumerate(data, 1):
        at = f"scene {i} of {where}"
        if not isinstance(item, dict):
            raise InputError(f"{at} must be a JSON object with \"narration\" (and optionally \"prompt\", "
                             f"\"duration\"), got {json.dumps(item, ensure_ascii=False)[:60]}")
        unknown = sorted(set(item) - set(JSON_KEYS))
        if unknown:
            raise InputError(f"{at} has unknown field(s) {unknown}; the fields are {list(JSON_KEYS)}")
        narration = item.get("narration", "")
        if not isinstance(narration, str):
            raise InputError(f"{at}: \"narration\" must be text, got {type(narration).__name__}")
        duration = item.get("duration")
        if duration is not None:
            if isinstance(duration, bool) or not isinstance(duration, (int, float)) or \
                    not 0 < duration <= MAX_SCENE_SECONDS:
                raise InputError(f"{at}: \"duration\" must be a number of seconds in (0, {MAX_SCENE_SECONDS:g}], "
                                 f"got {duration!r}")
            duration = float(duration)
        _check_chars(narration, f"the narration of {at}")  # also in an otherwise blank narration
        if narration.strip():
            narration = " ".join(_check_text(narration, max_chars, f"the narration of {at}").split())
        elif duration is None:
            raise InputError(f"{at} has no \"narration\"; give one, or a \"duration\" for a silent scene")
        else:
            narration = ""
        total += len(narration)
        if total > max_chars:
            raise InputError(f"the narrations of {where} hold more than {max_chars:,} characters, the limit: "
                             "split it into several stories")
        prompt = item.get("prompt")
        if prompt is None:
            if not narration:
                raise InputError(f"{at} is silent, so it needs a \"prompt\" for its picture")
            prompt = rule_prompt(narration)
        elif not isinstance(prompt, str) or not _has_words(prompt):
            if isinstance(prompt, str):
                _check_chars(prompt, f"the prompt of {at}")
            shown = prompt[:60] if isinstance(prompt, str) else prompt
            raise InputError(f"{at}: \"prompt\" must be text with words, got {shown!r}")
        else:
            prompt = " ".join(_check_text(prompt, MAX_SCENE_PROMPT_CHARS, f"the prompt of {at}",
                                          "shorten it (the model reads one short caption)").split())
        scenes.append(Scene(narration=narration, prompt=prompt, duration_s=duration,
                            lang=_scene_lang(narration or prompt, lang)))
    _check_story(scenes, where, rate)
    return scenes


def is_json_script(text: str) -> bool:
    """Whether script text is the JSON form: it starts (after blanks) with ``[`` then ``{``."""
    return bool(_JSON_START_RE.match(text))


def _from_text(text: str, lang: str, max_chars: int, llm, rate: int | None) -> list[Scene]:
    """Scenes from script text (never a file name): JSON when :func:`is_json_script`, else planned."""
    if not is_json_script(text):
        return plan_story(text, lang=lang, max_chars=max_chars, llm=llm, rate=rate)
    if len(text) > 4 * max_chars + 4096:  # as for a file: JSON escapes take up to 6 characters a character
        raise InputError(f"the JSON script is {len(text):,} characters long; a script may hold at most "
                         f"{max_chars:,} characters of narration: split it into several stories")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"the script looks like JSON but is not valid: {e.msg} at line {e.lineno}, "
                         f"column {e.colno}") from None
    return _scenes_from_json(data, lang, max_chars, "the JSON script", rate)


def validate_script(text: str, *, lang: str = "auto", rate: int | None = None,
                    max_chars: int = MAX_SCRIPT_CHARS) -> list[Scene]:
    """Check script *text* (plain, Markdown or JSON; never read as a file name) as
    :func:`render_story` will, limits included, and return its scenes (rule prompts).

    Cheap (no speech, no model, no file): for a server to refuse a bad script before it accepts
    a job. ``rate`` is the speaking rate the story will be read at (words a minute, None:
    espeak's default); a slower rate makes a longer story.

    Raises:
        InputError: the message render_story would give, naming the limit or scene at fault.
    """
    _check_lang(lang)
    if not isinstance(text, str):
        raise InputError(f"a script is text (str), got {type(text).__name__}")
    return _from_text(text, lang, max_chars, None, rate)


def load_script(path_or_text: str | os.PathLike, *, lang: str = "auto", max_chars: int = MAX_SCRIPT_CHARS,
                llm: str | os.PathLike | PromptWriter | None = None, rate: int | None = None) -> list[Scene]:
    """Scenes from a script file (``.txt``/``.md`` planned by :func:`plan_story`, ``.json`` taken
    as is) or text.

    A ``str`` is a file name when it is one line that ends in ``.txt``/``.json``/``.md`` or names
    an existing file; otherwise it is the script itself (JSON when :func:`is_json_script`). To
    check text from someone else, use :func:`validate_script`, which never reads a file.

    The JSON form is a list of objects: ``narration`` (text; may be empty for a silent scene with a
    ``duration``), ``prompt`` (optional, default: the rule prompt of the narration; not rewritten by
    ``llm``; at most :data:`MAX_SCENE_PROMPT_CHARS` characters), ``duration`` (optional seconds, at
    most :data:`MAX_SCENE_SECONDS`: the least the scene lasts). Other fields are refused, so that a
    typo is not silently ignored. ``rate``: see :func:`plan_story`.

    Raises:
        InputError: a missing, unreadable, non-UTF-8 or malformed file, or a bad script.
    """
    _check_lang(lang)
    if isinstance(path_or_text, os.PathLike) or (isinstance(path_or_text, str) and _is_path_like(path_or_text)):
        path = Path(path_or_text).expanduser() if isinstance(path_or_text, str) else Path(path_or_text)
        text = _read_file(path, max_chars)
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as e:
                raise InputError(f"{path} is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
            return _scenes_from_json(data, lang, max_chars, str(path), rate)
        return plan_story(text, lang=lang, max_chars=max_chars, llm=llm, rate=rate)
    if not isinstance(path_or_text, str):
        raise InputError(f"a script is a file path or text, got {type(path_or_text).__name__}")
    return _from_text(path_or_text, lang, max_chars, llm, rate)


def _check_scene(scene: Scene, i: int) -> None:
    """A :class:`Scene` made in Python meets the rules a JSON scene meets."""
    at = f"scene {i} of the story"
    if not isinstance(scene.narration, str) or not isinstance(scene.prompt, str):
        raise InputError(f"{at}: narration and prompt must be text (str)")
    _check_chars(scene.narration, f"the narration of {at}")
    if scene.narration.strip():
        _check_text(scene.narration, MAX_SCRIPT_CHARS, f"the narration of {at}")
    elif scene.duration_s is None:
        raise InputError(f"{at} has no narration; give one, or a duration_s for a silent scene")
    _check_text(scene.prompt, MAX_SCENE_PROMPT_CHARS, f"the prompt of {at}",
                "shorten it (the model reads one short caption)")
    d = scene.duration_s
    if d is not None and (isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 < d <= MAX_SCENE_SECONDS):
        raise InputError(f"{at}: duration_s must be a number of seconds in (0, {MAX_SCENE_SECONDS:g}], got {d!r}")
    if scene.lang not in ("en", "zh"):
        raise InputError(f"{at}: lang must be 'en' or 'zh', not {scene.lang!r}")


def as_scenes(script: str | os.PathLike | Sequence[Scene], *, rate: int | None = None, **kwargs: Any) -> list[Scene]:
    """A list of :class:`Scene` checked as a JSON script is, anything else through :func:`load_script`."""
    if isinstance(script, (list, tuple)):
        if not script:
            raise InputError("the story has no scenes")
        if not all(isinstance(s, Scene) for s in script):
            raise InputError("a list script must hold Scene objects; pass JSON text or a file for dicts")
        if len(script) > MAX_SCENES:
            raise InputError(f"the story has {len(script)} scenes; the limit is {MAX_SCENES} (MAX_SCENES)")
        for i, scene in enumerate(script, 1):
            _check_scene(scene, i)
        _check_story(script, "the story", rate)
        return list(script)
    return load_script(script, rate=rate, **kwargs)
