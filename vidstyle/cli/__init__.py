"""The `vidstyle` command: one module per command, each a thin layer over the library (`vidstyle`'s API).

`app.py` holds the Typer app and what the commands share (the error wrapper, the progress bars),
`options.py` the options several commands take; importing a command module registers its command.

Ctrl-C and SIGTERM are routed (`interrupts`) before the commands are imported: importing them loads torch, a
second or more, and a SIGTERM then used to end the command with status -15 and not a word.
"""

from vidstyle import interrupts

NOT_BEGUN = "error: interrupted before the command began; nothing was written."

interrupts.install()
try:
    from vidstyle.cli import batch, evaluate, image, preview, render, styles, train  # noqa: F401  (registers them)
    from vidstyle.cli.app import app, as_program, styles_app, unwrap_help

    unwrap_help(app, styles_app)

    interrupts.check()  # one that an imported library caught and dropped
except BaseException:
    # an interrupt while the commands import, or one that broke an import on its way (numpy half-imported
    # raises ImportError when imported again)
    if interrupts.requested():
        interrupts.exit_program(NOT_BEGUN)
    raise


def main() -> None:
    """The `vidstyle` program (console script and `python -m vidstyle`)."""
    as_program()
    try:
        app(prog_name="vidstyle")
    except KeyboardInterrupt:  # while Typer builds the command from the functions' signatures
        interrupts.exit_program(NOT_BEGUN)
    except SystemExit as exc:
        # Typer turns a Ctrl-C or SIGTERM outside a command's error wrapper (while the arguments are parsed,
        # or before the command's work begins) into exit 130 without a word; CI saw it 1 run in 8.
        if exc.code == 130:
            interrupts.exit_program(NOT_BEGUN)
        raise
    except Exception:
        if interrupts.requested():  # an import the interrupt broke, outside a command's wrapper
            interrupts.exit_program(NOT_BEGUN)
        raise


__all__ = ["app", "main"]
