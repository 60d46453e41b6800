"""Audio DSP for narration: resampling, loudness (EBU R128 / ITU-R BS.1770) and a true-peak limiter.

* :func:`resample`: FFmpeg's band-limited resampler (through PyAV).
* :func:`integrated_loudness`: integrated loudness in LUFS, measured by ``pyloudnorm`` (BS.1770-4:
  K-weighting, 400 ms blocks, absolute and relative gating).
* :func:`true_peak_db`: the peak of the signal oversampled 4× (polyphase FIR, as BS.1770-4 Annex 2
  suggests), in dBTP: the peak a DAC or a lossy decoder reconstructs between samples.
* :func:`normalize_loudness`: gain to a target (−16 LUFS by default: the podcast and streaming
  target) and a look-ahead limiter that holds the true peak at or under a ceiling (−1 dBTP).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["TARGET_LUFS", "TRUE_PEAK_DBTP", "integrated_loudness", "normalize_loudness", "resample", "true_peak_db"]

TARGET_LUFS = -16.0
TRUE_PEAK_DBTP = -1.0
OVERSAMPLE = 4
_LIMIT_WINDOW_S = 0.02  # limiter look-ahead/hold and smoothing length (20 ms: no audible pumping on speech)
_MIN_BLOCK_S = 0.4  # BS.1770 gating block: shorter audio is measured looped to this length


def resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    """(N,) float32 at ``src`` Hz → (N',) at ``dst`` Hz with FFmpeg's resampler (band-limited)."""
    import av

    if src == dst:
        return np.asarray(x, np.float32)
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=dst)
    out = []
    step = 1 << 20
    for i in range(0, len(x), step):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[None, i:i + step], np.float32),
                                           format="fltp", layout="mono")
        frame.sample_rate, frame.pts = src, i
        out += resampler.resample(frame)
    out += resampler.resample(None)
    y = np.concatenate([f.to_ndarray()[0] for f in out]) if out else np.zeros(0, np.float32)
    return y.astype(np.float32)


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
        env[start:stop] = up.reshape(hi - lo, OVERSAMPLE, -1).max(axis=(1, 2))[start - lo: stop - lo]
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


def normalize_loudness(x: np.ndarray, rate: int, *, target_lufs: float = TARGET_LUFS,
                       peak_dbtp: float = TRUE_PEAK_DBTP) -> np.ndarray:
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
