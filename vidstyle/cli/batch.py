"""`vidstyle batch`: many videos in many styles as one resumable Ray job, with a summary table."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import MofNCompleteColumn, Progress, TaskID

from vidstyle import storage
from vidstyle.cli.app import app, handled, progress_bar
from vidstyle.cli.options import (
    NST_PANEL,
    SPEED_PANEL,
    Address,
    Arch,
    ArchOption,
    BatchSize,
    CompileMode,
    CompileOption,
    DeviceOption,
    Method,
    MethodOption,
    Precision,
    PrecisionOption,
    PreserveColor,
    Preset,
    Stabilize,
    Strength,
    VggWeights,
    Workers,
)
from vidstyle.cli.render import render_options
from vidstyle.pipeline.batch import BatchResult, Outcome, read_summary
from vidstyle.pipeline.executors import ShardOptions
from vidstyle.pipeline.jobs import BatchRequest, VideoNST, render_batch
from vidstyle.pipeline.segments import RenderOptions
from vidstyle.temporal.stabilizer import StabilizeOptions

R, V = RenderOptions, VideoNST()  # the defaults, defined once in the library


@app.command()
def batch(
    inputs: Annotated[
        str,
        typer.Argument(
            help="A folder of videos, or a manifest: .csv or .jsonl with columns input, style (or style_image, or "
            "blend) and optional output. A local path or a URL (s3://bucket/videos/ with vidstyle[s3]).",
            show_default=False,
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="Folder for the outputs and the summary (created if missing); a local path or a URL "
            "(s3://bucket/out/).",
        ),
    ],
    style: Annotated[
        list[str] | None,
        typer.Option(
            "--style", "-s", help="Style for every video (repeat for several; manifest rows may name their own)."
        ),
    ] = None,
    style_image: Annotated[
        list[Path] | None, typer.Option("--style-image", help="A painting for every video (fast unless --method nst).")
    ] = None,
    blend: Annotated[
        list[str] | None,
        typer.Option(
            help='A blend for every video, as in render ("muse=0.7,wave.jpg=0.3"; repeat for several); outputs are '
            "named VIDEO.muse70+wave30.SUFFIX."
        ),
    ] = None,
    method: MethodOption = Method.fast,
    strength: Strength = 1.0,
    preserve_color: PreserveColor = False,
    suffix: Annotated[str, typer.Option(help="Container of the outputs named VIDEO.STYLE.SUFFIX.")] = ".mp4",
    max_side: Annotated[
        int | None,
        typer.Option(
            help="Stylise at most this many pixels on the longer side (at least 16).", rich_help_panel=SPEED_PANEL
        ),
    ] = None,
    device: DeviceOption = "auto",
    batch_size: BatchSize = R.batch_size,
    arch: ArchOption = Arch.auto,
    compile: CompileOption = CompileMode(R.compile),
    precision: PrecisionOption = Precision(R.precision),
    crf: Annotated[
        int | None, typer.Option(help="Quality, 0 to 63 (x264 default 16).", rich_help_panel=SPEED_PANEL)
    ] = None,
    preset: Preset = R.preset,
    stabilize: Stabilize = StabilizeOptions.strength,
    workers: Workers = None,
    address: Address = None,
    keyframe_every: Annotated[
        int,
        typer.Option(help="At most this many frames between optimised keyframes.", min=1, rich_help_panel=NST_PANEL),
    ] = V.keyframe_every,
    iterations: Annotated[
        int,
        typer.Option(help="Optimisation steps for a shot's first keyframe.", min=2, rich_help_panel=NST_PANEL),
    ] = V.nst.iterations,
    vgg_weights: VggWeights = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            help="Replace files at output paths that are not this batch's own outputs (its earlier outputs of the "
            "same input are redone when their input, style or settings changed, without it)."
        ),
    ] = False,
) -> None:
    """Render many videos in many styles as one Ray job, resumably.

    All segments of all videos share one pool of workers. Outputs already made from the same input, style
    and settings are skipped, so an interrupted batch is finished by running it again. A video that fails
    is reported and the others go on; so is an output path that holds a file the batch did not make (unless
    --overwrite), that lies outside the output folder, or that two videos share. Ends with a table, also
    written as batch-summary.json and .csv in the output folder; exit status 1 if any video failed.
    """
    request = BatchRequest(
        inputs,
        output,
        style or [],
        style_image or [],
        blend or [],
        method.value,
        strength,
        preserve_color,
        suffix,
        overwrite,
    )
    nst = VideoNST(replace(V.nst, iterations=iterations), keyframe_every, vgg_weights)
    with (
        handled("interrupted; finished outputs are kept, run the same command again to do the rest."),
        contextlib.ExitStack() as stack,
    ):
        options = render_options(device, batch_size, max_side, crf, preset, stabilize, compile, precision)
        tasks: dict[str, TaskID] = {}
        overall: list[TaskID] = []
        bar = Progress()  # replaced by the real bar once the request is known to be good

        def count(n: int) -> None:
            nonlocal bar
            bar = stack.enter_context(progress_bar(MofNCompleteColumn(), eta=False))
            overall.append(bar.add_task(f"{n} outputs", total=n))

        def progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(f"  {label}", total=total)
            bar.update(tasks[label], completed=done)

        def log(outcome: Outcome) -> None:
            bar.advance(overall[0])
            label = f"  {storage.name(outcome.video)} [{outcome.style}]"
            for key in [k for k in tasks if f"  {k}" == label]:
                bar.remove_task(tasks.pop(key))
            bar.console.print(
                f"{outcome.status:>7}  {storage.name(outcome.output)}"
                + (f"  ({outcome.error})" if outcome.error else ""),
                highlight=False,
                markup=False,
            )  # file names may hold [brackets]

        result = render_batch(
            request,
            options,
            arch=arch.value,
            nst=nst,
            shard=ShardOptions(workers=workers, address=address),
            progress=progress,
            log=log,
            on_items=count,
        )
    summarise(result)


#: Batches up to this many outputs end with a table of every row; larger ones with the counts (the rows are
#: in the summary files).
TABLE_ROWS = 200


def summarise(result: BatchResult) -> None:
    """The closing table (for batches small enough to read one), and exit status 1 when any video failed."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    json_path, csv_path = result.summary
    if result.done + result.skipped + result.failed <= TABLE_ROWS:
        table = Table("video", "style", "frames", "seconds", "status", "error", box=None)
        for o in read_summary(json_path):
            cells = (storage.name(o.video), o.style, str(o.frames), f"{o.seconds:.1f}", o.status, o.error)
            table.add_row(*(Text(cell) for cell in cells))  # Text: [brackets] in names are not markup
        Console().print(table)
    typer.echo(
        f"{result.done} done, {result.skipped} skipped, {result.failed} failed; summary in {json_path} and {csv_path}"
    )
    if result.failed:
        raise typer.Exit(1)
