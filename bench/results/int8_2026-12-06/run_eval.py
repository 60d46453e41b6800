"""bench/evaluate_default.py with bf16 off and (argv[1] == int8) nn.Linear quantised to int8 dynamically."""
import sys, runpy
import torch
import vidfuse.sysinfo as si
si.cpu_supports_bf16 = lambda: False
from vidfuse.pipeline import TextToVideoPipeline
mode = sys.argv.pop(1)
orig = TextToVideoPipeline.from_pretrained.__func__
def patched(cls, *a, **k):
    p = orig(cls, *a, **k)
    if mode == "int8":
        from torch.ao.quantization import quantize_dynamic
        p.model = quantize_dynamic(p.model, {torch.nn.Linear}, dtype=torch.qint8)
    return p
TextToVideoPipeline.from_pretrained = classmethod(patched)
sys.argv[0] = "/work/main/bench/evaluate_default.py"
runpy.run_path(sys.argv[0], run_name="__main__")
