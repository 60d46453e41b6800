"""Subtitles: SRT/WebVTT text and files, wrapping, and burn-in confined to the caption band."""

from __future__ import annotations

import numpy as np
import pytest

from vidfuse.errors import InputError
from vidfuse.media.fonts import find_cjk_font, load_font
from vidfuse.media.speech import SentenceTiming
from vidfuse.media.subtitles import (
    Cue,
    burn_subtitles,
    caption_band,
    caption_font_size,
    cues_from_timings,
    parse_srt,
    parse_vtt,
    to_srt,
    to_vtt,
    wrap_text,
    write_sidecars,
)

CUES = [Cue(1.25, 3.0, "Hello world."), Cue(3.5, 3661.0426, "你好，世界！\nSecond line")]

SRT = """1
00:00:01,250 --> 00:00:03,000
Hello world.

2
00:00:03,500 --> 01:01:01,043
你好，世界！
Second line
"""

VTT = """WEBVTT

1
00:00:01.250 --> 00:00:03.000
Hello world.

2
00:00:03.500 --> 01:01:01.043
你好，世界！
Second line
"""


def test_srt_and_vtt_exact():
    assert to_srt(CUES) == SRT
    assert to_vtt(CUES) == VTT
    assert to_srt([]) == "" and to_vtt([]) == "WEBVTT\n"


def test_round_trip():
    for parsed in (parse_srt(to_srt(CUES)), parse_vtt(to_vtt(CUES))):
        assert [c.text for c in parsed] == [c.text for c in CUES]
        for got, want in zip(parsed, CUES):
            assert got.start_s == pytest.approx(want.start_s, abs=5e-4)
            assert got.end_s == pytest.approx(want.end_s, abs=5e-4)


def test_parsers_accept_real_world_variants():
    vtt = "\ufeffWEBVTT - title\r\n\r\nNOTE a comment\r\n\r\n00:01.000 --> 00:02.500 align:center\r\nhi\r\n"
    assert parse_vtt(vtt) == [Cue(1.0, 2.5, "hi")]
    assert parse_srt("1\n00:00:00,000 --> 00:00:01,000\nA\n\n\n2\n00:00:01,000 --> 00:00:02,000\nB") == [
        Cue(0.0, 1.0, "A"),
        Cue(1.0, 2.0, "B"),
    ]
    with pytest.raises(InputError, match="WEBVTT"):
        parse_vtt(SRT)
    with pytest.raises(InputError, match="timing"):
        parse_srt("1\nnot a timing\nText\n")


def test_cue_text_cannot_break_the_format():
    srt = to_srt([Cue(0, 1, "a\n\nb --> c")])
    assert parse_srt(srt) == [Cue(0, 1, "a\nb -> c")]


def test_cue_validation():
    with pytest.raises(InputError):
        Cue(2.0, 1.0, "backwards")
    with pytest.raises(InputError):
        Cue(0.0, 1.0, "  ")


def test_cues_from_timings():
    timings = [SentenceTiming("One.", 0.0, 1.0), SentenceTiming("Two.", 1.25, 2.0)]
    assert cues_from_timings(timings, offset_s=0.5) == [Cue(0.5, 1.5, "One."), Cue(1.75, 2.5, "Two.")]


def test_write_sidecars(tmp_path):
    srt, vtt = write_sidecars(tmp_path / "story.mp4", CUES)
    assert (srt, vtt) == (tmp_path / "story.srt", tmp_path / "story.vtt")
    assert srt.read_text(encoding="utf-8") == SRT
    assert vtt.read_text(encoding="utf-8") == VTT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["story.srt", "story.vtt"]  # no temp files left


@pytest.mark.parametrize(
    "text",
    [
        "The quick brown fox jumps over the lazy dog and keeps running far away",
        "从前有一座山，山上有一座庙。庙里有个老和尚，他说：“我喜欢Python和AI。”",
    ],
)
def test_wrap_fits_width(text):
    font = load_font(20)
    lines = wrap_text(text, font, 150)
    assert len(lines) > 1
    assert all(font.getlength(line) <= 150 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # nothing lost
    assert not any(line[0] in "，。！？、；：”" for line in lines)  # no closing punctuation first


def test_wrap_keeps_english_words_whole():
    font = load_font(20)
    words = "The quick brown fox jumps over the lazy dog".split()
    lines = wrap_text(" ".join(words), font, 120)
    assert [w for line in lines for w in line.split(" ")] == words
    # a word wider than the line is the only thing split
    long_lines = wrap_text("a supercalifragilisticexpialidocious b", font, 80)
    assert all(font.getlength(line) <= 80 for line in long_lines)
    assert long_lines[0] == "a" and len(long_lines) >= 3
    assert "".join(long_lines[1:]).replace(" ", "") == "supercalifragilisticexpialidociousb"
    assert wrap_text("one\ntwo", font, 500) == ["one", "two"]


def _frames(t=24, h=96, w=128):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(t, h, w, 3), dtype=np.uint8)


