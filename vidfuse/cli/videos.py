"""``vidfuse generate``, ``vidfuse story`` and ``vidfuse demo``: the commands that make videos."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from vidfuse.cli.progress import stage_bars


def generate(
    prompt: Optional[str] = typer.Argument(None, help="What the video shows."),
    # str, not Path: Path("clips/") drops the slash that says a folder was meant
    output: Optional[str] = typer.Option(None, "-o", "--output", help="Output file (.mp4, .m4v, .webm or .gif)."),
    prompts: Optional[Path] = typer.Option(None, "--prompts", help="Batch: a text file, one prompt a line."),
    out_dir: Optional[str] = typer.Option(  # a str: typer would read '' as Path('.'), the current folder
        None, "--out-dir", help="Batch: folder for 0000.mp4, … and index.csv."
    ),
    model: Optional[Path] = typer.Option(
        None, "--model", help="Model folder (default: the one shipped inside vidfuse)."
    ),
    image: Optional[Path] = typer.Option(None, "--image", help="First frame to start from."),
    seed: Optional[int] = typer.Option(None, "--seed"),
    frames: Optional[int] = typer.Option(None, "--frames", help="Number of frames, 1-512 (default: the model's)."),
    fps: Optional[float] = typer.Option(
        None, "--fps", help="Frames per second, 1-120 (GIF: at most 50; default: the model's, 8 for vidfuse models)."
    ),
    fmt: Optional[str] = typer.Option(
        None, "--format", help="mp4 | webm | gif (default: from the file name, which must agree when it has a suffix)."
    ),
    guidance_scale: Optional[float] = typer.Option(
        None, "--guidance-scale", help="Classifier-free guidance, 0-20 (1 = off; default: the model's)."
    ),
    truncate: bool = typer.Option(
        False, "--truncate", help="Cut a prompt longer than the model's token limit to it instead of refusing it."
    ),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Refuse a prompt with words the model was never trained on (default: warn and generate).",
    ),
    width: Optional[int] = typer.Option(None, "--width", help="Frame width in pixels, 8-4096 (default: the model's)."),
    height: Optional[int] = typer.Option(
        None, "--height", help="Frame height in pixels, 8-4096 (default: the model's)."
    ),
    steps: Optional[int] = typer.Option(
        None, "--steps", help="Denoising steps (pretrained diffusers models; default: the pipeline's)."
    ),
    negative_prompt: Optional[str] = typer.Option(
        None, "--negative-prompt", help="What the video should not show (pretrained diffusers models)."
    ),
    dtype: str = typer.Option(
        "auto",
        "--dtype",
        help="auto | float32 | bfloat16 | float16 (pretrained models; auto: bfloat16 on a GPU, float32 on a CPU).",
    ),
    device: Optional[str] = typer.Option(
        None, "--device", help="cpu, cuda, cuda:1 … (default: a GPU when there is one)."
    ),
    offload: str = typer.Option(
        "none",
        "--offload",
        help="none | model | sequential | group: keep a pretrained "
        "model's weights in CPU memory, moving them to the GPU per component (model), per "
        "layer (sequential, least memory, slowest) or per layer with the copies overlapped on "
        "a CUDA stream (group: diffusers' group offloading, about sequential's memory at "
        "nearer model's speed).",
    ),
    vae_tiling: bool = typer.Option(
        False, "--vae-tiling", help="Decode frames in tiles (less GPU memory; pretrained models whose VAE has it)."
    ),
    vae_slicing: bool = typer.Option(
        False, "--vae-slicing", help="Decode one clip of a batch at a time (pretrained models whose VAE has it)."
    ),
) -> None:
    """Text (+ optional first frame) to video. (vidfuse.generate.generate_one, generate_batch)"""
    from vidfuse.generate import LoadOptions, generate_batch, generate_one

    if (prompt is None) == (prompts is None):
        raise typer.BadParameter("give either a PROMPT with -o FILE, or --prompts FILE with --out-dir DIR")
    kwargs = dict(
        model=model,
        image=image,
        seed=seed,
        num_frames=frames,
        fps=fps,
        fmt=fmt,
        guidance_scale=guidance_scale,
        on_overflow="truncate" if truncate else "error",
        strict=strict,
        width=width,
        height=height,
        steps=steps,
        negative_prompt=negative_prompt,
        load=LoadOptions(device=device, dtype=dtype, offload=offload, vae_tiling=vae_tiling, vae_slicing=vae_slicing),
    )
    if prompt is not None and output is None:
        raise typer.BadParameter("where to write the video: add -o FILE.mp4")
    if prompt is None and out_dir is None:
        raise typer.BadParameter("batch mode needs --out-dir DIR")
    if prompt is None and output is not None:
        raise typer.BadParameter("-o is for one prompt; a batch is written to --out-dir (0000.mp4, … and index.csv)")
    with stage_bars({"denoise": "denoising"}) as bars:
        kwargs["progress"] = lambda step, total: bars("denoise", step / total)
        written = (
            generate_one(prompt, _as_output(output), **kwargs)
            if prompt is not None
            else generate_batch(prompts, out_dir, **kwargs)
        )
    typer.echo(f"wrote {written}")


def read(
    prompt: str = typer.Argument(..., help="A prompt, as you would give it to generate."),
    model: Optional[Path] = typer.Option(
        None, "--model", help="Model folder (default: the one shipped inside vidfuse)."
    ),
) -> None:
    """How a vidfuse model reads PROMPT, without drawing it: the words it reads (a length in words taken out, shades,
    slips, fields and request framing put in the words it was taught), the layers it draws, the words it never
    saw."""
    from vidfuse.pipeline import TextToVideoPipeline

    pipe = TextToVideoPipeline.from_pretrained(model)
    if getattr(pipe, "is_diffusers", False):
        typer.echo(f"reads: {prompt}  (a pretrained pipeline reads the prompt as it is written)")
        return
    typer.echo(f"reads: {pipe.model_text(prompt)}")
    layers = pipe.subject_layers(prompt)
    beyond = pipe.digits_beyond(prompt)
    if layers:
        typer.echo(f"draws {len(layers)} layers, one per digit:")
        for k, clause in enumerate(layers, 1):
            typer.echo(f"  {k}. {clause}")
    elif beyond is not None:
        typer.echo(f"asks for {beyond.total} digits but does not split into one clause per digit: draws it whole")
    unknown = pipe.unknown_words(prompt)
    if unknown:
        typer.echo(f"never saw in training: {', '.join(unknown)}")


def _as_output(output: str):
    """``-o`` as a path, or as given where it ends in a slash (a folder, which ``Path`` would hide: generate_one
    refuses it)."""
    from vidfuse.fileio import names_folder

    return output if names_folder(output) else Path(output)


def story(
    script: Optional[Path] = typer.Argument(
        None, help="The story: a .txt script (planned into scenes) or a .json scene list; or --topic."
    ),
    output: str = typer.Option(..., "-o", "--output", help="The MP4 to write; .srt/.vtt/.storyboard.png go beside it."),
    aspect: str = typer.Option("16:9", "--aspect", help="16:9 (1280×720) | 9:16 (720×1280) | 1:1 (720×720)."),
    lang: str = typer.Option("auto", "--lang", help="auto | en | zh."),
    subtitles: str = typer.Option(
        "soft", "--subtitles", help="soft (track + sidecars) | burn | srt (sidecars) | none."
    ),
    voice: Optional[str] = typer.Option(
        None,
        "--voice",
        help="English: a Piper .onnx voice file, or an espeak-ng "
        "voice (en-us, +f3, espeak); Chinese: cmn-latn-pinyin. Default: the neural "
        "Piper voice for English. See: vidfuse voices.",
    ),
    rate: Optional[int] = typer.Option(None, "--rate", help="Speaking rate, words per minute (80-500)."),
    music: str = typer.Option(
        "none",
        "--music",
        help="Background music, ducked under the voice: a mood from the "
        "library (calm, energetic, happy, nostalgic, tender; the seed picks the track), an "
        "audio file, or none.",
    ),
    model: Optional[Path] = typer.Option(
        None, "--model", help="Model folder (default: the one shipped inside vidfuse)."
    ),
    prompt_lm: Optional[Path] = typer.Option(
        None, "--prompt-lm", help="Local causal LM folder (Hugging Face format) that rewrites the visual prompts."
    ),
    seed: int = typer.Option(0, "--seed", help="Scene i uses seed + i."),
    fps: float = typer.Option(8.0, "--fps", help="Frames per second (8 matches the default model)."),
    no_voice: bool = typer.Option(False, "--no-voice", help="No speech (scene lengths are estimated)."),
    width: Optional[int] = typer.Option(
        None,
        "--width",
        help="Width the model draws each scene at (default: its native size; letterboxed into --aspect).",
    ),
    height: Optional[int] = typer.Option(
        None, "--height", help="Height the model draws each scene at (default: its native size)."
    ),
    frames: Optional[int] = typer.Option(
        None,
        "--frames",
        help="Frames the model makes per scene, 1-512 (default: the "
        "whole scene, or a pretrained model's native length continued from its last "
        "frame where it can); a longer scene plays them forwards and backwards.",
    ),
    steps: Optional[int] = typer.Option(None, "--steps", help="Denoising steps (pretrained diffusers models)."),
    negative_prompt: Optional[str] = typer.Option(
        None, "--negative-prompt", help="What the scenes should not show (pretrained diffusers models)."
    ),
    topic: Optional[str] = typer.Option(
        None, "--topic", help="Write the script from this topic with a local language model first (instead of SCRIPT)."
    ),
    scenes: Optional[int] = typer.Option(None, "--scenes", help="Scenes the writer writes for --topic (default 4)."),
    writer: Optional[Path] = typer.Option(
        None,
        "--writer",
        help="The writer for --topic: a local causal LM folder or .gguf (default: the shipped SmolLM2-135M).",
    ),
) -> None:
    """A narrated, subtitled MP4 from a script, with a storyboard PNG. (vidfuse.story.render_story)"""
    from vidfuse.story import render_story

    labels = {
        "plan": "planning scenes",
        "voice": "speaking narration",
        "frames": "drawing + encoding",
        "subtitles": "burning subtitles",
        "encode": "encoding MP4",
        "storyboard": "drawing storyboard",
    }
    if (script is None) == (topic is None):
        raise typer.BadParameter("give a SCRIPT file or --topic TEXT (one of them)")
    if topic is None:  # a script's own paragraphs are its scenes: these would be ignored
        for name, value in (("--scenes", scenes), ("--writer", writer)):
            if value is not None:
                raise typer.BadParameter(f"{name} applies to --topic; a script's paragraphs are its scenes")
    scenes = 4 if scenes is None else scenes
    pipeline = None
    if topic is not None:
        from vidfuse.pipeline import TextToVideoPipeline
        from vidfuse.story.writer import check_topic, draws_digits, script_json, write_script

        topic = check_topic(topic)  # before the model loads, and before it is echoed

        pipeline = TextToVideoPipeline.from_pretrained(model)
        lang = "en" if lang == "auto" else lang
        typer.echo(f"writing {scenes} scenes about {topic!r} …")
        script = write_script(
            topic,
            scenes=scenes,
            lang=lang,
            writer=writer,
            seed=seed,
            digits=draws_digits(getattr(pipeline, "trained_on", None)),
        )
        typer.echo(script_json(script))
        model = None
    with stage_bars(labels) as progress:
        result = render_story(
            script,
            output,
            pipeline=pipeline,
            aspect=aspect,
            lang=lang,
            subtitles=subtitles,
            voice=voice,
            rate=rate,
            music=music,
            model=model,
            llm=prompt_lm,
            seed=seed,
            fps=fps,
            no_voice=no_voice,
            progress=progress,
            width=width,
            height=height,
            frames=frames,
            steps=steps,
            negative_prompt=negative_prompt,
        )
    n = len(result.scenes)
    typer.echo(f"wrote {result.video} ({result.duration_s:.1f} s, {n} scene{'' if n == 1 else 's'})")
    for extra in (result.srt, result.vtt, result.storyboard):
        if extra is not None:
            typer.echo(f"wrote {extra}")


def demo(out: Path = typer.Option(Path("out"), "--out", help="Output folder.")) -> None:
    """The main job of `make demo`. (vidfuse.demo.run_demo)"""
    from vidfuse.demo import run_demo

    for line in run_demo(out):
        typer.echo(line)
