"""Ctrl-C and SIGTERM that cannot be lost, and that stop the command once.

A KeyboardInterrupt raised while the driver's main thread is inside a library's C code can be swallowed there
(CI saw it once: a Ctrl-C during a sharded render was ignored and the render finished). The handler therefore
also remembers the request, and the scheduler's loop raises it again (`check`), so an interrupted render always
stops and removes its temporaries.

Only the first signal raises: the ones after it (a user pressing Ctrl-C three times) would otherwise break into
the cleanup that the first one started, or into Ray's shutdown at exit, which printed a traceback.

`ray.init` puts in its own SIGTERM handlers (Python's, which exits with status 15, and its core worker's, which
aborts with 134); `library_handlers` around it turns a SIGTERM that Ray's handler met into Ctrl-C and puts ours
back after it, so SIGTERM on the Ray path is Ctrl-C too, whenever it comes.

A signal that comes while a library is importing is held until the import is over (`_importing`, polled with
SIGALRM every 20 ms), then raised: torch's C++ module setup calls back into Python, and a KeyboardInterrupt
raised there cannot cross pybind11, which aborted the process (status -6 and a C++ "terminate called" stack,
2 runs in 100 with SIGTERM 0.5-1.3 s into `vidstyle render`, when torch is importing). A half-imported numpy
also refused to import again (ImportError). Our own modules are not held: `vidstyle.cli`'s imports are inside
the import of `vidstyle.cli` itself, and its wrapper handles an interrupt there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import NoReturn

_requested = threading.Event()
_installed = False
_stderr: int | None = None  # a copy of the program's stderr, taken before any library could redirect it
_HOLD_POLL = 0.02  # seconds between looks at whether the held import is over


def _importing(frame) -> bool:
    """Whether `frame` is inside the import of a module that is not vidstyle's (importlib's `_find_and_load`
    frames name the module)."""
    while frame is not None:
        if frame.f_code.co_name == "_find_and_load" and frame.f_code.co_filename.startswith("<frozen importlib"):
            name = frame.f_locals.get("name")
            if isinstance(name, str) and name.split(".")[0] != "vidstyle":
                return True
        frame = frame.f_back
    return False


def _release(signum, frame) -> None:
    """SIGALRM while a signal is held: raise it once the library's import is over."""
    if _importing(frame):
        signal.setitimer(signal.ITIMER_REAL, _HOLD_POLL)
        return
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    raise KeyboardInterrupt


def _handle(signum, frame) -> None:
    if _requested.is_set():
        return  # already stopping: let the cleanup finish
    _requested.set()
    if _importing(frame):
        signal.signal(signal.SIGALRM, _release)
        signal.setitimer(signal.ITIMER_REAL, _HOLD_POLL)
        return
    raise KeyboardInterrupt


def _route() -> None:
    signal.signal(signal.SIGINT, _handle)
    signal.signal(signal.SIGTERM, _handle)


def install() -> None:
    """Route SIGINT and SIGTERM to `_handle` (main thread only, as Python requires). A request that came
    before (while the command's modules were importing, where a library can swallow the KeyboardInterrupt)
    is kept until `consume` reports it."""
    global _installed, _stderr
    _route()
    _installed = True
    if _stderr is None:
        with contextlib.suppress(OSError):
            _stderr = os.dup(2)


def consume() -> None:
    """The request has been acted on (the command said it was interrupted): forget it, so a later command
    in the same process (tests run the app in-process) starts afresh."""
    _requested.clear()


def reclaim() -> None:
    """Route the signals to `_handle` again after a library replaced the handlers, if `install` had routed
    them (a program that uses vidstyle as a library keeps its own) and this is the main thread."""
    if _installed and threading.current_thread() is threading.main_thread():
        _route()


def owned() -> bool:
    """Whether `install` routed the signals here (the command line), rather than a program using vidstyle
    as a library keeping its own."""
    return _installed


def requested() -> bool:
    """Whether an interrupt has come and not been acted on yet (`consume`)."""
    return _requested.is_set()


def check() -> None:
    """Raise KeyboardInterrupt if an interrupt was requested, even one that was swallowed on its way."""
    if _requested.is_set():
        raise KeyboardInterrupt


@contextlib.contextmanager
def library_handlers() -> Iterator[None]:
    """Around a call that puts in handlers of its own (`ray.init`): a SIGTERM that its handler turned into
    SystemExit(15) on the way is a Ctrl-C (KeyboardInterrupt, and remembered for `check`), and ours are
    routed again after it, whether it returned or raised."""
    try:
        yield
    except SystemExit as exc:
        if not _installed or exc.code not in (signal.SIGTERM, -signal.SIGTERM, 128 + signal.SIGTERM):
            raise
        _requested.set()
        raise KeyboardInterrupt from None
    finally:
        reclaim()


def exit_program(line: str) -> NoReturn:
    """End the `vidstyle` program with status 130 after `line`, now, without the interpreter's teardown (in
    which a Ray or torch whose start the signal cut short crashed now and then: -11 after the message).

    The line goes to the copy of stderr `install` took: a library interrupted while it had replaced
    `sys.stderr` (or file descriptor 2) to hush its own output kept the message (CI saw 130 and no line)."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    data = (line.rstrip("\n") + "\n").encode()
    with contextlib.suppress(OSError):
        os.write(_stderr if _stderr is not None else 2, data)
    os._exit(130)
