"""Pictures of a story: each scene's clip generated, letterboxed into the story's frame and crossfaded, in
timeline order.

A scene's clip is *generated at its full length*: the pipeline is asked for as many frames as the scene
lasts, so the motion goes on for the whole narration with no jump (looping a training-length clip would make
the digit jump back every 2 s; slowing it down would make the motion sluggish and smeared). A model that
makes short clips continues its own last frame (``image=``) while it can. (A subject that keeps moving one
way comes back in at the far side of the frame once it has left, as the anchor families draw it, so a long
scene is not left black.) Beyond what the model gives (the
pipeline's :data:`MAX_GENERATED_FRAMES`, or ``frames=``) the clip plays forwards then backwards (ping-pong),
which has no jump either. Scene ``i`` gets seed ``seed + i``.

Frames are upscaled "sharp bilinear": nearest-neighbour by the largest whole factor that fits, then bilinear
for the last fraction, so the model's pixels stay crisp and even-sized instead of blurred (plain bilinear)
or uneven (fractional nearest). They keep their aspect ratio, centred on black bars (letterbox/pillarbox).

Frames stream: each is made, crossfaded and handed on in timeline order, so memory holds one scene's native
clip and the crossfade's few full-size frames, whatever the story's length.
"""

from __future__ import annotations

import warnings
from typing import Callable, Iterator

import numpy as np
from PIL import Image

from vidfuse.config import offset_seed
from vidfuse.data.durations import LengthWarning
from vidfuse.errors import InputError
from vidfuse.story.timeline import SceneRender, fade_frames

__all__ = [
    "MAX_GENERATED_FRAMES",
    "STORYBOARD_FRAMES",
    "Letterbox",
    "Progress",
    "fit_prompt",
    "scene_clip",
    "story_frames",
]

MAX_GENERATED_FRAMES = 512  # the pipeline's limit per call
STORYBOARD_FRAMES = 6

Progress = Callable[[str, float], None]  # progress(stage, fraction done)


def fit_prompt(pipe, prompt: str) -> str:
    """Shorten ``prompt`` (whole words first) until the model's tokenizer accepts it."""
    text = prompt
    while not pipe.fits_prompt(text):
        if len(text) <= 1:
            raise InputError(f"the model reads no prompt as short as {text!r}")
        head = text.rsplit(" ", 1)[0].rstrip() if " " in text.strip() else text[:-1]
        text = head if head.strip() else text[:-1]
    return text


def _pingpong(generated: int, needed: int) -> np.ndarray:
    """Frame indices that play a clip forwards then backwards until ``needed`` frames."""
    if generated >= needed:
        return np.arange(needed)
    if generated == 1:
        return np.zeros(needed, dtype=int)
    period = 2 * generated - 2
    k = np.arange(needed) % period
    return np.where(k < generated, k, period - k)


class Letterbox:
    """Upscale (sharp bilinear) and centre native frames in a black (H, W) canvas."""

    def __init__(self, h: int, w: int, out_h: int, out_w: int):
        s = min(out_w / w, out_h / h)
        self.cw, self.ch = max(1, round(w * s)), max(1, round(h * s))
        self.k = max(1, int(s + 1e-9))  # whole-number nearest-neighbour factor
        self.y0, self.x0 = (out_h - self.ch) // 2, (out_w - self.cw) // 2
        self.shape = (out_h, out_w, 3)

    def content(self, frame: np.ndarray) -> np.ndarray:
        """(h, w, 3) → (ch, cw, 3), the upscaled picture without bars."""
        big = frame.repeat(self.k, 0).repeat(self.k, 1) if self.k > 1 else frame
        if big.shape[:2] != (self.ch, self.cw):
            big = np.asarray(Image.fromarray(big).resize((self.cw, self.ch), Image.BILINEAR))
        return big

    def place(self, canvas: np.ndarray, content: np.ndarray) -> None:
        canvas[self.y0 : self.y0 + self.ch, self.x0 : self.x0 + self.cw] = content


def _fade_weight(k: int, x: int) -> float:
    """Weight of the incoming picture on frame ``k`` (0-based) of an ``x``-frame fade."""
    return (k + 1) / (x + 1)


