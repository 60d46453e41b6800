"""The one place in vidfuse that writes and reads video (PyAV for codecs, Pillow for GIF and stills).

Frames are ``uint8`` arrays shaped ``(T, H, W, 3)``, RGB, at every public boundary.

Writing (:func:`write_video`), by file suffix:

- ``.mp4``: H.264 (libx264, ``yuv420p``, BT.709 tagged, ``+faststart`` so browsers stream it),
  optional AAC audio and a soft ``mov_text`` subtitle track. 4:2:0 chroma needs even sizes, so an
  odd height or width is padded by one row/column that repeats the edge; reading the file back
  gives the padded, even size.
- ``.webm``: VP9 (``yuv420p``, any size kept as is), optional Opus audio at 48 kHz and a soft
  WebVTT subtitle track.
- ``.gif``: Pillow, one adaptive 256-colour palette per frame, looping forever, no audio.

Every write goes through :func:`vidfuse.fileio.atomic_path`: a failed write leaves neither a
partial file nor a temp file behind.

Reading: :func:`read_video` (any format FFmpeg decodes, plus still images as one-frame clips),
:func:`read_audio`, :func:`read_subtitles`, :func:`probe_video`. A file that exists but cannot be
decoded raises :class:`VideoDecodeError`, which data loaders catch to skip corrupt files.
:func:`audio_stream_count` tells whether a file has sound before any of it is decoded.
Contact sheets (grids of frames with captions) are in :mod:`vidfuse.media.sheets`.
"""
from __future__ import annotations

import math
import numbers
import os
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator, Sequence

import av
import numpy as np
from av.video.reformatter import Interpolation
from PIL import Image, ImageOps, UnidentifiedImageError

from vidfuse.errors import InputError
from vidfuse.fileio import atomic_path
from vidfuse.media.audio import resample
from vidfuse.media.frames import check_frames, even_indices, is_int
from vidfuse.media.sheets import contact_sheet  # noqa: F401  (it lived here; server, train, demo import it from here)

PathLike = str | os.PathLike
_Finish = Callable[[np.ndarray], np.ndarray]  # per-frame resize/crop, (H, W, 3) → (H', W', 3)

_SUFFIX_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".webm": "webm", ".gif": "gif"}
_FORMATS = ("mp4", "webm", "gif")
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
# FFmpeg enum values for the H.264/VP9 colour description: BT.709 primaries, transfer and matrix,
# limited ("MPEG", 16–235) range. Tagged so that players convert back with the matrix we used.
_AVCOL_BT709 = 1
_AVCOL_RANGE_MPEG = 1
# swscale's default RGB↔YUV path rounds fast and replicates chroma; on small, colourful frames
# that alone costs ~2.3 mean abs error per channel. Accurate rounding with full chroma
# interpolation brings the 4:2:0 round trip down to ~0.4, for about 1 ms more per 512² frame.
_SWS_ACCURATE = Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT | Interpolation.FULL_CHR_H_INP
_SWS_ENCODE = Interpolation.BICUBIC | _SWS_ACCURATE
_SWS_DECODE = Interpolation.BILINEAR | _SWS_ACCURATE
_STILL_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
_TIME_EPS = 1e-6  # seconds; absorbs float error when comparing frame times with sample times


