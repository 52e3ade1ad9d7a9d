"""The `vidstyle` command: one module per command, each a thin layer over the library (`vidstyle`'s API).

`app.py` holds the Typer app and what the commands share (the error wrapper, the progress bars),
`options.py` the options several commands take; importing a command module registers its command.
"""

from vidstyle.cli import batch, evaluate, image, preview, render, styles, train  # noqa: F401  (registers them)
from vidstyle.cli.app import app

__all__ = ["app"]
