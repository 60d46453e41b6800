"""Markdown markup off a story script, its words kept (rule 2 of :mod:`vidfuse.story.planner`)."""

from __future__ import annotations

import re

from vidfuse.errors import InputError
from vidfuse.story.text_rules import has_words, is_unspaced

__all__ = ["strip_markdown"]

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
    if not core or core[-1] in _SENTENCE_END or not has_words(line):
        return line
    return line + ("。" if is_unspaced(core[-1]) else ".")


def strip_markdown(text: str, where: str = "the script") -> str:
    """Markdown markup off a script, its words kept (rule 2 of :mod:`vidfuse.story.planner`).

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
            title = line[m.end() :].rstrip()
            if title.rstrip("#") != title and (not title.rstrip("#") or title.rstrip("#")[-1] in " \t"):
                title = title.rstrip("#").rstrip()  # "## Title ##": the closing hashes go
            out += ["", _strip_inline(title), ""]
            continue
        m = _BULLET_RE.match(line)
        if m or _ORDERED_RE.match(line):
            items.append(len(out))
            line = line[m.end() :] if m else line.lstrip()  # an ordered item keeps its number
        out.append(_strip_inline(line))
    if fence is not None:
        mark = fence[0] * fence[1] if fence[1] <= 10 else f"{fence[0] * 3}…, {fence[1]} long"
        raise InputError(
            f"{where} opens a code block ({mark}) at line {fence[2]} and never closes it: close "
            "it with as long a fence on a line of its own, or remove it (code blocks are not narrated)"
        )
    # Each list item (with its continuation lines) ends its sentence.
    starts, last = set(items), None
    for i, line in enumerate(out + [""]):
        if (i in starts or not line.strip()) and last is not None:
            out[last] = _end_sentence(out[last])
            last = None
        if i in starts or (last is not None and line.strip()):
            last = i
    return re.sub(r"\n(?:[ \t]*\n){2,}", "\n\n", "\n".join(out)).strip("\n")
