"""Composition: scenes become one narrated, subtitled MP4 (H.264 + AAC), with subtitle sidecars and a storyboard.

:func:`render_story` runs these stages (each reported to ``progress(stage, fraction)``):

``plan``
    The script becomes scenes (:mod:`vidfuse.story.planner`).
``voice``
    Each scene's narration is spoken (:func:`vidfuse.media.speech.synthesize`: Piper's neural voice
    for English, espeak-ng for Chinese); its length sets the
    scene's length. With ``no_voice`` the length is estimated at espeak's pace
    (:func:`vidfuse.story.planner.speech_seconds`) and there is no voice track.
``frames``
    Each scene's clip is generated and laid on the timeline (see *Timing* and *Pictures*), its
    cues burnt in with ``subtitles="burn"``, and the frames are encoded as they are made: one
    :func:`vidfuse.media.video_io.write_video` call, H.264 ``yuv420p`` + AAC, plus a ``mov_text``
    track with ``subtitles="soft"`` (see *Memory*).
``subtitles``, ``encode``
    Reported done when the last frame is encoded (they run within ``frames``).
``storyboard``
    ``<stem>.storyboard.png``: a header naming the voice (engine and voice, e.g. ``Piper en_US-joe-medium``)
    and the music (mood and track, a file's name, or none), then one row per scene (6 frames) with its
    narration and prompt.

**Limits.** The planner's limits (:mod:`vidfuse.story.planner`: at most
:data:`~vidfuse.story.planner.MAX_SCENES` scenes, a scene's narration at most
:data:`~vidfuse.story.planner.MAX_SCENE_SECONDS`, the story at most
:data:`~vidfuse.story.planner.MAX_STORY_SECONDS`, estimated at the chosen ``rate``) are checked
before anything is spoken. While the narration is spoken, a scene or a story whose *spoken*
length passes its limit by more than :data:`~vidfuse.story.planner.SPOKEN_SLACK` (text that
takes far longer to say than to write, such as long numbers) is refused before any frame is drawn.

**Timing.** Consecutive scenes overlap by a crossfade of :data:`CROSSFADE_S` (0.5 s, 4 frames at
8 fps); the first fades in from black and the last fades out to black over the same length. A
scene lasts ``crossfade + 0.25 s + narration + 0.35 s + crossfade`` (rounded up to whole frames;
longer if a JSON ``duration`` asks for more) and its voice starts right after the incoming fade,
so narration never plays under a transition and every subtitle cue lies inside its own scene's
unfaded frames. The crossfade overlap makes the story ``(scenes - 1) * 0.5 s`` shorter than the
sum of its scenes. The audio track is exactly as long as the video (``samples = frames * rate / fps``).

**Pictures.** A scene's clip is *generated at its full length*: the pipeline is asked for as many
frames as the scene lasts (the GAN's motion GRU and the VAE's sinusoidal time code run for any
number of frames; the latent flow continues its 16-frame clips, each from the last frame of the one
before: :meth:`vidfuse.models.model.VidFuseModel.generate`), so the motion goes on for the whole
narration with no jump. Looping a
training-length clip would make the digit jump back every 2 s, and slowing it down would make the
motion sluggish and smeared; generating costs milliseconds a frame at 64×64. Beyond the pipeline's
512-frame limit (64 s at 8 fps) the clip plays forwards then backwards (ping-pong), which has no jump.
Each scene gets seed ``seed + index``. Frames are upscaled "sharp bilinear": nearest-neighbour by
the largest whole factor that fits, then bilinear for the last fraction, so the model's pixels
stay crisp and even-sized instead of blurred (plain bilinear) or uneven (fractional nearest).
The model's frames keep their aspect ratio and are centred on black bars (letterbox/pillarbox).

``fps`` defaults to 8, the frame rate of the Moving Digits clips the default model learnt from,
so the generated motion plays at the speed it was learnt at.

**Memory.** Frames stream: each is made, crossfaded, captioned and handed to the encoder in
timeline order, so memory holds one scene's native clip (64×64 frames), the crossfade's few
full-size frames and a chunk of :data:`_CHUNK` frames being captioned, whatever the story's
length, and nothing but the MP4 is written to disk. (Buffering the frames instead costs
``frames × W × H × 3`` bytes: 1.3 GB a minute at 1280×720 and 8 fps.)

**Music.** ``music`` is a mood of the music library (``immich-memories-music``: calm, energetic,
happy, nostalgic, tender; the seed picks the track: :mod:`vidfuse.story.music`), or any file FFmpeg
decodes with an audio stream: MP3, WAV, FLAC, Ogg/Opus, AAC/M4A, or a video with a sound track; any
other file (text, an image, a video without sound) is an :class:`InputError` saying it has no audio
stream, before anything is spoken. Only as much as the story needs is decoded (an hour-long file
costs no more than the story's length of it). It is looped (each repeat crossfaded over 1.5 s) or cut
to the story's length, levelled :data:`MUSIC_BELOW_VOICE_DB` (14 dB) under the voice's speech level,
faded in (0.5 s) and out (1.5 s), and *ducked* side-chained to the voice: inside each spoken sentence
the gain drops so that the music is :data:`DUCK_BELOW_VOICE_DB` (20 dB) under that sentence, ramping
over 0.1 s before it starts and after it ends, so it comes back in the pauses between sentences. The
mix is at the higher of the music's and the voice's sample rates (the other is resampled with
FFmpeg's band-limited resampler) and stereo when the music is.

**Loudness.** The final track (voice, or voice and music) is set to -16 LUFS integrated (ITU-R
BS.1770 as measured by ``pyloudnorm``) with its true peak (4x oversampled) at or under -1 dBTP by a
look-ahead limiter: :func:`vidfuse.media.audio.normalize_loudness`. With music this runs twice: on the
voice alone, before the bed is levelled against it, and on the mix. Speech has a high peak-to-loudness
ratio, so at -16 LUFS the limiter takes 3-5 dB off the voice's peaks (and about 3 dB off its RMS) and
none off the quieter bed; levelling the bed against the raw voice and limiting only the mix would leave
the bed about 10.5 dB under the voice instead of 14. The second pass only corrects the little loudness
the bed adds or (through BS.1770's relative gate, which lets music-filled pauses count) takes away,
about 1 LU, so the bed ends within about 1 dB of its level.

**Subtitles.** One cue per spoken sentence, timed to the sentence's exact sample span (start
rounded up, end rounded down to the millisecond, so a cue never shows before its words or after
them). A sentence heavier than :data:`MAX_CUE_WEIGHT` is split at clause punctuation or spaces
into several cues that share its span in proportion to their length. ``soft``: a ``mov_text``
track plus ``<stem>.srt``/``<stem>.vtt``; ``burn``: drawn into the frames (every cue at one font size
per story, :func:`vidfuse.media.subtitles.caption_font_size`: a long cue wraps onto more lines instead of
shrinking) plus the sidecars;
``srt``: the sidecars only; ``none``: nothing.

**Atomicity.** Everything is written into a temporary folder beside the output and renamed into
place at the end, the MP4 last; an error on the way leaves no output file (and no sidecars).
"""
from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
from PIL import Image

