"""Cold start: what one `vidfuse generate` costs from a shell, and the first calls in a fresh process.

    python bench/cold_start.py [--model DIR] [--runs 5]

Prints (1) the wall-clock time of the whole command `vidfuse generate PROMPT -o clip.mp4` (a new
process each run: Python start, imports, model load, one clip, MP4), median and range of ``--runs``;
(2) in one fresh process: import, load, then the first six calls with six different prompts, without
and with ``TextToVideoPipeline.warmup()`` at load (the server's workers warm up; a one-shot command
does not, since it would only move the cost). Each in-process measurement runs in its own subprocess so
that nothing is warm from a previous one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

PROMPTS = [
    "the red digit 3 is moving to the left",
    "a blue seven moves down",
    "数字3在左右移动",
    "digit 5 is going right",
    "a green 4 bouncing up and down",
    "白色的数字九从左向右移动",
]

_IN_PROCESS = r"""
import json, sys, time
t0 = time.perf_counter()
from vidfuse.pipeline import TextToVideoPipeline
t1 = time.perf_counter()
pipe = TextToVideoPipeline.from_pretrained(sys.argv[1] or None)
t2 = time.perf_counter()
if sys.argv[2] == "warm":
    pipe.warmup()
t3 = time.perf_counter()
calls = []
for i, p in enumerate(json.loads(sys.argv[3])):
    t = time.perf_counter(); pipe(p, seed=i); calls.append(time.perf_counter() - t)
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "warmup_s": t3 - t2, "calls_s": calls}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(machine())
    exe = Path(sys.executable).with_name("vidfuse")
    walls = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            cmd = [str(exe), "generate", PROMPTS[i % len(PROMPTS)], "-o", f"{tmp}/{i}.mp4", "--seed", str(i)]
            if args.model:
                cmd += ["--model", args.model]
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            walls.append(time.perf_counter() - t)
    print(
        f"`vidfuse generate PROMPT -o clip.mp4`, a new process each: median {statistics.median(walls):.2f} s "
        f"(min {min(walls):.2f}, max {max(walls):.2f}; {args.runs} runs)"
    )
    for mode in ("cold", "warm"):
        out = subprocess.run(
            [sys.executable, "-c", _IN_PROCESS, args.model, mode, json.dumps(PROMPTS)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        calls = ", ".join(f"{1000 * c:.0f}" for c in r["calls_s"])
        extra = f", warm-up {r['warmup_s']:.2f} s" if mode == "warm" else ""
        print(
            f"in one process ({'with' if mode == 'warm' else 'without'} warm-up): import {r['import_s']:.2f} s, "
            f"load {r['load_s']:.2f} s{extra}; six calls, ms: {calls}"
        )


if __name__ == "__main__":
    main()
