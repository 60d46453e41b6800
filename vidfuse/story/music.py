"""Background music for stories: a library of moods (the PyPI package ``immich-memories-music``, 28
MIT-licensed tracks of about 32 s, Opus) or the user's own file.

:func:`resolve_music` turns ``--music`` into a file: ``none`` (or None) is no music; a mood name
(:func:`moods`: calm, energetic, happy, nostalgic, tender) picks one of that mood's tracks, the same
one for the same seed; anything else is a path to an audio file. :func:`check_music` refuses a file
with no audio stream before anything is spoken; :func:`load_music` decodes only as much as a story needs.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

from vidfuse.errors import InputError, MissingDependencyError
from vidfuse.media.video_io import audio_stream_count, read_audio

__all__ = [
    "LIBRARY_INSTALL_LINE",
    "MUSIC_FORMATS",
    "MUSIC_NONE",
    "check_music",
    "library_dir",
    "load_music",
    "moods",
    "music_label",
    "resolve_music",
    "tracks",
]

MUSIC_NONE = "none"
LIBRARY_INSTALL_LINE = "pip install immich-memories-music"
_EXTENSIONS = (".opus", ".ogg", ".mp3", ".m4a", ".flac", ".wav")
MUSIC_FORMATS = "MP3, WAV, FLAC, Ogg/Opus, AAC/M4A, or a video with a sound track"


def library_dir() -> Path | None:
    """The folder of mood folders inside ``immich-memories-music``, or None when it is not installed."""
    try:
        import immich_memories_music
    except ImportError:
        return None
    path = Path(immich_memories_music.tracks_dir())
    return path if path.is_dir() else None


def moods() -> list[str]:
    """The moods the installed library offers, sorted (empty without the library)."""
    root = library_dir()
    return sorted(p.name for p in root.iterdir() if p.is_dir() and tracks(p.name)) if root else []


def tracks(mood: str) -> list[Path]:
    """A mood's tracks, sorted by name (so a seed picks the same track on every machine)."""
    root = library_dir()
    folder = root / mood if root else None
    if folder is None or not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in _EXTENSIONS and p.is_file())


def resolve_music(music: str | os.PathLike | None, seed: int | None = 0) -> Path | None:
    """``--music MOOD|FILE|none`` → the file to play, or None for no music.

    A mood picks one of its tracks with ``random.Random(seed)`` (``seed=None``: any track). A word that is
    neither a mood nor an existing file is refused, naming the moods.
    """
    if music is None:
        return None
    if isinstance(music, str):
        word = music.strip().lower()
        if word == MUSIC_NONE:
            return None
        bare = word and os.sep not in word and "." not in word
        choices = tracks(word) if bare else []
        if choices:  # a mood, even where a file of that name sits in the working folder
            return random.Random(seed).choice(choices)
        if bare and not Path(music).exists():
            if library_dir() is None:
                raise MissingDependencyError(
                    f"--music {music}: the music library is not installed: "
                    f"{LIBRARY_INSTALL_LINE} (or pass an audio file)"
                )
            raise InputError(
                f"--music {music!r} is neither a mood ({', '.join(moods())}) nor an existing file; "
                "pass a mood, an audio file, or none"
            )
    return Path(music)


def music_label(path: Path | None) -> str:
    """How a storyboard names the music :func:`resolve_music` chose: ``calm (track name)`` for a library
    track, the file's name for the user's own file, ``none`` for no music."""
    if path is None:
        return MUSIC_NONE
    root = library_dir()
    if root is not None and Path(path).resolve().parent.parent == root.resolve():
        return f"{Path(path).parent.name} ({Path(path).stem})"
    return Path(path).name


def check_music(music) -> Path:
    """The music file's path, once it is known to hold an audio stream."""
    path = Path(music)
    if not path.is_file():
        raise InputError(f"music file not found: {path}" if not path.exists() else f"music {path} is not a file")
    streams = audio_stream_count(path)
    if streams is None:
        raise InputError(
            f"the music file {path} is not an audio file (FFmpeg finds no audio stream in it): "
            f"pass an audio file: {MUSIC_FORMATS}"
        )
    if streams == 0:
        raise InputError(
            f"the music file {path} has no audio stream (an image, or a video without sound): "
            f"pass an audio file: {MUSIC_FORMATS}"
        )
    return path


def load_music(path: Path, seconds: float) -> tuple[np.ndarray, int]:
    """The first ``seconds`` of the music (all of it when shorter), ``(N, C)`` float32, and its rate."""
    try:
        wave, rate = read_audio(path, max_seconds=seconds)  # (N, C) float32
    except InputError as e:
        raise InputError(
            f"the audio of the music file {path} cannot be decoded: the file is damaged or "
            f"truncated; pass another audio file: {MUSIC_FORMATS}"
        ) from e
    if wave.shape[0] == 0:
        raise InputError(f"the music file {path} holds no samples")
    wave = np.nan_to_num(wave[:, :2])  # 5.1 and the like: keep front left/right
    return np.clip(wave, -1.0, 1.0), rate
