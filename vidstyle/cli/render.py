"""`vidstyle render`: every frame of a video painted, audio, frame rate and timestamps kept."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from vidstyle import media, storage
from vidstyle.cli.app import app, err, frames_bar, handled, note
from vidstyle.cli.options import (
    NST_PANEL,
    RAY_PANEL,
    SPEED_PANEL,
    Address,
    Arch,
    ArchOption,
    BatchSize,
    Blend,
    CompileMode,
    CompileOption,
    ContentWeight,
    DeviceOption,
    Levels,
    Method,
    MethodOption,
    Optimizer,
    OptimizerOption,
    Overwrite,
    Precision,
    PrecisionOption,
    PreserveColor,
    Preset,
    Stabilize,
    Strength,
    Style,
    StyleImage,
    StyleWeight,
    TvWeight,
    VggWeights,
    Workers,
)
from vidstyle.errors import VidstyleError
from vidstyle.pipeline.choice import StyleChoice
from vidstyle.pipeline.executors import ShardOptions
from vidstyle.pipeline.jobs import VideoNST, render_video
from vidstyle.pipeline.segments import RenderOptions, RenderReport
from vidstyle.temporal.stabilizer import StabilizeOptions

R, V = RenderOptions, VideoNST()  # the defaults, defined once in the library
N = V.nst


def render_options(
    device: str,
    batch_size: int,
    max_side: int | None,
    crf: int | None,
    preset: str,
    stabilize: float,
    compile: CompileMode,
    precision: Precision,
) -> RenderOptions:
    """The speed and quality options `render` and `batch` share, as the library takes them."""
    return RenderOptions(
        device=device,
        batch_size=batch_size,
        max_side=max_side,
        crf=crf,
        preset=preset,
        stabilize=StabilizeOptions(strength=stabilize) if stabilize > 0 else None,
        compile=compile.value,
        precision=precision.value,
    )


@app.command()
def render(
    source: Annotated[
        str, typer.Argument(help="Input video (anything FFmpeg reads): a path, or a URL (s3://... with vidstyle[s3]).")
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="Output video; the container follows the extension: .mp4, .mov, .mkv (H.264) or .webm (VP9). "
            "A path, or a URL (s3://bucket/out.mp4).",
        ),
    ],
    style: Style = None,
    style_image: StyleImage = None,
    blend: Blend = None,
    method: MethodOption = Method.fast,
    strength: Strength = 1.0,
    preserve_color: PreserveColor = False,
    max_side: Annotated[
        int | None,
        typer.Option(
            help="Stylise at most this many pixels on the longer side, then scale back to the source size (faster, "
            "coarser brush strokes); at least 16.",
            rich_help_panel=SPEED_PANEL,
        ),
    ] = None,
    device: DeviceOption = "auto",
    batch_size: BatchSize = R.batch_size,
    arch: ArchOption = Arch.auto,
    compile: CompileOption = CompileMode(R.compile),
    precision: PrecisionOption = Precision(R.precision),
    crf: Annotated[
        int | None,
        typer.Option(
            help="Quality, 0 to 63: lower is better and bigger (x264 default 16, VP9 32).",
            rich_help_panel=SPEED_PANEL,
        ),
    ] = None,
    preset: Preset = R.preset,
    stabilize: Stabilize = StabilizeOptions.strength,
    overwrite: Overwrite = False,
    workers: Workers = None,
    address: Address = None,
    no_ray: Annotated[
        bool,
        typer.Option(
            "--no-ray",
            help="One process, no Ray: for debugging, and the reference the sharded path matches frame for frame. "
            "A clip of one segment (under ~20 s) runs in one process anyway, unless --workers or --address asks "
            "for Ray.",
            rich_help_panel=RAY_PANEL,
        ),
    ] = False,
    keyframe_every: Annotated[
        int,
        typer.Option(
            help="At most this many frames between optimised keyframes (shot changes add more).",
            min=1,
            rich_help_panel=NST_PANEL,
        ),
    ] = V.keyframe_every,
    iterations: Annotated[
        int,
        typer.Option(
            help="Optimisation steps for a shot's first keyframe; later keyframes start from the previous one and "
            "take half.",
            min=2,
            rich_help_panel=NST_PANEL,
        ),
    ] = N.iterations,
    levels: Levels = N.levels,
    optimizer: OptimizerOption = Optimizer(N.optimizer),
    content_weight: ContentWeight = N.content_weight,
    style_weight: StyleWeight = N.style_weight,
    tv_weight: TvWeight = N.tv_weight,
    vgg_weights: VggWeights = None,
) -> None:
    """Stylise every frame of a video; audio, frame rate and timestamps are kept.

    With --style, a built-in style or a trained network paints every frame. With --style-image, any painting
    works, as fast: the arbitrary-style network reads the painting once and paints every frame in one pass.
    --method nst optimises keyframes instead (Gatys et al., at 384 px unless --max-side says otherwise) and
    carries the frames between along optical flow: slow, but finer. --blend mixes styles and paintings.

    The timeline is cut at keyframes into segments that Ray actors decode, stylise and encode in parallel;
    the parts are joined without re-encoding. The output is written beside the target under a temporary name
    and renamed only when complete. A damaged input is stylised as far as it decodes, with a warning that
    says how many frames were lost.
    """
    nst_options = replace(
        N,
        iterations=iterations,
        levels=levels,
        optimizer=optimizer.value,
        content_weight=content_weight,
        style_weight=style_weight,
        tv_weight=tv_weight,
    )
    nst = VideoNST(nst_options, keyframe_every, vgg_weights)
    choice = StyleChoice(style, style_image, blend, method.value, strength, preserve_color)
    with handled("interrupted; no output was written."), contextlib.ExitStack() as stack:
        # checked by RenderOptions itself (the library's words and ranges), so inside the error wrapper
        options = render_options(device, batch_size, max_side, crf, preset, stabilize, compile, precision)
        bar, task = None, None

        def started(video, segments) -> None:  # the bar appears once the input is known to be good
            nonlocal bar, task
            bar = stack.enter_context(frames_bar())
            task = bar.add_task(storage.name(source), total=video.frames, fps=0.0)

        def advance(n: int) -> None:
            if bar is None or task is None:
                return
            bar.advance(task, n)
            t = bar.tasks[task]
            bar.update(task, fps=(t.completed / t.elapsed) if t.elapsed else 0.0)

        report = render_video(
            source,
            output,
            choice,
            options,
            arch=arch.value,
            nst=nst,
            shard=ShardOptions(workers=workers, address=address),
            no_ray=no_ray,
            progress=advance,
            on_start=started,
            note=note,
            overwrite=overwrite,
        )
    summarise(report, output)


def summarise(report: RenderReport, output: str) -> None:
    with contextlib.suppress(VidstyleError):  # the source was read a moment ago; a note is never an error
        if left := media.not_kept(report.source):
            err.print(f"note: not kept: the source's {left} (vidstyle writes the video and its audio only).")
    for line in report.transcoded:
        suffix = Path(output).suffix
        err.print(f"note: audio {line}: the {suffix} container cannot hold the source's codec.")
    for line in report.warnings:
        err.print(f"[yellow]warning:[/] {line}", highlight=False)
    audio = ", ".join(f"{a}/{b}" for a, b in zip(report.audio_packets_in, report.audio_packets_out)) or "none"
    if report.keyframes:
        costs = [cost for _, cost in report.keyframes]
        times = ", ".join(f"{t:.2f}" for t, _ in report.keyframes)
        typer.echo(
            f"{len(costs)} keyframes optimised at {times} s; {sum(costs) / len(costs):.1f} s each on "
            f"average (first {costs[0]:.1f} s, {sum(costs):.1f} s in all)"
        )
    typer.echo(
        f"{report.frames_out}/{report.frames_in} frames, {report.duration_out:.2f} s of video "
        f"(source {report.duration_in:.2f} s), audio packets out/in {audio}, "
        f"in {report.wall_seconds:.1f} s ({report.fps:.2f} fps) -> {output}"
    )
