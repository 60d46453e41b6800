"""The main job of ``make demo``: what vidfuse does, on the embedded defaults, into ``out/``.

With the default model installed it renders text-to-video clips for English and Chinese prompts
(MP4 each + a contact sheet). Without one it renders real Moving Digits clips with their captions,
the data the default model is trained on, and says how to train the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

# (prompt, whether its (digit, motion) pair was held out of training: the model never saw it)
PROMPTS: list[tuple[str, bool]] = [
    ("the red digit 3 is moving up", True),
    ("a blue seven moves down", True),
    ("the green number four is bouncing up and down", False),
    ("the yellow digit 6 is moving to the left", False),
    ("一个红色的数字5向左移动", True),
    ("蓝色数字八上下弹跳", False),
]

# A music mood per story (None: voice only). The English story is spoken by Piper over the library's music.
STORY_MUSIC = {"story_en": "calm", "story_zh": None}
STORIES = {  # blank lines: one scene per paragraph (the planner packs a paragraph's sentences up to ~10 s)
    "story_en": "A red three moves up the screen.\n\nThen a blue seven moves down.\n\n"
    "Finally, a green four bounces up and down. That is the end of the lesson.",
    "story_zh": "一个红色的数字3向上移动。\n\n然后，蓝色的数字7向下移动。\n\n最后，绿色的数字4上下弹跳。",
}


def run_demo(
    out: str | Path = "out",
    *,
    model: str | Path | None = None,
    story_size: tuple[int, int] | None = None,
    topic_story: bool = True,
) -> Iterator[str]:
    """Render the demo into ``out``; yields one line of news per file written.

    ``model``: a model folder (default: the one shipped inside vidfuse, when installed);
    ``story_size``: (width, height) of the stories instead of 1280×720 (tests use small ones);
    ``topic_story``: also write ``topic_story.mp4`` from :data:`TOPIC` with the shipped writer (≈ 40 s).
    """
    from vidfuse.media.video_io import contact_sheet, write_video
    from vidfuse.pipeline import TextToVideoPipeline, default_model_dir, is_model_folder

    out = Path(out)
    if model is not None or is_model_folder(default_model_dir()):
        pipe = TextToVideoPipeline.from_pretrained(model)
        captions = [p for p, _ in PROMPTS]
        clips = list(pipe(captions, seed=0))
        notes = ["held-out pair" if held else "seen pair" for _, held in PROMPTS]
        kind = "generated"
    else:
        from vidfuse.data.moving_digits import MovingDigits

        yield "no default model installed yet: rendering real Moving Digits clips (train one: make train-default)"
        pipe = None
        ds = MovingDigits("test", level=(1, 2), lang="both", size=6)
        clips, captions = (list(x) for x in zip(*[ds.clip(i)[:2] for i in range(len(ds))]))
        notes = ["real clip"] * len(clips)
        kind = "moving_digits"
    for i, (frames, caption, note) in enumerate(zip(clips, captions, notes)):
        path = write_video(out / f"{kind}_{i}.mp4", frames, fps=8.0)
        yield f"{path}  «{caption}» ({note})"
    sheet = out / f"{kind}_sheet.png"
    contact_sheet(list(clips), list(captions), path=sheet)
    yield f"{sheet}  (contact sheet)"
    if pipe is not None:
        yield from _stories(pipe, out, story_size)
        if topic_story:
            yield from _topic_story(pipe, out, story_size)


def _stories(pipe, out: Path, size: tuple[int, int] | None) -> Iterator[str]:
    """A short narrated story in English (Piper's neural voice over library music) and in Chinese (espeak-ng)."""
    import shutil

    from vidfuse.media.speech import default_piper_voice
    from vidfuse.story.compose import render_story
    from vidfuse.story.music import library_dir

    piper = default_piper_voice() is not None
    espeak = shutil.which("espeak-ng") is not None
    if not espeak:
        yield "espeak-ng not found: the Chinese story has no voice (install it: apt-get install espeak-ng)"
    for name, script in STORIES.items():
        voice = piper or espeak if name == "story_en" else espeak
        music = STORY_MUSIC[name] if library_dir() is not None else None
        result = render_story(
            script,
            out / f"{name}.mp4",
            aspect="16:9",
            pipeline=pipe,
            no_voice=not voice,
            subtitles="soft",
            size=size,
            music=music,
        )
        spoken = ("Piper en_US-joe-medium" if piper and name == "story_en" else "espeak-ng") if voice else "no voice"
        bed = f", music: {music}" if music else ""
        yield (
            f"{result.video}  (narrated story, {result.duration_s:.1f} s, voice: {spoken}{bed}; subtitles and "
            "storyboard beside it)"
        )


TOPIC = "apples on a farm"  # a counting story: the default model draws its scenes (coloured digits moving)


def _topic_story(pipe, out: Path, size: tuple[int, int] | None) -> Iterator[str]:
    """A story written from :data:`TOPIC` by the shipped language model (vidfuse.story.writer), then rendered."""
    import shutil

    from vidfuse.errors import MissingDependencyError
    from vidfuse.story.compose import render_story
    from vidfuse.story.writer import draws_digits, script_json, write_script

    try:
        scenes = write_script(TOPIC, scenes=3, digits=draws_digits(getattr(pipe, "trained_on", None)))
    except MissingDependencyError as e:
        yield f"no topic story: {e}"
        return
    (out / "topic_story.json").write_text(script_json(scenes) + "\n", encoding="utf-8")
    result = render_story(
        scenes,
        out / "topic_story.mp4",
        aspect="16:9",
        pipeline=pipe,
        subtitles="soft",
        size=size,
        no_voice=shutil.which("espeak-ng") is None,
    )
    yield (
        f"{result.video}  (story written from the topic {TOPIC!r}, {result.duration_s:.1f} s; "
        "script in topic_story.json)"
    )
