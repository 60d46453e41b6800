"""fp32 (bf16 off) vs int8 dynamic quantisation of nn.Linear: batch time for 64 different prompts, and output drift."""
import sys, time, statistics
import torch
sys.path.insert(0, "/work/main/bench")
import vidfuse.sysinfo as si
si.cpu_supports_bf16 = lambda: False
from generate_speed import distinct_prompts
from vidfuse.pipeline import TextToVideoPipeline

pipe = TextToVideoPipeline.from_pretrained(None)
prompts = distinct_prompts(64)
def timeit(p, n=3):
    p(prompts, seed=0)
    ts = []
    for i in range(n):
        t = time.perf_counter(); out = p(prompts, seed=1); ts.append(time.perf_counter() - t)
    return statistics.median(ts), out
t32, v32 = timeit(pipe)
print(f"fp32: {t32*1000:.0f} ms/batch, {64/t32:.1f} clips/s", flush=True)
from torch.ao.quantization import quantize_dynamic
scope = sys.argv[1] if len(sys.argv) > 1 else "all"
m = pipe.model
if scope == "all":
    pipe.model = quantize_dynamic(m, {torch.nn.Linear}, dtype=torch.qint8)
else:
    for name in scope.split(","):
        parent = m
        *path, last = name.split(".")
        for p_ in path: parent = getattr(parent, p_)
        setattr(parent, last, quantize_dynamic(getattr(parent, last), {torch.nn.Linear}, dtype=torch.qint8))
t8, v8 = timeit(pipe)
d = (torch.as_tensor(v8).float() - torch.as_tensor(v32).float()).abs()
print(f"int8 ({scope}): {t8*1000:.0f} ms/batch, {64/t8:.1f} clips/s; |diff| mean {d.mean():.4f} max {d.max():.3f}", flush=True)
