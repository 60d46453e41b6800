"""Atomic file writes: a user's output or a checkpoint is either the old file or the new one, never half.

Every writer in vidfuse (videos, images, checkpoints, model folders, subtitles) goes through
:func:`atomic_path`: it hands out a temporary path in the destination's folder and renames it over
the destination only when the block finishes without an exception. A crash (even ``kill -9``)
leaves at most a stray ``*.tmp`` file beside the old output. A destination that cannot take a file
(a file where its folder should be, a read-only or virtual folder, a folder at the path itself) is an
:class:`~vidfuse.errors.InputError` naming the path and the reason; :func:`check_writable` asks first.
A destination that is a symbolic link is written through: its target gets the new file and the link stays
(as a shell's ``>`` does), instead of the link being replaced by a plain file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import Iterator

from vidfuse.errors import InputError

# why a folder refuses a new file, in words; other errors use the system's own text
_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.ENOENT: "the folder does not accept new files (a virtual file system such as /proc?)",
    errno.ENAMETOOLONG: "the file name is too long",
}
# what a full or read-only disk says while a file is being written: the writer's own error becomes a line for people
_DISK_ERRNOS = frozenset((errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG))


def _cannot_write(dest: Path, err: OSError) -> InputError:
    reason = _REASONS.get(err.errno, err.strerror or str(err))
    return InputError(f"cannot write {dest}: {reason}; choose another output path")


def names_folder(output: str | os.PathLike) -> bool:
    """Whether ``output`` as given ends in a path separator ("clips/"): a folder, though ``Path`` drops the slash."""
    return os.fspath(output).endswith(("/", os.sep))


def disk_error(dest: str | os.PathLike, err: BaseException) -> InputError | None:
    """The error to show for ``err`` raised while writing ``dest`` when it is the disk's (full, over quota,
    read-only, file too large), else ``None``."""
    code = getattr(err, "errno", None)
    return _cannot_write(Path(dest), err) if code in _DISK_ERRNOS else None  # type: ignore[arg-type]


def check_not_input(output: str | os.PathLike, *inputs: str | os.PathLike | None) -> None:
    """Refuse an output that is one of the command's own input files: writing it would lose the input (a
    script ``s.srt`` beside a story ``s.mp4``, a prompts file named ``index.csv`` in the output folder)."""
    for source in inputs:
        if not isinstance(source, (str, os.PathLike)):
            continue
        try:
            same = os.path.samefile(output, source)
        except (OSError, ValueError):  # either does not exist (yet): nothing to lose
            continue
        if same:
            raise InputError(
                f"the output {output} is the input {source}: writing it would replace the input; choose another "
                "output path"
            )


# byte-order marks a text file may start with, and the encoding each says (longest first: UTF-32 LE starts as UTF-16's)
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def read_text_file(path: str | os.PathLike, what: str, *, hint: str = "") -> str:
    """The text of ``path``: UTF-8, or UTF-8/16/32 with a byte-order mark (the mark dropped; Windows Notepad saves
    UTF-16 with one). A folder, a device or pipe (reading would never end), a file that cannot be read, or one that is
    not text (a video, UTF-16 without a mark, Latin-1) is an :class:`InputError` naming ``what``, the path and the
    first byte that is not text (or the NUL byte that says it is binary), then ``hint`` (how to convert it)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} {path} is a folder, not a file; give a text file")
    if not path.is_file() and path.exists():
        raise InputError(f"{what} {path} is not a regular file (a device or a pipe); give a text file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {what} {path}: {e.strerror or e}") from e
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "utf-8")
    nul = data.find(b"\x00") if encoding == "utf-8" else -1  # whichever comes first is reported
    hint = f" ({hint})" if hint else ""
    try:
        text = (data[:nul] if nul >= 0 else data).decode(encoding)
    except UnicodeDecodeError as e:
        name = encoding.upper().replace("-SIG", "")
        raise InputError(
            f"{what} {path} is not {name} text (byte 0x{data[e.start]:02x} at offset {e.start}); save it as UTF-8{hint}"
        ) from e
    if nul >= 0:
        raise InputError(
            f"{what} {path} holds a NUL byte at offset {nul}: it is binary, or UTF-16 without a byte-order mark; "
            f"save it as UTF-8{hint}"
        )
    return text.lstrip("\ufeff")


