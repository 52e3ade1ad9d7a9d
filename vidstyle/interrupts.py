"""Ctrl-C and SIGTERM that cannot be lost.

A KeyboardInterrupt raised while the driver's main thread is inside a library's C code can be swallowed there
(CI saw it once: a Ctrl-C during a sharded render was ignored and the render finished). The handler therefore
also remembers the request, and the scheduler's loop raises it again (`check`), so an interrupted render always
stops and removes its temporaries.
"""

from __future__ import annotations

import signal
import threading

_requested = threading.Event()


def _handle(signum, frame) -> None:
    _requested.set()
    raise KeyboardInterrupt


def install() -> None:
    """Route SIGINT and SIGTERM to `_handle` (main thread only, as Python requires)."""
    _requested.clear()
    signal.signal(signal.SIGINT, _handle)
    signal.signal(signal.SIGTERM, _handle)


def check() -> None:
    """Raise KeyboardInterrupt if an interrupt was requested, even one that was swallowed on its way."""
    if _requested.is_set():
        raise KeyboardInterrupt