from vidfuse.config import MAX_SEED, offset_seed
from vidfuse.errors import InputError, MissingDependencyError
from vidfuse.media.audio import normalize_loudness
from vidfuse.media.audio import resample as _resample
from vidfuse.media.speech import SentenceTiming, split_sentences, synthesize
from vidfuse.media.subtitles import Cue, burn_subtitles, caption_font_size, write_sidecars
from vidfuse.media.video_io import contact_sheet, read_audio, write_video
from vidfuse.story.music import music_label, resolve_music
from vidfuse.story.planner import (CROSSFADE_S, LANGS, LEAD_S, MAX_SCENE_SECONDS, MAX_SCRIPT_CHARS,
                                   MAX_STORY_SECONDS, MIN_SENTENCE_S, SENTENCE_PAUSE_S, SPOKEN_SLACK, TAIL_S,
                                   WEIGHT_PER_S, Scene, _split_to_weight, as_scenes, scene_seconds,
                                   spoken_weight)

__all__ = ["ASPECTS", "SUBTITLE_MODES", "SceneRender", "StoryResult", "duck_gain", "mix_music", "music_bed",
           "render_story"]

ASPECTS = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (720, 720)}  # (width, height)
SUBTITLE_MODES = ("soft", "burn", "srt", "none")
MAX_GENERATED_FRAMES = 512  # the pipeline's limit per call
MAX_CUE_WEIGHT = 84  # display width of one cue (Latin char 1, CJK char 2): about two lines at 720p
STORYBOARD_FRAMES = 6
_CHUNK = 16  # frames captioned at once (16 full-size frames: 44 MB at 1280×720)
MUSIC_FORMATS = "MP3, WAV, FLAC, Ogg/Opus, AAC/M4A, or a video with a sound track"
# Music: level, ducking and fades.
MUSIC_RMS = 0.1  # the bed's RMS when there is no voice to set it by (the mix is then loudness-normalised)
MUSIC_BELOW_VOICE_DB = 14.0  # the bed's level between sentences, under the voice's speech level
DUCK_BELOW_VOICE_DB = 20.0  # the bed while a sentence is spoken, under that sentence (≥ 12 dB, with margin)
DUCK_GAIN = 0.25  # the least ducking (-12 dB) while the voice speaks
DUCK_RAMP_S = 0.1  # short enough that the music comes back in the 0.25 s pause between sentences
MUSIC_LOOP_XFADE_S = 1.5
MUSIC_FADE_IN_S, MUSIC_FADE_OUT_S = 0.5, 1.5
_CONTROL_RATE = 100  # Hz at which the ducking gain is computed before interpolation
_CJK_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")

