"""The planner (the seed's "文本生成", section 2.1): a script becomes scenes, each a narration and a visual prompt.

Rules, deterministic (same script → same scenes):

1. **Checks.** A script longer than :data:`MAX_SCRIPT_CHARS` is refused with :class:`InputError`,
   as is one with no letters or digits (empty, or only punctuation / symbols) and one holding
   control, private-use or unassigned characters (they come from binary files or broken
   encodings, and neither espeak nor a font can show them); so are stories past the limits
   below.
2. **Markdown.** Markup is removed and the words kept (:func:`~vidfuse.story.markdown.strip_markdown`):
   ``#`` headings become paragraphs of their own, ``**bold**``, ``*em*``, ``_em_``, ``~~struck~~`` and
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
   weight stays within :data:`SCENE_WEIGHT` (:func:`~vidfuse.story.spoken.spoken_weight`: about 15 units a
   second of espeak's speech, so about 10 s a scene) and they name no digit the scene does not show
   already (:func:`~vidfuse.data.subjects.digits_asked`): "A red three moves left. A blue seven goes up." is
   two scenes, since each scene draws one of its sentences and the seven would be narrated, never drawn
   (an ordered list's numbers name no digit). A sentence heavier than :data:`SCENE_WEIGHT` is cut into
   several scenes, at clause punctuation (``, ; :`` and ``，、；：``) where it can, else between words,
   else (Chinese) between characters.
6. **Visual prompt.** The model was trained on one-sentence captions ("the red digit 3 is moving
   to the left", "红色的数字7向下移动"), so a scene's prompt is one of its sentences, kept as
   written: the one with the most caption-like words (digits and number words, colours, motion
   and direction words, English and Chinese; the first sentence on a tie), without its closing
   punctuation and quotes, trimmed to :data:`~vidfuse.story.prompts.MAX_PROMPT_CHARS` characters at a word
   boundary (Chinese at any character) (:func:`~vidfuse.story.prompts.rule_prompt`). The renderer trims it
   further if the model's tokenizer needs.

**Limits** (:mod:`vidfuse.story.limits`). They bound what one story costs (the render's time grows with
its length, and its frames are encoded as they are drawn); every way in (text, JSON, a list of
:class:`Scene`) is checked against them before any speech or frame is made, and :func:`validate_script`
runs the same checks on a script sent to a server:

==============================  =========================================================
:data:`MAX_SCRIPT_CHARS`        20,000 characters of script (Markdown included)
:data:`MAX_SCENES`              60 scenes
:data:`MAX_SCENE_SECONDS`       60 s: a scene's narration, as estimated, and a JSON ``duration``
:data:`MAX_SCENE_PROMPT_CHARS`  300 characters: a JSON scene's own ``prompt``
:data:`MAX_STORY_SECONDS`       600 s (10 minutes): the whole story, as estimated
==============================  =========================================================

Lengths are estimated from the text (:func:`~vidfuse.story.spoken.estimate_seconds`, within about 10 % of
espeak at its default rate, scaled by a chosen ``rate``). Text whose speech is much longer than its
characters suggest (long numbers, symbols) is caught while it is spoken: the composer refuses a
scene or story whose *spoken* length passes its limit by more than :data:`SPOKEN_SLACK`.

Optionally a local causal language model (a Hugging Face folder, loaded with
``local_files_only=True`` and safetensors weights only) rewrites each scene's prompt
(:class:`~vidfuse.story.prompts.LMPromptWriter`); its output is sanitised (first line, printable, at
most :data:`~vidfuse.story.prompts.MAX_PROMPT_CHARS` characters) and the rule prompt is kept when nothing
usable is left.

A script may also be JSON, ``[{"narration": …, "prompt": …, "duration": …}, …]``, which skips
planning (and Markdown stripping: its fields are taken as written); see :func:`load_script`.

This module plans and loads (plain text, Markdown, JSON, files, :class:`Scene` lists) and re-exports the
names of the modules it uses: :mod:`~vidfuse.story.scene`, :mod:`~vidfuse.story.limits`,
:mod:`~vidfuse.story.spoken` (the length estimate), :mod:`~vidfuse.story.markdown`,
:mod:`~vidfuse.story.prompts` and :mod:`~vidfuse.story.text_rules`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Sequence

from vidfuse.data.subjects import digits_asked
from vidfuse.errors import InputError
from vidfuse.fileio import read_text_file
from vidfuse.media.speech import split_sentences

# Imported from here by the composer and its timeline, where the planner's constants used to live.
from vidfuse.story.limits import (  # noqa: F401
    LANGS,
    MAX_SCENE_PROMPT_CHARS,
    MAX_SCENE_SECONDS,
    MAX_SCENES,
    MAX_SCRIPT_CHARS,
    MAX_STORY_SECONDS,
    SPOKEN_SLACK,
    check_chars,
    check_lang,
    check_story,
    check_text,
)
from vidfuse.story.markdown import strip_markdown
from vidfuse.story.prompts import (
    MAX_PROMPT_CHARS,
    LMPromptWriter,
    PromptWriter,
    prompt_writer,
    rule_prompt,
    sanitize_prompt,
)
from vidfuse.story.scene import Scene
from vidfuse.story.spoken import (
    CJK_WEIGHT,  # noqa: F401 (re-exported)
    CROSSFADE_S,  # noqa: F401 (re-exported)
    DEFAULT_RATE,  # noqa: F401 (re-exported)
    LEAD_S,  # noqa: F401 (re-exported)
    MIN_SENTENCE_S,  # noqa: F401
    SENTENCE_PAUSE_S,  # noqa: F401 (re-exported)
    TAIL_S,  # noqa: F401 (re-exported)
    WEIGHT_PER_S,  # noqa: F401 (re-exported)
    estimate_seconds,
    scene_seconds,  # noqa: F401 (re-exported)
    speech_seconds,
    split_to_weight,
    spoken_weight,
)
from vidfuse.story.text_rules import has_words, join_text, scene_lang

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

SCENE_WEIGHT = 150  # spoken weight a scene may hold: about 10 s
JSON_KEYS = ("narration", "prompt", "duration")
_JSON_START_RE = re.compile(r"\s*\[\s*\{")


_LIST_NUMBER = re.compile(r"^\s*\d+[.)]\s+")  # "2. Bake it": an ordered list's number, kept as words, names no digit


def plan_story(
    script: str,
    *,
    lang: str = "auto",
    max_chars: int = MAX_SCRIPT_CHARS,
    llm: str | os.PathLike | PromptWriter | None = None,
    rate: int | None = None,
) -> list[Scene]:
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
    check_lang(lang)
    text = check_text(script, max_chars)
    text = strip_markdown(text)
    if not has_words(text):
        raise InputError(
            "the script has no words outside Markdown markup and code blocks (code is not "
            "narrated): write a few sentences to narrate"
        )
    narrations: list[str] = []
    for paragraph in re.split(r"\n[ \t\u3000]*\n", text):
        joined = ""
        for line in paragraph.split("\n"):
            if line.strip():
                joined = join_text(joined, line.strip(), wrapped=True)
        scene, shown = "", set()  # the scene's narration so far and the digits its sentences name
        for sentence in split_sentences(joined):
            for piece in split_to_weight(sentence, SCENE_WEIGHT):  # a very long sentence: several scenes
                candidate = join_text(scene, piece)
                named = set(digits_asked(_LIST_NUMBER.sub("", piece)).named)
                # a scene is drawn from one of its sentences: one that names a digit the scene does not show
                # yet starts a scene of its own, or its digit would be narrated and never drawn
                new_subject = bool(shown) and not named <= shown
                if scene and (new_subject or spoken_weight(candidate) > SCENE_WEIGHT):
                    narrations.append(scene)
                    candidate, shown = piece, set()
                scene = candidate
                shown |= named
        if scene:
            narrations.append(scene)
    narrations = [n for n in narrations if has_words(n)]  # a stray "…" line is no scene
    check_story([Scene(n, "", lang="en") for n in narrations], "the script", rate)
    writer = prompt_writer(llm)
    scenes = []
    for narration in narrations:
        prompt = rule_prompt(narration)
        if writer is not None:
            prompt = writer.rewrite(narration, prompt)
        scenes.append(Scene(narration=narration, prompt=prompt, lang=scene_lang(narration, lang)))
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
        raise InputError(
            f"{path} is {size:,} bytes; a script may hold at most {max_chars:,} characters: "
            "split it into several stories"
        )
    return read_text_file(path, "the script", hint="e.g. iconv -f GBK -t UTF-8 IN > OUT for a GBK file")


def _scenes_from_json(data: Any, lang: str, max_chars: int, where: str, rate: int | None = None) -> list[Scene]:
    if not isinstance(data, list):
        raise InputError(
            f"{where} must be a JSON list of scenes, "
            '[{"narration": "...", "prompt": "...", "duration": 4}], got a JSON '
            f"{type(data).__name__}"
        )
    if not data:
        raise InputError(f"{where} lists no scenes")
    if len(data) > MAX_SCENES:
        raise InputError(
            f"{where} lists {len(data)} scenes; the limit is {MAX_SCENES} (MAX_SCENES): split it into several stories"
        )
    scenes, total = [], 0
    for i, item in enumerate(data, 1):
        at = f"scene {i} of {where}"
        if not isinstance(item, dict):
            raise InputError(
                f'{at} must be a JSON object with "narration" (and optionally "prompt", '
                f'"duration"), got {json.dumps(item, ensure_ascii=False)[:60]}'
            )
        unknown = sorted(set(item) - set(JSON_KEYS))
        if unknown:
            raise InputError(f"{at} has unknown field(s) {unknown}; the fields are {list(JSON_KEYS)}")
        narration = item.get("narration", "")
        if not isinstance(narration, str):
            raise InputError(f'{at}: "narration" must be text, got {type(narration).__name__}')
        duration = item.get("duration")
        if duration is not None:
            if (
                isinstance(duration, bool)
                or not isinstance(duration, (int, float))
                or not 0 < duration <= MAX_SCENE_SECONDS
            ):
                raise InputError(
                    f'{at}: "duration" must be a number of seconds in (0, {MAX_SCENE_SECONDS:g}], got {duration!r}'
                )
            duration = float(duration)
        check_chars(narration, f"the narration of {at}")  # also in an otherwise blank narration
        if narration.strip():
            narration = " ".join(check_text(narration, max_chars, f"the narration of {at}").split())
        elif duration is None:
            raise InputError(f'{at} has no "narration"; give one, or a "duration" for a silent scene')
        else:
            narration = ""
        total += len(narration)
        if total > max_chars:
            raise InputError(
                f"the narrations of {where} hold more than {max_chars:,} characters, the limit: "
                "split it into several stories"
            )
        prompt = item.get("prompt")
        if prompt is None:
            if not narration:
                raise InputError(f'{at} is silent, so it needs a "prompt" for its picture')
            prompt = rule_prompt(narration)
        elif not isinstance(prompt, str) or not has_words(prompt):
            if isinstance(prompt, str):
                check_chars(prompt, f"the prompt of {at}")
            shown = prompt[:60] if isinstance(prompt, str) else prompt
            raise InputError(f'{at}: "prompt" must be text with words, got {shown!r}')
        else:
            prompt = " ".join(
                check_text(
                    prompt,
                    MAX_SCENE_PROMPT_CHARS,
                    f"the prompt of {at}",
                    "shorten it (the model reads one short caption)",
                ).split()
            )
        scenes.append(
            Scene(narration=narration, prompt=prompt, duration_s=duration, lang=scene_lang(narration or prompt, lang))
        )
    check_story(scenes, where, rate)
    return scenes


def is_json_script(text: str) -> bool:
    """Whether script text is the JSON form: it starts (after blanks) with ``[`` then ``{``."""
    return bool(_JSON_START_RE.match(text))


def _from_text(text: str, lang: str, max_chars: int, llm, rate: int | None) -> list[Scene]:
    """Scenes from script text (never a file name): JSON when :func:`is_json_script`, else planned."""
    if not is_json_script(text):
        return plan_story(text, lang=lang, max_chars=max_chars, llm=llm, rate=rate)
    if len(text) > 4 * max_chars + 4096:  # as for a file: JSON escapes take up to 6 characters a character
        raise InputError(
            f"the JSON script is {len(text):,} characters long; a script may hold at most "
            f"{max_chars:,} characters of narration: split it into several stories"
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(
            f"the script looks like JSON but is not valid: {e.msg} at line {e.lineno}, column {e.colno}"
        ) from None
    return _scenes_from_json(data, lang, max_chars, "the JSON script", rate)


def validate_script(
    text: str, *, lang: str = "auto", rate: int | None = None, max_chars: int = MAX_SCRIPT_CHARS
) -> list[Scene]:
    """Check script *text* (plain, Markdown or JSON; never read as a file name) as
    :func:`render_story` will, limits included, and return its scenes (rule prompts).

    Cheap (no speech, no model, no file): for a server to refuse a bad script before it accepts
    a job. ``rate`` is the speaking rate the story will be read at (words a minute, None:
    espeak's default); a slower rate makes a longer story.

    Raises:
        InputError: the message render_story would give, naming the limit or scene at fault.
    """
    check_lang(lang)
    if not isinstance(text, str):
        raise InputError(f"a script is text (str), got {type(text).__name__}")
    return _from_text(text, lang, max_chars, None, rate)


def load_script(
    path_or_text: str | os.PathLike,
    *,
    lang: str = "auto",
    max_chars: int = MAX_SCRIPT_CHARS,
    llm: str | os.PathLike | PromptWriter | None = None,
    rate: int | None = None,
) -> list[Scene]:
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
    check_lang(lang)
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
    check_chars(scene.narration, f"the narration of {at}")
    if scene.narration.strip():
        check_text(scene.narration, MAX_SCRIPT_CHARS, f"the narration of {at}")
    elif scene.duration_s is None:
        raise InputError(f"{at} has no narration; give one, or a duration_s for a silent scene")
    check_text(
        scene.prompt, MAX_SCENE_PROMPT_CHARS, f"the prompt of {at}", "shorten it (the model reads one short caption)"
    )
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
        check_story(script, "the story", rate)
        return list(script)
    return load_script(script, rate=rate, **kwargs)
