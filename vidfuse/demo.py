"""The main job of ``make demo``: what vidfuse does, on the embedded defaults, into ``out/``.

With the default model installed it renders text-to-video clips for English and Chinese prompts
(MP4 each + a contact sheet). Without one it renders real Moving Digits clips with their captions,
the data the default model is trained on, and says how to train the model.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

PROMPTS = [
    "the red digit 3 is moving to the left",
    "a blue seven moves down",
    "digit 5 is left and right.",
    "a green 4 bouncing up and down",
    "红色的数字7向下移动",
    "蓝色数字五上下弹跳",
]


def run_demo(out: str | Path = "out") -> Iterator[str]:
    """Render the demo into ``out``; yields one line of news per file written."""
    from vidfuse.media.video_io import contact_sheet, write_video
    from vidfuse.pipeline import DEFAULT_MODEL_DIR, TextToVideoPipeline

    out = Path(out)
    if (DEFAULT_MODEL_DIR / "model.safetensors").is_file():
        pipe = TextToVideoPipeline.from_pretrained()
        clips = list(pipe(PROMPTS, seed=0))
        captions = PROMPTS
        kind = "generated"
    else:
        from vidfuse.data.moving_digits import MovingDigits

        yield "no default model installed yet: rendering real Moving Digits clips (train one: make train-default)"
        ds = MovingDigits("test", level=(1, 2), lang="both", size=6)
        clips, captions = zip(*[ds.clip(i)[:2] for i in range(len(ds))])
        kind = "moving_digits"
    for i, (frames, caption) in enumerate(zip(clips, captions)):
        path = write_video(out / f"{kind}_{i}.mp4", frames, fps=8.0)
        yield f"{path}  «{caption}»"
    sheet = out / f"{kind}_sheet.png"
    contact_sheet(list(clips), list(captions), path=sheet)
    yield f"{sheet}  (contact sheet)"
