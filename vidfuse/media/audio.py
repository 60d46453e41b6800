"""Audio DSP: resampling, loudness (EBU R128 / ITU-R BS.1770), a true-peak limiter, and music under a voice.

* :func:`resample`: FFmpeg's band-limited resampler (through PyAV).
* :func:`integrated_loudness`: integrated loudness in LUFS, measured by ``pyloudnorm`` (BS.1770-4:
  K-weighting, 400 ms blocks, absolute and relative gating).
* :func:`true_peak_db`: the peak of the signal oversampled 4× (polyphase FIR, as BS.1770-4 Annex 2
  suggests), in dBTP: the peak a DAC or a lossy decoder reconstructs between samples.
* :func:`normalize_loudness`: gain to a target (−16 LUFS by default: the podcast and streaming
  target) and a look-ahead limiter that holds the true peak at or under a ceiling (−1 dBTP).
* :func:`overlay`: clips resampled to one rate and summed at their start times (a narration track).
* :func:`music_bed`, :func:`mix_music`: music under a voice. The music is looped (each repeat crossfaded
  over :data:`MUSIC_LOOP_XFADE_S`) or cut to length, levelled :data:`MUSIC_BELOW_VOICE_DB` under the
  voice's speech level, faded in and out, and *ducked* side-chained to the voice: inside each spoken
  sentence it drops to :data:`DUCK_BELOW_VOICE_DB` under that sentence, ramping over :data:`DUCK_RAMP_S`
  before the sentence starts and after it ends, so it comes back in the pauses. The mix is at the higher
  of the two sample rates and stereo when the music is.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = [
    "DUCK_BELOW_VOICE_DB",
    "DUCK_GAIN",
    "DUCK_RAMP_S",
    "MUSIC_BELOW_VOICE_DB",
    "MUSIC_FADE_IN_S",
    "MUSIC_FADE_OUT_S",
    "MUSIC_LOOP_XFADE_S",
    "MUSIC_RMS",
    "TARGET_LUFS",
    "TRUE_PEAK_DBTP",
    "duck_gain",
    "integrated_loudness",
    "mix_music",
    "music_bed",
    "normalize_loudness",
    "overlay",
    "resample",
    "true_peak_db",
]

TARGET_LUFS = -16.0
TRUE_PEAK_DBTP = -1.0
OVERSAMPLE = 4
_LIMIT_WINDOW_S = 0.02  # limiter look-ahead/hold and smoothing length (20 ms: no audible pumping on speech)
_MIN_BLOCK_S = 0.4  # BS.1770 gating block: shorter audio is measured looped to this length
# Music: level, ducking and fades.
MUSIC_RMS = 0.1  # the bed's RMS when there is no voice to set it by (the mix is then loudness-normalised)
MUSIC_BELOW_VOICE_DB = 14.0  # the bed's level between sentences, under the voice's speech level
DUCK_BELOW_VOICE_DB = 20.0  # the bed while a sentence is spoken, under that sentence (≥ 12 dB, with margin)
DUCK_GAIN = 0.25  # the least ducking (-12 dB) while the voice speaks
DUCK_RAMP_S = 0.1  # short enough that the music comes back in the 0.25 s pause between sentences
MUSIC_LOOP_XFADE_S = 1.5
MUSIC_FADE_IN_S, MUSIC_FADE_OUT_S = 0.5, 1.5
_CONTROL_RATE = 100  # Hz at which the ducking gain is computed before interpolation


def resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    """``(N,)`` or ``(N, C)`` float32 (``C`` 1 or 2) at ``src`` Hz → ``(N',)`` or ``(N', C)`` at ``dst`` Hz with
    FFmpeg's band-limited resampler, fed a million samples at a time (memory stays flat on long tracks)."""
    import av

    x = np.asarray(x, np.float32)
    if src == dst:
        return x
    planar = x[None] if x.ndim == 1 else x.T  # (C, N)
    layout = {1: "mono", 2: "stereo"}[planar.shape[0]]
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=dst)
    out = []
    step = 1 << 20
    for i in range(0, planar.shape[1], step):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar[:, i : i + step]), format="fltp", layout=layout)
        frame.sample_rate, frame.pts = src, i
        out += resampler.resample(frame)
    out += resampler.resample(None)  # None flushes the filter's tail
    y = np.concatenate([f.to_ndarray() for f in out], axis=1) if out else np.zeros((planar.shape[0], 0), np.float32)
    y = y.astype(np.float32, copy=False)  # (C, N')
    return y[0] if x.ndim == 1 else y.T