def test_caption_band():
    assert caption_band(100, 160) == (78, 100)
    assert caption_band(100, 160, band="top") == (0, 22)
    with pytest.raises(InputError):
        caption_band(100, 160, band="middle")


@pytest.mark.parametrize("band", ["bottom", "top"])
def test_burn_changes_only_band_and_cue_frames(band):
    frames = _frames()
    before = frames.copy()
    fps = 12.0
    cues = [Cue(0.5, 1.0, "Hello, subtitles!")]  # frames 6..11
    out = burn_subtitles(frames, cues, fps, band=band)
    assert np.array_equal(frames, before)  # input untouched
    assert out.shape == frames.shape and out.dtype == np.uint8
    y0, y1 = caption_band(96, 128, band)
    changed = (out != frames).any(axis=-1)  # (T, H, W)
    rows = np.flatnonzero(changed.any(axis=(0, 2)))
    assert rows.min() >= y0 and rows.max() < y1
    assert np.flatnonzero(changed.any(axis=(1, 2))).tolist() == list(range(6, 12))


@pytest.mark.skipif(find_cjk_font() is None, reason="no CJK font (sudo apt-get install fonts-noto-cjk)")
def test_burn_chinese_renders():
    frames = np.full((3, 120, 160, 3), 128, np.uint8)
    out = burn_subtitles(frames, [Cue(0.0, 1.0, "你好，世界")], 3.0)
    band = out[:, slice(*caption_band(120, 160))]
    assert (band > 200).any(axis=-1).sum() > 50  # white glyph pixels
    assert np.array_equal(out[0], out[2])  # same caption on every frame of the cue
    # a font with CJK glyphs draws different shapes for different characters (no tofu boxes)
    other = burn_subtitles(frames, [Cue(0.0, 1.0, "山水画廊")], 3.0)
    assert not np.array_equal(out, other)


def test_burn_long_text_stays_in_band():
    frames = np.zeros((2, 64, 64, 3), np.uint8)
    out = burn_subtitles(frames, [Cue(0, 10, "a very long caption " * 20)], 24, font_size=30)
    y0, _ = caption_band(64, 64)
    assert not out[:, :y0].any() and out[:, y0:].any()


def test_caption_font_size_is_chosen_from_the_frame_and_lowered_only_for_a_cue_that_cannot_wrap_into_the_band():
    assert caption_font_size(720, 1280) == caption_font_size(1280, 720) == caption_font_size(720, 720) == 43
    assert caption_font_size(100, 100) == 12  # never under 12 px by default
    assert caption_font_size(720, 1280, ["A short cue."]) == 43
    long = "A cue long enough to need two lines at this size, which the band cannot hold at 43 px."
    size = caption_font_size(720, 1280, ["A short cue.", long])
    assert 20 <= size < 43 and size == caption_font_size(720, 1280, [long])


def test_burn_draws_every_cue_of_a_call_at_one_size():
    frames = np.full((2, 360, 640, 3), 64, np.uint8)
    out = burn_subtitles(frames, [Cue(0.0, 0.5, "Hyp hyp."), Cue(0.5, 1.0, " ".join(["Hyp"] * 19) + ".")], 2.0)
    heights = []
    for frame in out[:, slice(*caption_band(360, 640))]:
        rows = np.flatnonzero((frame.min(axis=-1) > 200).any(axis=1))
        ends = np.flatnonzero(np.diff(rows) > 1)  # the first line's last row
        heights.append(rows[ends[0]] - rows[0] + 1 if len(ends) else rows[-1] - rows[0] + 1)
    assert heights[0] > 10 and abs(int(heights[0]) - int(heights[1])) <= 1  # the long cue wraps, not shrinks


def test_burn_rejects_bad_frames():
    with pytest.raises(InputError):
        burn_subtitles(np.zeros((2, 8, 8, 3), np.float32), [], 24)
    with pytest.raises(InputError):
        burn_subtitles(np.zeros((2, 8, 8, 3), np.uint8), [], 0)
