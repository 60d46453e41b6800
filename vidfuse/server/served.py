"""What this server offers: its models by name (each with its tokenizer, for the early prompt checks),
and what this install can run (voices, music moods, the story composer)."""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

from vidfuse.errors import InputError

log = logging.getLogger("vidfuse.server")


class ServedModel:
    """A model the server offers: its :class:`~vidfuse.catalog.ModelInfo` and, for a vidfuse model, its
    tokenizer (loaded on first use) so that an over-long prompt is refused before it is queued."""

    def __init__(self, info, worker_folder: str | None):
        self.info, self.worker_folder = info, worker_folder
        self._tokenizer, self._max_text_len = False, None

    @property
    def tokenizer(self):
        if self._tokenizer is False:
            self._tokenizer = None
            if self.info.backend == "vidfuse":
                from vidfuse.pipeline import model_info

                try:
                    described = model_info(self.info.path, tokenizer=True)
                    self._tokenizer, self._max_text_len = described["tokenizer"], described["max_text_len"]
                except Exception as e:  # the workers will report it per job; the API just skips its early check
                    log.warning("cannot load the tokenizer of %s for early prompt checks: %s", self.info.name, e)
        return self._tokenizer

    @property
    def max_text_len(self) -> int | None:
        return self._max_text_len if self.tokenizer is not None else None

    def note_prompt_warnings(self, params: dict[str, Any], prompts: list[str]) -> None:
        """Record in ``params`` the words of ``prompts`` the model never saw (``unknown_words``) and what it
        was trained on, and a prompt that asks for more digits at once than the model draws
        (``digits_warning``), so the job's JSON and the page can say so (``warnings``)."""
        if self.tokenizer is None:
            return
        from vidfuse.data.durations import model_text
        from vidfuse.data.vocabulary import Vocabulary

        vocab = Vocabulary.from_tokenizer(self.tokenizer)
        if vocab is None:
            return
        texts = [vocab.spelled(model_text(p)) if p else p for p in prompts]  # as the pipeline reads them
        words = list(dict.fromkeys(w for p in texts if p for w in vocab.unknown_words(p)))
        if words:
            params.update(unknown_words=words, trained_on=vocab.trained_on)
        message = vocab.digits_message(texts)
        if message:
            params.update(digits_warning=message)

    def public(self, default: str) -> dict[str, Any]:
        """What GET /v1/models shows of it: no server paths."""
        out = {k: v for k, v in self.info.to_json().items() if k not in ("path", "extra", "problem")}
        out.update(self.info.extra, default=self.info.name == default)
        return out


def served_models(
    model: str | os.PathLike | None, models_dir: str | os.PathLike | None
) -> tuple[dict[str, ServedModel], str]:
    """The models this server offers by name — the built-in one (``default``), every model folder in the
    models folder, and ``model`` when it names a folder elsewhere — and the name of its default model.
    :class:`InputError` at once when ``model`` is missing or unusable."""
    from vidfuse.backends.diffusers import is_diffusers_folder
    from vidfuse.catalog import BUILTIN, describe, find_model, list_models
    from vidfuse.pipeline import resolve_model_dir

    folder = find_model(model, models_dir)
    if not is_diffusers_folder(folder):
        folder = resolve_model_dir(folder)  # checks a vidfuse folder (or the default) before anything runs
    served = {
        m.name: ServedModel(m, None if m.builtin else str(m.path.resolve()))
        for m in list_models(models_dir)
        if m.problem is None
    }
    if model in (None, BUILTIN):
        default = BUILTIN
    else:
        match = next((n for n, m in served.items() if m.info.path.resolve() == Path(folder).resolve()), None)
        if match is None:
            info = describe(folder)
            if info.problem is not None:
                raise InputError(f"model folder {folder}: {info.problem}")
            match = info.name if info.name not in served else f"{info.name}-{len(served)}"
            info.name = match
            served[match] = ServedModel(info, str(Path(folder).resolve()))
        default = match
    return served, default


def vidfuse_version() -> str:
    from vidfuse.version import __version__

    return __version__


def compose_available() -> bool:
    """Whether this install has the story composer (script jobs)."""
    return importlib.util.find_spec("vidfuse.story.compose") is not None


@functools.lru_cache(maxsize=1)
def voice_options() -> list[dict[str, Any]]:
    """The voices a script job may name (``voice``), as GET /v1/info lists them: the value to send, its
    engine, language and name, and whether it is the default; a Piper voice by name, never its path.
    Asked once per process (espeak-ng lists its voices by running)."""
    from vidfuse.media.speech import installed_voices

    out: dict[str, dict[str, Any]] = {}
    for v in installed_voices():
        value = v.name if v.engine == "piper" else v.voice
        out.setdefault(
            value, {"voice": value, "engine": v.engine, "language": v.language, "name": v.name, "default": v.default}
        )
    return list(out.values())


def music_options() -> list[str]:
    """What ``music`` may be: the library's moods, then none."""
    from vidfuse.story.music import MUSIC_NONE, moods

    return moods() + [MUSIC_NONE]
