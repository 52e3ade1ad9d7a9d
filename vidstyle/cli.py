"""The `vidstyle` command: a thin layer over functions the tests call directly.

Every failure a user can fix is a `VidstyleError`, printed as one line on stderr with exit status 1.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from . import __version__
from .errors import VidstyleError

app = typer.Typer(
    help="Turn videos into paintings: feed-forward neural style transfer with audio, frame rate and "
    "timestamps kept.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
styles_app = typer.Typer(help="List installed styles, or import one.", invoke_without_command=True)
app.add_typer(styles_app, name="styles")
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _terminate(signum, frame):  # SIGTERM behaves like Ctrl-C: temporaries are removed on the way out
    raise KeyboardInterrupt


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"vidstyle {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    signal.signal(signal.SIGTERM, _terminate)


def _human_size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


@styles_app.callback()
def styles_list(ctx: typer.Context) -> None:
    """List installed styles: name, painting, artist, network file and size."""
    if ctx.invoked_subcommand:
        return
    from .styles import installed_styles, user_dir

    styles = installed_styles()
    if not styles:
        typer.echo(f"No styles installed. Import one with `vidstyle styles import`; user styles live in {user_dir()}.")
        return
    table = Table("name", "painting", "artist", "file", "size", box=None)
    for name, info in sorted(styles.items()):
        table.add_row(name, info.painting, info.artist, str(info.path), _human_size(info.path.stat().st_size))
    Console().print(table)


@styles_app.command("import")
def styles_import(
    folder: Annotated[Path, typer.Argument(help="A deeplearn.js export of a TensorFlow fast-style-transfer "
                                           "network: manifest.json and its Variable files.")],
    name: Annotated[str, typer.Option(help="Name to use with `render --style NAME`.")],
    painting: Annotated[str, typer.Option(help="Title of the painting the network was trained on.")] = "",
    artist: Annotated[str, typer.Option(help="The painter.")] = "",
    licence: Annotated[str, typer.Option(help="Licence of the network's weights.")] = "unknown",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the style here instead of "
                                                   "the user style directory.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing style of that name.")] = False,
) -> None:
    """Convert a TensorFlow fast-style-transfer network into a vidstyle style."""
    from .styles import SUFFIX, StyleInfo, import_deeplearnjs, save_style, user_dir

    try:
        target = output or user_dir() / f"{name}{SUFFIX}"
        if target.exists() and not overwrite:
            raise VidstyleError(f"{target} already exists; pass --overwrite to replace it.")
        info = StyleInfo(name=name, painting=painting, artist=artist, licence=licence,
                         trained=f"imported from TensorFlow fast-style-transfer export {folder.resolve()}")
        net = import_deeplearnjs(folder, info)
        save_style(info, net, target)
    except VidstyleError as exc:
        fail(str(exc))
    typer.echo(f"imported {name!r} -> {target}")


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("frames"),
        TextColumn("{task.fields[fps]:>6.1f} fps"), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(), console=err, transient=False,
    )


@app.command()
def render(
    source: Annotated[Path, typer.Argument(help="Input video (anything FFmpeg reads).")],
    style: Annotated[str, typer.Option("--style", "-s", help="Installed style name (see `vidstyle styles`) "
                                       "or a .vstyle file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output video; the container follows the "
                                         "extension: .mp4, .mov, .mkv (H.264) or .webm (VP9).")],
    max_side: Annotated[Optional[int], typer.Option(help="Stylise at most this many pixels on the longer "
                                                    "side, then scale back to the source size (faster, "
                                                    "coarser brush strokes).", min=16)] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Frames per network call.", min=1)] = 4,
    crf: Annotated[Optional[int], typer.Option(help="Quality: lower is better and bigger (x264 default 18, "
                                               "VP9 32).", min=0, max=63)] = None,
    preset: Annotated[str, typer.Option(help="x264 speed preset (ultrafast ... veryslow).")] = "medium",
    overwrite: Annotated[bool, typer.Option(help="Replace the output file if it exists.")] = False,
    workers: Annotated[Optional[int], typer.Option(help="Ray actors, each holding the network: default one "
                                                   "per GPU, else one per 2 CPUs.", min=1)] = None,
    address: Annotated[Optional[str], typer.Option(help="Ray cluster to run on (ray://head:10001, auto, "
                                                   "host:port); default RAY_ADDRESS, else Ray starts "
                                                   "embedded on this machine.")] = None,
    no_ray: Annotated[bool, typer.Option("--no-ray", help="One process, no Ray: for debugging, and the "
                                         "reference the sharded path matches byte for byte.")] = False,
) -> None:
    """Stylise every frame of a video; audio, frame rate and timestamps are kept.

    The timeline is cut at keyframes into segments that Ray actors decode, stylise and encode in parallel;
    the parts are joined without re-encoding. The output is written beside the target under a temporary name
    and renamed only when complete. A damaged input is stylised as far as it decodes, with a warning that
    says how many frames were lost.
    """
    from .render import RenderOptions
    from .styles import resolve_style

    if no_ray:
        from .render import render as run_render
    else:
        from functools import partial

        from .shard import ShardOptions, render_sharded

        run_render = partial(render_sharded, shard=ShardOptions(workers=workers, address=address))

    options = RenderOptions(device=device, batch_size=batch_size, max_side=max_side, crf=crf, preset=preset,
                            overwrite=overwrite)
    try:
        info = resolve_style(style)
        with contextlib.ExitStack() as stack:
            bar, task = None, None

            def started(video, segments) -> None:  # the bar appears once the input is known to be good
                nonlocal bar, task
                bar = stack.enter_context(_progress_bar())
                task = bar.add_task(source.name, total=video.frames, fps=0.0)

            def advance(n: int) -> None:
                bar.advance(task, n)
                t = bar.tasks[task]
                bar.update(task, fps=(t.completed / t.elapsed) if t.elapsed else 0.0)

            report = run_render(source, output, info, options, progress=advance, on_start=started)
    except VidstyleError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted; no output was written.", code=130)
    for line in report.transcoded:
        err.print(f"note: audio {line}: the {output.suffix} container cannot hold the source's codec.")
    for line in report.warnings:
        err.print(f"[yellow]warning:[/] {line}", highlight=False)
    audio = ", ".join(f"{a}/{b}" for a, b in zip(report.audio_packets_in, report.audio_packets_out)) or "none"
    typer.echo(
        f"{report.frames_out}/{report.frames_in} frames, {report.duration_out:.2f} s of video "
        f"(source {report.duration_in:.2f} s), audio packets out/in {audio}, "
        f"in {report.wall_seconds:.1f} s ({report.fps:.2f} fps) -> {output}"
    )


if __name__ == "__main__":
    sys.exit(app())
