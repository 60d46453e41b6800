"""The planner (the seed's "文本生成", section 2.1): a script becomes scenes, each a narration and a visual prompt.

Rules, deterministic (same script → same scenes):

1. **Checks.** A script longer than :data:`MAX_SCRIPT_CHARS` (20,000 characters, about 20 minutes
   of English narration or 80 of Chinese) or planned into more than :data:`MAX_SCENES` (60) scenes
   is refused with :class:`InputError`, as is one with no letters or digits (empty, or only
   punctuation / symbols) and one holding control, private-use or unassigned characters (they
   come from binary files or broken encodings, and neither espeak nor a font can show them).
2. **Paragraphs.** Blank lines separate paragraphs; a scene never spans two. Lines inside a
   paragraph are joined (with a space, or with nothing next to a Chinese character).
3. **Sentences.** Each paragraph is split with :func:`vidfuse.media.speech.split_sentences`
   (``. ! ? ;`` followed by a space, and ``。！？；…``), the same split the speech synthesizer and
   the subtitles use, so every sentence becomes one subtitle cue.
4. **Scenes.** Consecutive sentences of a paragraph are packed into one scene while its spoken
   weight stays within :data:`SCENE_WEIGHT` (a Latin character weighs 1, a Chinese character 4,
   since espeak speaks about 15 Latin but 4 Chinese characters a second: about 10 s a scene).
   A sentence heavier than that is a scene of its own.
5. **Visual prompt.** The model was trained on one-sentence captions ("the red digit 3 is moving
   to the left", "红色的数字7向下移动"), so a scene's prompt is one of its sentences, kept as
   written: the one with the most caption-like words (digits and number words, colours, motion
   and direction words, English and Chinese; the first sentence on a tie), without its closing
   punctuation and quotes, trimmed to :data:`MAX_PROMPT_CHARS` characters at a word boundary
   (Chinese at any character). The renderer trims it further if the model's tokenizer needs.

Optionally a local causal language model (a Hugging Face folder, loaded with
``local_files_only=True`` and safetensors weights only) rewrites each scene's prompt
(:class:`LMPromptWriter`); its output is sanitised (first line, printable, at most
:data:`MAX_PROMPT_CHARS` characters) and the rule prompt is kept when nothing usable is left.

A script may also be JSON, ``[{"narration": …, "prompt": …, "duration": …}, …]``, which skips
planning; see :func:`load_script`.
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
from vidfuse.media.speech import split_sentences

__all__ = [
    "MAX_PROMPT_CHARS",
    "MAX_SCENES",
    "MAX_SCRIPT_CHARS",
    "LMPromptWriter",
    "Scene",
    "load_script",
    "plan_story",
    "rule_prompt",
    "sanitize_prompt",
]

log = logging.getLogger(__name__)

MAX_SCRIPT_CHARS = 20_000  # ≈ 20 min of English narration at espeak's 175 words a minute
MAX_SCENES = 60
MAX_SCENE_SECONDS = 60.0  # the most a JSON "duration" may ask for
MAX_PROMPT_CHARS = 60  # the default model reads 64 tokens (characters) including its begin/end markers
SCENE_WEIGHT = 150  # spoken weight a scene may hold (Latin char = 1, CJK char = 4): about 10 s
CJK_WEIGHT = 4
LANGS = ("auto", "en", "zh")
JSON_KEYS = ("narration", "prompt", "duration")

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
_CJK_RE = re.compile(f"[{_CJK}]")
_CJK_PUNCT = "。！？；，、：…“”‘’「」『』（）《》【】"
# Caption-like words: what the Moving Digits captions (and captions in general) are made of.
_VISUAL_EN = re.compile(
    r"\b(?:\d|zero|one|two|three|four|five|six|seven|eight|nine|digits?|numbers?|red|green|blue|yellow|"
    r"white|black|orange|purple|pink|grey|gray|cyan|magenta|mov(?:e|es|ed|ing)|go(?:es|ing)?|left|right|"
    r"up|down|bounc(?:e|es|ed|ing)|jump(?:s|ed|ing)?|slid(?:e|es|ing)|fly|flies|flying|fall(?:s|ing)?|"
    r"rise|rises|rising|spin(?:s|ning)?|turn(?:s|ing)?|across|towards?)\b",
    re.IGNORECASE,
)
_VISUAL_ZH = re.compile(r"[0-9０-９零一二三四五六七八九红绿蓝黄白黑橙紫粉灰]|数字|移动|向|左|右|上|下|弹|跳|飞|落|转|滑")
_CLOSING = "。！？；…!?;.,，、：:\"'“”‘’「」『』（）()[]【】《》 \t"
_BAD_CATEGORIES = {"Cc": "a control character", "Co": "a private-use character", "Cn": "an unassigned code point",
                   "Cs": "a lone surrogate"}
_ALLOWED_CONTROLS = set("\n\r\t")


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


def _check_text(text: str, max_chars: int, where: str = "the script") -> str:
    """Normalise newlines and refuse text that is too long, empty, wordless or holds bad characters."""
    if not isinstance(text, str):
        raise InputError(f"{where} must be text (str), got {type(text).__name__}")
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    n = len(text.strip())
    if n > max_chars:
        raise InputError(
            f"{where} is {n:,} characters long; the limit is {max_chars:,} characters (about 20 minutes of "
            "narration): split it into several stories"
        )
    for i, ch in enumerate(text):
        kind = _BAD_CATEGORIES.get(unicodedata.category(ch))
        if kind and ch not in _ALLOWED_CONTROLS:
            line = text.count("\n", 0, i) + 1
            col = i - (text.rfind("\n", 0, i) + 1) + 1
            raise InputError(
                f"{where} holds U+{ord(ch):04X}, {kind}, at "
                f"line {line}, column {col}; remove it (control and private-use characters cannot be spoken "
                "or shown)"
            )
    if not text.strip():
        raise InputError(f"{where} is empty: write a few sentences to narrate")
    if not _has_words(text):
        raise InputError(f"{where} has no words, only punctuation or symbols: write a few sentences to narrate")
    return text


def _has_words(text: str) -> bool:
    return any(unicodedata.category(c)[0] in "LN" for c in text)


def _scene_lang(text: str, lang: str) -> str:
    if lang != "auto":
        return lang
    return "zh" if _CJK_RE.search(text) else "en"


def _is_cjk(ch: str) -> bool:
    return bool(_CJK_RE.match(ch)) or ch in _CJK_PUNCT


def _join(a: str, b: str, *, wrapped: bool = False) -> str:
    """Join two pieces of one paragraph with a space, or with nothing between Chinese sentences
    (``wrapped``: between lines of a wrapped paragraph, nothing next to any Chinese character)."""
    if not a:
        return b
    cjk_a, cjk_b = _is_cjk(a[-1]), _is_cjk(b[0])
    if (cjk_a or cjk_b) if wrapped else (cjk_a and cjk_b):
        return a + b
    return a + " " + b


def spoken_weight(text: str) -> int:
    """Rough speaking time in units of one Latin character (a Chinese character counts 4)."""
    return sum(CJK_WEIGHT if _CJK_RE.match(c) else 1 for c in text if not c.isspace())


# --------------------------------------------------------------------------- prompts


def _trim(text: str, max_chars: int) -> str:
    """Cut ``text`` to ``max_chars`` at a word boundary (or anywhere in Chinese / one long word)."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    nxt = text[max_chars]
    if not nxt.isspace() and not _CJK_RE.match(nxt) and not _CJK_RE.match(cut[-1]):
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
               llm: str | os.PathLike | PromptWriter | None = None) -> list[Scene]:
    """Split a script (English, Chinese or mixed) into scenes with narrations and visual prompts.

    Args:
        script: the story text; blank lines separate paragraphs.
        lang: ``"auto"`` (each scene by its characters), ``"en"`` or ``"zh"`` (forced).
        max_chars: the longest script accepted.
        llm: a language-model folder (or a :class:`PromptWriter`) that rewrites each prompt;
            ``None`` keeps the rule prompts.

    Raises:
        InputError: empty, wordless, too long or holding unusable characters; too many scenes.
    """
    _check_lang(lang)
    text = _check_text(script, max_chars)
    narrations: list[str] = []
    for paragraph in re.split(r"\n[ \t\u3000]*\n", text):
        joined = ""
        for line in paragraph.split("\n"):
            if line.strip():
                joined = _join(joined, line.strip(), wrapped=True)
        scene = ""
        for sentence in split_sentences(joined):
            candidate = _join(scene, sentence)
            if scene and spoken_weight(candidate) > SCENE_WEIGHT:
                narrations.append(scene)
                candidate = sentence
            scene = candidate
        if scene:
            narrations.append(scene)
    narrations = [n for n in narrations if _has_words(n)]  # a stray "…" line is no scene
    if len(narrations) > MAX_SCENES:
        raise InputError(f"the script makes {len(narrations)} scenes; the limit is {MAX_SCENES}: "
                         "shorten it or split it into several stories")
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


