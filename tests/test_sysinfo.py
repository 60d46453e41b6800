"""What the CLI sets up about the process: glibc's malloc keeps freed memory for the next batch."""

import os
import platform
import subprocess
import sys

import pytest

from vidfuse.sysinfo import keep_freed_memory

# the same work eight times over 64 MB tensors (above the 32 MB up to which glibc learns to keep blocks by
# itself): the fewest page faults of the last four rounds. Now and then a settled round still faults one tensor in
# afresh (16,384 pages; five runs here: [49259, 49152, 16384, 0, 16384, 0, 0, 0] and the like), which failed a CI
# run that read the last round only.
_FAULTS = """
import resource, torch
from vidfuse.sysinfo import keep_freed_memory
applied = keep_freed_memory()
faults = []
for _ in range(8):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    x = torch.ones(16 << 20)
    y = x * 2
    (y + x).sum()
    del x, y
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(applied, min(faults[-4:]))
"""


def _faults(keep: str) -> tuple[str, int]:
    env = {**os.environ, "VIDFUSE_KEEP_FREED_MEMORY": keep}
    out = subprocess.run([sys.executable, "-c", _FAULTS], env=env, capture_output=True, text=True, check=True)
    applied, faults = out.stdout.split()
    return applied, int(faults)


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_freed_memory_is_reused_without_faulting_it_in_again():
    applied, faults = _faults("0")
    assert applied == "False" and faults > 30_000, faults  # three 64 MB tensors a round, mapped afresh each time
    applied, faults = _faults("1")
    assert applied == "True" and faults < 1_000, faults


def test_keep_freed_memory_is_a_no_op_when_turned_off(monkeypatch):
    keep_freed_memory.cache_clear()
    monkeypatch.setenv("VIDFUSE_KEEP_FREED_MEMORY", "0")
    try:
        assert keep_freed_memory() is False
    finally:
        keep_freed_memory.cache_clear()
