"""``vidfuse train``, ``vidfuse eval`` and ``vidfuse data``: training a model, judging it, exporting its data."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from vidfuse.cli.progress import stage_bars
from vidfuse.cli.train_options import CONFIG_FIELDS, check_family_options, train_signature


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
    from vidfuse.train import resolve_config
    from vidfuse.train import train as run_train

    if preset not in PRESETS:
        raise typer.BadParameter(f"choose one of {sorted(PRESETS)}", param_hint="--preset")
    given: dict[str, dict[str, Any]] = {"train": {}, "model": {}, "family": {}}
    for name, value in fields.items():
        if value is not None:
            given[CONFIG_FIELDS[name][0]][name] = value
    run = dict(given["train"], out=str(out) if out else None)
    if given["family"]:  # the family that the preset, --config and --generator choose, to name a stray option
        check_family_options(
            resolve_config(preset, config, **run, model=given["model"]).model.generator, given["family"]
        )
    cfg = resolve_config(preset, config, **run, model={**given["model"], **given["family"]})
    path = run_train(cfg, resume=resume, quiet=quiet)
    typer.echo(f"model: {path}")


train.__signature__ = train_signature(train)  # one option per config field (vidfuse/cli/train_options.py)


def eval_model(
    model: Optional[Path] = typer.Option(
        None, "--model", help="Model folder (default: the one shipped inside vidfuse)."
    ),
    n: int = typer.Option(600, "--n", min=2, help="Test captions: half English, half Chinese; half held-out pairs."),
    level: int = typer.Option(1, "--level", min=1, max=2, help="1 = one digit, 2 = two digits."),
    image: bool = typer.Option(False, "--image", help="Text + first frame → video: give each real clip's first frame."),
    seed: int = typer.Option(0, "--seed"),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the self-test and results as JSON here."),
    sheet: Optional[Path] = typer.Option(None, "--sheet", help="Contact sheet (PNG) of held-out-pair samples."),
    self_test_n: int = typer.Option(
        300, "--self-test-n", min=10, help="Real test clips per level for the judge's self-test."
    ),
    guidance_scale: Optional[float] = typer.Option(
        None, "--guidance-scale", help="Classifier-free guidance (default: the model's)."
    ),
    captions: Optional[Path] = typer.Option(
        None,
        "--captions",
        help="Judge your own captions instead: JSONL of "
        "{caption, digit, colour, motion[, lang]} (e.g. "
        "bench/novel_captions.jsonl).",
    ),
) -> None:
    """Judged accuracy and FD-judge on Moving Digits test captions. (vidfuse.evaluate.evaluate_model)"""
    import json

    from rich.console import Console

    from vidfuse.catalog import find_model
    from vidfuse.errors import InputError
    from vidfuse.evaluate import evaluate_model, judge_self_test, report_tables
    from vidfuse.fileio import atomic_write_text, check_writable
    from vidfuse.inputs import ONE_PASS_GUIDANCE, check_options
    from vidfuse.pipeline import model_info

    console = Console()
    # what is wrong with where the results go, or with the options, is said before minutes of judging
    check_options(seed=seed, guidance_scale=guidance_scale)
    # a missing or broken model folder is said before the minute of the judge's self-test; a name in the models
    # folder is found as generate finds it, and a diffusers folder is left to its loader
    folder = find_model(model)
    info = None if folder is not None and (folder / "model_index.json").is_file() else model_info(folder)
    if guidance_scale not in (None, 1.0) and info is not None and not info["guidance"]:
        raise InputError(f"guidance_scale={guidance_scale}: this model's generator {ONE_PASS_GUIDANCE}")
    for path in (json_out, sheet):
        if path is not None:
            check_writable(path)
    if captions is not None:
        from vidfuse.evaluate import evaluate_captions_file

        result = evaluate_captions_file(
            model, captions, seed=seed, batch_size=batch_size, guidance_scale=guidance_scale
        )
        for name, summary in [("all", result["all"]), *result["groups"].items()]:
            typer.echo(
                f"{name:>8}: n {summary['n']:4d}  joint {100 * summary['joint']:5.1f}%  digit "
                f"{100 * summary['digit']:5.1f}%  colour {100 * summary['colour']:5.1f}%  motion "
                f"{100 * summary['motion']:5.1f}%"
            )
        if result["truncated"]:
            typer.echo(
                f"{result['truncated']} caption(s) longer than this model reads were judged on their first tokens"
            )
        if json_out is not None:
            atomic_write_text(json_out, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
            typer.echo(f"wrote {json_out}")
        return
    labels = {"self-test": "judge self-test", "generate": f"generating {n} clips", "judge": "judging"}
    with stage_bars(labels) as progress:
        self_test = judge_self_test(n=self_test_n, seed=seed, progress=progress)
        result = evaluate_model(
            model,
            n=n,
            level=level,
            seed=seed,
            batch_size=batch_size,
            image_conditioned=image,
            sheet=sheet,
            guidance_scale=guidance_scale,
            progress=progress,
        )
    for table in report_tables(self_test, result):
        console.print(table)
    if json_out is not None:
        atomic_write_text(
            json_out, json.dumps({"self_test": self_test, "result": result}, indent=2, ensure_ascii=False) + "\n"
        )
        typer.echo(f"wrote {json_out}")
    if sheet is not None:
        typer.echo(f"wrote {sheet}")
    if not self_test["ok"]:
        typer.secho(
            "warning: the judge failed its self-test (see its table); do not trust these numbers",
            fg=typer.colors.RED,
            err=True,
        )


def distil_text(
    teacher: Optional[Path] = typer.Option(
        None, "--teacher", help="Model folder to teach (default: the default model)."
    ),
    out: Path = typer.Option(Path("runs/distil"), "--out", help="Run folder (checkpoint, metrics.jsonl, model/)."),
    text_encoder: str = typer.Option("e5", "--text-encoder", help="The student's pretrained encoder: e5 (en + zh)."),
    text_layers: int = typer.Option(2, "--text-layers", min=0, max=12, help="Trainable blocks on the encoder."),
    paraphrase: float = typer.Option(0.75, "--paraphrase", help="Share of the student's captions from the grammar."),
    short: float = typer.Option(
        0.0, "--short", help='Share of the student\'s captions in short wordings ("3, green, right").'
    ),
    contrast: float = typer.Option(
        0.0, "--contrast", min=0.0, help="Weight of the contrast term (pairs of captions one attribute apart)."
    ),
    contrast_on: str = typer.Option(
        "digit", "--contrast-on", help="What a contrast pair changes, comma-separated: digit, colour, motion."
    ),
    contrast_near: float = typer.Option(
        0.0,
        "--contrast-near",
        help="Share of motion pairs that swap a one-way motion and the bounce on its axis (right / left and right).",
    ),
    drop_articles: float = typer.Option(
        0.0, "--drop-articles", help='Share of English student captions without articles ("red 3 drifting left").'
    ),
    steps: int = typer.Option(1000, "--steps", min=1),
    max_minutes: Optional[float] = typer.Option(None, "--max-minutes", help="Stop (and save) after this long."),
    batch_size: int = typer.Option(32, "--batch-size", min=1),
    lr: float = typer.Option(1e-3, "--lr"),
    cooldown_steps: int = typer.Option(
        0, "--cooldown-steps", min=0, help="Decay lr linearly to zero over this call's last N steps (0: constant)."
    ),
    ckpt_every: int = typer.Option(100, "--ckpt-every", min=1),
    seed: int = typer.Option(0, "--seed", min=0),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/checkpoint.safetensors."),
    quiet: bool = typer.Option(False, "--quiet"),
) -> None:
    """Give a trained model a multilingual text encoder, taught by the model itself: any wording, English or
    Chinese, moves its frozen generator as the template caption did. (vidfuse.train.distil_text.distil)"""
    from vidfuse.train.distil_text import DistilConfig, distil

    cfg = DistilConfig(
        teacher=None if teacher is None else str(teacher),
        out=str(out),
        text_encoder=text_encoder,
        text_layers=text_layers,
        paraphrase=paraphrase,
        short=short,
        contrast=contrast,
        contrast_on=contrast_on,
        contrast_near=contrast_near,
        drop_articles=drop_articles,
        steps=steps,
        max_minutes=max_minutes,
        batch_size=batch_size,
        lr=lr,
        cooldown_steps=cooldown_steps,
        ckpt_every=ckpt_every,
        seed=seed,
    )
    typer.echo(f"model: {distil(cfg, resume=resume, quiet=quiet)}")


def data_moving_digits(
    out: str = typer.Option(..., "--out", help="Folder to write clips, captions.csv and attributes.jsonl into."),
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
