"""A scene's visual prompt: chosen from its narration by rule (rule 6 of :mod:`vidfuse.story.planner`), or
rewritten by a local causal language model (:class:`LMPromptWriter`) whose output is sanitised."""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from pathlib import Path
from typing import Protocol

from vidfuse.errors import InputError, MissingDependencyError
from vidfuse.media.speech import split_sentences
from vidfuse.story.text_rules import has_words
from vidfuse.text import UNSPACED_RE

__all__ = ["MAX_PROMPT_CHARS", "LMPromptWriter", "PromptWriter", "prompt_writer", "rule_prompt", "sanitize_prompt"]

log = logging.getLogger(__name__)

MAX_PROMPT_CHARS = 60  # the default model reads 64 tokens (characters) including its begin/end markers

# Caption-like words: what the Moving Digits captions (and captions in general) are made of.
_VISUAL_EN = re.compile(
    r"\b(?:\d|zero|one|two|three|four|five|six|seven|eight|nine|digits?|numbers?|red|green|blue|yellow|"
    r"white|black|orange|purple|pink|grey|gray|cyan|magenta|mov(?:e|es|ed|ing)|go(?:es|ing)?|left|right|"
    r"up|down|bounc(?:e|es|ed|ing)|jump(?:s|ed|ing)?|slid(?:e|es|ing)|fly|flies|flying|fall(?:s|ing)?|"
    r"rise|rises|rising|spin(?:s|ning)?|turn(?:s|ing)?|across|towards?)\b",
    re.IGNORECASE,
)
_VISUAL_ZH = re.compile(
    r"[0-9０-９零一二三四五六七八九红绿蓝黄白黑橙紫粉灰]|数字|移动|向|左|右|上|下|弹|跳|飞|"
    r"落|转|滑"
)
_CLOSING = "。！？；…!?;.,，、：:\"'“”‘’「」『』（）()[]【】《》 \t"


class PromptWriter(Protocol):
    """Anything that rewrites a scene's visual prompt, e.g. :class:`LMPromptWriter`."""

    def rewrite(self, narration: str, rule_prompt: str) -> str: ...


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
    """The visual prompt the rules give a narration (rule 6 of :mod:`vidfuse.story.planner`).

    >>> rule_prompt("Once upon a time. The red digit 3 is moving to the left!")
    'The red digit 3 is moving to the left'
    """
    sentences = [s for s in split_sentences(narration) if has_words(s)] or [narration]
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
    return line if line and has_words(line) else fallback


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

    def __init__(
        self,
        folder: str | os.PathLike,
        *,
        max_new_tokens: int = 24,
        max_chars: int = MAX_PROMPT_CHARS,
        device: str | None = None,
    ) -> None:
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
            raise MissingDependencyError(
                f"the prompt-writing language model needs transformers: {e}; pip install transformers"
            ) from e
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
            out = self.model.generate(
                **{k: v.to(self.device) for k, v in enc.items()},
                do_sample=False,
                max_new_tokens=self.max_new_tokens,
                pad_token_id=pad,
            )
        new = out[0, enc["input_ids"].shape[1] :]
        raw = self.tokenizer.decode(new, skip_special_tokens=True)
        prompt = sanitize_prompt(raw, fallback=rule_prompt, max_chars=self.max_chars)
        if prompt is rule_prompt:
            log.info("the language model wrote no usable prompt for %r; keeping the rule prompt", narration[:40])
        return prompt


def prompt_writer(llm: str | os.PathLike | PromptWriter | None) -> PromptWriter | None:
    """``llm`` as a :class:`PromptWriter`: a folder is loaded as an :class:`LMPromptWriter`; None stays None."""
    if llm is None or hasattr(llm, "rewrite"):
        return llm  # type: ignore[return-value]
    return LMPromptWriter(llm)