def _scenes_from_json(data: Any, lang: str, max_chars: int, where: str) -> list[Scene]:
    if not isinstance(data, list):
        raise InputError(f"{where} must be a JSON list of scenes, "
                         '[{"narration": "...", "prompt": "...", "duration": 4}], got a JSON '
                         f"{type(data).__name__}")
    if not data:
        raise InputError(f"{where} lists no scenes")
    if len(data) > MAX_SCENES:
        raise InputError(f"{where} lists {len(data)} scenes; the limit is {MAX_SCENES}")
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
        if narration.strip():
            narration = " ".join(_check_text(narration, max_chars, f"the narration of {at}").split())
        elif duration is None:
            raise InputError(f"{at} has no \"narration\"; give one, or a \"duration\" for a silent scene")
        else:
            narration = ""
        total += len(narration)
        if total > max_chars:
            raise InputError(f"the narrations of {where} hold more than {max_chars:,} characters, the limit "
                             "(about 20 minutes of narration): split it into several stories")
        prompt = item.get("prompt")
        if prompt is None:
            if not narration:
                raise InputError(f"{at} is silent, so it needs a \"prompt\" for its picture")
            prompt = rule_prompt(narration)
        elif not isinstance(prompt, str) or not _has_words(prompt):
            raise InputError(f"{at}: \"prompt\" must be text with words, got {prompt!r}")
        else:
            prompt = " ".join(_check_text(prompt, max_chars, f"the prompt of {at}").split())
        scenes.append(Scene(narration=narration, prompt=prompt, duration_s=duration,
                            lang=_scene_lang(narration or prompt, lang)))
    return scenes


