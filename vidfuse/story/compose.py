"""Composition: scenes become one narrated, subtitled MP4 (H.264 + AAC), with subtitle sidecars and a storyboard.

:func:`render_story` runs these stages (each reported to ``progress(stage, fraction)``):

``plan``
    The script becomes scenes (:mod:`vidfuse.story.planner`).
``voice``
    Each scene's narration is spoken (:func:`vidfuse.media.speech.synthesize`: Piper's neural voice
    for English, espeak-ng for Chinese); its length sets the scene's length
    (:mod:`vidfuse.story.timeline`). With ``no_voice`` the length is estimated at espeak's pace
    (:func:`vidfuse.story.planner.speech_seconds`) and there is no voice track.
``frames``
    Each scene's clip is generated at its full length and laid on the timeline
    (:mod:`vidfuse.story.layout`), its cues burnt in with ``subtitles="burn"`` (:mod:`vidfuse.story.cues`),
    and the frames are encoded as they are made: one :func:`vidfuse.media.video_io.write_video` call,
    H.264 ``yuv420p`` + AAC, plus a ``mov_text`` track with ``subtitles="soft"``. Nothing but the MP4 is
    written to disk and memory stays bounded whatever the story's length.
``subtitles``, ``encode``
    Reported done when the last frame is encoded (they run within ``frames``).
``storyboard``
    ``<stem>.storyboard.png``: a header naming the voice (engine and voice, e.g. ``Piper en_US-joe-medium``)
    and the music (mood and track, a file's name, or none), then one row per scene (6 frames) with its
    narration and prompt.

**Limits.** The planner's limits (:mod:`vidfuse.story.planner`: scenes, a scene's and the story's
estimated length at the chosen ``rate``) are checked before anything is spoken; a scene or story whose
*spoken* length passes its limit by more than :data:`~vidfuse.story.planner.SPOKEN_SLACK` is refused
before any frame is drawn.

``fps`` defaults to 8, the frame rate of the Moving Digits clips the default model learnt from, so the
generated motion plays at the speed it was learnt at.

**Music.** ``music`` is a mood of the music library or any file FFmpeg decodes with an audio stream
(:mod:`vidfuse.story.music`; a file without one is refused before anything is spoken). Only as much as
the story needs is decoded; it plays under the voice as :func:`vidfuse.media.audio.music_bed` describes
(looped, levelled under the voice, faded, ducked while a sentence is spoken).

**Loudness.** The final track is set to -16 LUFS integrated with its true peak at or under -1 dBTP
(:func:`vidfuse.media.audio.normalize_loudness`). With music this runs twice: on the voice alone, so that
the bed is levelled against the voice as it is heard (limited), and on the mix; limiting only the mix
would squash the voice's peaks and lift the bed towards it (``docs/decisions/story.md``).

**Subtitles.** One cue per spoken sentence (:mod:`vidfuse.story.cues`). ``soft``: a ``mov_text`` track
plus ``<stem>.srt``/``<stem>.vtt``; ``burn``: drawn into the frames plus the sidecars; ``srt``: the
sidecars only; ``none``: nothing.

**Atomicity.** Everything is written into a temporary folder beside the output and renamed into
place at the end, the MP4 last; an error on the way leaves no output file (and no sidecars).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from vidfuse.config import MAX_SEED
from vidfuse.errors import InputError
from vidfuse.fileio import check_not_input, check_writable, names_folder
from vidfuse.media.audio import mix_music, normalize_loudness
from vidfuse.media.sheets import contact_sheet
from vidfuse.media.subtitles import Cue, write_sidecars
from vidfuse.media.video_io import write_video
from vidfuse.story.cues import burnt
from vidfuse.story.layout import STORYBOARD_FRAMES, Progress, story_frames
from vidfuse.story.music import check_music, load_music, music_label, resolve_music
from vidfuse.story.planner import CROSSFADE_S, LANGS, MAX_SCRIPT_CHARS, Scene, as_scenes, scene_seconds
from vidfuse.story.timeline import SceneRender, check_spoken, lay_out, speak, voice_track

__all__ = ["ASPECTS", "SUBTITLE_MODES", "SceneRender", "StoryResult", "render_story"]

ASPECTS = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (720, 720)}  # (width, height)
SUBTITLE_MODES = ("soft", "burn", "srt", "none")


@dataclass
class StoryResult:
    """What :func:`render_story` wrote: the MP4, sidecars (None when not written) and the storyboard."""

    video: Path
    srt: Path | None
    vtt: Path | None
    storyboard: Path
    scenes: list[SceneRender]
    duration_s: float
    cues: list[Cue] = field(default_factory=list)
    unknown_words: list[str] = field(default_factory=list)  # every scene's, once each, in order
    voices: list[str] = field(default_factory=list)  # "engine voice" of each voice that spoke; [] for none
    music: str = "none"  # the music as the storyboard names it: "calm (track)", a file's name, or "none"


# --------------------------------------------------------------------------- checks


def _check_options(output, aspect, size, subtitles, lang, fps, seed) -> tuple[Path, tuple[int, int]]:
    if names_folder(output):
        raise InputError(f"{output} names a folder; give a file name such as {Path(output) / 'story.mp4'}")
    output = Path(output)
    if output.suffix.lower() not in (".mp4", ".m4v"):
        raise InputError(f"a story is written as MP4 (H.264 + AAC): name the output *.mp4, not {output.name}")
    if output.is_dir():
        raise InputError(f"{output} is a folder; give a file name such as {output / 'story.mp4'}")
    output = check_writable(output)  # before minutes of narration and drawing; a symbolic link: its target
    if subtitles not in SUBTITLE_MODES:
        raise InputError(f"subtitles must be one of {', '.join(SUBTITLE_MODES)}, not {subtitles!r}")
    if lang not in LANGS:
        raise InputError(f"lang must be one of {', '.join(LANGS)}, not {lang!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED):
        raise InputError(f"seed must be a whole number from 0 to 2**63 - 1 (or None for random), not {seed!r}")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 1 <= fps <= 30:
        raise InputError(f"fps must be a number from 1 to 30 (8 matches the default model), not {fps!r}")
    if size is not None:
        try:
            w, h = (int(v) for v in size)
        except (TypeError, ValueError):
            raise InputError(f"size must be (width, height), got {size!r}") from None
        if not (16 <= w <= 4096 and 16 <= h <= 4096) or w % 2 or h % 2:
            raise InputError(f"size {w}×{h} must be even numbers from 16 to 4096 (H.264 4:2:0 needs even sizes)")
        return output, (w, h)
    if aspect not in ASPECTS:
        raise InputError(f"aspect must be one of {', '.join(ASPECTS)}, not {aspect!r}")
    return output, ASPECTS[aspect]


def _load_pipeline(pipeline, model):
    from vidfuse.pipeline import TextToVideoPipeline

    if pipeline is not None and model is not None:
        raise InputError("pass either pipeline= or model=, not both")
    if pipeline is None or isinstance(pipeline, (str, os.PathLike)):
        return TextToVideoPipeline.from_pretrained(pipeline if pipeline is not None else model)
    if not callable(pipeline) or not hasattr(pipeline, "native_size"):
        raise InputError(f"pipeline must be a TextToVideoPipeline or a model folder, got {type(pipeline).__name__}")
    return pipeline


# --------------------------------------------------------------------------- render


def render_story(
    script: str | os.PathLike | Sequence[Scene],
    output: str | os.PathLike,
    *,
    aspect: str = "16:9",
    lang: str = "auto",
    subtitles: str = "soft",
    voice: str | None = None,
    rate: int | None = None,
    pitch: int | None = None,
    music: str | os.PathLike | None = None,
    pipeline=None,
    model: str | os.PathLike | None = None,
    seed: int | None = 0,
    fps: float = 8,
    no_voice: bool = False,
    llm: str | os.PathLike | None = None,
    size: tuple[int, int] | None = None,
    max_chars: int = MAX_SCRIPT_CHARS,
    progress: Progress | None = None,
    width: int | None = None,
    height: int | None = None,
    frames: int | None = None,
    steps: int | None = None,
    negative_prompt: str | None = None,
) -> StoryResult:
    """Render a narrated story to ``output`` (MP4) with sidecars and a storyboard; the module docstring
    lists the stages, and :mod:`~vidfuse.story.timeline`, :mod:`~vidfuse.story.layout` and
    :mod:`~vidfuse.story.cues` explain timing, pictures and subtitles.

    Args:
        script: a ``.txt``/``.json`` file, script text, or a list of :class:`Scene`.
        output: the ``.mp4`` to write; ``<stem>.srt``, ``<stem>.vtt`` and ``<stem>.storyboard.png`` go beside it.
        aspect: ``"16:9"`` (1280×720), ``"9:16"`` (720×1280) or ``"1:1"`` (720×720).
        lang: ``"auto"``, ``"en"`` or ``"zh"``: scene languages and the speech language.
        subtitles: ``"soft"``, ``"burn"``, ``"srt"`` or ``"none"``.
        voice, rate, pitch: the voice (None: Piper for English, espeak-ng for Chinese; a Piper ``.onnx``
            path or an espeak-ng voice: :func:`vidfuse.media.speech.synthesize`), words per minute
            (80–500; a slow rate makes a longer story, which counts toward its limit), pitch (0–99, espeak only).
        music: a library mood (``"calm"``…), a music file (any audio FFmpeg decodes), or None/``"none"``;
            ducked under the voice.
        pipeline: a :class:`~vidfuse.pipeline.TextToVideoPipeline` or a model folder; ``model``:
            a model folder. Neither: the default model shipped with vidfuse.
        seed: scene ``i`` uses ``seed + i``; ``None`` for random.
        fps: frames per second of the story (1–30).
        no_voice: no speech (lengths are estimated; subtitles still timed to the estimates).
        llm: a local causal language-model folder that rewrites the visual prompts.
        size: ``(width, height)``, even, overriding ``aspect`` (small sizes make quick tests).
        width, height: the size the model draws each scene at (default: its native size); the frames are
            then letterboxed into the story's size.
        frames: frames the model makes per scene (default: the whole scene from a vidfuse model; a
            pretrained model's native length, continued from its last frame where it can); a scene
            longer than its clip plays it forwards and backwards.
        steps, negative_prompt: denoising steps and what not to show (pretrained diffusers models).
        max_chars: the longest script accepted.
        progress: ``progress(stage, fraction)`` with stages ``plan``, ``voice``, ``frames``,
            ``subtitles`` (burn only), ``encode``, ``storyboard``.

    Raises:
        InputError: a bad script, option, model folder or music file; a story past the planner's
            limits (:mod:`vidfuse.story.planner`), checked before anything is spoken or drawn.
        MissingDependencyError: espeak-ng is missing (use ``no_voice=True``).
    """
    report = progress or (lambda stage, fraction: None)
    output, (out_w, out_h) = _check_options(output, aspect, size, subtitles, lang, fps, seed)
    # what it writes must not replace the script or the music it is made from (`story s.srt -o s.mp4`)
    written = [output, output.with_name(output.stem + ".storyboard.png")]
    if subtitles != "none":
        written += [output.with_suffix(".srt"), output.with_suffix(".vtt")]
    for path in written:
        check_not_input(path, script if isinstance(script, (str, os.PathLike)) else None, music)
    from vidfuse.media.speech import check_voice_options
    from vidfuse.pipeline import check_size

    check_voice_options(None if no_voice else rate, pitch)  # said before planning, not as "scene 1" after it
    check_size(height, width)  # the size each scene is drawn at: before any speech is made

    report("plan", 0.0)
    scenes = as_scenes(script, lang=lang, max_chars=max_chars, llm=llm, rate=None if no_voice else rate)
    report("plan", 1.0)
    music_path = resolve_music(music, seed)
    music_path = check_music(music_path) if music_path is not None else None
    from vidfuse.generate import _model_options
    from vidfuse.pipeline import check_options

    check_options(num_frames=frames)
    pipe = _load_pipeline(pipeline, model)
    options = _model_options(pipe, negative_prompt=negative_prompt, steps=steps)

    # ---- voice: every scene's speech, hence its length
    voices, spoken_s = [], 0.0
    for i, scene in enumerate(scenes):
        report("voice", i / len(scenes))
        v = speak(scene, i, lang=lang, voice=voice, rate=rate, pitch=pitch, no_voice=no_voice)
        spoken_s += scene_seconds(v.duration_s, scene.duration_s) - (CROSSFADE_S if i else 0.0)
        check_spoken(scene, i, v, spoken_s)
        voices.append(v)
    report("voice", 1.0)

    renders, cues, spans, total = lay_out(scenes, voices, fps)
    spoken_by = list(dict.fromkeys(name for v in voices for name in v.voices))
    music_name = music_label(music_path)
    duration_s = total / fps

    output.parent.mkdir(parents=True, exist_ok=True)
    storyboard_path = output.with_name(output.stem + ".storyboard.png")
    work = Path(tempfile.mkdtemp(prefix=f".{output.stem}.", suffix=".tmp", dir=output.parent))
    try:
        audio, audio_rate = voice_track(renders, voices, total, fps)
        if audio is not None:  # -16 LUFS integrated, true peak <= -1 dBTP
            audio = normalize_loudness(audio, audio_rate)
        if music_path is not None:  # decoded only as far as the story needs
            bed, bed_rate = load_music(music_path, duration_s + 1.0)
            # the bed is levelled against the voice as it is heard (already limited); limiting the mix
            # instead would squash only the voice's peaks and lift the bed towards it (see *Loudness*)
            audio, audio_rate = mix_music(audio, audio_rate, bed, bed_rate, spans, duration_s)
            audio = normalize_loudness(audio, audio_rate)

        # ---- frames, captions and encoding in one pass: frames stream into the encoder
        boards: list[np.ndarray] = []
        stream = story_frames(
            renders,
            pipe,
            (out_h, out_w),
            fps=fps,
            seed=seed,
            boards=boards,
            report=report,
            frames=frames,
            gen_size=(height, width),
            options=options,
        )
        if subtitles == "burn" and cues:
            stream = burnt(stream, cues, fps, (out_h, out_w))
        tmp_video = work / output.name
        soft = [(c.start_s, c.end_s, c.text) for c in cues] if subtitles == "soft" and cues else None
        write_video(tmp_video, stream, fps, audio=audio, sample_rate=audio_rate, subtitles=soft)
        if subtitles == "burn" and cues:
            report("subtitles", 1.0)
        report("encode", 1.0)

        report("storyboard", 0.0)
        captions = [
            f"{i}. {r.scene.narration or '(silent)'}\nprompt: {r.prompt}"
            + (f"\nnot known to the model: {', '.join(r.unknown_words)}" if r.unknown_words else "")
            for i, r in enumerate(renders, 1)
        ]
        native = max(height or pipe.native_size[0], width or pipe.native_size[1])
        contact_sheet(
            boards,
            captions,
            path=work / storyboard_path.name,
            n_cols=STORYBOARD_FRAMES,
            scale=max(1, 128 // native),
            font_size=16,
            title=f"voice: {', '.join(spoken_by) or 'none'} · music: {music_name}",
        )
        report("storyboard", 1.0)

        srt = vtt = None
        if subtitles != "none" and cues:
            tmp_srt, tmp_vtt = write_sidecars(tmp_video, cues)
            srt, vtt = output.with_suffix(".srt"), output.with_suffix(".vtt")
            os.replace(tmp_srt, srt)
            os.replace(tmp_vtt, vtt)
        os.replace(work / storyboard_path.name, storyboard_path)
        os.replace(tmp_video, output)  # last: the MP4 appears only when everything else is in place
    finally:
        shutil.rmtree(work, ignore_errors=True)
    unknown = list(dict.fromkeys(w for r in renders for w in r.unknown_words))
    return StoryResult(
        video=output,
        srt=srt,
        vtt=vtt,
        storyboard=storyboard_path,
        scenes=renders,
        duration_s=duration_s,
        cues=cues,
        unknown_words=unknown,
        voices=spoken_by,
        music=music_name,
    )
