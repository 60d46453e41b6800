"""Training throughput per preset and generator, and the FLOP rate as a fraction of this machine's matmul peak.

    python bench/train_throughput.py [--presets tiny,small] [--generators gan,vae,flow,anchor] [--steps 3] [--batch 8]

The latent flow and the anchor flow train in two phases (their per-frame autoencoder, then the flow
Transformer on frozen latents); each gets its own row. The anchor flow runs with the default model's
recipe (``configs/anchor_small.yaml``: flow_patch 1).

The matmul peak (bf16 and fp32) is measured in the same run, so the fractions compare like with like.
FLOPs per step are counted by torch's FlopCounterMode (matmuls and convolutions, forward + backward).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, matmul_peak_gflops  # noqa: E402

from vidfuse.train import Trainer, resolve_config  # noqa: E402


def measure(preset: str, generator: str, *, steps: int, batch: int, bf16: bool) -> dict:
    name, _, phase = generator.partition(":")
    model = {"generator": name}
    if name == "anchor":
        model["flow_patch"] = 1
    if phase == "ae":
        model["ae_steps"] = 10**9  # the autoencoder phase only
    elif phase == "flow":
        model["ae_steps"] = 0  # the flow phase from the first step
    with tempfile.TemporaryDirectory() as tmp:
        cfg = resolve_config(preset, out=tmp, batch_size=batch, bf16=bf16, model=model)
        trainer = Trainer(cfg, quiet=True)
        ds = trainer.dataset
        videos = torch.stack([ds[i][0] for i in range(batch)])
        captions = [ds[i][1] for i in range(batch)]
        trainer.train_step(videos, captions)  # warm-up
        with FlopCounterMode(display=False) as fc:
            trainer.train_step(videos, captions)
        flops = fc.get_total_flops()
        t = time.perf_counter()
        for _ in range(steps):
            trainer.train_step(videos, captions)
        dt = (time.perf_counter() - t) / steps
        params = sum(p.numel() for p in trainer.model.parameters())
    return dict(
        preset=preset,
        generator=generator,
        bf16=bf16,
        params_m=params / 1e6,
        s_per_step=dt,
        clips_per_s=batch / dt,
        gflop_per_step=flops / 1e9,
        gflops=flops / dt / 1e9,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", default="tiny,small")
    ap.add_argument("--generators", default="gan,vae,flow,anchor")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    peak = {True: matmul_peak_gflops(torch.bfloat16), False: matmul_peak_gflops(torch.float32)}
    print(f"machine: {machine()}")
    print(f"matmul peak: bf16 {peak[True]:.0f} GFLOP/s, fp32 {peak[False]:.0f} GFLOP/s\n")
    print("| preset | generator | precision | params (M) | s/step | clips/s | GFLOP/step | GFLOP/s | of matmul peak |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for preset in args.presets.split(","):
        gens = [
            g
            for name in args.generators.split(",")
            for g in ((f"{name}:ae", f"{name}:flow") if name in ("flow", "anchor") else (name,))
        ]
        for gen in gens:
            for bf16 in (True, False):
                r = measure(preset, gen, steps=args.steps, batch=args.batch, bf16=bf16)
                print(
                    f"| {preset} | {gen} | {'bf16' if bf16 else 'fp32'} | {r['params_m']:.2f} | "
                    f"{r['s_per_step']:.2f} | "
                    f"{r['clips_per_s']:.1f} | {r['gflop_per_step']:.1f} | {r['gflops']:.0f} | "
                    f"{100 * r['gflops'] / peak[bf16]:.0f}% |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
