"""The story's timeline: each scene's narration is spoken (or its length estimated), which sets the scene's
length, and the scenes are laid end to end in frames with their cues and their voice.

Consecutive scenes overlap by a crossfade of :data:`~vidfuse.story.planner.CROSSFADE_S` (0.5 s, 4 frames at
8 fps); the first fades in from black and the last fades out to black over the same length. A scene lasts
``crossfade + 0.25 s + narration + 0.35 s + crossfade`` (rounded up to whole frames; longer if a JSON
``duration`` asks for more) and its voice starts right after the incoming fade, so narration never plays
under a transition and every subtitle cue lies inside its own scene's unfaded frames. The crossfade overlap
makes the story ``(scenes - 1) * 0.5 s`` shorter than the sum of its scenes. The voice track is exactly as
long as the video (``samples = frames * rate / fps``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from vidfuse.errors import InputError, MissingDependencyError
from vidfuse.media.audio import overlay
from vidfuse.media.speech import SentenceTiming, split_sentences, synthesize
from vidfuse.media.subtitles import Cue
from vidfuse.story.cues import sentence_cues
from vidfuse.story.planner import (
    CROSSFADE_S,
    LEAD_S,
    MAX_SCENE_SECONDS,
    MAX_STORY_SECONDS,
    MIN_SENTENCE_S,
    SENTENCE_PAUSE_S,
    SPOKEN_SLACK,
    TAIL_S,
    WEIGHT_PER_S,
    Scene,
    spoken_weight,
)

__all__ = ["SceneRender", "Voice", "check_spoken", "fade_frames", "lay_out", "speak", "voice_track"]


@dataclass
class SceneRender:
    """Where one scene landed in the story (seconds on the story's timeline)."""

    scene: Scene
    prompt: str  # as given to the model (trimmed to its tokenizer's limit if needed)
    start_s: float  # its first frame (its fade-in overlaps the previous scene)
    end_s: float  # the end of its last frame
    voice_start_s: float | None  # None for a silent scene
    voice_end_s: float | None
    sentences: list[SentenceTiming] = field(default_factory=list)  # spoken sentences, story timeline
    num_frames: int = 0  # frames on the timeline
    generated_frames: int = 0  # frames the model made (fewer past its 512-frame limit, or with frames=)
    unknown_words: list[str] = field(default_factory=list)  # words of the prompt the model never saw


@dataclass
class Voice:
    """A scene's narration as spoken (or, without a voice, as estimated): its waveform and sentence timings."""

    waveform: np.ndarray | None  # (N,) float32, None when not spoken
    sample_rate: int | None
    sentences: list[SentenceTiming]  # scene-local times
    duration_s: float
    voices: list[str] = field(default_factory=list)  # "engine voice" of each voice that spoke


def estimate(narration: str) -> Voice:
    """Sentence timings at espeak's pace (:func:`vidfuse.story.planner.speech_seconds`), for ``no_voice``."""
    timings, t = [], 0.0
    for sentence in split_sentences(narration):
        if not any(c.isalnum() for c in sentence):
            continue
        d = max(MIN_SENTENCE_S, spoken_weight(sentence) / WEIGHT_PER_S)
        if timings:
            t += SENTENCE_PAUSE_S
        timings.append(SentenceTiming(sentence, t, t + d))
        t += d
    return Voice(None, None, timings, t)


def speak(scene: Scene, index: int, *, lang, voice, rate, pitch, no_voice) -> Voice:
    """Scene ``index``'s narration spoken by :func:`vidfuse.media.speech.synthesize` (estimated with ``no_voice``);
    an engine's error names the scene."""
    if not scene.narration:
        return Voice(None, None, [], 0.0)
    if no_voice:
        return estimate(scene.narration)
    try:
        sp = synthesize(scene.narration, lang=lang, voice=voice, rate=rate, pitch=pitch)
    except MissingDependencyError as e:
        raise MissingDependencyError(f"{e}\n(or render without a voice: --no-voice / no_voice=True)") from e
    except InputError as e:
        raise InputError(f"scene {index + 1} ({scene.narration[:40]!r}): {e}") from e
    return Voice(sp.waveform, sp.sample_rate, list(sp.sentences), sp.duration_s, list(sp.voices))


def check_spoken(scene: Scene, index: int, voice: Voice, story_s: float) -> None:
    """Refuse a scene, or the story so far (``story_s`` seconds), whose spoken length passes its limit by
    more than :data:`~vidfuse.story.planner.SPOKEN_SLACK` (text that takes far longer to say than to write)."""
    if voice.waveform is not None and voice.duration_s > MAX_SCENE_SECONDS * SPOKEN_SLACK:
        raise InputError(
            f"scene {index + 1} ({scene.narration[:30]!r}…) takes {voice.duration_s:.0f} s to say, far longer "
            f"than its text suggests; a scene's narration may last at most {MAX_SCENE_SECONDS:g} s: split it or "
            "write its numbers and symbols as words"
        )
    if story_s > MAX_STORY_SECONDS * SPOKEN_SLACK:
        raise InputError(
            f"scenes 1–{index + 1} already last {story_s / 60:.1f} minutes as spoken; a story may last at most "
            f"{MAX_STORY_SECONDS / 60:g} minutes (MAX_STORY_SECONDS): shorten the script, or speak faster (rate)"
        )


def fade_frames(fps: float) -> int:
    """Frames of one crossfade at ``fps``: at least one."""
    return max(1, int(round(CROSSFADE_S * fps)))


def lay_out(
    scenes: list[Scene], voices: list[Voice], fps: float
) -> tuple[list[SceneRender], list[Cue], list[tuple[float, float]], int]:
    """Lay the scenes out in frames: ``(renders, cues, voice spans, total frames)`` (see the module docstring)."""
    x = fade_frames(fps)
    lead, tail = x / fps + LEAD_S, TAIL_S + x / fps
    renders, cues, spans = [], [], []
    start = 0  # frame where the current scene begins
    for scene, v in zip(scenes, voices):
        need = lead + v.duration_s + tail
        if scene.duration_s is not None:
            need = max(need, scene.duration_s)
        length = max(2 * x + 1, int(math.ceil(need * fps - 1e-9)))
        t0 = start / fps
        voice_at = t0 + lead
        sentences = [
            SentenceTiming(s.text, voice_at + float(s.start_s), voice_at + float(s.end_s)) for s in v.sentences
        ]
        for s in sentences:
            cues += sentence_cues(s.text, s.start_s, s.end_s)
        if v.waveform is not None:  # music ducks under each spoken sentence, and comes back between them
            spans += [(s.start_s, s.end_s) for s in sentences]
        renders.append(
            SceneRender(
                scene=scene,
                prompt=scene.prompt,
                start_s=t0,
                end_s=t0 + length / fps,
                voice_start_s=voice_at if sentences else None,
                voice_end_s=voice_at + v.duration_s if sentences else None,
                sentences=sentences,
                num_frames=length,
            )
        )
        start += length - x  # the next scene fades in over this one's last x frames
    return renders, cues, spans, start + x


def voice_track(
    renders: list[SceneRender], voices: list[Voice], total: int, fps: float
) -> tuple[np.ndarray | None, int | None]:
    """Every scene's speech at its place on the timeline, ``(N,)`` float32 exactly as long as the video's
    ``total`` frames, at the highest rate any voice spoke at; ``(None, None)`` when nothing was spoken."""
    rates = [v.sample_rate for v in voices if v.sample_rate]
    if not rates:
        return None, None
    rate = max(rates)
    clips = [(v.waveform, v.sample_rate, r.voice_start_s) for r, v in zip(renders, voices) if v.waveform is not None]
    return overlay(clips, rate, int(round(total * rate / fps))), rate
