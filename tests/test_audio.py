"""Loudness (pyloudnorm, BS.1770) and true peak (4x oversampling) of the story mix."""

from __future__ import annotations

import numpy as np
import pytest

from vidfuse.media.audio import integrated_loudness, normalize_loudness, true_peak_db

RATE = 22050


def speechlike(seconds: float, level: float, seed: int = 0) -> np.ndarray:
    """Bursts of noise-excited resonances with pauses: a crest factor like speech's (~18 dB)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    carrier = np.sin(2 * np.pi * 180 * t) * (1 + rng.standard_normal(n) * 0.3) + 0.3 * rng.standard_normal(n)
    envelope = np.clip(np.sin(2 * np.pi * 2.3 * t), 0, None) ** 3
    x = (carrier * envelope).astype(np.float32)
    x[rng.integers(0, n, 20)] = 1.0  # hot clicks
    return x * level


def test_loudness_meter_reads_the_bs1770_reference_sine():
    t = np.arange(5 * 48000) / 48000
    sine = 0.1 * np.sin(2 * np.pi * 997 * t)  # -20 dBFS peak: -23.0 LUFS by the standard
    assert integrated_loudness(sine, 48000) == pytest.approx(-23.0, abs=0.1)
    assert integrated_loudness(np.zeros(48000), 48000) == -np.inf


def test_true_peak_finds_the_peak_between_samples():
    n = np.arange(RATE)
    x = np.sin(2 * np.pi * n / 4 + np.pi / 4)  # fs/4 sampled at 45 deg: samples ±0.707, the wave reaches 1
    assert 20 * np.log10(np.abs(x).max()) == pytest.approx(-3.0, abs=0.1)
    assert true_peak_db(x) == pytest.approx(0.0, abs=0.3)


@pytest.mark.parametrize("level", [0.01, 0.3, 1.0])
@pytest.mark.parametrize("stereo", [False, True])
def test_normalize_reaches_minus_16_lufs_under_minus_1_dbtp(level, stereo):
    x = speechlike(6.0, level)
    if stereo:
        x = np.stack([x, 0.7 * speechlike(6.0, level, seed=1)], 1)
    y = normalize_loudness(x, RATE)
    assert y.shape == x.shape and y.dtype == np.float32
    assert integrated_loudness(y, RATE) == pytest.approx(-16.0, abs=0.5)
    assert true_peak_db(y) <= -1.0
    assert np.all(np.isfinite(y))


def test_silence_and_a_short_clip_are_handled():
    assert not normalize_loudness(np.zeros(1000, np.float32), RATE).any()
    short = speechlike(0.2, 0.2)  # shorter than one 400 ms gating block
    y = normalize_loudness(short, RATE)
    assert true_peak_db(y) <= -1.0 and integrated_loudness(y, RATE) == pytest.approx(-16.0, abs=1.0)


def test_true_peak_is_measured_block_by_block_exactly_as_in_one_piece(monkeypatch):
    """Long stories are oversampled in blocks with context (memory stays flat); the envelope is the one a
    single 4x resampling of the whole track gives."""
    from scipy.signal import resample_poly

    import vidfuse.media.audio as audio

    x = np.random.default_rng(0).normal(0, 0.3, (5000, 2))
    up = np.abs(resample_poly(x, audio.OVERSAMPLE, 1, axis=0)).reshape(5000, audio.OVERSAMPLE, 2).max(axis=(1, 2))
    whole = np.maximum(up, np.abs(x).max(axis=1))
    monkeypatch.setattr(audio, "_PEAK_BLOCK", 700)  # several blocks, one partial
    assert np.allclose(audio._oversampled_abs(x), whole, rtol=1e-9, atol=1e-12)
