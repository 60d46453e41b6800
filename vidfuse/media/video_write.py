"""Writing video: :func:`write_video`, the one function in vidfuse that encodes a clip (see
:mod:`vidfuse.media.video_io` for the formats and their guarantees)."""

from __future__ import annotations

import math
import os
import struct
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Sequence

import av
import numpy as np
from PIL import Image

from vidfuse.errors import InputError
from vidfuse.fileio import atomic_path, disk_error
from vidfuse.media.audio import resample
from vidfuse.media.colour import AVCOL_BT709, AVCOL_RANGE_MPEG, SWS_ENCODE
from vidfuse.media.formats import SUFFIX_FORMATS as _SUFFIX_FORMATS
from vidfuse.media.formats import VIDEO_FORMATS as _FORMATS
from vidfuse.media.frames import check_frames, is_int, is_positive_number

__all__ = ["MAX_FPS", "MIN_FPS", "check_fps", "write_video"]

PathLike = str | os.PathLike

MIN_FPS, MAX_FPS = 1, 120  # frame rates write_video accepts (players handle these everywhere)
# Constant rate factor: lower is better and bigger. These are high on purpose: clips here are
# often 64×64, where a few bytes more cost nothing and blocking would hide what a model learnt.
_DEFAULT_CRF = {"mp4": 18, "webm": 20}
_MAX_CRF = {"mp4": 51, "webm": 63}
_VIDEO_CODEC = {"mp4": "libx264", "webm": "libvpx-vp9"}
_VIDEO_OPTIONS = {
    # chromaloc=1: swscale downsamples chroma centred between luma samples; say so in the stream,
    # or H.264 readers assume left-sited chroma and shift colours by half a pixel (FFmpeg: mean
    # abs error 1.2 instead of 0.4 on a lossless round trip of colourful 64×64 frames).
    "mp4": {"preset": "medium", "x264-params": "chromaloc=1"},
    "webm": {"b:v": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"},  # b:v 0 = pure CRF
}
_AUDIO_CODEC = {"mp4": "aac", "webm": "libopus"}
_AUDIO_SAMPLE_FORMAT = {"mp4": "fltp", "webm": "flt"}  # what each encoder takes (libopus: packed only)
_OPUS_RATE = 48_000
# FFmpeg's own AAC encoder picks ~69 kb/s for mono and then smears tones (errors of 0.4 on a
# 0.5-amplitude sine); 128 kb/s per channel is clean. libopus's default is already clean.
_AAC_BIT_RATE_PER_CHANNEL = 128_000
_AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
_SUBTITLE_CODEC = {"mp4": "mov_text", "webm": "webvtt"}
_SUBTITLE_TIME_BASE = Fraction(1, 1000)  # cue times are kept to the millisecond
# FFmpeg's subtitle encoders only open with an ASS header; this is FFmpeg's own default one. The
# mov_text encoder turns it into the track's sample description (font, size, colours).
_ASS_HEADER = (
    "[Script Info]\r\nScriptType: v4.00+\r\nPlayResX: 384\r\nPlayResY: 288\r\n\r\n"
    "[V4+ Styles]\r\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, "
    "OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, "
    "Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\r\n"
    "Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1\r\n\r\n"
    "[Events]\r\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\r\n"
).encode()


def write_video(
    path: PathLike,
    frames: np.ndarray,
    fps: float = 8.0,
    *,
    audio: np.ndarray | None = None,
    sample_rate: int | None = None,
    subtitles: Sequence[tuple[float, float, str]] | None = None,
    format: str | None = None,
    quality: int | None = None,
) -> Path:
    """Encode ``frames`` (uint8 ``(T, H, W, 3)`` RGB) to ``path`` atomically and return the path.

    Args:
        path: destination; its suffix picks the format (``.mp4``, ``.webm``, ``.gif``).
        frames: uint8 array ``(T, H, W, 3)``, RGB, ``T >= 1``; or an iterator of ``(H, W, 3)``
            frames, encoded as they come (a long video need not fit in memory).
        fps: frames per second, ``MIN_FPS`` (1) to ``MAX_FPS`` (120). GIF stores delays in 1/100 s:
            frame boundaries are rounded to the nearest 1/100 s so the total duration stays exact,
            and fps above 50 is refused because browsers slow such GIFs down to 10 fps.
        audio: optional waveform, float in [-1, 1], shaped ``(N,)`` (mono) or ``(N, C)`` with
            ``C`` 1 or 2. Encoded as AAC in MP4 (at ``sample_rate`` when AAC supports it, else
            resampled to 48 kHz) or Opus in WebM (resampled to 48 kHz). The last codec frame is
            padded with silence by the encoder and the container records the exact length, so
            ``N / sample_rate == T / fps`` gives streams of equal duration.
        sample_rate: samples per second of ``audio``; required with it.
        subtitles: optional cues ``(start_s, end_s, text)``, written as a soft subtitle track
            (``mov_text`` in MP4, WebVTT in WebM) that players can switch on and off. Cues must
            not overlap; they are stored in start order, to the millisecond.
        format: ``"mp4"``, ``"webm"`` or ``"gif"`` to override the suffix.
        quality: constant rate factor, lower is better (H.264 0–51, default 18; VP9 0–63,
            default 20). GIF has no quality setting.

    A 4:2:0 MP4 needs even sizes: an odd ``H`` or ``W`` is padded by one row/column repeating
    the edge pixels, and readers get ``(H + H % 2, W + W % 2)`` back. WebM and GIF keep the size.
    GIF frames identical to the previous one are merged into one longer frame (Pillow does this);
    ``read_video(path, fps=...)`` recovers the timeline.

    Raises:
        InputError: unusable frames, fps, audio, cues, format or quality; nothing is written.
    """
    fmt = _resolve_format(path, format)
    size, frames = _frame_source(frames)
    fps_q = check_fps(fps, fmt)
    crf = _check_quality(quality, fmt)
    waveform = _check_audio(audio, sample_rate, fmt, path)
    cues = _check_cues(subtitles, fmt, path)

    with atomic_path(path) as tmp:
        if fmt == "gif":
            _write_gif(tmp, np.stack(list(frames)), fps_q)
        else:
            try:
                _write_av(tmp, fmt, size, frames, fps_q, crf, waveform, sample_rate, cues)
            except av.FFmpegError as err:
                if (error := disk_error(path, err)) is not None:
                    raise error from err
                H, W = size
                raise InputError(
                    f"FFmpeg could not encode frames of {W}×{H} px at {fps} fps to {fmt} ({path}): "
                    f"{err}. Check the frame size and fps (H.264 levels stop at 8192×4320)."
                ) from err
    return Path(path)


def _resolve_format(path: PathLike, format: str | None) -> str:
    if format is not None:
        if format not in _FORMATS:
            raise InputError(f"format={format!r} is not supported for {path}; use one of {_FORMATS}.")
        return format
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIX_FORMATS:
        raise InputError(
            f"cannot tell the video format of {path} from its suffix {suffix!r}; "
            f"use one of {sorted(_SUFFIX_FORMATS)} or pass format='mp4' / 'webm' / 'gif'."
        )
    return _SUFFIX_FORMATS[suffix]


def _frame_source(frames: object) -> tuple[tuple[int, int], Iterator[np.ndarray]]:
    """``((H, W), frames one at a time)`` from a ``(T, H, W, 3)`` array or an iterator of ``(H, W, 3)``
    frames; an iterator's frames are checked as they come, so they never all sit in memory."""
    if isinstance(frames, np.ndarray) or not isinstance(frames, Iterator):
        frames = check_frames(frames)
        return frames.shape[1:3], iter(frames)
    first = next(frames, None)
    if first is None:
        raise InputError("frames must hold at least one frame; the iterator gave none.")
    first = check_frames(first[None] if isinstance(first, np.ndarray) else first)[0]

    def checked() -> Iterator[np.ndarray]:
        yield first
        for i, frame in enumerate(frames, 1):
            if not isinstance(frame, np.ndarray) or frame.shape != first.shape or frame.dtype != np.uint8:
                got = f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
                raise InputError(f"frame {i} is {got}; every frame must be uint8 {first.shape} like frame 0.")
            yield frame

    return first.shape[:2], checked()


def check_fps(fps: float, fmt: str = "mp4") -> Fraction:
    """``fps`` as an exact rate for a ``fmt`` file, else :class:`InputError`: ``MIN_FPS`` to ``MAX_FPS``
    (far above, an MP4 may hold no decodable frame), at most 50 for a GIF."""
    if not is_positive_number(fps):
        raise InputError(f"fps must be a positive number, got {fps!r}.")
    if not MIN_FPS <= fps <= MAX_FPS:
        raise InputError(f"fps={fps} is out of range; use {MIN_FPS} to {MAX_FPS} frames per second.")
    if fmt == "gif" and fps > 50:
        raise InputError(
            f"fps={fps} is too fast for a GIF (delays are in 1/100 s and browsers show delays under "
            "2/100 s at 10 fps); use fps <= 50 or write an .mp4."
        )
    # A rational rate keeps 29.97 (= 30000/1001) exact in the container's time base.
    return Fraction(fps).limit_denominator(1001)


def _check_quality(quality: int | None, fmt: str) -> int | None:
    if fmt == "gif":
        if quality is not None:
            raise InputError("quality has no effect on GIF (a fixed 256-colour palette); pass quality=None.")
        return None
    if quality is None:
        return _DEFAULT_CRF[fmt]
    if not is_int(quality) or not 0 <= quality <= _MAX_CRF[fmt]:
        raise InputError(
            f"quality is a constant rate factor, an integer 0..{_MAX_CRF[fmt]} for {fmt} "
            f"(lower is better, default {_DEFAULT_CRF[fmt]}); got {quality!r}."
        )
    return int(quality)


def _check_audio(audio: np.ndarray | None, sample_rate: int | None, fmt: str, path: PathLike) -> np.ndarray | None:
    """Return the waveform as float32 ``(C, N)``, or None."""
    if audio is None:
        if sample_rate is not None:
            raise InputError("sample_rate was given without audio; pass both or neither.")
        return None
    if fmt == "gif":
        raise InputError(f"a GIF cannot carry audio ({path}); write an .mp4 or .webm instead.")
    if not is_int(sample_rate) or sample_rate <= 0:
        raise InputError(f"audio needs sample_rate, a positive integer (e.g. 16000); got {sample_rate!r}.")
    audio = np.asarray(audio)
    if not np.issubdtype(audio.dtype, np.floating):
        raise InputError(
            f"audio must be a float waveform in [-1, 1], got dtype {audio.dtype}; "
            "convert int16 samples with audio / 32768."
        )
    if audio.ndim == 1:
        audio = audio[:, None]
    if audio.ndim != 2 or audio.shape[1] not in (1, 2) or audio.shape[0] < 1:
        raise InputError(f"audio must be shaped (N,) or (N, C) with C 1 or 2 and N >= 1, got shape {audio.shape}.")
    if not np.isfinite(audio).all():
        raise InputError("audio contains NaN or infinite samples.")
    peak = float(np.abs(audio).max())
    if peak > 1.0 + 1e-6:
        raise InputError(
            f"audio must lie in [-1, 1] but peaks at {peak:.3g}; normalise it, e.g. audio / np.abs(audio).max()."
        )
    return np.ascontiguousarray(audio.T, dtype=np.float32)  # (C, N)


def _check_cues(
    subtitles: Sequence[tuple[float, float, str]] | None, fmt: str, path: PathLike
) -> list[tuple[float, float, str]]:
    if subtitles is None:
        return []
    if fmt not in _SUBTITLE_CODEC:
        raise InputError(f"soft subtitles need an .mp4 or .webm file, not {path}; burn them into the frames instead.")
    cues = []
    for i, cue in enumerate(subtitles):
        try:
            start, end, text = cue
            start, end = float(start), float(end)
        except (TypeError, ValueError):
            raise InputError(f"subtitle cue {i} must be (start_s, end_s, text), got {cue!r}.") from None
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"subtitle cue {i} ({start}–{end} s) has no text; drop empty cues.")
        if not (math.isfinite(start) and math.isfinite(end) and 0 <= start < end):
            raise InputError(f"subtitle cue {i} needs 0 <= start_s < end_s, got ({start}, {end}).")
        if fmt == "mp4" and len(text.encode("utf-8")) > 0xFFFF:
            raise InputError(f"subtitle cue {i} is longer than the 65535 bytes mov_text allows; split it.")
        cues.append((start, end, text))
    cues.sort(key=lambda c: c[0])
    for a, b in zip(cues, cues[1:]):
        if b[0] < a[1] - 0.0005:  # overlaps of under half a millisecond vanish in rounding
            raise InputError(
                f"subtitle cues overlap: {a[2]!r} ({a[0]}–{a[1]} s) and {b[2]!r} ({b[0]}–{b[1]} s); "
                "end the first before the second starts."
            )
    return cues


