"""fp32 (bf16 autocast off) against int8 dynamic quantisation of nn.Linear: one batch of 64 different prompts,
median of 3 after a warm-up, and how far the frames move (uint8 levels).

    python batch_speed.py [all | text_encoder | generator.transformer | a,b,...]   (what gets quantised)
"""

import statistics
import sys
import time
from pathlib import Path

import torch
from torch.ao.quantization import quantize_dynamic

import vidfuse.sysinfo
from vidfuse.pipeline import TextToVideoPipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from generate_speed import distinct_prompts  # noqa: E402

vidfuse.sysinfo.cpu_supports_bf16 = lambda: False  # autocast_for looks it up at call time: fp32 from here on


def timed(pipe, prompts, n=3):
    pipe(prompts, seed=0)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        out = pipe(prompts, seed=1)
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    scope = sys.argv[1] if len(sys.argv) > 1 else "all"
    pipe = TextToVideoPipeline.from_pretrained(None)
    prompts = distinct_prompts(64)
    t32, v32 = timed(pipe, prompts)
    print(f"fp32: {t32 * 1000:.0f} ms/batch, {64 / t32:.1f} clips/s", flush=True)
    if scope == "all":
        pipe.model = quantize_dynamic(pipe.model, {torch.nn.Linear}, dtype=torch.qint8)
    else:
        for name in scope.split(","):
            *path, last = name.split(".")
            parent = pipe.model
            for part in path:
                parent = getattr(parent, part)
            setattr(parent, last, quantize_dynamic(getattr(parent, last), {torch.nn.Linear}, dtype=torch.qint8))
    t8, v8 = timed(pipe, prompts)
    d = (torch.as_tensor(v8).float() - torch.as_tensor(v32).float()).abs()
    print(
        f"int8 ({scope}): {t8 * 1000:.0f} ms/batch, {64 / t8:.1f} clips/s; |diff| mean {d.mean():.4f} max {d.max():.0f}"
    )


if __name__ == "__main__":
    main()
