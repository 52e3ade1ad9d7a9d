"""`vidstyle render`: every frame of a video painted, audio, frame rate and timestamps kept."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vidstyle.cli.app import app, err, frames_bar, handled
from vidstyle.cli.options import (
    RAY_PANEL,
    STABILIZE_DEFAULT,
    Address,
    BatchSize,
    Blend,
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
    Overwrite,
    Precision,
    PrecisionOption,
    PreserveColor,
    Preset,
    PresetOption,
    R,
    Stabilize,
    Strength,
    Style,
    StyleImage,
    Workers,
    nst_options,
    render_options,
)
from vidstyle.options import VIDEO_NST as V
from vidstyle.options import ShardOptions, StyleChoice

if TYPE_CHECKING:
    from vidstyle.pipeline.segments import RenderReport


@app.command()
def render(
    source: Annotated[
        str,
        typer.Argument(help="Input video (anything FFmpeg reads): a path, or a URL (s3://... with vidstyle\\[s3])."),
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
    method: MethodOption = Method(C.method),
    strength: Strength = C.strength,
    preserve_color: PreserveColor = C.preserve_color,
    max_side: MaxSide = R.max_side,
    device: DeviceOption = R.device,
    batch_size: BatchSize = R.batch_size,
    compile: CompileOption = CompileMode(R.compile),
    precision: PrecisionOption = Precision(R.precision),
    crf: Crf = R.crf,
    preset: PresetOption = Preset(R.preset),
    stabilize: Stabilize = STABILIZE_DEFAULT,
    overwrite: Overwrite = False,
    workers: Workers = None,
    address: Address = None,
    no_ray: Annotated[
        bool,
        typer.Option(
            "--no-ray",
            help="One process, no Ray: for debugging, and the reference the sharded path matches frame for frame. "
            "Without --workers or --address, Ray starts only where its pool would hold more than one actor "
            "and the clip has more than one segment (over ~15 s).",
            rich_help_panel=RAY_PANEL,
        ),
    ] = False,
    keyframe_every: KeyframeEvery = V.keyframe_every,
    iterations: Iterations = V.iterations,
    levels: NstLevels = V.levels,
    optimizer: NstOptimizer = Optimizer(V.optimizer),
    content_weight: NstContentWeight = V.content_weight,
    style_weight: NstStyleWeight = V.style_weight,
    tv_weight: NstTvWeight = V.tv_weight,
    vgg_weights: NstVggWeights = None,
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
    with handled("interrupted; no output was written."), contextlib.ExitStack() as stack:
        # every option checked by the library's dataclasses (their words and ranges) before any work
        options = render_options(device, batch_size, max_side, crf, preset, stabilize, compile, precision)
        nst = nst_options(
            V, iterations, levels, optimizer, content_weight, style_weight, tv_weight, vgg_weights, keyframe_every
        )
        choice = StyleChoice(style, style_image, blend, method, strength, preserve_color)
        shard = ShardOptions(workers, address)
        from vidstyle import storage
        from vidstyle.pipeline.api import render_video

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
            nst=nst,
            shard=shard,
            no_ray=no_ray,
            progress=advance,
            on_start=started,
            overwrite=overwrite,
        )
    summarise(report, output)


def summarise(report: RenderReport, output: str) -> None:
    from vidstyle import media
    from vidstyle.errors import VidstyleError

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