Progress = Callable[[str, float], None]


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
    output = Path(output)
    if output.suffix.lower() not in (".mp4", ".m4v"):
        raise InputError(f"a story is written as MP4 (H.264 + AAC): name the output *.mp4, not {output.name}")
    if output.is_dir():
        raise InputError(f"{output} is a folder; give a file name such as {output / 'story.mp4'}")
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


def _audio_streams(path: Path) -> int | None:
    """How many audio streams FFmpeg finds in ``path``; None when it cannot open the file at all."""
    import av

    try:
        with av.open(str(path)) as container:
            return len(container.streams.audio)
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return None


def _check_music(music) -> Path:
    """The music file's path, once it is known to hold an audio stream."""
    path = Path(music)
    if not path.is_file():
        raise InputError(f"music file not found: {path}" if not path.exists() else f"music {path} is not a file")
    streams = _audio_streams(path)
    if streams is None:
        raise InputError(f"the music file {path} is not an audio file (FFmpeg finds no audio stream in it): "
                         f"pass an audio file: {MUSIC_FORMATS}")
    if streams == 0:
        raise InputError(f"the music file {path} has no audio stream (an image, or a video without sound): "
                         f"pass an audio file: {MUSIC_FORMATS}")
    return path


def _load_music(path: Path, seconds: float) -> tuple[np.ndarray, int]:
    """The first ``seconds`` of the music (all of it when shorter), ``(N, C)`` float32, and its rate."""
    try:
        wave, rate = read_audio(path, max_seconds=seconds)  # (N, C) float32
    except InputError as e:
        raise InputError(f"the audio of the music file {path} cannot be decoded: the file is damaged or "
                         f"truncated; pass another audio file: {MUSIC_FORMATS}") from e
    if wave.shape[0] == 0:
        raise InputError(f"the music file {path} holds no samples")
    wave = np.nan_to_num(wave[:, :2])  # 5.1 and the like: keep front left/right
    return np.clip(wave, -1.0, 1.0), rate


