"""The Typer app every command module registers on, and what the commands share: one error wrapper, one
progress-bar factory, one console for messages.

Every failure a user can fix is a `VidstyleError`, printed as one line on stderr with exit status 1;
Ctrl-C and SIGTERM exit 130 with a line saying what was kept.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from vidstyle import interrupts
from vidstyle.errors import VidstyleError
from vidstyle.version import __version__

app = typer.Typer(
    help="Turn videos into paintings: feed-forward neural style transfer with audio, frame rate and timestamps kept.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
styles_app = typer.Typer(help="List installed styles, or import one.", invoke_without_command=True)
app.add_typer(styles_app, name="styles")
err = Console(stderr=True)


def unwrapped(text: str | None) -> str | None:
    """A docstring's paragraphs as single lines: Rich wraps help to the terminal's width, and a docstring's
    own line breaks, kept, cut sentences in the middle of the screen."""
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def unwrap_help(*typers: typer.Typer) -> None:
    """Every registered command's help from its docstring, unwrapped (`unwrapped`)."""
    for group in typers:
        for info in group.registered_commands:
            if info.help is None and info.callback is not None:
                info.help = unwrapped(info.callback.__doc__)
        if group.registered_callback and group.registered_callback.callback is not None:
            callback = group.registered_callback
            callback.help = callback.help or unwrapped(callback.callback.__doc__)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def note(line: str) -> None:
    """A remark on stderr (not an error), e.g. which network `--arch auto` picked."""
    err.print(line, highlight=False)


#: True when running as the `vidstyle` program (`cli.main`), not inside another program (tests' CliRunner):
#: only then may an interrupted command end the process itself.
PROGRAM = False


def as_program() -> None:
    global PROGRAM
    PROGRAM = True


@contextlib.contextmanager
def handled(interrupted: str) -> Iterator[None]:
    """The one error wrapper: a `VidstyleError` becomes its one line and exit 1; Ctrl-C (and SIGTERM, which
    `interrupts` turns into one) becomes `interrupted`, a line that says what was kept, and exit 130."""
    try:
        interrupts.check()  # a signal that came while the command was starting, swallowed on its way
        yield
    except VidstyleError as exc:
        if not interrupts.requested():
            fail(str(exc))
        interrupted_anyway(interrupted)
    except KeyboardInterrupt:
        interrupted_anyway(interrupted)
    except Exception:
        # An interrupt that landed inside a library's import or C code can come out as another error (numpy
        # half-imported: "ImportError: cannot load module more than once per process"): still an interrupt.
        if not interrupts.requested():
            raise
        interrupted_anyway(interrupted)


def interrupted_anyway(interrupted: str) -> NoReturn:
    """The end of an interrupted command: its line and exit 130."""
    interrupts.consume()
    if not PROGRAM:
        fail(interrupted, code=130)
    # The command's own cleanup has run (temporaries removed, Ray's workers stopped); the program ends here,
    # with the status it promised (see `interrupts.exit_program`).
    interrupts.exit_program(f"error: {interrupted}")


def progress_bar(*middle: ProgressColumn, eta: bool = True) -> Progress:
    """The one progress layout: a label, the bar, what the command counts (`middle`), the time taken and,
    where the total is known in advance, the time left."""
    columns: list[ProgressColumn | str] = [TextColumn("[bold]{task.description}"), BarColumn(), *middle]
    columns.append(TimeElapsedColumn())
    if eta:
        columns += [TextColumn("ETA"), TimeRemainingColumn()]
    return Progress(*columns, console=err, transient=False)


def frames_bar() -> Progress:
    """Frames done of the video, and the rate so far (a task field `fps` the command keeps up to date)."""
    return progress_bar(MofNCompleteColumn(), TextColumn("frames"), TextColumn("{task.fields[fps]:>6.1f} fps"))


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"vidstyle {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    interrupts.install()  # SIGTERM behaves like Ctrl-C: temporaries are removed on the way out
