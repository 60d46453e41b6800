"""espeak-ng speech synthesis: audio, per-sentence timings, Chinese via pinyin, errors."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from vidfuse.errors import InputError, MissingDependencyError
from vidfuse.media import speech
from vidfuse.media.speech import available_voices, split_sentences, synthesize, to_pinyin

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (sudo apt-get install espeak-ng)"
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
        "Hello world.", "Pi is 3.14!", "Is it?", "你好。", "今天天气很好！",
        "他说：“走吧。”", "然后…", "New line;", "ok",
    ]
    assert split_sentences("The end.下一句。") == ["The end.", "下一句。"]


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
    assert synthesize(text, lang="en").duration_s == synthesize(text).duration_s
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
        synthesize("Hello.")
    assert "sudo apt-get install espeak-ng" in str(err.value).splitlines()
    with pytest.raises(MissingDependencyError):
        available_voices()


@needs_espeak
def test_available_voices():
    voices = {v.language: v for v in available_voices()}
    assert {"en-gb", "en-us", "cmn-latn-pinyin"} <= voices.keys()
    assert "en" in voices["en-gb"].other_languages
    assert "zh" in voices["cmn-latn-pinyin"].other_languages
