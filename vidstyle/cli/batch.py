"""`vidstyle batch`: many videos in many styles as one resumable Ray job, with a summary table."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import MofNCompleteColumn, Progress, TaskID

from vidstyle.cli.app import app, handled, progress_bar
from vidstyle.cli.options import (
    STABILIZE_DEFAULT,
    Address,
    BatchSize,
    C,
    CompileMode,
    CompileOption,
    Crf,
    DeviceOption,
    Iterations,
    KeyframeEvery,
    MaxSide,
    Method,
    MethodOption,
    NstContentWeight,
    NstLevels,
    NstOptimizer,
    NstStyleWeight,
    NstTvWeight,
    NstVggWeights,
    Optimizer,
    Precision,
    PrecisionOption,
    PreserveColor,
    Preset,
    PresetOption,
    R,
    Stabilize,
    Strength,
    Workers,
    nst_options,
    render_options,
)
from vidstyle.options import VIDEO_NST as V
from vidstyle.options import BatchRequest, ShardOptions

B = BatchRequest("", "")  # the library's defaults

if TYPE_CHECKING:
    from vidstyle.pipeline.batch import BatchResult, Outcome


@app.command()
def batch(
    inputs: Annotated[
        str,
        typer.Argument(
            help="A folder of videos, or a manifest: .csv or .jsonl with columns input, style (or style_image, or "
            "blend) and optional output. A local path or a URL (s3://bucket/videos/ with vidstyle\\[s3]).",
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
    method: MethodOption = Method(C.method),
    strength: Strength = C.strength,
    preserve_color: PreserveColor = C.preserve_color,
    suffix: Annotated[str, typer.Option(help="Container of the outputs named VIDEO.STYLE.SUFFIX.")] = B.suffix,
    max_side: MaxSide = R.max_side,
    device: DeviceOption = R.device,
    batch_size: BatchSize = R.batch_size,
    compile: CompileOption = CompileMode(R.compile),
    precision: PrecisionOption = Precision(R.precision),
    crf: Crf = R.crf,
    preset: PresetOption = Preset(R.preset),
    stabilize: Stabilize = STABILIZE_DEFAULT,
    workers: Workers = None,
    address: Address = None,
    keyframe_every: KeyframeEvery = V.keyframe_every,
    iterations: Iterations = V.iterations,
    levels: NstLevels = V.levels,
    optimizer: NstOptimizer = Optimizer(V.optimizer),
    content_weight: NstContentWeight = V.content_weight,
    style_weight: NstStyleWeight = V.style_weight,
    tv_weight: NstTvWeight = V.tv_weight,
    vgg_weights: NstVggWeights = None,
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
    with (
        handled("interrupted; finished outputs are kept, run the same command again to do the rest."),
        contextlib.ExitStack() as stack,
    ):
        # every option checked by the library's dataclasses (their words and ranges) before any work
        options = render_options(device, batch_size, max_side, crf, preset, stabilize, compile, precision)
        nst = nst_options(
            V, iterations, levels, optimizer, content_weight, style_weight, tv_weight, vgg_weights, keyframe_every
        )
        shard = ShardOptions(workers, address)
        from vidstyle import storage
        from vidstyle.pipeline.api import render_batch

        request = BatchRequest(
            inputs,
            output,
            style or [],
            style_image or [],
            blend or [],
            method,
            strength,
            preserve_color,
            suffix,
            overwrite,
        )
        request.check()
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
            nst=nst,
            shard=shard,
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

    from vidstyle import storage
    from vidstyle.pipeline.batch import read_summary

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