def _write_av(
    tmp: Path,
    fmt: str,
    size: tuple[int, int],  # (H, W)
    frames: Iterator[np.ndarray],  # (H, W, 3) uint8 each
    fps: Fraction,
    crf: int,
    waveform: np.ndarray | None,  # (C, N) float32
    sample_rate: int | None,
    cues: list[tuple[float, float, str]],
) -> None:
    H, W = size
    pad_h, pad_w = (H % 2, W % 2) if fmt == "mp4" else (0, 0)
    options = {"movflags": "+faststart"} if fmt == "mp4" else {}
    with av.open(str(tmp), mode="w", format=fmt, options=options) as container:
        video = container.add_stream(_VIDEO_CODEC[fmt], rate=fps)
        video.width, video.height, video.pix_fmt = W + pad_w, H + pad_h, "yuv420p"
        video.options = {"crf": str(crf), **_VIDEO_OPTIONS[fmt]}
        cc = video.codec_context
        cc.color_primaries = cc.color_trc = cc.colorspace = AVCOL_BT709
        cc.color_range = AVCOL_RANGE_MPEG

        audio_stream, audio_frames = None, []
        if waveform is not None:
            audio_stream, audio_frames = _add_audio(container, fmt, waveform, sample_rate, fps)
        if cues:  # after all streams are added: the first mux writes the header
            _mux_cues(container, fmt, cues)

        next_audio = 0
        for i, rgb in enumerate(frames):  # (H, W, 3)
            if pad_h or pad_w:
                rgb = np.pad(rgb, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame = frame.reformat(
                format="yuv420p", dst_colorspace="itu709", dst_color_range="MPEG", interpolation=SWS_ENCODE
            )
            frame.pts = i  # in the codec time base 1/fps
            container.mux(video.encode(frame))
            # Feed audio up to the end of this video frame so that the streams interleave in time.
            while next_audio < len(audio_frames) and audio_frames[next_audio].time < (i + 1) / fps:
                container.mux(audio_stream.encode(audio_frames[next_audio]))
                next_audio += 1
        container.mux(video.encode(None))
        if audio_stream is not None:
            for audio_frame in audio_frames[next_audio:]:
                container.mux(audio_stream.encode(audio_frame))
            container.mux(audio_stream.encode(None))


def _add_audio(
    container: av.container.OutputContainer,
    fmt: str,
    waveform: np.ndarray,  # (C, N) float32
    sample_rate: int,
    fps: Fraction,
) -> tuple[av.audio.stream.AudioStream, list[av.AudioFrame]]:
    """Add the audio stream; return it and the waveform cut into frames of about one video frame.

    The encoder re-cuts them into its own frame size and pads the last one with silence.
    """
    layout = "mono" if waveform.shape[0] == 1 else "stereo"
    rate = sample_rate if fmt == "mp4" and sample_rate in _AAC_RATES else _OPUS_RATE
    stream = container.add_stream(_AUDIO_CODEC[fmt], rate=rate)
    # Frames are planar float; PyAV converts them to the encoder's own sample format.
    stream.layout, stream.format = layout, _AUDIO_SAMPLE_FORMAT[fmt]
    if fmt == "mp4":
        stream.bit_rate = _AAC_BIT_RATE_PER_CHANNEL * waveform.shape[0]
    if rate != sample_rate:
        waveform = np.ascontiguousarray(resample(waveform.T, sample_rate, rate).T)  # (C, N')
    step = max(1, math.ceil(rate / fps))
    frames = []
    for start in range(0, waveform.shape[1], step):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(waveform[:, start : start + step]), format="fltp", layout=layout
        )
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        frames.append(frame)
    return stream, frames


