"""Real-data loaders: captioned video folders (WebVid-style CSV, JSONL), Kinetics, COCO captions.

Every dataset here is a :class:`vidfuse.data.clips.ClipDataset`: it yields the same triple as the built-in
Moving Digits dataset, parses its whole index when it is built (one :class:`InputError` naming the file and line
for a malformed row, missing files reported together) and skips an unreadable clip at read time.

Relative paths in an index are resolved against ``root`` when given, else against the index
file's folder. Every listed file must lie inside that data folder (``root``, the index's folder, or
COCO's ``images_dir``), symlinks resolved: an absolute path, a ``../`` or a symlink leading out is an
:class:`InputError` naming the index file, line and path, unless ``allow_outside_paths=True``
(``vidfuse train --allow-outside-paths``). Videos are decoded, frame-sampled, resized and centre-cropped by
:func:`vidfuse.media.video_io.read_video`, which also reads still images (COCO) with Pillow.
"""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from vidfuse.data.clips import (
    ClipDataset,
    Entry,
    VideoClipDataset,
    check_files,
    check_inside,
    missing_error,
    positive_int,
    resolve_path,
    size_hw,
)
from vidfuse.errors import InputError
from vidfuse.fileio import read_text_file
from vidfuse.media.video_io import read_video

__all__ = ["ClipDataset", "CocoCaptions", "Entry", "KineticsCSV", "VideoCaptionFolder", "open_dataset"]

WEBVID_COLUMNS = ("videoid", "name", "page_dir", "duration", "contentUrl")
KINETICS_COLUMNS = ("label", "youtube_id", "time_start", "time_end", "split")