def _make_parent(dest: Path) -> None:
    """Create ``dest``'s folder; a file in the way, or a folder that may not be created, is an
    :class:`InputError` naming the path."""
    for parent in (dest.parent, *dest.parent.parents):
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                what = "a file, not a folder" if parent.is_file() else "not a folder"
                raise InputError(f"cannot write {dest}: {parent} is {what}; choose another output path")
            break
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _cannot_write(dest, e) from e


def _through_link(dest: Path) -> Path:
    """The file a write to ``dest`` should replace: the target of a symbolic link, else ``dest`` itself."""
    return Path(os.path.realpath(dest)) if dest.is_symlink() else dest


def _temp_beside(dest: Path, suffix: str) -> Path:
    """A new empty temporary file in ``dest``'s folder (``.STEM.XXXX.tmpSUFFIX``)."""
    _make_parent(dest)
    try:
        if dest.is_dir():
            raise InputError(f"cannot write {dest}: it is a folder; give a file name")
        if dest.exists() and not dest.is_file():  # renaming over /dev/null or a pipe would replace it with a file
            raise InputError(f"cannot write {dest}: it is not a regular file (a device or a pipe); give a file name")
        # the stem cut short: a name near the file system's limit (255 bytes) still takes its temporary neighbour
        stem = os.fsencode(dest.stem)[:64].decode("utf-8", errors="ignore") or "out"
        fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".tmp{suffix}", dir=dest.parent)
    except OSError as e:
        raise _cannot_write(dest, e) from e
    os.close(fd)
    return Path(tmp)


def check_writable(dest: str | os.PathLike) -> Path:
    """Fail now, with an :class:`InputError` naming ``dest`` and the reason, if a file cannot be written
    there (its folder is a file, is read-only, refuses new files, or ``dest`` is a folder). Lets a command
    refuse before minutes of work rather than after. Leaves nothing behind: folders it had to create to find
    out are removed again (writing makes them), so a command refused later (unknown words with ``--strict``)
    leaves no empty folders."""
    dest = _through_link(Path(dest))
    with _no_folders_left(dest.parent):
        _temp_beside(dest, dest.suffix).unlink()
    return dest


def check_writable_dir(folder: str | os.PathLike) -> Path:
    """Like :func:`check_writable`, for an output folder: it must be a folder, or one that can be made, that
    accepts new files."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"cannot write into {folder}: it is a file, not a folder; choose another output folder")
    with _no_folders_left(folder):
        _make_parent(folder)
        try:
            folder.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".vidfuse-check.", dir=folder)
        except OSError as e:
            raise _cannot_write(folder, e) from e
        os.close(fd)
        os.unlink(tmp)
    return folder


@contextlib.contextmanager
def _no_folders_left(folder: Path) -> Iterator[None]:
    """Remove, on the way out, the folders on the way to ``folder`` that did not exist on the way in."""
    missing = [p for p in (folder, *folder.parents) if not (p.exists() or p.is_symlink())]  # deepest first
    try:
        yield
    finally:
        for p in missing:
            try:
                p.rmdir()
            except OSError:  # not empty (something else wrote there meanwhile) or already gone: leave it
                break


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; on success fsync and rename it to ``dest``.

    ``suffix`` defaults to the destination's own suffix so that tools that pick a format by
    extension (PyAV, Pillow) see the right one, e.g. ``story.mp4`` → ``.story.XXXX.tmp.mp4``.
    """
    dest = _through_link(Path(dest))
    tmp_path = _temp_beside(dest, dest.suffix if suffix is None else suffix)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; outputs should read like any other file
    try:
        try:
            yield tmp_path
            with open(tmp_path, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp_path, dest)
        except OSError as e:  # the disk filled while writing: one line, and the old file kept
            error = disk_error(dest, e)
            if error is None:
                raise
            raise error from e
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(dest: str | os.PathLike, data: bytes) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(dest: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(dest, text.encode("utf-8"))
