"""Shared by the benchmarks: the machine's matmul peak, measured in the same run as the model."""

from __future__ import annotations

import platform
import time

import torch


def matmul_peak_gflops(dtype: torch.dtype, n: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    t = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - t) / 1e9


def machine() -> str:
    import os

    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from vidfuse.sysinfo import cpu_supports_bf16

    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    # the same model name covers CPUs with and without AVX-512 bf16, and the figures differ ~3x between them
    bf16 = "AVX-512 bf16: bf16 autocast" if cpu_supports_bf16() else "no AVX-512 bf16: fp32"
    threads, python = torch.get_num_threads(), platform.python_version()
    return f"{cpu} ({bf16}), {os.cpu_count()} cores, torch {torch.__version__} ({threads} threads){gpu}, {python}"
