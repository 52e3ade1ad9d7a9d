"""Keep freed memory in the process instead of handing it back to the kernel after every frame.

glibc's malloc serves large blocks with mmap and, once the top of the heap holds enough free memory, gives
it back; the next allocation of the same size then faults in fresh zeroed pages. The style network
allocates and frees a few tens of MB of activations per batch, so on a CPU that costs every frame its
page faults: the arbitrary network on 640x480 frames (batch 4, bf16) spent 5.3 s of kernel time beside
15.6 s of user time and ran 19 fps; with freed blocks kept, 0.0 s of kernel time and 29 fps, the same
frames. Memory stays bounded: freed blocks are reused, so the process holds what its peak needed, as
PyTorch's own caching allocator does on a GPU.
"""

from __future__ import annotations

import ctypes
import functools

#: mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Blocks up to this size come from the heap (a 1080p fp32 batch of 4 has 265 MB activations) ...
MMAP_THRESHOLD = 512 << 20
#: ... and this much free memory may stay at the heap's top before it is returned.
TRIM_THRESHOLD = 1 << 30


@functools.cache
def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed blocks (once per process); False where the C library has no
    `mallopt` (macOS, Windows) or refuses, which only means the slower default stays."""
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
