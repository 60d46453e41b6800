"""torch.compile on the shipped one-step model: one batch of 64 different prompts, median of 5 after warm-up,
eager against compiled (the generator's Transformer, the text encoder's trainable blocks + e5, or both), and how
far the frames move (uint8 levels). fp32 with ``--fp32`` (bf16 autocast off, as on a CPU without AVX-512 bf16).

    python batch_speed.py [--fp32] [generator.transformer | text_encoder | generator.transformer,text_encoder]
"""

import statistics
import sys
import time
from pathlib import Path

import torch

import vidfuse.sysinfo
from vidfuse.pipeline import TextToVideoPipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from generate_speed import distinct_prompts  # noqa: E402

if "--fp32" in sys.argv:
    sys.argv.remove("--fp32")
    vidfuse.sysinfo.cpu_supports_bf16 = lambda: False  # autocast_for looks it up at call time
    PRECISION = "fp32"
else:
    PRECISION = "bf16" if vidfuse.sysinfo.cpu_supports_bf16() else "fp32"


def timed(pipe, prompts, n=5):
    t0 = time.perf_counter()
    pipe(prompts, seed=0)
    first = time.perf_counter() - t0
    times = []
    for _ in range(n):
        t = time.perf_counter()
        out = pipe(prompts, seed=1)
        times.append(time.perf_counter() - t)
    return first, statistics.median(times), out


def main() -> None:
    scope = sys.argv[1] if len(sys.argv) > 1 else "generator.transformer"
    torch.manual_seed(0)
    pipe = TextToVideoPipeline.from_pretrained(None)
    prompts = distinct_prompts(64)
    first, t_eager, v_eager = timed(pipe, prompts)
    print(
        f"{PRECISION} eager: first {first:.1f} s, {t_eager * 1000:.0f} ms/batch, {64 / t_eager:.1f} clips/s", flush=True
    )
    for name in scope.split(","):
        *path, last = name.split(".")
        parent = pipe.model
        for part in path:
            parent = getattr(parent, part)
        setattr(parent, last, torch.compile(getattr(parent, last), dynamic=False))
    first, t_comp, v_comp = timed(pipe, prompts)
    d = (torch.as_tensor(v_comp).float() - torch.as_tensor(v_eager).float()).abs()
    print(
        f"{PRECISION} compiled ({scope}): first {first:.1f} s (compiling), {t_comp * 1000:.0f} ms/batch, "
        f"{64 / t_comp:.1f} clips/s ({t_eager / t_comp:.2f}x); |diff| mean {d.mean():.4f} max {d.max():.0f}"
    )


if __name__ == "__main__":
    main()