def load_script(path_or_text: str | os.PathLike, *, lang: str = "auto", max_chars: int = MAX_SCRIPT_CHARS,
                llm: str | os.PathLike | PromptWriter | None = None) -> list[Scene]:
    """Scenes from a script file (``.txt`` planned by :func:`plan_story`, ``.json`` taken as is) or text.

    A ``str`` is a file name when it is one line that ends in ``.txt``/``.json``/``.md`` or names
    an existing file; otherwise it is the script itself (text starting with ``[{`` is JSON).

    The JSON form is a list of objects: ``narration`` (text; may be empty for a silent scene with a
    ``duration``), ``prompt`` (optional, default: the rule prompt of the narration; not rewritten by
    ``llm``), ``duration`` (optional seconds, at most 60: the least the scene lasts). Other fields
    are refused, so that a typo is not silently ignored.

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
            return _scenes_from_json(data, lang, max_chars, str(path))
        return plan_story(text, lang=lang, max_chars=max_chars, llm=llm)
    if not isinstance(path_or_text, str):
        raise InputError(f"a script is a file path or text, got {type(path_or_text).__name__}")
    if path_or_text.lstrip().startswith("[{"):
        try:
            data = json.loads(path_or_text)
        except json.JSONDecodeError as e:
            raise InputError(f"the script looks like JSON but is not valid: {e.msg} at line {e.lineno}, "
                             f"column {e.colno}") from None
        return _scenes_from_json(data, lang, max_chars, "the JSON script")
    return plan_story(path_or_text, lang=lang, max_chars=max_chars, llm=llm)


def as_scenes(script: str | os.PathLike | Sequence[Scene], **kwargs: Any) -> list[Scene]:
    """A list of :class:`Scene` as is, anything else through :func:`load_script`."""
    if isinstance(script, (list, tuple)):
        if not script:
            raise InputError("the story has no scenes")
        if not all(isinstance(s, Scene) for s in script):
            raise InputError("a list script must hold Scene objects; pass JSON text or a file for dicts")
        if len(script) > MAX_SCENES:
            raise InputError(f"the story has {len(script)} scenes; the limit is {MAX_SCENES}")
        return list(script)
    return load_script(script, **kwargs)