class VideoDecodeError(InputError):
    """A video file exists but cannot be decoded (corrupt, truncated, or not a video)."""


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` reads from a file's headers and packets (no pixel decoding)."""

    num_frames: int  # video frames in the file
    fps: float  # average frame rate
    width: int  # as stored (an MP4 from write_video has even sizes)
    height: int
    duration_s: float  # of the video stream, last frame's display time included
    has_audio: bool
    audio_duration_s: float | None  # as the container declares it; within one codec frame
    audio_sample_rate: int | None
    audio_codec: str | None  # e.g. "aac", "opus"
    video_codec: str  # e.g. "h264", "vp9", "gif"
    subtitle_codecs: list[str]  # one entry per soft subtitle track, e.g. ["mov_text"]


# --------------------------------------------------------------------------------------------
# Writing


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
                H, W = size
                raise InputError(
                    f"FFmpeg could not encode frames of {W}×{H} px at {fps} fps to {fmt} ({path}): "
                    f"{err}. Check the frame size and fps (H.264 levels stop at 8192×4320)."
                ) from err
    return Path(path)


def _is_positive_number(value: object) -> bool:
    return (
        isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )


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
    if not _is_positive_number(fps):
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


def _check_audio(
    audio: np.ndarray | None, sample_rate: int | None, fmt: str, path: PathLike
) -> np.ndarray | None:
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
        raise InputError(
            f"audio must be shaped (N,) or (N, C) with C 1 or 2 and N >= 1, got shape {audio.shape}."
        )
    if not np.isfinite(audio).all():
        raise InputError("audio contains NaN or infinite samples.")
    peak = float(np.abs(audio).max())
    if peak > 1.0 + 1e-6:
        raise InputError(
            f"audio must lie in [-1, 1] but peaks at {peak:.3g}; "
            "normalise it, e.g. audio / np.abs(audio).max()."
        )
    return np.ascontiguousarray(audio.T, dtype=np.float32)  # (C, N)


def _check_cues(
    subtitles: Sequence[tuple[float, float, str]] | None, fmt: str, path: PathLike
) -> list[tuple[float, float, str]]:
    if subtitles is None:
        return []
    if fmt not in _SUBTITLE_CODEC:
        raise InputError(
            f"soft subtitles need an .mp4 or .webm file, not {path}; burn them into the frames instead."
        )
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
        cc.color_primaries = cc.color_trc = cc.colorspace = _AVCOL_BT709
        cc.color_range = _AVCOL_RANGE_MPEG

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
                format="yuv420p", dst_colorspace="itu709", dst_color_range="MPEG", interpolation=_SWS_ENCODE
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


def _mux_cues(
    container: av.container.OutputContainer, fmt: str, cues: list[tuple[float, float, str]]
) -> None:
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
    images[0].save(
        tmp, format="GIF", save_all=True, append_images=images[1:], duration=durations_ms, loop=0
    )


# --------------------------------------------------------------------------------------------
# Reading


def read_video(
    path: PathLike,
    *,
    num_frames: int | None = None,
    fps: float | None = None,
    size: int | tuple[int, int] | None = None,
    crop: str = "center",
) -> np.ndarray:
    """Decode a video (or a GIF, or a still image as a one-frame clip) to uint8 ``(T, H, W, 3)`` RGB.

    Args:
        path: any file FFmpeg decodes; ``.png/.jpg/.jpeg/.bmp/.webp/.tif/.tiff`` are read with
            Pillow as a one-frame clip (``num_frames`` copies of it when that is given).
        num_frames: return exactly this many frames spread evenly over the clip, first and last
            included (indices ``round(linspace(0, T - 1, num_frames))``); a clip shorter than
            that repeats frames.
        fps: resample in time to this rate: output frame ``k`` shows the frame on screen at
            ``k / fps`` s, so frames are dropped or repeated; the clip's duration is kept.
            Not together with ``num_frames``.
        size: ``S`` or ``(H, W)``. With ``crop="center"`` frames are scaled (bilinear, keeping
            the aspect ratio) until they cover ``(H, W)``, then centre-cropped to it; with
            ``crop="none"`` they are scaled to ``(H, W)`` directly. An int ``S`` means ``(S, S)``.
        crop: ``"center"`` or ``"none"``.

    Raises:
        InputError: missing file or bad arguments.
        VideoDecodeError: the file exists but holds no decodable video.
    """
    path = _existing_file(path)
    if num_frames is not None and fps is not None:
        raise InputError("pass num_frames or fps to read_video, not both.")
    if num_frames is not None and (not is_int(num_frames) or num_frames < 1):
        raise InputError(f"num_frames must be a positive integer, got {num_frames!r}.")
    if fps is not None and not _is_positive_number(fps):
        raise InputError(f"fps must be a positive number, got {fps!r}.")
    out_size = _check_size(size)
    if crop not in ("center", "none"):
        raise InputError(f"crop must be 'center' or 'none', got {crop!r}.")

    def finish(rgb: np.ndarray) -> np.ndarray:
        return rgb if out_size is None else _resize(rgb, out_size, crop)

    if path.suffix.lower() in _STILL_SUFFIXES:
        still = finish(_read_still(path))
        return np.repeat(still[None], num_frames or 1, axis=0)  # (T, H, W, 3)

    if num_frames is not None:
        total = _count_video_packets(path)
        picked, decoded = _decode_indices(path, even_indices(total, num_frames), finish)
        if decoded != total:  # a packet held no frame, or several: pick again by the real count
            picked, _ = _decode_indices(path, even_indices(decoded, num_frames), finish)
    elif fps is not None:
        picked = _decode_at_rate(path, fps, finish)
    else:
        picked, _ = _decode_indices(path, None, finish)
    return np.stack(picked)  # (T, H, W, 3)


def _existing_file(path: PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        where = "" if path.is_absolute() else f" (relative to {Path.cwd()})"
        raise InputError(f"video file not found: {path}{where}; check the path.")
    if not path.is_file():
        raise InputError(f"{path} is not a file; pass a video file, not a directory.")
    return path


def _check_size(size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    hw = (size, size) if is_int(size) else size
    try:
        h, w = hw
        ok = all(is_int(v) and v >= 1 for v in (h, w))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(f"size must be a positive int or (height, width), got {size!r}.")
    return int(h), int(w)


def _resize(rgb: np.ndarray, size: tuple[int, int], crop: str) -> np.ndarray:
    """(H, W, 3) → (size[0], size[1], 3); see :func:`read_video` for ``crop``."""
    h, w = rgb.shape[:2]
    th, tw = size
    if (h, w) == (th, tw):
        return rgb
    if crop == "none":
        return np.asarray(Image.fromarray(rgb).resize((tw, th), Image.Resampling.BILINEAR))
    scale = max(th / h, tw / w)
    sh, sw = max(th, round(h * scale)), max(tw, round(w * scale))
    scaled = rgb
    if (sh, sw) != (h, w):
        scaled = np.asarray(Image.fromarray(rgb).resize((sw, sh), Image.Resampling.BILINEAR))
    top, left = (sh - th) // 2, (sw - tw) // 2
    return scaled[top : top + th, left : left + tw]


def _read_still(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))  # (H, W, 3)
    except (UnidentifiedImageError, OSError) as err:
        raise VideoDecodeError(
            f"cannot decode image {path}: {err}; the file is corrupt or not an image."
        ) from err


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path))
    except av.FFmpegError as err:
        raise VideoDecodeError(
            f"cannot decode {path}: {err}. The file is corrupt, truncated or not a video; "
            "re-encode it (ffmpeg -i IN -c:v libx264 OUT.mp4) or remove it."
        ) from err


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise VideoDecodeError(f"{path} has no video stream; pass a video file.")
    stream = container.streams.video[0]
    if not stream.codec_context.width:
        raise VideoDecodeError(f"{path}: the video stream has no frame size; the file is corrupt.")
    stream.thread_type = "AUTO"  # frame-parallel decoding
    return stream


def _frames(path: Path) -> Iterator[av.VideoFrame]:
    """Decoded frames of the first video stream; FFmpeg errors become VideoDecodeError."""
    with _open(path) as container:
        stream = _video_stream(container, path)
        try:
            yield from container.decode(stream)
        except av.FFmpegError as err:
            raise VideoDecodeError(f"cannot decode {path}: {err}; the file is corrupt or truncated.") from err


def _to_rgb(frame: av.VideoFrame) -> np.ndarray:
    # Full-range (JPEG) YUV from phones and webcams converts with its own range, not TV range.
    return frame.to_ndarray(
        format="rgb24", src_color_range=frame.color_range or None, interpolation=_SWS_DECODE
    )  # (H, W, 3)


def _decode_indices(path: Path, indices: list[int] | None, finish: _Finish) -> tuple[list[np.ndarray], int]:
    """Frames at ``indices`` (all frames if None), each converted once; also the decoded count."""
    wanted = set(indices or ())
    picked_by_index: dict[int, np.ndarray] = {}
    all_frames: list[np.ndarray] = []
    count = 0
    for count, frame in enumerate(_frames(path), start=1):
        i = count - 1
        if indices is None:
            all_frames.append(finish(_to_rgb(frame)))
        elif i in wanted:
            picked_by_index[i] = finish(_to_rgb(frame))
    if count == 0:
        raise VideoDecodeError(f"{path} holds no decodable video frame; the file is corrupt or empty.")
    if indices is None:
        return all_frames, count
    if any(i not in picked_by_index for i in wanted):
        return [], count  # the packet count was off; the caller picks again
    return [picked_by_index[i] for i in indices], count


def _decode_at_rate(path: Path, fps: float, finish: _Finish) -> list[np.ndarray]:
    """Sample-and-hold resampling: output k is the frame on screen at t = k / fps."""
    out: list[np.ndarray] = []
    k = 0
    held: av.VideoFrame | None = None  # the frame on screen before the current one
    held_rgb: np.ndarray | None = None
    t0 = held_t = None
    for index, frame in enumerate(_frames(path)):
        t = _frame_time(frame, index)
        if t0 is None:
            t0 = t
        t -= t0
        while held is not None and k / fps < t - _TIME_EPS:
            if held_rgb is None:
                held_rgb = finish(_to_rgb(held))
            out.append(held_rgb)
            k += 1
        held, held_rgb, held_t = frame, None, t
    if held is None:
        raise VideoDecodeError(f"{path} holds no decodable video frame; the file is corrupt or empty.")
    end = held_t + _frame_duration(held)
    while k / fps < end - _TIME_EPS or not out:
        if held_rgb is None:
            held_rgb = finish(_to_rgb(held))
        out.append(held_rgb)
        k += 1
    return out


def _frame_time(frame: av.VideoFrame, index: int) -> float:
    if frame.pts is not None and frame.time_base is not None:
        return float(frame.pts * frame.time_base)
    return index / 25.0  # no timestamps at all (raw streams): FFmpeg's own default rate


def _frame_duration(frame: av.VideoFrame) -> float:
    if frame.duration and frame.time_base is not None:
        return float(frame.duration * frame.time_base)
    return 1 / 25.0


def _count_video_packets(path: Path) -> int:
    """Number of video frames, from packets (no decoding)."""
    return _scan_packets(path, "video")[0]


def _scan_packets(path: Path, kind: str) -> tuple[int, float | None]:
    """(packets with data, end time of the last one relative to the stream start) for a stream kind."""
    with _open(path) as container:
        streams = getattr(container.streams, kind)
        if not streams:
            return 0, None
        count, first, end = 0, None, None
        try:
            for packet in container.demux(streams[0]):
                if packet.size == 0 or packet.pts is None:  # the demuxer's final flush packet
                    continue
                count += 1
                t = packet.pts * packet.time_base
                first = t if first is None else min(first, t)
                t_end = t + (packet.duration or 0) * packet.time_base
                end = t_end if end is None else max(end, t_end)
        except av.FFmpegError as err:
            raise VideoDecodeError(f"cannot read {path}: {err}; the file is corrupt or truncated.") from err
    return count, (None if end is None else float(end - first))


def probe_video(path: PathLike) -> VideoInfo:
    """Read a video's stream layout: frame count, rate, size, durations, audio and subtitle codecs.

    Uses container headers, and demuxes packets (no decoding) where a container such as WebM
    does not declare frame counts or durations. A still image is one frame, ``fps`` 0.
    """
    path = _existing_file(path)
    if path.suffix.lower() in _STILL_SUFFIXES:
        height, width = _read_still(path).shape[:2]
        return VideoInfo(
            num_frames=1, fps=0.0, width=width, height=height, duration_s=0.0, has_audio=False,
            audio_duration_s=None, audio_sample_rate=None, audio_codec=None, video_codec="image",
            subtitle_codecs=[],
        )
    with _open(path) as container:
        video = _video_stream(container, path)
        num_frames, duration = video.frames, _declared_duration(video)
        rate = video.average_rate or video.guessed_rate
        width, height = video.codec_context.width, video.codec_context.height
        video_codec = video.codec_context.name
        audio = container.streams.audio[0] if container.streams.audio else None
        audio_duration = _declared_duration(audio) if audio is not None else None
        subtitle_codecs = [s.codec_context.name for s in container.streams.subtitles]
        audio_rate = audio.codec_context.sample_rate if audio is not None else None
        audio_codec = audio.codec_context.name if audio is not None else None
    if not num_frames or duration is None:
        num_frames, duration = _scan_packets(path, "video")
    if audio is not None and audio_duration is None:
        audio_duration = _scan_packets(path, "audio")[1]
    # Frames over duration is exact for constant-rate video and the true average otherwise
    # (FFmpeg's own guess is off for GIFs, whose delays are whole centiseconds).
    fps = num_frames / duration if num_frames and duration else float(rate or 0)
    return VideoInfo(
        num_frames=num_frames,
        fps=fps,
        width=width,
        height=height,
        duration_s=duration or 0.0,
        has_audio=audio is not None,
        audio_duration_s=audio_duration,
        audio_sample_rate=audio_rate,
        audio_codec=audio_codec,
        video_codec=video_codec,
        subtitle_codecs=subtitle_codecs,
    )


def _declared_duration(stream: av.stream.Stream) -> float | None:
    if stream.duration is None or stream.duration <= 0 or stream.time_base is None:
        return None
    return float(stream.duration * stream.time_base)


def read_audio(path: PathLike, *, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Decode the first audio stream to ``(waveform float32 (N, C) in [-1, 1], sample_rate)``.

    The result is cut to the length the container declares, which drops the encoder's padding
    of the last AAC frame, so an MP4 from :func:`write_video` gives back exactly its input length.
    ``max_seconds``: decode no more than this from the start (an hour-long file is not read whole
    when a minute of it is needed).
    """
    path = _existing_file(path)
    chunks: list[np.ndarray] = []  # each (C, n)
    with _open(path) as container:
        if not container.streams.audio:
            raise InputError(f"{path} has no audio stream.")
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        resampler = None
        limit = None if max_seconds is None else max(1, math.ceil(max_seconds * rate))
        decoded = 0
        try:
            for frame in container.decode(stream):
                if resampler is None:  # planar float whatever the decoder gives
                    resampler = av.AudioResampler(format="fltp", layout=frame.layout, rate=frame.sample_rate)
                for f in resampler.resample(frame):
                    chunks.append(f.to_ndarray())
                    decoded += chunks[-1].shape[1]
                if limit is not None and decoded >= limit:
                    break
        except av.FFmpegError as err:
            raise VideoDecodeError(f"cannot decode the audio of {path}: {err}; the file is corrupt.") from err
        declared = _declared_duration(stream)
    if not chunks:
        raise VideoDecodeError(f"the audio stream of {path} holds no decodable samples.")
    waveform = np.concatenate(chunks, axis=1).T  # (N, C)
    if declared is not None:
        waveform = waveform[: round(declared * rate)]
    if limit is not None:
        waveform = waveform[:limit]
    return np.ascontiguousarray(waveform, dtype=np.float32), rate


def audio_stream_count(path: PathLike) -> int | None:
    """How many audio streams FFmpeg finds in ``path``; None when it cannot open the file at all."""
    try:
        with av.open(str(path)) as container:
            return len(container.streams.audio)
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return None


def read_subtitles(path: PathLike) -> list[tuple[float, float, str]]:
    """Cues ``(start_s, end_s, text)`` of the first soft subtitle track; ``[]`` if there is none.

    Reads ``mov_text`` (MP4), WebVTT (WebM/MKV) and SubRip/plain-text tracks.
    """
    path = _existing_file(path)
    cues = []
    with _open(path) as container:
        if not container.streams.subtitles:
            return []
        stream = container.streams.subtitles[0]
        codec = stream.codec_context.name
        if codec not in ("mov_text", "webvtt", "subrip", "text"):
            raise InputError(
                f"{path}: subtitle codec {codec!r} is not supported; convert the track, "
                "e.g. ffmpeg -i IN -c copy -c:s mov_text OUT.mp4."
            )
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            payload = bytes(packet)
            if codec == "mov_text":  # 2-byte length, the text, then optional style boxes
                (length,) = struct.unpack(">H", payload[:2])
                payload = payload[2 : 2 + length]
            text = payload.decode("utf-8", errors="replace")
            if not text:  # MP4 fills the gaps between cues with empty samples
                continue
            start = packet.pts * packet.time_base
            end = start + packet.duration * packet.time_base
            cues.append((round(float(start), 3), round(float(end), 3), text))
    return cues
