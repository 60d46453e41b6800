"""Measuring narration: word error rate by an offline recogniser, and when speech starts under a cue.

Used by the tests (pocketsphinx, whose wheel bundles an en-us model: seconds per story) and by
``bench/narration.py`` (which adds Whisper tiny.en). Nothing here is downloaded.

* :func:`word_error_rate`: word-level Levenshtein distance / reference words, on lower-case words
  with punctuation dropped and digits spelled (``3`` → ``three``), since recognisers write words.
* :func:`pocketsphinx_transcript`: 16 kHz mono through pocketsphinx's default en-us model.
* :func:`speech_onsets`: energy-based voice activity on a (mixed) track: per cue, the first 10 ms
  frame at or after ``cue - lookback`` (not before the previous cue's end) whose energy is within
  :data:`ONSET_BELOW_DB` of that cue's loudest frames (the 90th percentile over the cue), so ducked
  music under it does not count.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from vidfuse.media.audio import resample

__all__ = ["ONSET_BELOW_DB", "normalize_words", "pocketsphinx_transcript", "speech_onsets", "word_error_rate"]

ONSET_BELOW_DB = 8.0
_FRAME_S = 0.01
_DIGITS = "zero one two three four five six seven eight nine".split()


def normalize_words(text: str) -> list[str]:
    text = re.sub(r"\d", lambda m: f" {_DIGITS[int(m.group())]} ", text.lower())
    return re.findall(r"[a-z]+(?:'[a-z]+)?", text)


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / len(ref)


def _mono16k(audio: np.ndarray, rate: int) -> np.ndarray:
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    return resample(np.asarray(mono, np.float32), rate, 16000)


def pocketsphinx_transcript(audio: np.ndarray, rate: int) -> str:
    """What pocketsphinx (bundled en-us acoustic model, language model and dictionary) hears."""
    from pocketsphinx import Decoder

    pcm = (np.clip(_mono16k(audio, rate), -1, 1) * 32767).astype("<i2")
    decoder = Decoder(loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr if hyp is not None else ""


def speech_onsets(
    audio: np.ndarray, rate: int, cues: Sequence[tuple[float, float]], *, lookback_s: float = 0.3
) -> list[float | None]:
    """Per cue ``(start, end)`` seconds: when speech starts (seconds; None if none is found)."""
    mono = np.asarray(audio.mean(axis=1) if audio.ndim == 2 else audio, np.float64)
    hop = max(1, int(_FRAME_S * rate))
    frame_s = hop / rate  # what a frame really lasts (220 samples at 22.05 kHz are 9.98 ms, not 10)
    frames = mono[: len(mono) // hop * hop].reshape(-1, hop)
    energy_db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    onsets: list[float | None] = []
    prev_end = 0.0
    for start, end in cues:
        a, b = int(start / frame_s), int(end / frame_s)
        if b <= a or a >= len(energy_db):
            onsets.append(None)
            continue
        threshold = np.percentile(energy_db[a:b], 90) - ONSET_BELOW_DB
        lo = max(0, int(max(start - lookback_s, prev_end) / frame_s))  # not into the cue before
        above = np.flatnonzero(energy_db[lo:b] >= threshold)
        onsets.append((lo + above[0]) * frame_s if above.size else None)
        prev_end = end
    return onsets
