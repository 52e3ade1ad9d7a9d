"""`vidstyle preview`: a contact sheet of sampled frames in several styles, to choose one before a render."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from vidstyle.cli.app import app, handled
from vidstyle.cli.options import (
    At,
    C,
    DeviceOption,
    Iterations,
    Method,
    MethodOption,
    NstVggWeights,
    Overwrite,
    PreserveColor,
    R,
    Strength,
)
from vidstyle.options import PREVIEW_AT, PREVIEW_FRAMES, PREVIEW_NST, PREVIEW_THUMB, StyleChoice


@app.command()
def preview(
    source: Annotated[Path, typer.Argument(help="Input video.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Contact sheet image (.png).")],
    style: Annotated[
        list[str] | None, typer.Option("--style", "-s", help="A style to compare; repeat for more.")
    ] = None,
    style_image: Annotated[
        list[Path] | None,
        typer.Option("--style-image", help="A painting to compare (repeat for more); fast unless --method nst."),
    ] = None,
    blend: Annotated[
        list[str] | None, typer.Option(help="A blend to compare, 'muse=0.7,wave.jpg=0.3' (repeat for more).")
    ] = None,
    method: MethodOption = Method(C.method),
    strength: Strength = C.strength,
    preserve_color: PreserveColor = C.preserve_color,
    frames: Annotated[int, typer.Option("--frames", "-n", help="How many frames to sample.")] = PREVIEW_FRAMES,
    at: Annotated[
        At,
        typer.Option(
            help="even: the middles of equal stretches of the video; keyframes: keyframes spread the same way (one "
            "decoded frame each; encoders put them at shot changes)."
        ),
    ] = At(PREVIEW_AT),
    thumb: Annotated[int, typer.Option(help="Thumbnail width on the sheet, in pixels (at least 32).")] = PREVIEW_THUMB,
    max_side: Annotated[
        int | None,
        typer.Option(help="Run networks at most this large (default: the frame's size, as render does)."),
    ] = R.max_side,
    nst_size: Annotated[int, typer.Option(help="--method nst: optimise at this size.")] = PREVIEW_NST.size,
    iterations: Iterations = PREVIEW_NST.iterations,
    html_page: Annotated[
        bool, typer.Option("--html", help="Also write OUTPUT.html with every cell full size.")
    ] = False,
    vgg_weights: NstVggWeights = PREVIEW_NST.vgg_weights,
    device: DeviceOption = R.device,
    overwrite: Overwrite = False,
) -> None:
    """A contact sheet: sampled frames of a video, the original row and one row per style, labelled with
    their times. Only the sampled frames are decoded."""
    started = time.perf_counter()
    choices = [(name, StyleChoice(style=name)) for name in style or []]
    choices += [(p.stem, StyleChoice(style_image=p, method=method)) for p in style_image or []]
    choices += [(mix, StyleChoice(blend=mix)) for mix in blend or []]
    for _, choice in choices:
        choice.strength, choice.preserve_color = strength, preserve_color
    with handled("interrupted; no sheet was written."):
        nst = replace(PREVIEW_NST, size=nst_size, iterations=iterations, vgg_weights=vgg_weights)
        nst.check()
        from vidstyle.pipeline.preview import preview_video

        report = preview_video(
            source,
            output,
            choices,
            frames=frames,
            at=at,
            thumb=thumb,
            max_side=max_side,
            nst=nst,
            with_html=html_page,
            device=device,
            overwrite=overwrite,
            started=started,
        )
    typer.echo(
        f"{len(report.times)} frames x {len(report.rows) - 1} styles, {report.decoded} frames decoded of "
        f"{report.frames_in_video}, in {time.perf_counter() - started:.1f} s -> {output}"
        + (f" and {output.with_suffix('.html')}" if html_page else "")
    )