def _fit_prompt(pipe, prompt: str) -> str:
    """Shorten ``prompt`` (whole words first) until the model's tokenizer accepts it."""
    text = prompt
    while not pipe.fits_prompt(text):
        if len(text) <= 1:
            raise InputError(f"the model reads no prompt as short as {text!r}")
        head = text.rsplit(" ", 1)[0].rstrip() if " " in text.strip() else text[:-1]
        text = head if head.strip() else text[:-1]
    return text


# --------------------------------------------------------------------------- speech and cues


@dataclass
class _Voice:
    waveform: np.ndarray | None  # (N,) float32, None when not spoken
    sample_rate: int | None
    sentences: list[SentenceTiming]  # scene-local times
    duration_s: float
    voices: list[str] = field(default_factory=list)  # "engine voice" of each voice that spoke


def _estimate(narration: str) -> _Voice:
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
    return _Voice(None, None, timings, t)


def _speak(scene: Scene, index: int, *, lang, voice, rate, pitch, no_voice) -> _Voice:
    if not scene.narration:
        return _Voice(None, None, [], 0.0)
    if no_voice:
        return _estimate(scene.narration)
    try:
        sp = synthesize(scene.narration, lang=lang, voice=voice, rate=rate, pitch=pitch)
    except MissingDependencyError as e:
        raise MissingDependencyError(f"{e}\n(or render without a voice: --no-voice / no_voice=True)") from e
    except InputError as e:
        raise InputError(f"scene {index + 1} ({scene.narration[:40]!r}): {e}") from e
    return _Voice(sp.waveform, sp.sample_rate, list(sp.sentences), sp.duration_s, list(sp.voices))


def _display_weight(text: str) -> int:
    return sum(2 if _CJK_RE.match(c) else 1 for c in text if not c.isspace())


def _cue_pieces(text: str, max_weight: int = MAX_CUE_WEIGHT) -> list[str]:
    """Split a long sentence for display: after clause punctuation, else spaces, else between CJK characters."""
    return _split_to_weight(text, max_weight, _display_weight)


def _ceil_ms(t: float) -> float:
    return math.ceil(round(t * 1000, 6)) / 1000


def _floor_ms(t: float) -> float:
    return math.floor(round(t * 1000, 6)) / 1000


def _sentence_cues(text: str, start: float, end: float) -> list[Cue]:
    """Cues inside [start, end] (ms-rounded inwards), split in proportion to spoken weight."""
    pieces = _cue_pieces(text)
    weights = np.array([max(1, spoken_weight(p)) for p in pieces], dtype=np.float64)
    bounds = start + (end - start) * np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    stamps = [_ceil_ms(start)] + [round(float(b), 3) for b in bounds[1:-1]] + [_floor_ms(end)]
    cues = []
    for piece, a, b in zip(pieces, stamps, stamps[1:]):
        if b > a:
            cues.append(Cue(a, b, piece))
    return cues or [Cue(start, end, text)]


# --------------------------------------------------------------------------- pictures


def _pingpong(generated: int, needed: int) -> np.ndarray:
    """Frame indices that play a clip forwards then backwards until ``needed`` frames."""
    if generated >= needed:
        return np.arange(needed)
    if generated == 1:
        return np.zeros(needed, dtype=int)
    period = 2 * generated - 2
    k = np.arange(needed) % period
    return np.where(k < generated, k, period - k)


class _Letterbox:
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
        canvas[self.y0:self.y0 + self.ch, self.x0:self.x0 + self.cw] = content


def _fade_weight(k: int, x: int) -> float:
    """Weight of the incoming picture on frame ``k`` (0-based) of an ``x``-frame fade."""
    return (k + 1) / (x + 1)


# --------------------------------------------------------------------------- audio


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    return x[:n] if len(x) >= n else np.concatenate([x, np.zeros((n - len(x),) + x.shape[1:], x.dtype)])


