"""Round trips through vidfuse.media.video_io: write, decode, compare. Tiny synthetic clips, CPU, seconds."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from vidfuse.errors import InputError
from vidfuse.media import fonts
from vidfuse.media.sheets import contact_sheet
from vidfuse.media.video_io import (
    VideoDecodeError,
    probe_video,
    read_audio,
    read_subtitles,
    read_video,
    write_video,
)

# Mean abs error bounds (0..255 scale) for the colourful smooth clip below at the default quality.
# Measured with PyAV 18 / FFmpeg 8.1: MP4 crf 18 → 1.23, WebM crf 20 → 1.06, GIF → 3.14
# (a 256-colour palette on a three-channel gradient), odd-size MP4 → 1.69. The bounds leave
# room for other encoder builds but fail on a colour-matrix or chroma-siting mix-up (≥ 2.3).
MAX_MEAN_ERROR = {"mp4": 2.0, "webm": 2.0, "gif": 4.0}


def smooth_clip(T: int = 16, H: int = 64, W: int = 64) -> np.ndarray:
    """Colourful gradients drifting over time, uint8 (T, H, W, 3)."""
    t = np.arange(T)[:, None, None]
    y = np.arange(H)[None, :, None]
    x = np.arange(W)[None, None, :]
    r = 128 + 100 * np.sin(2 * np.pi * (x / W + t / T))
    g = 40 + 180 * y / H
    b = 128 + 80 * np.cos(2 * np.pi * (y / H - t / T))
    return np.stack(np.broadcast_arrays(r, g, b), axis=-1).round().astype(np.uint8)


def moving_square(T: int = 12, H: int = 32, W: int = 48) -> np.ndarray:
    """A red square moving right over a dark background, uint8 (T, H, W, 3)."""
    frames = np.full((T, H, W, 3), 30, np.uint8)
    for t in range(T):
        frames[t, 8:20, 2 + 2 * t : 14 + 2 * t] = (230, 40, 40)
    return frames


def counting_clip(T: int = 16, H: int = 16, W: int = 16) -> np.ndarray:
    """Frame i is flat grey at level 12 * i, so a decoded frame tells which one it was."""
    return np.broadcast_to((12 * np.arange(T, dtype=np.uint8))[:, None, None, None], (T, H, W, 3)).copy()


def frame_ids(frames: np.ndarray) -> list[int]:
    return [round(float(f.mean()) / 12) for f in frames]


def sine(n: int, rate: int, hz: float, channels: int = 1) -> np.ndarray:
    t = np.arange(n) / rate
    wave = np.stack([0.5 * np.sin(2 * np.pi * hz * (c + 1) * t) for c in range(channels)], axis=1)
    return wave.astype(np.float32)  # (N, C)


# --------------------------------------------------------------------------------------------
# Video round trips


@pytest.mark.parametrize("ext", ["mp4", "webm", "gif"])
def test_round_trip_keeps_count_size_timing_and_pixels(tmp_path, ext):
    clip = smooth_clip()
    path = write_video(tmp_path / f"clip.{ext}", clip, fps=8)
    assert path == tmp_path / f"clip.{ext}"

    back = read_video(path)
    assert back.dtype == np.uint8 and back.shape == clip.shape
    error = np.abs(back.astype(int) - clip).mean()
    assert error < MAX_MEAN_ERROR[ext], f"{ext}: mean abs error {error:.2f}"

    info = probe_video(path)
    assert (info.num_frames, info.width, info.height) == (16, 64, 64)
    assert info.fps == pytest.approx(8, abs=0.01)
    assert info.duration_s == pytest.approx(2.0, abs=0.002)  # WebM keeps milliseconds
    assert info.video_codec == {"mp4": "h264", "webm": "vp9", "gif": "gif"}[ext]
    assert not info.has_audio and info.subtitle_codecs == []


def test_flat_colours_survive_gif_exactly(tmp_path):
    clip = moving_square()
    back = read_video(write_video(tmp_path / "square.gif", clip, fps=6))
    np.testing.assert_array_equal(back, clip)


def test_odd_sizes_mp4_pads_to_even_webm_and_gif_keep_them(tmp_path):
    clip = smooth_clip(T=8, H=33, W=47)
    mp4 = read_video(write_video(tmp_path / "odd.mp4", clip, fps=8))
    assert mp4.shape == (8, 34, 48, 3)
    assert np.abs(mp4[:, :33, :47].astype(int) - clip).mean() < MAX_MEAN_ERROR["mp4"]
    # the added row/column repeats the edge pixels
    assert np.abs(mp4[:, 33].astype(int) - mp4[:, 32]).mean() < 3
    assert np.abs(mp4[:, :, 47].astype(int) - mp4[:, :, 46]).mean() < 3
    for ext in ("webm", "gif"):
        assert read_video(write_video(tmp_path / f"odd.{ext}", clip, fps=8)).shape == clip.shape


def test_fractional_fps_is_kept(tmp_path):
    path = write_video(tmp_path / "ntsc.mp4", counting_clip(T=6), fps=30000 / 1001)
    assert probe_video(path).fps == pytest.approx(29.97, abs=0.01)


def test_quality_trades_size_for_error(tmp_path):
    clip = smooth_clip()
    fine = write_video(tmp_path / "fine.mp4", clip, quality=10)
    coarse = write_video(tmp_path / "coarse.mp4", clip, quality=35)
    assert fine.stat().st_size > coarse.stat().st_size
    err = {p: np.abs(read_video(p).astype(int) - clip).mean() for p in (fine, coarse)}
    assert err[fine] < err[coarse]


def test_format_argument_overrides_the_suffix(tmp_path):
    path = write_video(tmp_path / "clip.bin", counting_clip(T=4), format="webm")
    assert probe_video(path).video_codec == "vp9"


# --------------------------------------------------------------------------------------------
# Audio


@pytest.mark.parametrize("channels", [1, 2])
def test_mp4_aac_audio_has_the_video_duration_and_exact_length(tmp_path, channels):
    rate, fps, T = 16000, 8, 16
    wave = sine(T * rate // fps, rate, 440, channels)  # exactly as long as the video
    path = write_video(tmp_path / "av.mp4", counting_clip(T), fps=fps, audio=wave, sample_rate=rate)

    info = probe_video(path)
    assert info.has_audio and info.audio_codec == "aac" and info.audio_sample_rate == rate
    assert info.audio_duration_s == pytest.approx(info.duration_s, abs=1e-3)

    back, back_rate = read_audio(path)
    assert back_rate == rate and back.dtype == np.float32
    assert back.shape == wave.shape  # the encoder's padding of the last frame is cut off
    assert np.abs(back - wave).mean() < 0.01  # measured ≈ 0.001: in time and in tune


def test_aac_audio_at_an_unsupported_rate_is_resampled_to_48k(tmp_path):
    wave = sine(22000, 22000, 300)  # 1 s at a rate AAC has no table for
    path = write_video(tmp_path / "av.mp4", counting_clip(T=8), fps=8, audio=wave, sample_rate=22000)
    back, rate = read_audio(path)
    assert rate == 48000 and back.shape == (48000, 1)
    assert np.abs(back - sine(48000, 48000, 300)).mean() < 0.01  # measured 0.001


def test_webm_opus_audio_is_48k_and_as_long_as_the_video(tmp_path):
    rate, fps, T = 16000, 8, 16
    wave = sine(T * rate // fps, rate, 440)
    path = write_video(tmp_path / "av.webm", smooth_clip(T, 17, 23), fps=fps, audio=wave, sample_rate=rate)

    info = probe_video(path)
    assert info.audio_codec == "opus" and info.audio_sample_rate == 48000
    assert (info.width, info.height) == (23, 17)
    assert info.audio_duration_s == pytest.approx(info.duration_s, abs=0.020)  # one Opus frame

    back, back_rate = read_audio(path)
    assert back_rate == 48000 and back.shape == (2 * 48000, 1)
    expected = sine(len(back), 48000, 440)
    assert np.abs(back - expected).mean() < 0.01  # measured 0.003: aligned, not shifted


def test_gif_with_audio_or_quality_is_refused(tmp_path):
    with pytest.raises(InputError, match="GIF cannot carry audio"):
        write_video(tmp_path / "a.gif", counting_clip(), audio=sine(100, 8000, 440), sample_rate=8000)
    with pytest.raises(InputError, match="quality"):
        write_video(tmp_path / "a.gif", counting_clip(), quality=18)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "audio, sample_rate, message",
    [
        (np.zeros(100, np.int16), 8000, "float waveform"),
        (np.full(100, 1.5, np.float32), 8000, r"\[-1, 1\]"),
        (np.zeros((100, 3), np.float32), 8000, "C 1 or 2"),
        (np.zeros(100, np.float32), None, "sample_rate"),
    ],
)
def test_bad_audio_is_refused(tmp_path, audio, sample_rate, message):
    with pytest.raises(InputError, match=message):
        write_video(tmp_path / "a.mp4", counting_clip(), audio=audio, sample_rate=sample_rate)


# --------------------------------------------------------------------------------------------
# Soft subtitles


@pytest.mark.parametrize("ext, codec", [("mp4", "mov_text"), ("webm", "webvtt")])
def test_soft_subtitles_round_trip(tmp_path, ext, codec):
    cues = [
        (1.0, 1.75, "你好，世界！"),  # given out of order: stored sorted
        (0.0, 0.5, "digit 3 {moves} left\\right"),  # braces and backslashes are not ASS markup here
        (0.5, 1.0, "two\nlines"),
    ]
    wave = sine(16000, 8000, 440)  # 2 s, as long as the video: all three streams in one file
    path = write_video(tmp_path / f"sub.{ext}", counting_clip(), fps=8, audio=wave, sample_rate=8000, subtitles=cues)
    info = probe_video(path)
    assert info.subtitle_codecs == [codec] and info.has_audio and info.num_frames == 16
    assert read_subtitles(path) == sorted(cues)


def test_subtitle_errors(tmp_path):
    clip = counting_clip()
    with pytest.raises(InputError, match="overlap"):
        write_video(tmp_path / "a.mp4", clip, subtitles=[(0, 1, "a"), (0.5, 2, "b")])
    with pytest.raises(InputError, match="no text"):
        write_video(tmp_path / "a.mp4", clip, subtitles=[(0, 1, " ")])
    with pytest.raises(InputError, match="start_s < end_s"):
        write_video(tmp_path / "a.mp4", clip, subtitles=[(1, 1, "a")])
    with pytest.raises(InputError, match="need an .mp4 or .webm"):
        write_video(tmp_path / "a.gif", clip, subtitles=[(0, 1, "a")])
    assert read_subtitles(write_video(tmp_path / "plain.mp4", clip)) == []


# --------------------------------------------------------------------------------------------
# Reading: sampling, resizing, stills


def test_num_frames_spreads_evenly_and_repeats_when_short(tmp_path):
    path = write_video(tmp_path / "count.mp4", counting_clip(T=16), fps=8)
    assert frame_ids(read_video(path, num_frames=4)) == [0, 5, 10, 15]
    assert frame_ids(read_video(path, num_frames=1)) == [0]
    assert frame_ids(read_video(path, num_frames=6, size=8)) == [0, 3, 6, 9, 12, 15]
    # 20 from 16: round(linspace(0, 15, 20)) repeats four frames
    assert frame_ids(read_video(path, num_frames=20)) == [
        0,
        1,
        2,
        2,
        3,
        4,
        5,
        6,
        6,
        7,
        8,
        9,
        9,
        10,
        11,
        12,
        13,
        13,
        14,
        15,
    ]


@pytest.mark.parametrize("ext", ["mp4", "webm", "gif"])
def test_fps_resamples_in_time(tmp_path, ext):
    # 10 fps: GIF delays are whole 1/100 s, so at 8 fps its frames would start on rounded times.
    path = write_video(tmp_path / f"count.{ext}", counting_clip(T=16), fps=10)  # 1.6 s
    assert frame_ids(read_video(path, fps=5)) == list(range(0, 16, 2))
    assert frame_ids(read_video(path, fps=20)) == [i for i in range(16) for _ in (0, 1)]
    assert frame_ids(read_video(path, fps=3)) == [0, 3, 6, 10, 13]  # the frame on screen at k/3 s


def test_size_and_crop(tmp_path):
    # 32 rows × 64 columns: red | green (middle half) | blue
    frame = np.zeros((32, 64, 3), np.uint8)
    frame[:, :16] = (255, 0, 0)
    frame[:, 16:48] = (0, 255, 0)
    frame[:, 48:] = (0, 0, 255)
    path = write_video(tmp_path / "wide.webm", np.stack([frame] * 4), fps=8)

    centre = read_video(path, size=32)  # short side already 32: crop the middle square
    assert centre.shape == (4, 32, 32, 3)
    assert (centre[:, 2:-2, 2:-2, 1] > 200).all() and (centre[:, 2:-2, 2:-2, [0, 2]] < 60).all()

    assert read_video(path, size=(16, 24)).shape == (4, 16, 24, 3)
    assert read_video(path, size=(48, 20)).shape == (4, 48, 20, 3)  # upscales to cover, then crops
    squashed = read_video(path, size=(16, 16), crop="none")
    assert squashed.shape == (4, 16, 16, 3)
    assert squashed[0, 8, 1, 0] > 200 and squashed[0, 8, 14, 2] > 200  # all three stripes survive


def test_still_image_reads_as_one_frame_clip(tmp_path):
    image = moving_square(T=1)[0]
    Image.fromarray(image).save(tmp_path / "still.png")
    np.testing.assert_array_equal(read_video(tmp_path / "still.png"), image[None])
    assert read_video(tmp_path / "still.png", num_frames=3, size=16).shape == (3, 16, 16, 3)
    info = probe_video(tmp_path / "still.png")
    assert (info.num_frames, info.width, info.height) == (1, 48, 32)


def test_bad_read_arguments(tmp_path):
    path = write_video(tmp_path / "c.mp4", counting_clip(T=4))
    for kwargs, message in [
        ({"num_frames": 4, "fps": 2}, "not both"),
        ({"num_frames": 0}, "num_frames"),
        ({"fps": -1}, "fps"),
        ({"size": (0, 4)}, "size"),
        ({"size": 8, "crop": "left"}, "crop"),
    ]:
        with pytest.raises(InputError, match=message):
            read_video(path, **kwargs)


# --------------------------------------------------------------------------------------------
# Errors and atomic writes


def test_missing_file_names_it(tmp_path):
    missing = tmp_path / "nope.mp4"
    for read in (read_video, probe_video, read_audio, read_subtitles):
        with pytest.raises(InputError, match="nope.mp4") as err:
            read(missing)
        assert not isinstance(err.value, VideoDecodeError)


@pytest.mark.parametrize(
    "name, content",
    [("garbage.mp4", bytes(range(256)) * 20), ("empty.webm", b""), ("text.png", b"not a png")],
)
def test_undecodable_file_raises_video_decode_error_naming_it(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    for read in (read_video, probe_video):
        with pytest.raises(VideoDecodeError, match=name):
            read(tmp_path / name)


def test_audio_only_file_has_no_video(tmp_path):
    path = write_video(tmp_path / "av.mp4", counting_clip(T=4), audio=sine(4000, 8000, 440), sample_rate=8000)
    with pytest.raises(InputError, match="no audio stream"):
        read_audio(write_video(tmp_path / "silent.mp4", counting_clip(T=4)))
    assert read_audio(path)[0].shape == (4000, 1)


@pytest.mark.parametrize(
    "frames, message",
    [
        (np.zeros((4, 16, 16, 3), np.float32), "uint8"),
        (np.zeros((16, 16, 3), np.uint8), r"\(T, H, W, 3\)"),
        (np.zeros((4, 16, 16, 4), np.uint8), "alpha"),
        (np.zeros((0, 16, 16, 3), np.uint8), "at least one"),
        ([[[[0, 0, 0]]]], "numpy"),
    ],
)
def test_bad_frames_are_refused_and_nothing_is_written(tmp_path, frames, message):
    with pytest.raises(InputError, match=message):
        write_video(tmp_path / "out.mp4", frames)
    assert list(tmp_path.iterdir()) == []


def test_failed_encode_leaves_no_temp_file_and_keeps_the_old_video(tmp_path):
    dest = tmp_path / "out.mp4"
    write_video(dest, counting_clip(T=4))
    before = dest.read_bytes()
    # 40000 px is wider than libx264 accepts: the encoder fails after the temp file exists.
    with pytest.raises(InputError, match="could not encode"):
        write_video(dest, np.zeros((2, 2, 40000, 3), np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]
    assert dest.read_bytes() == before


def test_unknown_suffix_and_bad_fps(tmp_path):
    with pytest.raises(InputError, match="suffix"):
        write_video(tmp_path / "clip.avi", counting_clip())
    with pytest.raises(InputError, match="fps"):
        write_video(tmp_path / "clip.mp4", counting_clip(), fps=0)
    with pytest.raises(InputError, match="too fast for a GIF"):
        write_video(tmp_path / "clip.gif", counting_clip(), fps=60)


# --------------------------------------------------------------------------------------------
# Contact sheet and fonts

BACKGROUND = (48, 48, 48)


def test_contact_sheet_layout_and_cjk_caption(tmp_path):
    clips = [moving_square(T=12, H=32, W=48), smooth_clip(T=3, H=16, W=16)]
    captions = ["数字三向右移动", None]
    sheet = contact_sheet(clips, captions, path=tmp_path / "sheet.png", n_cols=4, scale=2, gap=2)
    assert Image.open(tmp_path / "sheet.png").size == sheet.size

    pixels = np.asarray(sheet)
    row_width = 4 * 48 * 2 + 3 * 2
    assert sheet.width == row_width + 2 * 2
    # the first frame sits at the top-left corner, upscaled with nearest neighbour
    np.testing.assert_array_equal(pixels[2 : 2 + 64, 2 : 2 + 96], clips[0][0].repeat(2, 0).repeat(2, 1))
    # frames are separated by gap columns of the background colour
    assert (pixels[2 : 2 + 64, 2 + 96 : 2 + 98] == BACKGROUND).all()

    band = pixels[2 + 64 : 2 + 64 + 16]  # caption band under row one
    assert (band != BACKGROUND).any(axis=-1).sum() > 100, "no caption drawn"
    # row two (no caption) sits at the bottom-left, below row one's caption
    np.testing.assert_array_equal(pixels[-2 - 32 : -2, 2 : 2 + 32], clips[1][0].repeat(2, 0).repeat(2, 1))
    assert sheet.height - 2 - 32 > 2 + 64 + 16


def test_contact_sheet_title_is_written_above_the_first_row():
    clip = moving_square(T=4, H=16, W=16)
    plain = np.asarray(contact_sheet([clip], n_cols=4, scale=2, gap=2))
    titled = np.asarray(contact_sheet([clip], n_cols=4, scale=2, gap=2, title="voice: Piper · music: calm"))
    shift = titled.shape[0] - plain.shape[0]
    assert shift >= 16  # one line of 16 px text
    np.testing.assert_array_equal(titled[shift:], plain)  # the rows move down, unchanged
    assert (titled[2 : 2 + shift] != BACKGROUND).any(axis=-1).sum() > 50, "no title drawn"


def test_long_captions_wrap_within_the_row(tmp_path):
    clip = counting_clip(T=4, H=16, W=16)
    one_line = contact_sheet([clip], ["short"], n_cols=4)
    long_caption = "这是一个很长的中文说明，" * 6 + " and a long English tail to wrap too"
    wrapped = contact_sheet([clip], [long_caption], n_cols=4)
    assert wrapped.width == one_line.width
    assert wrapped.height > one_line.height + 2 * 16  # three lines or more
    text_columns = (np.asarray(wrapped)[2 + 32 :] != BACKGROUND).any(axis=(0, 2)).nonzero()[0]
    assert text_columns.max() < wrapped.width - 2  # inside the right margin


@pytest.mark.skipif(fonts.find_cjk_font() is None, reason="no CJK font (apt-get install fonts-noto-cjk)")
def test_cjk_font_draws_real_glyphs():
    font = fonts.load_font(24)
    assert fonts.load_font(24) is font  # cached
    # missing glyphs all draw the same box; real ones differ
    drawn = []
    for char in "你好":
        image = Image.new("L", (32, 32))
        ImageDraw.Draw(image).text((2, 2), char, font=font, fill=255)
        drawn.append(np.asarray(image))
    assert drawn[0].any() and not np.array_equal(drawn[0], drawn[1])
    assert "SC" in font.getname()[0] or fonts.find_cjk_font().suffix != ".ttc"


def test_latin_font_without_cjk():
    font = fonts.load_font(16, cjk=False)
    assert font.getbbox("Ag")[3] > 0
