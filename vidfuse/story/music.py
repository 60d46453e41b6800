"""Background music for stories: a library of moods (the PyPI package ``immich-memories-music``, 28
MIT-licensed tracks of about 32 s, Opus) or the user's own file.

:func:`resolve_music` turns ``--music`` into a file: ``none`` (or None) is no music; a mood name
(:func:`moods`: calm, energetic, happy, nostalgic, tender) picks one of that mood's tracks, the same
one for the same seed; anything else is a path to an audio file.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

from vidfuse.errors import InputError, MissingDependencyError

__all__ = ["LIBRARY_INSTALL_LINE", "MUSIC_NONE", "library_dir", "moods", "music_label", "resolve_music", "tracks"]

MUSIC_NONE = "none"
LIBRARY_INSTALL_LINE = "pip install immich-memories-music"
_EXTENSIONS = (".opus", ".ogg", ".mp3", ".m4a", ".flac", ".wav")


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
                raise MissingDependencyError(f"--music {music}: the music library is not installed: "
                                             f"{LIBRARY_INSTALL_LINE} (or pass an audio file)")
            raise InputError(f"--music {music!r} is neither a mood ({', '.join(moods())}) nor an existing file; "
                             "pass a mood, an audio file, or none")
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
