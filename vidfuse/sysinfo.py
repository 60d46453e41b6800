"""What `vidfuse info` reports: versions, device, threads, optional system tools."""

from __future__ import annotations

import functools
import platform
import shutil
import subprocess


def best_device() -> str:
    """``cuda`` when a GPU is usable, else ``cpu``. Library code never requires a GPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def collect() -> dict[str, str]:
    import av
    import numpy
    import PIL
    import torch

    from vidfuse.media.fonts import find_cjk_font
    from vidfuse.version import __version__

    espeak = shutil.which("espeak-ng")
    espeak_version = "missing (sudo apt-get install espeak-ng)"
    if espeak:
        out = subprocess.run([espeak, "--version"], capture_output=True, text=True, timeout=10).stdout
        espeak_version = out.strip().splitlines()[0] if out.strip() else espeak
    font = find_cjk_font()
    bf16 = "yes" if cpu_supports_bf16() else "no"
    return {
        "vidfuse": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": best_device() + (f" ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else ""),
        "cpu threads": str(torch.get_num_threads()),
        "cpu bf16 autocast": bf16,
        "PyAV / FFmpeg": f"{av.__version__} / {'.'.join(map(str, av.library_versions['libavcodec']))} (libavcodec)",
        "numpy": numpy.__version__,
        "Pillow": PIL.__version__,
        "espeak-ng": espeak_version,
        "CJK font": str(font) if font else "missing (sudo apt-get install fonts-noto-cjk)",
    }


@functools.lru_cache(maxsize=None)
def cpu_supports_bf16() -> bool:
    """True on CPUs with native bf16 matmuls (AVX-512 bf16 / AMX): bf16 autocast pays there; never use fp16 on CPU."""
    return _cpu_has("avx512_bf16") or _cpu_has("amx_bf16")


def _cpu_has(flag: str) -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return flag in f.read()
    except OSError:
        return False