def duck_gain(n: int, rate: int, spans: Sequence[tuple[float, float]] | Sequence[tuple[float, float, float]], *,
              duck: float = DUCK_GAIN, ramp_s: float = DUCK_RAMP_S) -> np.ndarray:
    """Music gain per sample, ``(n,)`` float32: 1 away from ``spans`` (seconds), ``duck`` inside them.

    A span may carry its own depth, ``(start, end, gain)``. The gain ramps linearly over ``ramp_s``
    *outside* each span: it reaches the span's depth as the span starts and begins to rise only when
    it ends, so the voice never plays over loud music.
    """
    ticks = int(math.ceil(n / rate * _CONTROL_RATE)) + 1
    t = np.arange(ticks) / _CONTROL_RATE
    pad = 1.0 / _CONTROL_RATE  # one control tick, so that interpolation never lifts the gain inside a span
    gain = np.ones(ticks)
    for span in spans:
        a, b = span[0], span[1]
        depth = span[2] if len(span) > 2 else duck
        distance = np.maximum(np.maximum(a - pad - t, t - b - pad), 0.0)  # seconds from the span (0 inside)
        gain = np.minimum(gain, depth + (1.0 - depth) * np.clip(distance / ramp_s, 0.0, 1.0))
    return np.interp(np.arange(n) / rate, t, gain).astype(np.float32)


