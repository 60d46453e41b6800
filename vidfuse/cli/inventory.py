"""``vidfuse info``, ``models``, ``voices`` and ``install-model``: what is installed here, and installing the default
model."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from vidfuse.errors import VidfuseError


def info() -> None:
    """Versions, device, threads, and which optional system tools are present. (vidfuse.sysinfo.collect)"""
    from rich.console import Console
    from rich.table import Table

    from vidfuse.pipeline import default_model_dir
    from vidfuse.sysinfo import collect

    table = Table(show_header=False)
    for key, value in collect().items():
        table.add_row(key, str(value))
    table.add_row("default model", str(default_model_dir()))
    Console().print(table)


def models(
    models_dir: Optional[Path] = typer.Option(
        None,
        "--models-dir",
        help="The models folder, one model a sub-folder (default: $VIDFUSE_MODELS, else ~/.cache/vidfuse/models).",
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON list instead of a table."),
) -> None:
    """The built-in model and each model folder in the models folder (--model's names). (vidfuse.catalog.list_models)"""
    import json

    from rich.console import Console
    from rich.table import Table

    from vidfuse.catalog import format_size, list_models
    from vidfuse.userdirs import check_models_dir
    from vidfuse.userdirs import models_dir as resolve_models_dir

    check_models_dir(models_dir)
    found = list_models(models_dir)
    if as_json:
        typer.echo(json.dumps([m.to_json() for m in found], indent=2, ensure_ascii=False))
        return
    table = Table(title=f"models folder: {resolve_models_dir(models_dir)}")
    for col in ("name", "family", "does", "native (h×w×frames, fps)", "size"):
        table.add_column(col)
    for m in found:
        native = f"{m.height}×{m.width}×{m.frames}, {m.fps:g} fps" if not m.problem else f"unusable: {m.problem}"
        table.add_row(m.name, m.family, ", ".join(m.tasks), native, format_size(m.size_bytes))
    Console().print(table)


def voices() -> None:
    """The voices installed here, per language, with their engine; * marks the default.
    (vidfuse.media.voices.installed_voices)"""
    from vidfuse.media.voices import INSTALL_LINE, PIPER_INSTALL_LINE, installed_voices

    found = installed_voices()
    for lang, label in (("en", "English"), ("zh", "Chinese")):
        mine = sorted((v for v in found if v.language == lang), key=lambda v: (not v.default, v.engine != "piper"))
        typer.echo(f"{label} ({lang}):")
        for v in mine:
            first = v.voice if v.engine == "espeak-ng" else v.name
            typer.echo(
                f"  {'*' if v.default else ' '} {v.engine:<9} {first:<18} {v.voice if v.engine == 'piper' else v.name}"
            )
        if not mine:
            typer.echo("    (none installed)")
    if not any(v.engine == "piper" for v in found):
        typer.echo(f"the neural English voice is missing: {PIPER_INSTALL_LINE}")
    if not any(v.engine == "espeak-ng" for v in found):
        typer.echo(f"espeak-ng is missing (Chinese needs it): {INSTALL_LINE}")
    typer.echo("any Piper voice: vidfuse story SCRIPT --voice /path/to/voice.onnx (its .onnx.json beside it)")


def install_model(
    model: Optional[Path] = typer.Argument(None, help="A model folder (e.g. RUN_DIR/model) to install as the default."),
    force: bool = typer.Option(
        False, "--force", help="Replace an installed model without asking (it is kept as *.previous-<time>)."
    ),
    restore: bool = typer.Option(
        False, "--restore", help="Remove the installed model: the shipped one is the default again."
    ),
    ship: bool = typer.Option(
        False, "--ship", help="Replace the model shipped inside the package instead (make train-default)."
    ),
) -> None:
    """Install a model folder as the default model, beside the shipped one. (vidfuse.pipeline.install_default_model)"""
    from vidfuse.pipeline import (
        SHIPPED_MODEL_DIR,
        install_default_model,
        installed_model_dir,
        is_model_folder,
        restore_default_model,
    )

    if restore:
        if model is not None:
            raise typer.BadParameter("--restore takes no model folder")
        typer.echo(f"the default model is now {restore_default_model()}")
        return
    if model is None:
        raise typer.BadParameter("name the model folder to install, or pass --restore")
    dest = SHIPPED_MODEL_DIR if ship else installed_model_dir()
    if is_model_folder(dest) and not force:
        if not sys.stdin.isatty():
            raise VidfuseError(
                f"a model is already installed at {dest}; add --force to replace it (it is kept as "
                f"{dest.name}.previous-<time>)"
            )
        force = typer.confirm(f"replace the model at {dest}? (it is kept as {dest.name}.previous-<time>)")
        if not force:
            raise typer.Abort()
    typer.echo(f"installed {model} as the default model: {install_default_model(model, dest, force=force)}")
