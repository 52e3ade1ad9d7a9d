"""The `vidstyle` command: one module per command, each a thin layer over the library (`vidstyle`'s API).

`app.py` holds the Typer app and what the commands share (the error wrapper, the progress bars),
`options.py` the options several commands take; importing a command module registers its command.

Ctrl-C and SIGTERM are routed (`interrupts`) before the commands are imported: importing them loads torch, a
second or more, and a SIGTERM then used to end the command with status -15 and not a word.
"""

import os
import sys

from vidstyle import interrupts

interrupts.install()
try:
    from vidstyle.cli import batch, evaluate, image, preview, render, styles, train  # noqa: F401  (registers them)
    from vidstyle.cli.app import app, as_program

    interrupts.check()  # one that an imported library caught and dropped
except KeyboardInterrupt:
    sys.stderr.write("error: interrupted; no output was written.\n")
    sys.stderr.flush()
    os._exit(130)  # half-imported torch and Ray can crash the interpreter's teardown (-11 after this line)


def main() -> None:
    """The `vidstyle` program (console script and `python -m vidstyle`)."""
    as_program()
    app(prog_name="vidstyle")


__all__ = ["app", "main"]
