"""``vidfuse train``'s options, generated from the config dataclasses: one option per config field.

Every TrainConfig field, every ModelConfig shared field and every field of any generator family becomes an
option named after it (batch_size → --batch-size, r1_gamma → --r1-gamma); None means "not given", so the
preset's value stands, then --config's. A new dataclass field is a new option with no change here.
"""

from __future__ import annotations

import inspect
from typing import Any, Optional

import typer

__all__ = ["CONFIG_FIELDS", "TrainCommand", "check_family_options", "train_signature"]

_BY_HAND = {"preset", "out", "model", "gen"}  # fields with a hand-written option (cli/training.py) or none
_PANELS = {
    "train": "Training",
    "model": "Model (every family)",
    "family": "Generator family settings",
    "bool": "Switches",
}  # bools apart: their --no- column would narrow a whole panel's help
_HELP = {  # for fields whose comment in vidfuse/config.py says too little on a command line
    "steps": "total optimiser steps (a resumed run may raise it)",
    "batch_size": "clips per step per process",
    "text_encoder": '"scratch", "e5" (multilingual: English + Chinese), "minilm" or a local encoder folder',
}


def _field_comments() -> dict[tuple[str, str], str]:
    """(class name, field name) → the field's ``# comment`` in vidfuse/config.py, continued on the comment lines
    below it that start in the same column; empty when the source is not there."""
    import re

    import vidfuse.config

    try:
        lines = inspect.getsource(vidfuse.config).splitlines()
    except (OSError, TypeError):
        return {}
    found: dict[tuple[str, str], str] = {}
    cls, last = "", None
    for line in lines:
        if m := re.match(r"class (\w+)", line):
            cls, last = m[1], None
        elif cls and (m := re.match(r" {4}(\w+): [^#]+#(.*)", line)):  # "    name: type = default  # comment"
            last = (cls, m[1])
            found[last] = m[2].strip()
        elif last and line.lstrip().startswith("#") and not line.lstrip().startswith("# ---"):
            # a comment-only line right after a commented field continues it (``ruff format`` indents such
            # lines like code, so their column says nothing); "# ---" lines head the next group of fields
            found[last] += " " + line.strip().lstrip("#").strip()
        else:
            last = None
    return found


def _comma_list(kind: type, example: str):
    """A parser of ``1,2``-style values into a tuple of ``kind`` (the config checks how many and their range)."""
    words = "whole numbers" if kind is int else "numbers"

    def parse(value: str) -> tuple:
        try:
            return tuple(kind(x) for x in value.split(","))
        except ValueError:
            raise ValueError(f"give {words} separated by commas, e.g. {example}; got {value!r}") from None

    return parse


def _option_type(kind: str) -> dict[str, Any]:
    """A field's declared type (a string: vidfuse/config.py postpones annotations) → the option's annotation and,
    for tuples, a comma-separated parser. Other types are passed on as text for the config to check."""
    scalars = {"int": int, "float": float, "str": str, "bool": bool}
    if kind in scalars:
        return {"annotation": scalars[kind]}
    if kind in ("tuple[int, ...]", "tuple[float, float]"):
        item, example = (int, "1,2") if "int" in kind else (float, "0.5,0.99")
        metavar = "INT,…" if item is int else "FLOAT,FLOAT"
        return {"annotation": Any, "parser": _comma_list(item, example), "metavar": metavar}
    return {"annotation": str}


