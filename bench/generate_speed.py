"""Generation speed: clips/s in batch (one prompt repeated, and different prompts) and single-prompt
latency after load, as a real-time factor.

    python bench/generate_speed.py [--model DIR] [--batch 64] [--repeats 10] [--batches 5]

Without --model it uses the default model shipped in the package, or, if none is installed, a
randomly initialised ``small`` preset (same architecture, so the same speed; it says which).
Real-time factor = seconds of video (frames / 8 fps) per second of compute.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, matmul_peak_gflops  # noqa: E402

from vidfuse.errors import InputError  # noqa: E402
from vidfuse.pipeline import TextToVideoPipeline  # noqa: E402
from vidfuse.sysinfo import keep_freed_memory  # noqa: E402


def load(model: str | None) -> tuple[TextToVideoPipeline, str]:
    try:
        return TextToVideoPipeline.from_pretrained(model), model or "default model"
    except InputError:
        if model:
            raise
    from vidfuse.config import model_preset
    from vidfuse.data.tokenizer import CharTokenizer
    from vidfuse.demo import PROMPTS
    from vidfuse.models.model import VidFuseModel

    tok = CharTokenizer.build([p for p, _ in PROMPTS])
    cfg = model_preset("small", vocab_size=tok.vocab_size)
    return TextToVideoPipeline(VidFuseModel(cfg), tok), "random-init small preset (no default model installed)"


def distinct_prompts(n: int) -> list[str]:
    """``n`` different level-1 test captions, English and Chinese alternating (seed 0): a batch as users send
    one, whose prompts differ in length and whose text encoder cannot share work between them."""
    import numpy as np

    from vidfuse.data.digit_captions import make_caption
    from vidfuse.data.moving_digits import sample_attributes

    rng = np.random.default_rng(0)
    return [make_caption(sample_attributes(rng, "test", 1), ("en", "zh")[i % 2], rng) for i in range(n)]


def measure_speed(
    pipe: TextToVideoPipeline, *, repeats: int = 10, batch: int = 64, batches: int = 5, fps: float = 8.0
) -> dict:
    """Single-prompt latency after a warm-up (median of ``repeats``), as a real-time factor at ``fps``, and
    clips/s for a batch of ``batch`` copies of that prompt and for one of ``batch`` different prompts
    (:func:`distinct_prompts`): the median of ``batches`` batches after a warm-up one, the two kinds taking
    turns, with the slowest and fastest batch and the CPU's fp32 matmul rate measured before each: a speed
    figure compares with another only beside the rate it was measured at."""
    prompt = "the red digit 3 is moving up and down"
    pipe(prompt, seed=0)  # warm-up
    lat = []
    for i in range(repeats):
        t = time.perf_counter()
        frames = pipe(prompt, seed=i)
        lat.append(time.perf_counter() - t)
    kinds = {"same": [prompt] * batch, "distinct": distinct_prompts(batch)}
    rates = {kind: [] for kind in kinds}
    gflops = []
    for prompts in kinds.values():
        pipe(prompts, seed=0)  # warm-up
    for i in range(batches):
        for kind, prompts in kinds.items():
            gflops.append(matmul_peak_gflops(torch.float32, repeats=2))  # this shared VM moves 76-158 GFLOP/s
            t = time.perf_counter()
            pipe(prompts, seed=1 + i)
            rates[kind].append(batch / (time.perf_counter() - t))
    med = statistics.median(lat)
    video_s = frames.shape[1] / fps
    return {
        "latency_ms": 1000 * med,
        "real_time_factor": video_s / med,
        "clip_seconds": video_s,
        "batch": batch,
        "batches": batches,
        "clips_per_second": statistics.median(rates["same"]),
        "clips_per_second_distinct": statistics.median(rates["distinct"]),
        "clips_per_second_distinct_range": [min(rates["distinct"]), max(rates["distinct"])],
        "matmul_gflops": [min(gflops), statistics.median(gflops), max(gflops)],
        "shape": list(frames.shape[1:4]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--batches", type=int, default=5, help="batches of each kind; their median is reported")
    ap.add_argument("--fps", type=float, default=8.0)
    args = ap.parse_args()
    keep_freed_memory()  # as the CLI and the server do
    pipe, name = load(args.model)
    r = measure_speed(pipe, repeats=args.repeats, batch=args.batch, batches=args.batches, fps=args.fps)
    t, h, w = r["shape"]
    print(f"machine: {machine()}")
    print(f"model: {name} ({pipe.config.generator}, {t}×{h}×{w})\n")
    print("| figure | value |")
    print("| --- | ---: |")
    print(f"| single prompt latency, median of {args.repeats} | {r['latency_ms']:.0f} ms |")
    print(f"| real-time factor ({r['clip_seconds']:.0f} s clip) | {r['real_time_factor']:.1f} |")
    lo, hi = r["clips_per_second_distinct_range"]
    g = r["matmul_gflops"]
    n = r["batches"]
    print(f"| batch of {args.batch} copies of one prompt: clips/s, median of {n} | {r['clips_per_second']:.1f} |")
    print(f"| batch of {args.batch} different prompts: clips/s, median of {n} | {r['clips_per_second_distinct']:.1f} |")
    print(f"| the same, slowest–fastest batch | {lo:.1f}–{hi:.1f} |")
    print(f"| CPU fp32 matmul between batches, GFLOP/s (min / median / max) | {g[0]:.0f} / {g[1]:.0f} / {g[2]:.0f} |")


if __name__ == "__main__":
    torch.set_num_threads(torch.get_num_threads())
    main()