def scene_clip(pipe, prompt: str, need: int, *, frames: int | None, seed: int | None, options: dict) -> np.ndarray:
    """A scene's native clip, ``(T, h, w, 3)``, for a scene of ``need`` frames: ``frames`` when given; else
    the whole scene (to :data:`MAX_GENERATED_FRAMES`) from a model that makes long clips in one call; else
    the model's native length, continued from its last frame (``image=``) by further calls while the model
    can (``continues_from_last_frame``). A shorter clip plays forwards and backwards (:func:`_pingpong`)."""
    with warnings.catch_warnings():  # the scene's length is the narration's, whatever its prompt says in words
        warnings.simplefilter("ignore", LengthWarning)
        return _scene_clip(pipe, prompt, need, frames=frames, seed=seed, options=options)


def _scene_clip(pipe, prompt: str, need: int, *, frames: int | None, seed: int | None, options: dict) -> np.ndarray:
    cap = min(need, MAX_GENERATED_FRAMES)
    if frames is not None:
        return pipe(prompt, num_frames=min(frames, cap), seed=seed, **options)[0]
    if pipe.long_clips:
        return pipe(prompt, num_frames=cap, seed=seed, **options)[0]
    clip = pipe(prompt, num_frames=min(pipe.num_frames, cap), seed=seed, **options)[0]
    step = 0
    while len(clip) < cap and pipe.continues_from_last_frame:
        step += 1
        more = pipe(
            prompt,
            image=clip[-1],
            num_frames=max(2, min(pipe.num_frames, cap - len(clip) + 1)),
            seed=offset_seed(seed, 1000 * step),
            **options,
        )[0]
        clip = np.concatenate([clip, more[1:]])  # its first frame is the last one already shown
    return clip[:cap]


def story_frames(
    renders: list[SceneRender],
    pipe,
    size: tuple[int, int],
    *,
    fps: float,
    seed: int | None,
    boards: list[np.ndarray],
    report: Progress,
    frames: int | None = None,
    gen_size: tuple[int | None, int | None] = (None, None),
    options: dict | None = None,
) -> Iterator[np.ndarray]:
    """The story's frames, ``(H, W, 3)`` uint8 each, in timeline order, made as they are asked for.

    Each scene is generated at full length, letterboxed and crossfaded: its last ``x`` frames wait
    (the only frames held) until the next scene fades in over them. Appends each scene's
    storyboard frames (:data:`STORYBOARD_FRAMES` native frames) to ``boards``.
    """
    x = fade_frames(fps)
    out_h, out_w = size
    gen_h, gen_w = (g or n for g, n in zip(gen_size, pipe.native_size))
    options = dict(options or {}, height=gen_h, width=gen_w)
    box = Letterbox(gen_h, gen_w, out_h, out_w)
    held: list[np.ndarray] = []  # the previous scene's last x frames, under this scene's fade-in
    for i, r in enumerate(renders):
        report("frames", i / len(renders))
        r.prompt = fit_prompt(pipe, r.scene.prompt)
        r.unknown_words = pipe.unknown_words(r.prompt)
        clip = scene_clip(pipe, r.prompt, r.num_frames, frames=frames, seed=offset_seed(seed, i), options=options)
        r.generated_frames = len(clip)
        order = _pingpong(r.generated_frames, r.num_frames)  # clip[order[k]] is frame k of the scene
        boards.append(clip[order[np.round(np.linspace(0, r.num_frames - 1, STORYBOARD_FRAMES)).astype(int)]])
        last_scene = i == len(renders) - 1
        tail: list[np.ndarray] = []
        for k in range(r.num_frames):
            canvas = np.zeros(box.shape, np.uint8)  # (H, W, 3); the bars stay black
            box.place(canvas, box.content(clip[order[k]]))
            if k < x:  # incoming fade: over the previous scene, or from black
                a = _fade_weight(k, x)
                under = held[k].astype(np.float32) if held else 0.0
                yield np.clip(under * (1 - a) + canvas * a + 0.5, 0, 255).astype(np.uint8)
            elif k >= r.num_frames - x and last_scene:  # the end fades to black
                a = _fade_weight(r.num_frames - 1 - k, x)
                yield np.clip(canvas * a + 0.5, 0, 255).astype(np.uint8)
            elif k >= r.num_frames - x:
                tail.append(canvas)  # shown under the next scene's fade-in
            else:
                yield canvas
        held = tail
    report("frames", 1.0)
