"""Do clips longer than a model's native 16 frames carry the motion on smoothly? Measured on the trajectory.

    .venv/bin/python bench/continuation.py [--model runs/layered/model] [--frames 40] [--out FILE]

For each one-way motion ("left", "right", "up", "down") and a few digits and colours, a caption is generated
at ``--frames`` frames (one prompt per clip, seed 0) and the digit's position is measured in every frame as
the luminance centroid of the frame (the clips are one digit on black). Reported per clip and overall:

``step``      the median per-frame displacement along the motion's axis inside the first native window;
``seam``      the largest |displacement − step| at a frame where continuation begins (frame 16, then every
              half window for a generator with ``extend`` or that ``continues_itself``, every 15 frames
              otherwise): a jump shows here;
``reverse``   frames after the first window that move against the asked direction by more than 1 px while
              the digit is still inside the frame;
``shown``     the share of frames with the digit in view: a one-way motion carries on, and a digit that has
              left the frame comes back in at the far side (``vidfuse.models.anchor.wrap_path``). A move of
              more than half the frame between two frames is that re-entry, not a jump or a turn.

A clip continues smoothly when ``seam`` ≤ 2 px + |step| and it never reverses.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from vidfuse.fileio import atomic_write_text  # noqa: E402
from vidfuse.pipeline import TextToVideoPipeline  # noqa: E402

AXIS = {"left": (0, -1), "right": (0, 1), "up": (1, -1), "down": (1, 1)}
CAPTIONS = [
    ("the red digit 3 is moving to the left", "left"),
    ("the blue digit 7 is moving to the right", "right"),
    ("the green digit 2 is moving up", "up"),
    ("the yellow digit 5 is moving down", "down"),
    ("白色数字八向左移动", "left"),
    ("青色数字一向右移动", "right"),
]


def centroids(clip: np.ndarray) -> np.ndarray:
    """uint8 (T, H, W, 3) → (T, 2) luminance centroid (x, y) per frame; NaN for a black frame."""
    lum = clip.astype(np.float64).mean(axis=-1)
    lum = np.where(lum > 40, lum, 0.0)
    mass = lum.sum(axis=(1, 2))
    ys, xs = np.arange(lum.shape[1]), np.arange(lum.shape[2])
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = (lum.sum(axis=1) * xs).sum(-1) / mass
        cy = (lum.sum(axis=2) * ys).sum(-1) / mass
    return np.stack([cx, cy], axis=-1)


def seams(native: int, frames: int, half_windows: bool) -> list[int]:
    """Frames at which a continuation's first new frame lands."""
    stride = native // 2 if half_windows else native - 1
    return list(range(native, frames, stride))


def measure(track: np.ndarray, motion: str, native: int, seam_frames: list[int], size: int) -> dict:
    axis, sign = AXIS[motion]
    pos = track[:, axis]
    d = np.diff(pos)  # d[t - 1]: frame t − 1 → t
    d = np.where(np.abs(d) > size / 2, np.nan, d)  # re-entry at the far side
    step = float(np.nanmedian(d[: native - 1]))
    jumps = [abs(d[t - 1] - step) for t in seam_frames if t - 1 < len(d) and np.isfinite(d[t - 1])]
    inside = (pos[1:] > 4) & (pos[1:] < size - 5)  # the digit's centroid well inside the frame
    late = np.arange(1, len(pos)) >= native
    reverse = int(np.sum(late & inside & np.isfinite(d) & (sign * d < -1.0)))
    return {
        "step": round(step, 2),
        "seam": round(float(max(jumps)) if jumps else float("nan"), 2),
        "reverse": reverse,
        "shown": round(float(np.isfinite(pos).mean()), 3),
        "track": [round(float(v), 1) for v in pos],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="model folder (default: the shipped one)")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    pipe = TextToVideoPipeline.from_pretrained(args.model)
    native = pipe.model.generator.native_frames or pipe.config.num_frames
    gen = pipe.model.generator  # half-window seams: a layered extend, or an anchor family's motion matching
    half = getattr(gen, "extend", None) is not None or getattr(gen, "continues_itself", False)
    at = seams(native, args.frames, half)
    rows = []
    for caption, motion in CAPTIONS:
        clip = pipe(caption, num_frames=args.frames, seed=0)[0]
        r = measure(centroids(clip), motion, native, at, clip.shape[1])
        r["caption"], r["motion"] = caption, motion
        r["smooth"] = bool(r["seam"] <= 2 + abs(r["step"]) and r["reverse"] == 0)
        rows.append(r)
    result = {
        "model": str(args.model or "default"),
        "generator": pipe.config.generator,
        "machine": machine(),
        "frames": args.frames,
        "seams": at,
        "clips": rows,
        "smooth": sum(r["smooth"] for r in rows),
    }
    print(f"model {result['model']} ({result['generator']}), {args.frames} frames, seams at {at}\n")
    print(
        "| caption | step px/frame | largest seam jump px | reversals | frames in view | smooth |\n"
        "| --- | ---: | ---: | ---: | ---: | --- |"
    )
    for r in rows:
        smooth = "yes" if r["smooth"] else "no"
        print(f"| {r['caption']} | {r['step']:.2f} | {r['seam']:.2f} | {r['reverse']} | {r['shown']:.0%} | {smooth} |")
    print(f"\nsmooth: {result['smooth']} of {len(rows)}")
    if args.out:
        atomic_write_text(args.out, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
