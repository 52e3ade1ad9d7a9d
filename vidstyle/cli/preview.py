"""`vidstyle preview`: a contact sheet of sampled frames in several styles, to choose one before a render."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from vidstyle.cli.app import app, handled
from vidstyle.cli.options import (
    At,
    DeviceOption,
    Method,
    MethodOption,
    Overwrite,
    PreserveColor,
    Strength,
    VggWeights,
)
from vidstyle.pipeline.choice import StyleChoice
from vidstyle.pipeline.preview import preview_video


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
    method: MethodOption = Method.fast,
    strength: Strength = 1.0,
    preserve_color: PreserveColor = False,
    frames: Annotated[int, typer.Option("--frames", "-n", help="How many frames to sample.", min=1)] = 8,
    at: Annotated[
        At,
        typer.Option(
            help="even: the middles of equal stretches of the video; keyframes: keyframes spread the same way (one "
            "decoded frame each; encoders put them at shot changes)."
        ),
    ] = At.even,
    thumb: Annotated[int, typer.Option(help="Thumbnail width on the sheet, in pixels.", min=32)] = 320,
    max_side: Annotated[
        int | None,
        typer.Option(help="Run networks at most this large (default: the frame's size, as render does).", min=16),
    ] = None,
    nst_size: Annotated[int, typer.Option(help="--method nst: optimise at this size.", min=32)] = 256,
    iterations: Annotated[int, typer.Option(help="--method nst: optimisation steps.", min=2)] = 100,
    html_page: Annotated[
        bool, typer.Option("--html", help="Also write OUTPUT.html with every cell full size.")
    ] = False,
    vgg_weights: VggWeights = None,
    device: DeviceOption = "auto",
    overwrite: Overwrite = False,
) -> None:
    """A contact sheet: sampled frames of a video, the original row and one row per style, labelled with
    their times. Only the sampled frames are decoded."""
    started = time.perf_counter()
    choices = [(name, StyleChoice(style=name)) for name in style or []]
    choices += [(p.stem, StyleChoice(style_image=p, method=method.value)) for p in style_image or []]
    choices += [(mix, StyleChoice(blend=mix)) for mix in blend or []]
    for _, choice in choices:
        choice.strength, choice.preserve_color = strength, preserve_color
    with handled("interrupted; no sheet was written."):
        report = preview_video(
            source,
            output,
            choices,
            frames=frames,
            at=at.value,
            thumb=thumb,
            max_side=max_side,
            nst_size=nst_size,
            iterations=iterations,
            with_html=html_page,
            device=device,
            vgg_weights=vgg_weights,
            overwrite=overwrite,
            started=started,
        )
    typer.echo(
        f"{len(report.times)} frames x {len(report.rows) - 1} styles, {report.decoded} frames decoded of "
        f"{report.frames_in_video}, in {time.perf_counter() - started:.1f} s -> {output}"
        + (f" and {output.with_suffix('.html')}" if html_page else "")
    )
