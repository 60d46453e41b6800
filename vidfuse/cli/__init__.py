"""The ``vidfuse`` command line: a thin typer layer over importable functions.

Every command calls one Python function (named in its help) and imports it lazily, so that
``vidfuse --help`` answers in well under a second. The commands live by what they do:
:mod:`~vidfuse.cli.training` (train, eval, data), :mod:`~vidfuse.cli.videos` (generate, read, story, demo),
:mod:`~vidfuse.cli.inventory` (info, models, voices, install-model) and :mod:`~vidfuse.cli.serving` (serve);
train's options are generated from the config dataclasses by :mod:`~vidfuse.cli.train_options`. This module
makes the app, lists the commands in the order ``--help`` shows them, and turns errors into one line.
"""

from __future__ import annotations

import signal
import sys

import typer

from vidfuse.cli import inventory, serving, training, videos
from vidfuse.cli.train_options import TrainCommand
from vidfuse.errors import VidfuseError, first_line

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="vidfuse: text-to-video by multimodal fusion (train, generate, tell stories, serve).",
)
data_app = typer.Typer(no_args_is_help=True, help="Datasets: export the built-in Moving Digits benchmark.")
app.add_typer(data_app, name="data")

app.command()(inventory.info)
app.command()(inventory.models)
data_app.command("moving-digits")(training.data_moving_digits)
app.command(cls=TrainCommand)(training.train)
app.command("distil-text")(training.distil_text)
app.command()(videos.generate)
app.command()(videos.read)
app.command()(videos.demo)
app.command()(videos.story)
app.command()(inventory.voices)
app.command()(serving.serve)
app.command("install-model")(inventory.install_model)
app.command("eval")(training.eval_model)


def _show_warning(message, category, filename, lineno, file=None, line=None, _default=None) -> None:
    """Warnings meant for people (the prompt's unknown words) as one ``warning: …`` line on stderr; others as
    Python shows them."""
    from vidfuse.data.durations import LengthWarning
    from vidfuse.data.vocabulary import StrictUncheckedWarning, TooManyDigitsWarning, UnknownWordsWarning
    from vidfuse.media.speech import LanguageWarning, VoiceFallbackWarning

    people = (
        UnknownWordsWarning,
        TooManyDigitsWarning,
        LengthWarning,
        VoiceFallbackWarning,
        LanguageWarning,
        StrictUncheckedWarning,
    )
    if issubclass(category, people):
        typer.secho(f"warning: {message}", fg=typer.colors.YELLOW, err=True)
    else:
        _default(message, category, filename, lineno, file, line)


def main() -> None:
    import functools
    import warnings

    from vidfuse.sysinfo import keep_freed_memory

    keep_freed_memory()  # every command makes and frees large tensors: reuse the memory instead of faulting it in
    warnings.showwarning = functools.partial(_show_warning, _default=warnings.showwarning)
    # `kill` (SIGTERM) ends the command as Ctrl-C does: its `finally` blocks run, so no temporary file is left beside
    # an output (the service's workers and uvicorn set their own handlers)
    signal.signal(signal.SIGTERM, _terminated)
    try:
        app()
    except VidfuseError as e:
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except (MemoryError, RuntimeError) as e:
        if not is_out_of_memory(e):
            raise
        from vidfuse.inputs import MEMORY_HINT  # imports torch: not at start-up (`--help` stays quick)

        hint = f"{MEMORY_HINT}, or train with a smaller --batch-size"
        typer.secho(f"error: out of memory ({first_line(e)[:200]}): {hint}", fg=typer.colors.RED, err=True)
        sys.exit(2)


def _terminated(signum, frame) -> None:
    raise SystemExit(128 + signum)


def is_out_of_memory(e: BaseException) -> bool:
    """A failed allocation, as Python (MemoryError) or torch (a RuntimeError from its allocator) reports it."""
    text = str(e)
    return isinstance(e, MemoryError) or "can't allocate memory" in text or "out of memory" in text.lower()
