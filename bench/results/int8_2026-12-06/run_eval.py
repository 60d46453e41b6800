"""bench/evaluate_default.py with bf16 autocast off, and with every nn.Linear quantised to int8 dynamically when
the first argument is ``int8`` (``fp32``: as loaded).

    python run_eval.py int8|fp32 --out eval_int8.json      (the rest goes to evaluate_default.py)
"""

import runpy
import sys
from pathlib import Path

import torch
from torch.ao.quantization import quantize_dynamic

import vidfuse.sysinfo
from vidfuse.pipeline import TextToVideoPipeline

vidfuse.sysinfo.cpu_supports_bf16 = lambda: False  # autocast_for looks it up at call time: fp32 from here on
MODE = sys.argv.pop(1)
_load = TextToVideoPipeline.from_pretrained.__func__


def _load_quantised(cls, *args, **kwargs):
    pipe = _load(cls, *args, **kwargs)
    if MODE == "int8":
        pipe.model = quantize_dynamic(pipe.model, {torch.nn.Linear}, dtype=torch.qint8)
    return pipe


TextToVideoPipeline.from_pretrained = classmethod(_load_quantised)
sys.argv[0] = str(Path(__file__).resolve().parents[2] / "evaluate_default.py")
runpy.run_path(sys.argv[0], run_name="__main__")
