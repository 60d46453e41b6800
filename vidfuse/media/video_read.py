"""Reading video: frames (:func:`read_video`, still images too), audio, soft subtitles and stream layout
(:func:`probe_video`). A file that exists but cannot be decoded raises :class:`VideoDecodeError`."""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import av
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from vidfuse.errors import InputError
from vidfuse.media.colour import SWS_DECODE
from vidfuse.media.frames import even_indices, is_int, is_positive_number

__all__ = [
    "VideoDecodeError",
    "VideoInfo",
    "audio_stream_count",
    "probe_video",
    "read_audio",
    "read_subtitles",
    "read_video",
]

PathLike = str | os.PathLike
_Finish = Callable[[np.ndarray], np.ndarray]  # per-frame resize/crop, (H, W, 3) → (H', W', 3)

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
    if fps is not None and not is_positive_number(fps):
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
        raise VideoDecodeError(f"cannot decode image {path}: {err}; the file is corrupt or not an image.") from err


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
        format="rgb24", src_color_range=frame.color_range or None, interpolation=SWS_DECODE
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
            num_frames=1,
            fps=0.0,
            width=width,
            height=height,
            duration_s=0.0,
            has_audio=False,
            audio_duration_s=None,
            audio_sample_rate=None,
            audio_codec=None,
            video_codec="image",
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
