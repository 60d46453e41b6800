"""Where a template-stage flow step's 0.53–0.56 s go (configs/anchor_small.yaml, batch 32, bf16 autocast where the
CPU has it): the step timed whole, then each top-level module's forward timed by hooks, then the torch profiler's
top operators. The autoencoder phase is skipped (ae_steps 0): a flow step costs the same on untrained latents.

    .venv/bin/python bench/results/profile_2026-12-06/template_step.py [STEPS]
"""

import statistics
import sys
import tempfile
import time
from collections import defaultdict

import torch

from vidfuse.train.config import resolve_config
from vidfuse.train.trainer import Trainer

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 8
torch.manual_seed(0)
with tempfile.TemporaryDirectory() as tmp:
    cfg = resolve_config("small", "configs/anchor_small.yaml", out=tmp, steps=1000)
    cfg.model.gen.ae_steps = 0
    tr = Trainer(cfg, quiet=True)
    batch = [tr.dataset[i] for i in range(cfg.batch_size)]
    videos = torch.stack([b[0] for b in batch])
    captions = [b[1] for b in batch]
    for _ in range(2):  # warm-up
        tr.train_step(videos, captions)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        tr.train_step(videos, captions)
        times.append(time.perf_counter() - t)
    print(
        f"step: median {statistics.median(times):.3f} s over {steps} "
        f"(batch {cfg.batch_size}, threads {torch.get_num_threads()})"
    )

    spent: dict[str, list[float]] = defaultdict(list)
    start: dict[str, float] = {}
    hooks = []
    named = [("text_encoder", tr.model.text_encoder), ("fusion", tr.model.fusion), ("generator", tr.model.generator)]
    named += [(f"generator.{n}", m) for n, m in tr.model.generator.named_children()]
    for name, mod in named:
        hooks.append(mod.register_forward_pre_hook(lambda m, a, n=name: start.__setitem__(n, time.perf_counter())))
        hooks.append(mod.register_forward_hook(lambda m, a, o, n=name: spent[n].append(time.perf_counter() - start[n])))
    for _ in range(3):
        tr.train_step(videos, captions)
    for h in hooks:
        h.remove()
    print("forward time per step by module (s; a module called several times a step is summed):")
    for name, _ in named:
        if spent[name]:
            print(f"  {name:40s} {sum(spent[name]) / 3:.3f}  ({len(spent[name]) // 3} calls)")

    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(2):
            tr.train_step(videos, captions)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))