def _loop(music: np.ndarray, n: int, rate: int) -> np.ndarray:
    """``music`` ``(m, C)`` repeated to ``n`` samples, each repeat crossfaded (equal power) over
    :data:`MUSIC_LOOP_XFADE_S` into the one before, so the loop point has no click or gap."""
    if len(music) >= n:
        return music[:n]
    x = min(int(MUSIC_LOOP_XFADE_S * rate), len(music) // 3)
    if x < 2:
        return np.tile(music, (int(math.ceil(n / len(music))), 1))[:n]
    ramp = np.linspace(0.0, 1.0, x)[:, None]
    fade_in, fade_out = np.sin(ramp * np.pi / 2), np.cos(ramp * np.pi / 2)
    out = np.zeros((n + len(music), music.shape[1]), np.float32)
    at = 0
    while at < n:
        piece = music.astype(np.float32).copy()
        if at:
            piece[:x] *= fade_in
            out[at:at + x] *= fade_out  # the previous repeat's tail, under this one's head
        out[at:at + len(piece)] += piece
        at += len(music) - x
    return out[:n]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def music_bed(voice: np.ndarray | None, voice_rate: int | None, music: np.ndarray, music_rate: int,
              spans: Sequence[tuple[float, float]], duration_s: float) -> tuple[np.ndarray, int]:
    """The music as it plays under the voice: ``((n, C) float32, rate)``, ``duration_s`` long.

    Looped (crossfaded) or cut to length, levelled, faded in and out, and side-chained to the voice:
    ``spans`` are the spoken sentences (seconds). The bed's overall level sits :data:`MUSIC_BELOW_VOICE_DB`
    under the voice's speech level; inside each sentence the gain drops so that the music there is at
    least :data:`DUCK_BELOW_VOICE_DB` under *that sentence's* speech level (measured on both), and it
    comes back between sentences. The rate is the music's, or the voice's when that is higher.
    """
    rate = max(music_rate, voice_rate or 0)
    n = max(1, int(round(duration_s * rate)))
    m = int(math.ceil(duration_s * music_rate)) + 1  # music samples the story needs, at the music's rate
    bed = _loop(np.asarray(music, np.float32), m, music_rate)  # (m, C)
    if music_rate != rate:
        bed = np.stack([_fit_length(_resample(bed[:, c], music_rate, rate), n) for c in range(bed.shape[1])], 1)
    bed = _fit_length(bed, n)  # (n, C)
    mono = bed.mean(axis=1)
    voice_n = _fit_length(_resample(voice, voice_rate, rate), n) if voice is not None else None
    speech = [voice_n[int(a * rate):int(b * rate)] for a, b in spans] if voice_n is not None else []
    level = _rms(np.concatenate(speech)) if speech else 0.0
    target = level * 10 ** (-MUSIC_BELOW_VOICE_DB / 20) if level > 0 else MUSIC_RMS
    rms, peak = _rms(mono), float(np.abs(bed).max())
    if rms > 0:
        bed *= min(target / rms, 1.0 / peak)
    keyed = []  # (start, end, gain) per sentence: deep enough under that sentence's own level
    for (a, b), said in zip(spans, speech):
        here = _rms(bed[int(a * rate):int(b * rate)].mean(axis=1))
        want = _rms(said) * 10 ** (-DUCK_BELOW_VOICE_DB / 20)
        keyed.append((a, b, min(DUCK_GAIN, want / here) if here > 0 else DUCK_GAIN))
    gain = duck_gain(n, rate, keyed if speech else spans)
    t = np.arange(n) / rate
    gain *= np.clip(t / MUSIC_FADE_IN_S, 0, 1) * np.clip((duration_s - t) / MUSIC_FADE_OUT_S, 0, 1)
    return bed * gain[:, None], rate


def mix_music(voice: np.ndarray | None, voice_rate: int | None, music: np.ndarray, music_rate: int,
              spans: Sequence[tuple[float, float]], duration_s: float) -> tuple[np.ndarray, int]:
    """Voice (``(N,)`` or None) over :func:`music_bed`; ``((n, C), rate)``."""
    out, rate = music_bed(voice, voice_rate, music, music_rate, spans, duration_s)
    if voice is not None:
        out = out + _fit_length(_resample(voice, voice_rate, rate), len(out))[:, None]
    return out, rate


# --------------------------------------------------------------------------- stages


def _timeline(scenes: list[Scene], voices: list[_Voice], fps: float
              ) -> tuple[list[SceneRender], list[Cue], list[tuple[float, float]], int]:
    """Lay the scenes out in frames: ``(renders, cues, voice spans, total frames)`` (see *Timing*)."""
    x = _fade_frames(fps)
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
        sentences = [SentenceTiming(s.text, voice_at + float(s.start_s), voice_at + float(s.end_s))
                     for s in v.sentences]
        for s in sentences:
            cues += _sentence_cues(s.text, s.start_s, s.end_s)
        if v.waveform is not None:  # music ducks under each spoken sentence, and comes back between them
            spans += [(s.start_s, s.end_s) for s in sentences]
        renders.append(SceneRender(scene=scene, prompt=scene.prompt, start_s=t0, end_s=t0 + length / fps,
                                   voice_start_s=voice_at if sentences else None,
                                   voice_end_s=voice_at + v.duration_s if sentences else None,
                                   sentences=sentences, num_frames=length))
        start += length - x  # the next scene fades in over this one's last x frames
    return renders, cues, spans, start + x


def _fade_frames(fps: float) -> int:
    return max(1, int(round(CROSSFADE_S * fps)))


def _scene_clip(pipe, prompt: str, need: int, *, frames: int | None, seed: int | None, options: dict) -> np.ndarray:
    """A scene's native clip, ``(T, h, w, 3)``, for a scene of ``need`` frames: ``frames`` when given; else
    the whole scene (to :data:`MAX_GENERATED_FRAMES`) from a model that makes long clips in one call; else
    the model's native length, continued from its last frame (``image=``) by further calls while the model
    can (``continues_from_last_frame``). A shorter clip plays forwards and backwards (:func:`_pingpong`)."""
    cap = min(need, MAX_GENERATED_FRAMES)
    if frames is not None:
        return pipe(prompt, num_frames=min(frames, cap), seed=seed, **options)[0]
    if pipe.long_clips:
        return pipe(prompt, num_frames=cap, seed=seed, **options)[0]
    clip = pipe(prompt, num_frames=min(pipe.num_frames, cap), seed=seed, **options)[0]
    step = 0
    while len(clip) < cap and pipe.continues_from_last_frame:
        step += 1
        more = pipe(prompt, image=clip[-1], num_frames=max(2, min(pipe.num_frames, cap - len(clip) + 1)),
                    seed=offset_seed(seed, 1000 * step), **options)[0]
        clip = np.concatenate([clip, more[1:]])  # its first frame is the last one already shown
    return clip[:cap]


def _story_frames(renders: list[SceneRender], pipe, size: tuple[int, int], *, fps: float, seed: int | None,
                  boards: list[np.ndarray], report: Progress, frames: int | None = None,
                  gen_size: tuple[int | None, int | None] = (None, None),
                  options: dict | None = None) -> Iterator[np.ndarray]:
    """The story's frames, ``(H, W, 3)`` uint8 each, in timeline order, made as they are asked for.

    Each scene is generated at full length, letterboxed and crossfaded: its last ``x`` frames wait
    (the only frames held) until the next scene fades in over them. Appends each scene's
    storyboard frames (:data:`STORYBOARD_FRAMES` native frames) to ``boards``.
    """
    x = _fade_frames(fps)
    out_h, out_w = size
    gen_h, gen_w = (g or n for g, n in zip(gen_size, pipe.native_size))
    options = dict(options or {}, height=gen_h, width=gen_w)
    box = _Letterbox(gen_h, gen_w, out_h, out_w)
    held: list[np.ndarray] = []  # the previous scene's last x frames, under this scene's fade-in
    for i, r in enumerate(renders):
        report("frames", i / len(renders))
        r.prompt = _fit_prompt(pipe, r.scene.prompt)
        r.unknown_words = pipe.unknown_words(r.prompt)
        clip = _scene_clip(pipe, r.prompt, r.num_frames, frames=frames, seed=offset_seed(seed, i),
                           options=options)
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


def _burnt(frames: Iterator[np.ndarray], cues: list[Cue], fps: float, size: tuple[int, int]) -> Iterator[np.ndarray]:
    """``frames`` (``size`` = (H, W)) with ``cues`` burnt in, :data:`_CHUNK` frames at a time (bounded
    memory), every cue at the one font size :func:`caption_font_size` picks for the whole story."""
    font_size = caption_font_size(*size, [c.text for c in cues])
    chunk: list[np.ndarray] = []
    start = 0  # index of chunk[0] on the timeline

    def flush() -> Iterator[np.ndarray]:
        t0, t1 = start / fps, (start + len(chunk)) / fps
        local = [Cue(max(0.0, c.start_s - t0), c.end_s - t0, c.text) for c in cues if c.end_s > t0 and c.start_s < t1]
        yield from burn_subtitles(np.stack(chunk), local, fps, font_size=font_size) if local else chunk

    for frame in frames:
        chunk.append(frame)
        if len(chunk) == _CHUNK:
            yield from flush()
            start += len(chunk)
            chunk = []
    if chunk:
        yield from flush()


def _check_spoken(scene: Scene, index: int, voice: _Voice, story_s: float) -> None:
    """Refuse a scene, or the story so far (``story_s`` seconds), that is too long as spoken (see *Limits*)."""
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


def _voice_track(renders: list[SceneRender], voices: list[_Voice], total: int, fps: float
                 ) -> tuple[np.ndarray | None, int | None]:
    """Every scene's speech at its place on the timeline, ``(N,)`` float32 exactly as long as the video."""
    rates = [v.sample_rate for v in voices if v.sample_rate]
    if not rates:
        return None, None
    rate = max(rates)
    n = int(round(total * rate / fps))
    audio = np.zeros(n, np.float32)
    for r, v in zip(renders, voices):
        if v.waveform is None:
            continue
        wave = _resample(v.waveform, v.sample_rate, rate)
        at = int(round(r.voice_start_s * rate))
        wave = wave[: max(0, n - at)]
        audio[at:at + len(wave)] += wave
    return audio, rate


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
    explains timing, pictures, music, subtitles and memory.

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

    report("plan", 0.0)
    scenes = as_scenes(script, lang=lang, max_chars=max_chars, llm=llm, rate=None if no_voice else rate)
    report("plan", 1.0)
    music_path = resolve_music(music, seed)
    music_path = _check_music(music_path) if music_path is not None else None
    from vidfuse.generate import _model_options
    from vidfuse.pipeline import check_options

    check_options(num_frames=frames)
    pipe = _load_pipeline(pipeline, model)
    options = _model_options(pipe, negative_prompt=negative_prompt, steps=steps)

    # ---- voice: every scene's speech, hence its length
    voices, spoken_s = [], 0.0
    for i, scene in enumerate(scenes):
        report("voice", i / len(scenes))
        v = _speak(scene, i, lang=lang, voice=voice, rate=rate, pitch=pitch, no_voice=no_voice)
        spoken_s += scene_seconds(v.duration_s, scene.duration_s) - (CROSSFADE_S if i else 0.0)
        _check_spoken(scene, i, v, spoken_s)
        voices.append(v)
    report("voice", 1.0)

    renders, cues, spans, total = _timeline(scenes, voices, fps)
    spoken_by = list(dict.fromkeys(name for v in voices for name in v.voices))
    music_name = music_label(music_path)
    duration_s = total / fps

    output.parent.mkdir(parents=True, exist_ok=True)
    storyboard_path = output.with_name(output.stem + ".storyboard.png")
    work = Path(tempfile.mkdtemp(prefix=f".{output.stem}.", suffix=".tmp", dir=output.parent))
    try:
        audio, audio_rate = _voice_track(renders, voices, total, fps)
        if audio is not None:  # -16 LUFS integrated, true peak <= -1 dBTP
            audio = normalize_loudness(audio, audio_rate)
        if music_path is not None:  # decoded only as far as the story needs
            bed, bed_rate = _load_music(music_path, duration_s + 1.0)
            # the bed is levelled against the voice as it is heard (already limited); limiting the mix
            # instead would squash only the voice's peaks and lift the bed towards it (see *Loudness*)
            audio, audio_rate = mix_music(audio, audio_rate, bed, bed_rate, spans, duration_s)
            audio = normalize_loudness(audio, audio_rate)

        # ---- frames, captions and encoding in one pass: frames stream into the encoder
        boards: list[np.ndarray] = []
        stream = _story_frames(renders, pipe, (out_h, out_w), fps=fps, seed=seed, boards=boards, report=report,
                               frames=frames, gen_size=(height, width), options=options)
        if subtitles == "burn" and cues:
            stream = _burnt(stream, cues, fps, (out_h, out_w))
        tmp_video = work / output.name
        soft = [(c.start_s, c.end_s, c.text) for c in cues] if subtitles == "soft" and cues else None
        write_video(tmp_video, stream, fps, audio=audio, sample_rate=audio_rate, subtitles=soft)
        if subtitles == "burn" and cues:
            report("subtitles", 1.0)
        report("encode", 1.0)

        report("storyboard", 0.0)
        captions = [f"{i}. {r.scene.narration or '(silent)'}\nprompt: {r.prompt}"
                    + (f"\nnot known to the model: {', '.join(r.unknown_words)}" if r.unknown_words else "")
                    for i, r in enumerate(renders, 1)]
        native = max(height or pipe.native_size[0], width or pipe.native_size[1])
        contact_sheet(boards, captions, path=work / storyboard_path.name, n_cols=STORYBOARD_FRAMES,
                      scale=max(1, 128 // native), font_size=16,
                      title=f"voice: {', '.join(spoken_by) or 'none'} · music: {music_name}")
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
    return StoryResult(video=output, srt=srt, vtt=vtt, storyboard=storyboard_path, scenes=renders,
                       duration_s=duration_s, cues=cues, unknown_words=unknown, voices=spoken_by,
                       music=music_name)
