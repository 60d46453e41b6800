"""The ``vidfuse`` command line: a thin typer layer over importable functions.

Every command calls one Python function (named in its help) and imports it lazily, so that
``vidfuse --help`` answers in well under a second.
"""
from __future__ import annotations

import contextlib
import inspect
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from vidfuse.errors import VidfuseError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="vidfuse: text-to-video by multimodal fusion (train, generate, tell stories, serve).")
data_app = typer.Typer(no_args_is_help=True, help="Datasets: export the built-in Moving Digits benchmark.")
app.add_typer(data_app, name="data")


@contextlib.contextmanager
def _stage_bars(labels: dict[str, str]):
    """Rich progress bars, one per stage, driven by a ``progress(stage, fraction)`` callback (yielded)."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description:<20}"), BarColumn(), TaskProgressColumn(),
                  TimeElapsedColumn()) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, fraction: float) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=1.0)
            bar.update(tasks[stage], completed=fraction)

        yield progress


@app.command()
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


@app.command()
def models(
    models_dir: Optional[Path] = typer.Option(None, "--models-dir", help="The models folder, one model a sub-folder "
                                              "(default: $VIDFUSE_MODELS, else ~/.cache/vidfuse/models)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON list instead of a table."),
) -> None:
    """The built-in model and each model folder in the models folder (--model's names). (vidfuse.catalog.list_models)"""
    import json

    from rich.console import Console
    from rich.table import Table

    from vidfuse.catalog import format_size, list_models
    from vidfuse.userdirs import models_dir as resolve_models_dir

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


@data_app.command("moving-digits")
def data_moving_digits(
    out: Path = typer.Option(..., "--out", help="Folder to write clips, captions.csv and attributes.jsonl into."),
    split: str = typer.Option("train", "--split", help="train | test"),
    n: int = typer.Option(100, "--n", min=1, help="Number of clips."),
    level: int = typer.Option(1, "--level", min=1, max=2, help="1 = one digit, 2 = two digits."),
    lang: str = typer.Option("en", "--lang", help="en | zh | both"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Export Moving Digits clips as MP4 + WebVid captions.csv. (vidfuse.data.moving_digits.export_moving_digits)"""
    from vidfuse.data.moving_digits import export_moving_digits

    path = export_moving_digits(out, split=split, n=n, level=level, lang=lang, seed=seed)
    typer.echo(f"wrote {n} clips to {path}")


# ---- train: one option per config field ---------------------------------------------------------------------
# Every TrainConfig field, every ModelConfig shared field and every field of any generator family becomes an
# option named after it (batch_size → --batch-size, r1_gamma → --r1-gamma); None means "not given", so the
# preset's value stands, then --config's. A new dataclass field is a new option with no change here.
_BY_HAND = {"preset", "out", "model", "gen"}  # config fields with an option of their own below (or none)
_PANELS = {"train": "Training", "model": "Model (every family)", "family": "Generator family settings",
           "bool": "Switches"}  # bools apart: their --no- column would narrow a whole panel's help
_HELP = {  # for fields whose comment in vidfuse/config.py says too little on a command line
    "steps": "total optimiser steps (a resumed run may raise it)",
    "batch_size": "clips per step per process",
    "text_encoder": '"scratch", "minilm" or the path of a local Hugging Face encoder folder',
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
    cls, last, column = "", None, -1
    for line in lines:
        if m := re.match(r"class (\w+)", line):
            cls, last = m[1], None
        elif cls and (m := re.match(r" {4}(\w+): [^#]+#(.*)", line)):  # "    name: type = default  # comment"
            last, column = (cls, m[1]), line.index("#")
            found[last] = m[2].strip()
        elif last and line.lstrip().startswith("#") and line.index("#") == column:
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
        return helps.get(name) or next((comments[c.__name__, name] for c in cls.__mro__
                                        if (c.__name__, name) in comments), "")

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
                raise RuntimeError(f"config field {f.name!r} is in {cls.__name__} and in Train- or ModelConfig; "
                                   f"rename one: they would share the option --{f.name.replace('_', '-')}")
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


def _train_signature(command) -> inspect.Signature:
    """``command``'s hand-written options, then one option per config field (:func:`_config_fields`), the
    switches last."""
    params = [p for p in inspect.signature(command).parameters.values() if p.kind is not p.VAR_KEYWORD]
    switches = []
    for name, (panel, kind, text) in _CONFIG_FIELDS.items():
        spec = _option_type(kind)
        annotation = spec.pop("annotation")
        decls = f"--{name.replace('_', '-')}"
        decls = f"{decls}/--no-{decls[2:]}" if annotation is bool else decls
        panel = _PANELS["bool" if annotation is bool else panel]
        option = typer.Option(None, decls, help=_help_text(text), rich_help_panel=panel, **spec)
        param = inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option,
                                  annotation=Optional[annotation])
        (switches if annotation is bool else params).append(param)
    return inspect.Signature(params + switches, return_annotation=None)


def _generator_help() -> str:
    """--generator's help: every family with its line from the registry (which imports torch: built on demand)."""
    from vidfuse.config import DEFAULT_GENERATOR
    from vidfuse.models.registry import families

    lines = [f"{name}{' (default)' if name == DEFAULT_GENERATOR else ''}: {_help_text(doc)}"
             for name, doc in families().items()]
    return "\n\n".join(["The generator family (its settings: the panel below).", *lines])


class _TrainCommand(typer.core.TyperCommand):
    """``vidfuse train``, whose --generator help lists the families only when --help is asked for."""

    def format_help(self, ctx, formatter) -> None:
        for param in self.params:
            if param.name == "generator":
                param.help = _generator_help()
        return super().format_help(ctx, formatter)


def _check_family_options(family: str, given: dict[str, Any]) -> None:
    """Family options the chosen family lacks: one :class:`InputError` naming each and whose it is."""
    import dataclasses

    from vidfuse.config import GENERATOR_CONFIGS
    from vidfuse.errors import InputError

    mine = {f.name for f in dataclasses.fields(GENERATOR_CONFIGS[family])}
    stray = [name for name in given if name not in mine]
    if not stray:
        return
    whose = {name: [g for g, cls in GENERATOR_CONFIGS.items() if name in {f.name for f in dataclasses.fields(cls)}]
             for name in stray}
    listed = ", ".join(f"--{n.replace('_', '-')} ({', '.join(whose[n])})" for n in stray)
    verb, them = ("is not a setting", "it") if len(stray) == 1 else ("are not settings", "them")
    raise InputError(f"{listed} {verb} of the {family} generator; choose the family with --generator, or leave "
                     f"{them} out")


@app.command(cls=_TrainCommand)
def train(
    preset: str = typer.Option("small", "--preset", help="Model preset: tiny | small | base."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML/JSON file merged over the preset."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run folder (checkpoints, logs, samples, model/)."),
    resume: bool = typer.Option(False, "--resume", help="Continue exactly from RUN_DIR/checkpoint.safetensors."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    **fields: Any,
) -> None:
    """Train a text-to-video model; works under torchrun too. (vidfuse.train.train)

    Every field of vidfuse.config's configs is an option; left out, it keeps the preset's value or --config's.
    """
    from vidfuse.config import PRESETS
    from vidfuse.train import resolve_config, train as run_train

    if preset not in PRESETS:
        raise typer.BadParameter(f"choose one of {sorted(PRESETS)}", param_hint="--preset")
    given: dict[str, dict[str, Any]] = {"train": {}, "model": {}, "family": {}}
    for name, value in fields.items():
        if value is not None:
            given[_CONFIG_FIELDS[name][0]][name] = value
    run = dict(given["train"], out=str(out) if out else None)
    if given["family"]:  # the family that the preset, --config and --generator choose, to name a stray option
        _check_family_options(resolve_config(preset, config, **run, model=given["model"]).model.generator,
                              given["family"])
    cfg = resolve_config(preset, config, **run, model={**given["model"], **given["family"]})
    path = run_train(cfg, resume=resume, quiet=quiet)
    typer.echo(f"model: {path}")


_CONFIG_FIELDS = _config_fields()
train.__signature__ = _train_signature(train)


@app.command()
def generate(
    prompt: Optional[str] = typer.Argument(None, help="What the video shows."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output file (.mp4, .webm or .gif)."),
    prompts: Optional[Path] = typer.Option(None, "--prompts", help="Batch: a text file, one prompt a line."),
    out_dir: Optional[Path] = typer.Option(None, "--out-dir", help="Batch: folder for 0000.mp4, … and index.csv."),
    model: Optional[Path] = typer.Option(None, "--model",
                                         help="Model folder (default: the one shipped inside vidfuse)."),
    image: Optional[Path] = typer.Option(None, "--image", help="First frame to start from."),
    seed: Optional[int] = typer.Option(None, "--seed"),
    frames: Optional[int] = typer.Option(None, "--frames", help="Number of frames, 1-512 (default: the model's)."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Frames per second, 1-120 (GIF: at most 50; default: the "
                                        "model's, 8 for vidfuse models)."),
    fmt: Optional[str] = typer.Option(None, "--format", help="mp4 | webm | gif (default: from the file name)."),
    guidance_scale: Optional[float] = typer.Option(None, "--guidance-scale", help="Classifier-free guidance, 0-20 (1 = "
                                                   "off; default: the model's)."),
    truncate: bool = typer.Option(False, "--truncate", help="Cut a prompt longer than the model's token limit to it "
                                  "instead of refusing it."),
    strict: bool = typer.Option(False, "--strict", help="Refuse a prompt with words the model was never trained on "
                                "(default: warn and generate)."),
    width: Optional[int] = typer.Option(None, "--width", help="Frame width in pixels, 8-4096 (default: the model's)."),
    height: Optional[int] = typer.Option(None, "--height",
                                         help="Frame height in pixels, 8-4096 (default: the model's)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Denoising steps (pretrained diffusers models; default: "
                                        "the pipeline's)."),
    negative_prompt: Optional[str] = typer.Option(None, "--negative-prompt", help="What the video should not show "
                                                  "(pretrained diffusers models)."),
    dtype: str = typer.Option("auto", "--dtype", help="auto | float32 | bfloat16 | float16 (pretrained models; auto: "
                              "bfloat16 on a GPU, float32 on a CPU)."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:1 … (default: a GPU when there is "
                                         "one)."),
    offload: str = typer.Option("none", "--offload", help="none | model | sequential | group: keep a pretrained "
                                "model's weights in CPU memory, moving them to the GPU per component (model), per "
                                "layer (sequential, least memory, slowest) or per layer with the copies overlapped on "
                                "a CUDA stream (group: diffusers' group offloading, about sequential's memory at "
                                "nearer model's speed)."),
    vae_tiling: bool = typer.Option(False, "--vae-tiling", help="Decode frames in tiles (less GPU memory; pretrained "
                                    "models whose VAE has it)."),
    vae_slicing: bool = typer.Option(False, "--vae-slicing", help="Decode one clip of a batch at a time (pretrained "
                                     "models whose VAE has it)."),
) -> None:
    """Text (+ optional first frame) to video. (vidfuse.generate.generate_one, generate_batch)"""
    from vidfuse.generate import generate_batch, generate_one

    if (prompt is None) == (prompts is None):
        raise typer.BadParameter("give either a PROMPT with -o FILE, or --prompts FILE with --out-dir DIR")
    kwargs = dict(model=model, image=image, seed=seed, num_frames=frames, fps=fps, fmt=fmt,
                  guidance_scale=guidance_scale, on_overflow="truncate" if truncate else "error", strict=strict,
                  width=width, height=height, steps=steps, negative_prompt=negative_prompt, dtype=dtype,
                  device=device, offload=offload, vae_tiling=vae_tiling, vae_slicing=vae_slicing)
    if prompt is not None and output is None:
        raise typer.BadParameter("where to write the video: add -o FILE.mp4")
    if prompt is None and out_dir is None:
        raise typer.BadParameter("batch mode needs --out-dir DIR")
    with _stage_bars({"denoise": "denoising"}) as bars:
        kwargs["progress"] = lambda step, total: bars("denoise", step / total)
        written = generate_one(prompt, output, **kwargs) if prompt is not None else \
            generate_batch(prompts, out_dir, **kwargs)
    typer.echo(f"wrote {written}")


@app.command()
def demo(out: Path = typer.Option(Path("out"), "--out", help="Output folder.")) -> None:
    """The main job of `make demo`. (vidfuse.demo.run_demo)"""
    from vidfuse.demo import run_demo

    for line in run_demo(out):
        typer.echo(line)


@app.command()
def story(
    script: Optional[Path] = typer.Argument(None, help="The story: a .txt script (planned into scenes) or a .json "
                                            "scene list; or --topic."),
    output: Path = typer.Option(..., "-o", "--output",
                                help="The MP4 to write; .srt/.vtt/.storyboard.png go beside it."),
    aspect: str = typer.Option("16:9", "--aspect", help="16:9 (1280×720) | 9:16 (720×1280) | 1:1 (720×720)."),
    lang: str = typer.Option("auto", "--lang", help="auto | en | zh."),
    subtitles: str = typer.Option("soft", "--subtitles",
                                  help="soft (track + sidecars) | burn | srt (sidecars) | none."),
    voice: Optional[str] = typer.Option(None, "--voice", help="English: a Piper .onnx voice file, or an espeak-ng "
                                        "voice (en-us, +f3, espeak); Chinese: cmn-latn-pinyin. Default: the neural "
                                        "Piper voice for English. See: vidfuse voices."),
    rate: Optional[int] = typer.Option(None, "--rate", help="Speaking rate, words per minute (80-500)."),
    music: str = typer.Option("none", "--music", help="Background music, ducked under the voice: a mood from the "
                              "library (calm, energetic, happy, nostalgic, tender; the seed picks the track), an "
                              "audio file, or none."),
    model: Optional[Path] = typer.Option(None, "--model",
                                         help="Model folder (default: the one shipped inside vidfuse)."),
    prompt_lm: Optional[Path] = typer.Option(None, "--prompt-lm", help="Local causal LM folder (Hugging Face format) "
                                             "that rewrites the visual prompts."),
    seed: int = typer.Option(0, "--seed", help="Scene i uses seed + i."),
    fps: float = typer.Option(8.0, "--fps", help="Frames per second (8 matches the default model)."),
    no_voice: bool = typer.Option(False, "--no-voice", help="No speech (scene lengths are estimated)."),
    width: Optional[int] = typer.Option(None, "--width", help="Width the model draws each scene at (default: its "
                                        "native size; letterboxed into --aspect)."),
    height: Optional[int] = typer.Option(None, "--height", help="Height the model draws each scene at (default: its "
                                         "native size)."),
    frames: Optional[int] = typer.Option(None, "--frames", help="Frames the model makes per scene, 1-512 (default: the "
                                         "whole scene, or a pretrained model's native length continued from its last "
                                         "frame where it can); a longer scene plays them forwards and backwards."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Denoising steps (pretrained diffusers models)."),
    negative_prompt: Optional[str] = typer.Option(None, "--negative-prompt", help="What the scenes should not show "
                                                  "(pretrained diffusers models)."),
    topic: Optional[str] = typer.Option(None, "--topic", help="Write the script from this topic with a local language "
                                        "model first (instead of SCRIPT)."),
    scenes: int = typer.Option(4, "--scenes", help="Scenes the writer writes for --topic."),
    writer: Optional[Path] = typer.Option(None, "--writer", help="The writer for --topic: a local causal LM folder or "
                                          ".gguf (default: the shipped SmolLM2-135M)."),
) -> None:
    """A narrated, subtitled MP4 from a script, with a storyboard PNG. (vidfuse.story.render_story)"""
    from vidfuse.story import render_story

    labels = {"plan": "planning scenes", "voice": "speaking narration", "frames": "drawing + encoding",
              "subtitles": "burning subtitles", "encode": "encoding MP4", "storyboard": "drawing storyboard"}
    if (script is None) == (topic is None):
        raise typer.BadParameter("give a SCRIPT file or --topic TEXT (one of them)")
    pipeline = None
    if topic is not None:
        from vidfuse.pipeline import TextToVideoPipeline
        from vidfuse.story.writer import draws_digits, script_json, write_script

        pipeline = TextToVideoPipeline.from_pretrained(model)
        lang = "en" if lang == "auto" else lang
        typer.echo(f"writing {scenes} scenes about {topic!r} …")
        script = write_script(topic, scenes=scenes, lang=lang, writer=writer, seed=seed,
                              digits=draws_digits(getattr(pipeline, "trained_on", None)))
        typer.echo(script_json(script))
        model = None
    with _stage_bars(labels) as progress:
        result = render_story(script, output, pipeline=pipeline, aspect=aspect, lang=lang, subtitles=subtitles,
                              voice=voice, rate=rate, music=music, model=model, llm=prompt_lm, seed=seed, fps=fps,
                              no_voice=no_voice, progress=progress, width=width, height=height, frames=frames,
                              steps=steps, negative_prompt=negative_prompt)
    typer.echo(f"wrote {result.video} ({result.duration_s:.1f} s, {len(result.scenes)} scenes)")
    for extra in (result.srt, result.vtt, result.storyboard):
        if extra is not None:
            typer.echo(f"wrote {extra}")


@app.command()
def voices() -> None:
    """The voices installed here, per language, with their engine; * marks the default. (vidfuse.media.speech)"""
    from vidfuse.media.speech import PIPER_INSTALL_LINE, INSTALL_LINE, installed_voices

    found = installed_voices()
    for lang, label in (("en", "English"), ("zh", "Chinese")):
        mine = sorted((v for v in found if v.language == lang), key=lambda v: (not v.default, v.engine != "piper"))
        typer.echo(f"{label} ({lang}):")
        for v in mine:
            first = v.voice if v.engine == "espeak-ng" else v.name
            typer.echo(f"  {'*' if v.default else ' '} {v.engine:<9} {first:<18} "
                       f"{v.voice if v.engine == 'piper' else v.name}")
        if not mine:
            typer.echo("    (none installed)")
    if not any(v.engine == "piper" for v in found):
        typer.echo(f"the neural English voice is missing: {PIPER_INSTALL_LINE}")
    if not any(v.engine == "espeak-ng" for v in found):
        typer.echo(f"espeak-ng is missing (Chinese needs it): {INSTALL_LINE}")
    typer.echo("any Piper voice: vidfuse story SCRIPT --voice /path/to/voice.onnx (its .onnx.json beside it)")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; 0.0.0.0 opens it to the network (add "
                             "--token)."),
    port: int = typer.Option(8000, "--port"),
    data_dir: Path = typer.Option(Path("vidfuse-data"), "--data-dir", help="Job database and outputs; jobs survive "
                                  "restarts."),
    model: Optional[Path] = typer.Option(None, "--model",
                                         help="Model folder (default: the one shipped inside vidfuse)."),
    models_dir: Optional[Path] = typer.Option(None, "--models-dir", help="Serve these models too, by name "
                                              "(default: $VIDFUSE_MODELS, else ~/.cache/vidfuse/models)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes; each loads a model when a job first "
                                "needs it and keeps the last two."),
    queue_size: int = typer.Option(16, "--queue-size", min=1, help="Jobs that may wait; past it the API answers 429."),
    token: Optional[str] = typer.Option(None, "--token", envvar="VIDFUSE_TOKEN", show_envvar=True,
                                        help="Require 'Authorization: Bearer TOKEN' on every API call."),
    allowed_host: Optional[list[str]] = typer.Option(
        None, "--allowed-host", metavar="NAME", help="A host name clients may use besides localhost, 127.0.0.1, "
        "[::1] and --host (repeatable; '*': any). Other Host headers get 400, so that a web page of another site "
        "cannot reach the server."),
) -> None:
    """HTTP API + web page with a persistent job queue. (vidfuse.server.app.serve)"""
    from vidfuse.server.app import serve as run_server

    run_server(host=host, port=port, data_dir=data_dir, model=model, models_dir=models_dir, workers=workers,
               queue_size=queue_size, token=token, allowed_hosts=allowed_host or ())


@app.command("install-model")
def install_model(
    model: Optional[Path] = typer.Argument(None, help="A model folder (e.g. RUN_DIR/model) to install as the default."),
    force: bool = typer.Option(False, "--force", help="Replace an installed model without asking (it is kept as "
                               "*.previous-<time>)."),
    restore: bool = typer.Option(False, "--restore", help="Remove the installed model: the shipped one is the default "
                                 "again."),
    ship: bool = typer.Option(False, "--ship", help="Replace the model shipped inside the package instead (make "
                              "train-default)."),
) -> None:
    """Install a model folder as the default model, beside the shipped one. (vidfuse.pipeline.install_default_model)"""
    from vidfuse.pipeline import (SHIPPED_MODEL_DIR, is_model_folder, install_default_model, installed_model_dir,
                                  restore_default_model)

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
            raise VidfuseError(f"a model is already installed at {dest}; add --force to replace it (it is kept as "
                               f"{dest.name}.previous-<time>)")
        force = typer.confirm(f"replace the model at {dest}? (it is kept as {dest.name}.previous-<time>)")
        if not force:
            raise typer.Abort()
    typer.echo(f"installed {model} as the default model: {install_default_model(model, dest, force=force)}")


@app.command("eval")
def eval_model(
    model: Optional[Path] = typer.Option(None, "--model",
                                         help="Model folder (default: the one shipped inside vidfuse)."),
    n: int = typer.Option(600, "--n", min=2, help="Test captions: half English, half Chinese; half held-out pairs."),
    level: int = typer.Option(1, "--level", min=1, max=2, help="1 = one digit, 2 = two digits."),
    image: bool = typer.Option(False, "--image", help="Text + first frame → video: give each real clip's first frame."),
    seed: int = typer.Option(0, "--seed"),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the self-test and results as JSON here."),
    sheet: Optional[Path] = typer.Option(None, "--sheet", help="Contact sheet (PNG) of held-out-pair samples."),
    self_test_n: int = typer.Option(300, "--self-test-n", min=10, help="Real test clips per level for the judge's "
                                    "self-test."),
    guidance_scale: Optional[float] = typer.Option(None, "--guidance-scale", help="Classifier-free guidance (default: "
                                                   "the model's)."),
    captions: Optional[Path] = typer.Option(None, "--captions", help="Judge your own captions instead: JSONL of "
                                            "{caption, digit, colour, motion[, lang]} (e.g. "
                                            "bench/novel_captions.jsonl)."),
) -> None:
    """Judged accuracy and FD-judge on Moving Digits test captions. (vidfuse.evaluate.evaluate_model)"""
    import json

    from rich.console import Console

    from vidfuse.evaluate import evaluate_model, judge_self_test, report_tables
    from vidfuse.fileio import atomic_write_text

    console = Console()
    if captions is not None:
        from vidfuse.evaluate import evaluate_captions_file

        result = evaluate_captions_file(model, captions, seed=seed, batch_size=batch_size,
                                        guidance_scale=guidance_scale)
        for name, summary in [("all", result["all"]), *result["groups"].items()]:
            typer.echo(f"{name:>8}: n {summary['n']:4d}  joint {100 * summary['joint']:5.1f}%  digit "
                       f"{100 * summary['digit']:5.1f}%  colour {100 * summary['colour']:5.1f}%  motion "
                       f"{100 * summary['motion']:5.1f}%")
        if json_out is not None:
            atomic_write_text(json_out, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
            typer.echo(f"wrote {json_out}")
        return
    labels = {"self-test": "judge self-test", "generate": f"generating {n} clips", "judge": "judging"}
    with _stage_bars(labels) as progress:
        self_test = judge_self_test(n=self_test_n, seed=seed, progress=progress)
        result = evaluate_model(model, n=n, level=level, seed=seed, batch_size=batch_size, image_conditioned=image,
                                sheet=sheet, guidance_scale=guidance_scale, progress=progress)
    for table in report_tables(self_test, result):
        console.print(table)
    if json_out is not None:
        atomic_write_text(json_out, json.dumps({"self_test": self_test, "result": result}, indent=2,
                                               ensure_ascii=False) + "\n")
        typer.echo(f"wrote {json_out}")
    if sheet is not None:
        typer.echo(f"wrote {sheet}")
    if not self_test["ok"]:
        typer.secho("warning: the judge failed its self-test (see its table); do not trust these numbers",
                    fg=typer.colors.RED, err=True)


def _show_warning(message, category, filename, lineno, file=None, line=None, _default=None) -> None:
    """Warnings meant for people (the prompt's unknown words) as one ``warning: …`` line on stderr; others as
    Python shows them."""
    from vidfuse.data.vocabulary import UnknownWordsWarning
    from vidfuse.media.speech import VoiceFallbackWarning

    if issubclass(category, (UnknownWordsWarning, VoiceFallbackWarning)):
        typer.secho(f"warning: {message}", fg=typer.colors.YELLOW, err=True)
    else:
        _default(message, category, filename, lineno, file, line)


def main() -> None:
    import functools
    import warnings

    warnings.showwarning = functools.partial(_show_warning, _default=warnings.showwarning)
    try:
        app()
    except VidfuseError as e:
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        sys.exit(2)

