"""Ctrl-C and SIGTERM that cannot be lost, and that stop the command once.

A KeyboardInterrupt raised while the driver's main thread is inside a library's C code can be swallowed there
(CI saw it once: a Ctrl-C during a sharded render was ignored and the render finished). The handler therefore
also remembers the request, and the scheduler's loop raises it again (`check`), so an interrupted render always
stops and removes its temporaries.

Only the first signal raises: the ones after it (a user pressing Ctrl-C three times) would otherwise break into
the cleanup that the first one started, or into Ray's shutdown at exit, which printed a traceback.

`ray.init` puts in its own SIGTERM handlers (Python's, which exits with status 15, and its core worker's, which
aborts with 134); `reclaim` puts ours back after it, so SIGTERM on the Ray path is Ctrl-C too.
"""

from __future__ import annotations

import signal
import threading

_requested = threading.Event()
_installed = False


def _handle(signum, frame) -> None:
    if _requested.is_set():
        return  # already stopping: let the cleanup finish
    _requested.set()
    raise KeyboardInterrupt


def _route() -> None:
    signal.signal(signal.SIGINT, _handle)
    signal.signal(signal.SIGTERM, _handle)


def install() -> None:
    """Route SIGINT and SIGTERM to `_handle` (main thread only, as Python requires)."""
    global _installed
    _requested.clear()
    _route()
    _installed = True


def reclaim() -> None:
    """Route the signals to `_handle` again after a library replaced the handlers, if `install` had routed
    them (a program that uses vidstyle as a library keeps its own) and this is the main thread."""
    if _installed and threading.current_thread() is threading.main_thread():
        _route()


def check() -> None:
    """Raise KeyboardInterrupt if an interrupt was requested, even one that was swallowed on its way."""
    if _requested.is_set():
        raise KeyboardInterrupt