def _as_2d(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x[:, None] if x.ndim == 1 else x


def integrated_loudness(x: np.ndarray, rate: int) -> float:
    """Integrated loudness of ``x`` ((N,) or (N, C)) in LUFS; ``-inf`` for silence."""
    import pyloudnorm

    x = _as_2d(x)
    if x.shape[0] == 0 or not np.any(x):
        return -math.inf
    need = int(math.ceil(_MIN_BLOCK_S * rate)) + 1
    if x.shape[0] < need:  # one gating block at least: measure the clip looped
        x = np.tile(x, (int(math.ceil(need / x.shape[0])), 1))
    with np.errstate(divide="ignore"):
        return float(pyloudnorm.Meter(rate).integrated_loudness(x))


_PEAK_BLOCK = 1 << 18  # input samples oversampled at a time: memory stays flat however long the story
_PEAK_CONTEXT = 64  # samples of context each side of a block; resample_poly's filter reaches 10·4 of them


def _oversampled_abs(x: np.ndarray) -> np.ndarray:
    """|x| oversampled 4×, reduced back to one maximum per input sample: (N, C) → (N,). Block by block with
    context, so a 10-minute stereo track costs megabytes, not the gigabytes of one 4× float64 copy."""
    from scipy.signal import resample_poly

    n = x.shape[0]
    env = np.empty(n)
    for start in range(0, n, _PEAK_BLOCK):
        stop = min(n, start + _PEAK_BLOCK)
        lo, hi = max(0, start - _PEAK_CONTEXT), min(n, stop + _PEAK_CONTEXT)
        up = np.abs(resample_poly(x[lo:hi], OVERSAMPLE, 1, axis=0))  # (4·(hi - lo), C)
        env[start:stop] = up.reshape(hi - lo, OVERSAMPLE, -1).max(axis=(1, 2))[start - lo : stop - lo]
    return np.maximum(env, np.abs(x).max(axis=1))


def true_peak_db(x: np.ndarray, rate: int | None = None) -> float:
    """True peak of ``x`` ((N,) or (N, C)) in dBTP (4× oversampling); ``-inf`` for silence."""
    x = _as_2d(x)
    if x.shape[0] == 0:
        return -math.inf
    peak = float(_oversampled_abs(x).max())
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def _limit_gain(x: np.ndarray, rate: int, ceiling: float) -> np.ndarray:
    """Per-sample gain ≤ 1 that keeps the true peak of ``x * gain`` under ``ceiling`` (linear).

    The needed gain is min-filtered over a window and then box-smoothed over the same window, so
    the smoothed gain at any sample is never above what that sample needs (every value averaged is
    a minimum over a window that contains it) and changes over 20 ms, not abruptly.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    env = _oversampled_abs(x)
    need = np.minimum(1.0, ceiling / np.maximum(env, 1e-12))
    w = max(1, int(_LIMIT_WINDOW_S * rate)) | 1  # odd: centred windows
    held = minimum_filter1d(need, w, mode="nearest")
    return uniform_filter1d(held, w, mode="nearest")


def normalize_loudness(
    x: np.ndarray, rate: int, *, target_lufs: float = TARGET_LUFS, peak_dbtp: float = TRUE_PEAK_DBTP
) -> np.ndarray:
    """``x`` ((N,) or (N, C), float) at ``target_lufs`` integrated with its true peak ≤ ``peak_dbtp``.

    A gain sets the loudness; where the peaks would pass the ceiling a look-ahead limiter lowers
    them (0.3 dB under the ceiling, a margin for the encoder); the limiting takes a little loudness,
    so gain and limiting are repeated (three rounds reach ±0.1 LU on speech). Silence is returned as is.
    """
    x = np.asarray(x, np.float32)
    shape = x.shape
    y = _as_2d(x)
    if not np.any(y):
        return x
    ceiling = 10 ** ((peak_dbtp - 0.3) / 20)
    out = y
    for _ in range(4):
        loud = integrated_loudness(out, rate)
        if not math.isfinite(loud):
            return x
        if abs(loud - target_lufs) < 0.05 and true_peak_db(out) <= peak_dbtp - 0.1:
            break
        out = out * 10 ** ((target_lufs - loud) / 20)
        out = out * _limit_gain(out, rate, ceiling)[:, None]
    # the limiter's gain is a little under what each sample needs, but guard against rounding
    tp = true_peak_db(out)
    if tp > peak_dbtp - 0.1:
        out = out * 10 ** ((peak_dbtp - 0.1 - tp) / 20)
    return out.astype(np.float32).reshape(shape)


# --------------------------------------------------------------------------- mixing


def overlay(clips: Sequence[tuple[np.ndarray, int, float]], rate: int, n: int) -> np.ndarray:
    """Mono clips ``(waveform (M,), its rate, start_s)`` resampled to ``rate`` and summed at their start
    times into ``(n,)`` float32 silence; what runs past the end is cut."""
    audio = np.zeros(n, np.float32)
    for wave, wave_rate, start_s in clips:
        wave = resample(wave, wave_rate, rate)
        at = int(round(start_s * rate))
        wave = wave[: max(0, n - at)]
        audio[at : at + len(wave)] += wave
    return audio


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    return x[:n] if len(x) >= n else np.concatenate([x, np.zeros((n - len(x),) + x.shape[1:], x.dtype)])


def duck_gain(
    n: int,
    rate: int,
    spans: Sequence[tuple[float, float]] | Sequence[tuple[float, float, float]],
    *,
    duck: float = DUCK_GAIN,
    ramp_s: float = DUCK_RAMP_S,
) -> np.ndarray:
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
            out[at : at + x] *= fade_out  # the previous repeat's tail, under this one's head
        out[at : at + len(piece)] += piece
        at += len(music) - x
    return out[:n]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def music_bed(
    voice: np.ndarray | None,
    voice_rate: int | None,
    music: np.ndarray,
    music_rate: int,
    spans: Sequence[tuple[float, float]],
    duration_s: float,
) -> tuple[np.ndarray, int]:
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
        bed = np.stack([_fit_length(resample(bed[:, c], music_rate, rate), n) for c in range(bed.shape[1])], 1)
    bed = _fit_length(bed, n)  # (n, C)
    mono = bed.mean(axis=1)
    voice_n = _fit_length(resample(voice, voice_rate, rate), n) if voice is not None else None
    speech = [voice_n[int(a * rate) : int(b * rate)] for a, b in spans] if voice_n is not None else []
    level = _rms(np.concatenate(speech)) if speech else 0.0
    target = level * 10 ** (-MUSIC_BELOW_VOICE_DB / 20) if level > 0 else MUSIC_RMS
    rms, peak = _rms(mono), float(np.abs(bed).max())
    if rms > 0:
        bed *= min(target / rms, 1.0 / peak)
    keyed = []  # (start, end, gain) per sentence: deep enough under that sentence's own level
    for (a, b), said in zip(spans, speech):
        here = _rms(bed[int(a * rate) : int(b * rate)].mean(axis=1))
        want = _rms(said) * 10 ** (-DUCK_BELOW_VOICE_DB / 20)
        keyed.append((a, b, min(DUCK_GAIN, want / here) if here > 0 else DUCK_GAIN))
    gain = duck_gain(n, rate, keyed if speech else spans)
    t = np.arange(n) / rate
    gain *= np.clip(t / MUSIC_FADE_IN_S, 0, 1) * np.clip((duration_s - t) / MUSIC_FADE_OUT_S, 0, 1)
    return bed * gain[:, None], rate


def mix_music(
    voice: np.ndarray | None,
    voice_rate: int | None,
    music: np.ndarray,
    music_rate: int,
    spans: Sequence[tuple[float, float]],
    duration_s: float,
) -> tuple[np.ndarray, int]:
    """Voice (``(N,)`` or None) over :func:`music_bed`; ``((n, C), rate)``."""
    out, rate = music_bed(voice, voice_rate, music, music_rate, spans, duration_s)
    if voice is not None:
        out = out + _fit_length(resample(voice, voice_rate, rate), len(out))[:, None]
    return out, rate