# ---------------------------------------------------------------------- index readers


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str], list[str]]]:
    """Yield ``(line, row, header)`` for each data row of a CSV, checking field counts."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames
            if not header:
                raise InputError(f"{path}: line 1: the file is empty; expected a header row of column names")
            header = [h.strip() for h in header]
            reader.fieldnames = header
            for row in reader:
                line = reader.line_num  # where the row ends; rows span one line unless a quoted field holds a newline
                if None in row or None in row.values():
                    n = len(header) + len(row.get(None, [])) - sum(v is None for v in row.values())
                    raise InputError(
                        f"{path}: line {line}: {n} fields, but the header has {len(header)} ({', '.join(header)})"
                    )
                yield line, {k: v.strip() for k, v in row.items()}, header
    except UnicodeDecodeError as e:
        raise InputError(f"{path} is not UTF-8 text ({e}): save it as UTF-8") from e
    except csv.Error as e:
        raise InputError(f"{path}: line {reader.line_num}: malformed CSV ({e})") from e


def _csv_header(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return [h.strip() for h in next(csv.reader(f), [])]
    except (UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"{path}: line 1: cannot read the CSV header ({e})") from e


def _need(path: Path, line: int, row: dict[str, str], column: str) -> str:
    value = row.get(column, "")
    if not value:
        raise InputError(f"{path}: line {line}: the '{column}' column is empty")
    return value


def _read_caption_csv(path: Path, base: Path) -> list[Entry]:
    """WebVid columns (caption ``name``, file ``contentUrl`` or ``page_dir/videoid.mp4``) or ``video,caption``."""
    entries = []
    for line, row, header in _csv_rows(path):
        if "name" in header and ("contentUrl" in header or "videoid" in header):
            caption = _need(path, line, row, "name")
            url = row.get("contentUrl", "")
            if url and "://" not in url:
                file = resolve_path(url, base)
            else:  # a web URL (the WebVid release) → the conventional local layout
                file = base / _need(path, line, row, "page_dir") / f"{_need(path, line, row, 'videoid')}.mp4"
            attrs = {"source": "webvid", **{k: row[k] for k in ("videoid", "duration") if row.get(k)}}
        elif "video" in header and "caption" in header:
            caption = _need(path, line, row, "caption")
            file = resolve_path(_need(path, line, row, "video"), base)
            attrs = {"source": "csv"}
        else:
            raise InputError(
                f"{path}: line 1: unknown columns ({', '.join(header)}); expected WebVid's "
                f"{','.join(WEBVID_COLUMNS)} or video,caption"
            )
        entries.append(Entry(file, caption, f"line {line}", attrs))
    return entries


def _read_caption_jsonl(path: Path, base: Path) -> list[Entry]:
    """One JSON object a line: ``{"video": path, "caption": text, ...}``; other keys become attributes."""
    entries = []
    for line, text in enumerate(read_text_file(path, "captions file").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}: line {line}: not valid JSON ({e.msg} at column {e.colno})") from e
        if not isinstance(obj, dict):
            raise InputError(f'{path}: line {line}: expected an object like {{"video": ..., "caption": ...}}')
        for key in ("video", "caption"):
            if not isinstance(obj.get(key), str) or not obj[key].strip():
                raise InputError(f"{path}: line {line}: '{key}' is missing, empty or not a string")
        attrs = {k: v for k, v in obj.items() if k not in ("video", "caption")}
        entries.append(
            Entry(
                resolve_path(obj["video"], base), obj["caption"].strip(), f"line {line}", {"source": "jsonl", **attrs}
            )
        )
    return entries


# ---------------------------------------------------------------------- datasets


class VideoCaptionFolder(VideoClipDataset):
    """Captioned videos listed in a WebVid-style CSV, a ``video,caption`` CSV, or a JSONL file.

    ``source`` is the index file, or a folder holding ``captions.csv`` or ``captions.jsonl``.

    - WebVid CSV (``videoid,name,page_dir,duration,contentUrl``): the caption is ``name``; the
      file is ``contentUrl`` when that is a local path, else (a web URL, as in the WebVid
      release) ``root/page_dir/videoid.mp4``.
    - CSV with ``video,caption`` columns, or JSONL lines ``{"video": path, "caption": text}``
      (extra JSONL keys are passed through as attributes).

    ``num_frames`` frames are sampled (at ``fps`` when given, else evenly over the clip), resized
    and centre-cropped to ``size`` (an int for square frames, or ``(H, W)``). With probability
    ``hflip_p`` a clip is mirrored and its caption's left/right swapped (see ``augment.py``).
    """

    def __init__(
        self,
        source: str | os.PathLike,
        *,
        root: str | os.PathLike | None = None,
        num_frames: int = 16,
        size: int | tuple[int, int] = 64,
        fps: float | None = None,
        hflip_p: float = 0.0,
        allow_outside_paths: bool = False,
    ) -> None:
        index = _caption_index(Path(source))
        super().__init__(
            index, num_frames=num_frames, size=size, fps=fps, hflip_p=hflip_p, allow_outside_paths=allow_outside_paths
        )
        base = Path(root).expanduser() if root is not None else index.parent
        if index.suffix.lower() == ".jsonl":
            entries = _read_caption_jsonl(index, base)
        else:
            entries = _read_caption_csv(index, base)
        check_inside(index, entries, base, allow_outside_paths)
        check_files(index, entries, f"Relative paths are resolved against {base}.")
        self._set_entries(entries)


def _caption_index(source: Path) -> Path:
    if source.is_dir():
        found = [source / n for n in ("captions.csv", "captions.jsonl") if (source / n).is_file()]
        if len(found) > 1:
            raise InputError(f"{source} holds both captions.csv and captions.jsonl: pass the index file itself")
        if not found:
            raise InputError(
                f"{source} holds no caption index: add captions.csv (video,caption) or captions.jsonl "
                '({"video": …, "caption": …} a line) beside the videos, one row a clip'
            )
        return found[0]
    if not source.is_file():
        raise InputError(f"no such file or folder: {source}")
    if source.suffix.lower() not in (".csv", ".jsonl"):
        raise InputError(
            f"{source}: expected a .csv or .jsonl caption index, or a folder holding captions.csv / captions.jsonl"
        )
    return source


class KineticsCSV(VideoClipDataset):
    """Kinetics (400/600/700) from its annotation CSV and a folder of downloaded clips.

    Columns ``label,youtube_id,time_start,time_end[,split]``. The caption is the label with
    underscores as spaces ("playing_guitar" → "playing guitar"). ``split`` keeps only rows of
    that split (and names the split folder when the CSV has no ``split`` column). Each row's
    file is the first that exists of (``{id}_{start:06d}_{end:06d}`` written ``{clip}``)::

        root/split/label/{clip}.mp4     label as written, with "_" for " ", or " " for "_"
        root/{clip}.mp4
        root/{youtube_id}.mp4

    All layouts are taken to hold the trimmed 10-second clips.
    """

    def __init__(
        self,
        csv_path: str | os.PathLike,
        *,
        root: str | os.PathLike,
        split: str | None = None,
        num_frames: int = 16,
        size: int | tuple[int, int] = 64,
        fps: float | None = None,
        hflip_p: float = 0.0,
        allow_outside_paths: bool = False,
    ) -> None:
        index = Path(csv_path)
        if not index.is_file():
            raise InputError(f"no such Kinetics CSV: {index}")
        super().__init__(
            index, num_frames=num_frames, size=size, fps=fps, hflip_p=hflip_p, allow_outside_paths=allow_outside_paths
        )
        root = Path(root).expanduser()
        entries: list[Entry] = []
        missing: list[tuple[str, str]] = []
        splits_seen: set[str] = set()
        for line, row, header in _csv_rows(index):
            absent = [c for c in KINETICS_COLUMNS[:4] if c not in header]
            if absent:
                raise InputError(
                    f"{index}: line 1: missing column(s) {', '.join(absent)}; Kinetics CSVs have "
                    f"{','.join(KINETICS_COLUMNS)}"
                )
            row_split = row.get("split") or split
            splits_seen.add(row.get("split", ""))
            if split is not None and row.get("split", split) != split:
                continue
            label = _need(index, line, row, "label")
            yid = _need(index, line, row, "youtube_id")
            try:
                start, end = (int(float(_need(index, line, row, c))) for c in ("time_start", "time_end"))
            except ValueError as e:
                raise InputError(f"{index}: line {line}: time_start/time_end must be numbers ({e})") from e
            candidates = _kinetics_candidates(root, row_split, label, yid, start, end)
            file = next((c for c in candidates if c.is_file()), None)
            if file is None:
                missing.append((f"line {line}", f"{candidates[0]} (or {len(candidates) - 1} other layouts)"))
                continue
            attrs = {"source": "kinetics", "label": label, "youtube_id": yid, "time_start": start, "time_end": end}
            if row_split:
                attrs["split"] = row_split
            entries.append(Entry(file, label.replace("_", " "), f"line {line}", attrs))
        check_inside(index, entries, root, allow_outside_paths)
        if missing:
            raise missing_error(index, missing, len(entries) + len(missing), f"Clips are looked up under {root}.")
        if not entries and split is not None:
            raise InputError(f"{index} has no rows of split {split!r}; it has {sorted(splits_seen)}")
        self._set_entries(entries)


def _kinetics_candidates(root: Path, split: str | None, label: str, yid: str, start: int, end: int) -> list[Path]:
    clip = f"{yid}_{start:06d}_{end:06d}.mp4"
    out = []
    if split:
        for name in dict.fromkeys([label, label.replace(" ", "_"), label.replace("_", " ")]):
            out.append(root / split / name / clip)
    return [*out, root / clip, root / f"{yid}.mp4"]


class CocoCaptions(ClipDataset):
    """COCO captions (``captions_train2017.json`` and the like) as still clips for image pre-training.

    Every annotation is one item: its image, scaled to cover ``size`` and centre-cropped, repeated
    ``num_frames`` times (default 1) → ``(3, num_frames, H, W)``. An image has about five captions,
    so it appears about five times per epoch.
    """

    def __init__(
        self,
        annotations_json: str | os.PathLike,
        *,
        images_dir: str | os.PathLike,
        size: int | tuple[int, int] = 64,
        num_frames: int = 1,
        hflip_p: float = 0.0,
        allow_outside_paths: bool = False,
    ) -> None:
        index = Path(annotations_json)
        if not index.is_file():
            raise InputError(f"no such COCO annotations file: {index}")
        super().__init__(index, hflip_p=hflip_p, allow_outside_paths=allow_outside_paths)
        self.size = size_hw(size)
        self.num_frames = positive_int(num_frames, "num_frames")
        images_dir = Path(images_dir).expanduser()
        try:
            data = json.loads(read_text_file(index, "COCO annotations file"))
        except json.JSONDecodeError as e:
            raise InputError(f"{index}: line {e.lineno}: not valid JSON ({e.msg})") from e
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("images"), list)
            or not isinstance(data.get("annotations"), list)
        ):
            raise InputError(f"{index}: expected a COCO captions file, an object with 'images' and 'annotations' lists")
        files: dict[Any, tuple[int, str]] = {}  # image id → (entry number, file name)
        for k, img in enumerate(data["images"]):
            if not isinstance(img, dict) or "id" not in img or not isinstance(img.get("file_name"), str):
                raise InputError(f"{index}: images[{k}] needs an 'id' and a 'file_name'")
            files[img["id"]] = (k, img["file_name"])
        entries = []
        for k, ann in enumerate(data["annotations"]):
            if not isinstance(ann, dict) or not isinstance(ann.get("caption"), str) or not ann["caption"].strip():
                raise InputError(f"{index}: annotations[{k}] needs a non-empty 'caption'")
            if ann.get("image_id") not in files:
                raise InputError(
                    f"{index}: annotations[{k}] refers to image_id {ann.get('image_id')!r}, which "
                    "'images' does not list"
                )
            _, name = files[ann["image_id"]]
            attrs = {"source": "coco", "image_id": ann["image_id"]}
            entries.append(Entry(images_dir / name, ann["caption"].strip(), f"annotations[{k}]", attrs))
        images = [Entry(images_dir / name, "", f"images[{k}]") for k, name in files.values()]
        check_inside(index, images, images_dir, allow_outside_paths)
        missing = [
            (f"images[{k}]", str(images_dir / name)) for k, name in files.values() if not (images_dir / name).is_file()
        ]
        if missing:
            hint = f"Images are looked up in images_dir={images_dir}; point it at the image folder (e.g. train2017/)."
            raise missing_error(index, missing, len(files), hint)
        self._set_entries(entries)

    def load(self, entry: Entry) -> np.ndarray:
        # read_video reads stills with Pillow (EXIF orientation applied) as a clip of repeats.
        return read_video(entry.path, num_frames=self.num_frames, size=self.size, crop="center")  # (T, H, W, 3)


# ---------------------------------------------------------------------- factory


def open_dataset(path: str | os.PathLike, **kwargs: Any) -> ClipDataset:
    """Open the dataset that ``path`` holds, passing ``kwargs`` to its class.

    - a folder with ``captions.csv`` / ``captions.jsonl``, a ``.jsonl`` file, or a ``.csv`` with
      WebVid or ``video,caption`` columns → :class:`VideoCaptionFolder`
    - a ``.csv`` with Kinetics columns → :class:`KineticsCSV` (``root`` defaults to the CSV's folder)
    - a COCO captions ``.json`` → :class:`CocoCaptions`; ``images_dir`` defaults to COCO's own
      layout, ``annotations/captions_<split>.json`` beside ``<split>/``

    The built-in Moving Digits dataset is opened by the training code, not here.
    """
    p = Path(path).expanduser()
    if not p.exists():
        hint = (
            " (the built-in 'moving-digits' dataset is opened by the training code)"
            if str(path) == "moving-digits"
            else ""
        )
        raise InputError(f"no dataset at {p}{hint}")
    suffix = p.suffix.lower()
    if suffix == ".csv" and {"label", "youtube_id"} <= set(_csv_header(p)):
        kwargs.setdefault("root", p.parent)
        return KineticsCSV(p, **kwargs)
    if p.is_dir() or suffix in (".csv", ".jsonl"):
        return VideoCaptionFolder(p, **kwargs)
    if suffix == ".json":
        if "images_dir" not in kwargs:
            m = re.fullmatch(r"captions_(\w+)\.json", p.name)
            guess = p.parent.parent / m.group(1) if m else None
            if guess is None or not guess.is_dir():
                raise InputError(f"{p}: pass images_dir=, the folder that holds this COCO file's images")
            kwargs["images_dir"] = guess
        return CocoCaptions(p, **kwargs)
    raise InputError(f"{p}: not a dataset vidfuse can open; expected a folder, .csv, .jsonl or COCO captions .json")
