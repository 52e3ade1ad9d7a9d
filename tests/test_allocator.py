"""The style network's freed activations stay in the process (see vidstyle/allocator.py for the measurement)."""

import platform
import subprocess
import sys

import pytest

PROBE = """
import ctypes, sys, torch
from vidstyle.allocator import keep_freed_memory
FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()
class MallInfo(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in FIELDS]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo
if sys.argv[1] == "keep":
    assert keep_freed_memory()
block = torch.ones(96 << 20, dtype=torch.uint8)  # as big as a batch of activations
del block
print(libc.mallinfo2().fordblks >> 20)
"""


def free_mb_after_a_big_block(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_a_freed_block_stays_in_the_heap_instead_of_going_back_to_the_kernel():
    assert free_mb_after_a_big_block("default") < 96  # glibc's default: mmap'd, and unmapped on free
    assert free_mb_after_a_big_block("keep") >= 96  # kept: the next batch reuses its pages
