"""`vidstyle evaluate` (how much a render flickers, and how much style and content it keeps) and
`vidstyle evaluate-style` (style networks side by side on held-out photos)."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vidstyle.cli.app import app, handled
from vidstyle.cli.options import DeviceOption, Overwrite, R, VggWeights
from vidstyle.errors import VidstyleError


@app.command()
def evaluate(
    source: Annotated[Path, typer.Argument(help="The input video.")],
    output: Annotated[Path, typer.Argument(help="Its render.")],
    style_image: Annotated[
        Path | None,
        typer.Option(
            "--style-image", help="The painting: adds the style loss to it and the content loss to the input."
        ),
    ] = None,
    every: Annotated[int, typer.Option(help="Measure the pair (t, t+1) for every N-th t.", min=1)] = 1,
    side: Annotated[int, typer.Option(help="Compute flow and errors at this size (longer side).", min=32)] = 384,
    frames: Annotated[int, typer.Option(help="Frames scored for style and content.", min=1)] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    vgg_weights: VggWeights = None,
) -> None:
    """How much a render flickers, and how much style and content it keeps.

    Warping error (Lai et al. 2018): optical flow and visibility from the input frames, applied to the
    output's; mean squared RGB difference in [0, 1] over visible pixels. Also with the input's change of
    luminance subtracted (ReCoNet), so a real change of light is not counted as flicker.
    """
    with handled("interrupted."):
        from vidstyle.temporal.evaluate import evaluate_render

        result = evaluate_render(
            source, output, style_image, every=every, side=side, frames=frames, vgg_weights=vgg_weights
        )
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
        return
    typer.echo(
        f"warping error            {result.warp_error:.6f}  ({result.pairs} frame pairs, "
        f"{100 * result.visible:.0f}% of pixels visible)"
    )
    typer.echo(f"  luminance-compensated  {result.warp_error_lum:.6f}")
    if result.style_loss is not None:
        typer.echo(f"style loss to painting   {result.style_loss:.4f}  ({result.frames_scored} frames)")
        typer.echo(f"content loss to input    {result.content_loss:.4f}")


@app.command("evaluate-style")
def evaluate_style(
    styles: Annotated[list[str], typer.Argument(help="Styles to compare (names or .vstyle files).")],
    style_image: Annotated[Path, typer.Option("--style-image", help="The painting they imitate.")],
    photos: Annotated[Path, typer.Option(help="A folder of held-out photos.")],
    include: Annotated[str, typer.Option(help="Only photos matching this pattern.")] = "*",
    size: Annotated[int, typer.Option(help="Photos are scored at this size (longer side).", min=32)] = 256,
    sheet: Annotated[Path | None, typer.Option(help="Also write a contact sheet: photo | each style.")] = None,
    sheet_photos: Annotated[int, typer.Option(help="Photos on the sheet.", min=1)] = 6,
    device: DeviceOption = R.device,
    vgg_weights: VggWeights = None,
    overwrite: Overwrite = False,
) -> None:
    """Style loss to the painting and content loss to the photo, averaged over held-out photos: the same
    layers and losses as training, so networks trained anyhow can be compared side by side."""
    with handled("interrupted; nothing was written."):
        import numpy as np

        from vidstyle.files import refuse_existing
        from vidstyle.media.images import check_writable, list_photos, read_rgb, write_rgb
        from vidstyle.media.sheets import contact_sheet
        from vidstyle.temporal.evaluate import compare_styles

        if sheet is not None:
            refuse_existing(sheet, overwrite)
            check_writable(sheet)
        chosen = [p for p in list_photos(photos, []) if fnmatch.fnmatch(p.name, include)]
        if not chosen:
            raise VidstyleError(f"no photo in {photos} matches {include!r}.")
        scores = compare_styles(
            styles, style_image, chosen, side=size, device=device, vgg_weights=vgg_weights, keep=sheet_photos
        )
        table = Table("style", "style loss", "content loss", "× first (style)", "× first (content)", box=None)
        first = scores[0]
        for s in scores:
            ratios = f"{s.style / first.style:.2f}", f"{s.content / first.content:.2f}"
            table.add_row(s.name, f"{s.style:.4f}", f"{s.content:.4f}", *ratios)
        Console().print(table)
        typer.echo(f"{len(chosen)} photos at {size} px")
        if sheet is not None:
            rows = [
                (p.stem, [read_rgb(p), *[s.pictures[i] for s in scores]]) for i, p in enumerate(chosen[:sheet_photos])
            ]
            write_rgb(sheet, np.asarray(contact_sheet(rows, ["photo", *styles], 200)))
            typer.echo(f"sheet -> {sheet} (columns: photo, {', '.join(styles)})")