def _shown(value: Any) -> str:
    """A default as the command line writes it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _config_fields() -> dict[str, tuple[str, str, str]]:
    """Field name → (``"train"``, ``"model"`` or ``"family"``; its declared type; its help), in the order --help
    shows them. A family field appears once, with the families that have it."""
    import dataclasses

    from vidfuse.config import GENERATOR_CONFIGS, GENERATORS, ModelConfig, TrainConfig

    comments = _field_comments()
    helps = {**_HELP, "generator": f"the generator family: {' | '.join(GENERATORS)}"}

    def comment(cls: type, name: str) -> str:
        return helps.get(name) or next(
            (comments[c.__name__, name] for c in cls.__mro__ if (c.__name__, name) in comments), ""
        )

    out: dict[str, tuple[str, str, str]] = {}
    for f in dataclasses.fields(TrainConfig):
        default = f.default if f.default is not dataclasses.MISSING else None
        out[f.name] = ("train", str(f.type), f"{_sentence(comment(TrainConfig, f.name))} Default {_shown(default)}.")
    for f in dataclasses.fields(ModelConfig):
        out[f.name] = ("model", str(f.type), comment(ModelConfig, f.name))
    owners: dict[str, list[str]] = {}
    for family, cls in GENERATOR_CONFIGS.items():
        for f in dataclasses.fields(cls):
            if f.name in out and out[f.name][0] != "family":
                raise RuntimeError(
                    f"config field {f.name!r} is in {cls.__name__} and in Train- or ModelConfig; "
                    f"rename one: they would share the option --{f.name.replace('_', '-')}"
                )
            if f.name in out and str(f.type) != out[f.name][1]:
                raise RuntimeError(f"{cls.__name__}.{f.name} has another type than in the other families")
            owners.setdefault(f.name, []).append(family)
            out.setdefault(f.name, ("family", str(f.type), comment(cls, f.name)))
    for name, families in owners.items():
        if len(families) < len(GENERATOR_CONFIGS):
            _, kind, text = out[name]
            out[name] = ("family", kind, f"{text} ({', '.join(families)})".lstrip())
    return {name: spec for name, spec in out.items() if name not in _BY_HAND}


def _sentence(text: str) -> str:
    """A field's comment as a sentence of help."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") or not text else ".")


def _help_text(text: str) -> str:
    """Help as rich shows it: its markup brackets escaped."""
    return _sentence(text).replace("[", r"\[")


def train_signature(command) -> inspect.Signature:
    """``command``'s hand-written options, then one option per config field (:func:`_config_fields`), the
    switches last."""
    params = [p for p in inspect.signature(command).parameters.values() if p.kind is not p.VAR_KEYWORD]
    switches = []
    for name, (panel, kind, text) in CONFIG_FIELDS.items():
        spec = _option_type(kind)
        annotation = spec.pop("annotation")
        decls = f"--{name.replace('_', '-')}"
        decls = f"{decls}/--no-{decls[2:]}" if annotation is bool else decls
        panel = _PANELS["bool" if annotation is bool else panel]
        option = typer.Option(None, decls, help=_help_text(text), rich_help_panel=panel, **spec)
        param = inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=Optional[annotation])
        (switches if annotation is bool else params).append(param)
    return inspect.Signature(params + switches, return_annotation=None)


def _generator_help() -> str:
    """--generator's help: every family with its line from the registry (which imports torch: built on demand)."""
    from vidfuse.config import DEFAULT_GENERATOR
    from vidfuse.models.registry import families

    lines = [
        f"{name}{' (default)' if name == DEFAULT_GENERATOR else ''}: {_help_text(doc)}"
        for name, doc in families().items()
    ]
    return "\n\n".join(["The generator family (its settings: the panel below).", *lines])


class TrainCommand(typer.core.TyperCommand):
    """``vidfuse train``, whose --generator help lists the families only when --help is asked for."""

    def format_help(self, ctx, formatter) -> None:
        for param in self.params:
            if param.name == "generator":
                param.help = _generator_help()
        return super().format_help(ctx, formatter)


def check_family_options(family: str, given: dict[str, Any]) -> None:
    """Family options the chosen family lacks: one :class:`InputError` naming each and whose it is."""
    import dataclasses

    from vidfuse.config import GENERATOR_CONFIGS
    from vidfuse.errors import InputError

    mine = {f.name for f in dataclasses.fields(GENERATOR_CONFIGS[family])}
    stray = [name for name in given if name not in mine]
    if not stray:
        return
    whose = {
        name: [g for g, cls in GENERATOR_CONFIGS.items() if name in {f.name for f in dataclasses.fields(cls)}]
        for name in stray
    }
    listed = ", ".join(f"--{n.replace('_', '-')} ({', '.join(whose[n])})" for n in stray)
    verb, them = ("is not a setting", "it") if len(stray) == 1 else ("are not settings", "them")
    raise InputError(
        f"{listed} {verb} of the {family} generator; choose the family with --generator, or leave {them} out"
    )


CONFIG_FIELDS = _config_fields()  # field name → (panel, declared type, help); built once, at import