def _mux_cues(container: av.container.OutputContainer, fmt: str, cues: list[tuple[float, float, str]]) -> None:
    """Add a soft subtitle track and mux one packet per cue.

    Packets are built by hand rather than through the ASS-based encoders so that text comes back
    byte for byte (no ASS escaping of ``{``, ``\\``): a ``mov_text`` sample is a 2-byte big-endian
    length plus UTF-8 text; a WebVTT block in Matroska is the UTF-8 text itself.
    """
    stream = container.add_stream(_SUBTITLE_CODEC[fmt])
    stream.codec_context.subtitle_header = _ASS_HEADER  # needed to open; yields the MP4 sample description
    stream.codec_context.time_base = _SUBTITLE_TIME_BASE
    for start, end, text in cues:
        payload = text.encode("utf-8")
        if fmt == "mp4":
            payload = struct.pack(">H", len(payload)) + payload
        packet = av.Packet(payload)
        packet.stream, packet.time_base = stream, _SUBTITLE_TIME_BASE
        packet.pts = packet.dts = round(start * 1000)
        packet.duration = max(1, round(end * 1000) - packet.pts)
        container.mux(packet)


def _write_gif(tmp: Path, frames: np.ndarray, fps: Fraction) -> None:
    # Delays are whole centiseconds: round each frame's end time so that errors don't accumulate
    # (8 fps: delays of 120 or 130 ms that add up to exactly 2 s over 16 frames).
    ends_cs = [round((i + 1) * 100 / fps) for i in range(len(frames))]
    durations_ms = [10 * (b - a) for a, b in zip([0, *ends_cs], ends_cs)]
    images = [Image.fromarray(f) for f in frames]  # (H, W, 3) uint8 → RGB
    images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=durations_ms, loop=0)
