"""`vidstyle image`: one photo painted, by any style, blend or painting, or optimised (`--method nst`)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from vidstyle.cli.app import app, handled
from vidstyle.cli.options import (
    Blend,
    C,
    DeviceOption,
    Init,
    Method,
    MethodOption,
    N,
    NstContentWeight,
    NstLevels,
    NstOptimizer,
    NstStyleWeight,
    NstTvWeight,
    NstVggWeights,
    Optimizer,
    Overwrite,
    PreserveColor,
    R,
    Strength,
    Style,
    StyleImage,
    nst_options,
)
from vidstyle.options import StyleChoice


@app.command()
def image(
    source: Annotated[Path, typer.Argument(help="The photo to paint.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Result image (.png, .jpg, ...).")],
    style: Style = None,
    style_image: StyleImage = None,
    blend: Blend = None,
    method: MethodOption = Method(C.method),
    strength: Strength = C.strength,
    size: Annotated[
        int | None,
        typer.Option(
            help="Longer side of the result, in pixels, at least 32 (default: the photo's own; 384 with --method nst)."
        ),
    ] = None,
    max_side: Annotated[
        int | None,
        typer.Option(
            help="Paint at most this many pixels on the longer side and scale back to --size (default: 480 for a "
            "painting or a blend with one, as render does; the photo's size for built-ins); at least 16.",
        ),
    ] = None,
    iterations: Annotated[
        int, typer.Option(help="--method nst: optimisation steps in all, split over the levels.")
    ] = N.iterations,
    checkpoint_every: Annotated[
        int,
        typer.Option(
            help="--method nst: also save OUTPUT_N.png every N iterations (0: never), to stop early when it looks "
            "right.",
            min=0,
        ),
    ] = 0,
    levels: NstLevels = N.levels,
    optimizer: NstOptimizer = Optimizer(N.optimizer),
    content_weight: NstContentWeight = N.content_weight,
    style_weight: NstStyleWeight = N.style_weight,
    tv_weight: NstTvWeight = N.tv_weight,
    init: Annotated[Init, typer.Option(help="--method nst: start from the photo (content) or from noise.")] = Init(
        N.init
    ),
    preserve_color: PreserveColor = C.preserve_color,
    vgg_weights: NstVggWeights = N.vgg_weights,
    device: DeviceOption = R.device,
    seed: Annotated[int, typer.Option(help="Seed for --init noise.")] = N.seed,
    overwrite: Overwrite = False,
) -> None:
    """Paint one photo: with a built-in style, a trained network, a blend, or any painting (fast, one pass).

    --method nst optimises the image itself against the painting (Gatys et al.): slow but fine. Its losses
    are printed as it goes; with --checkpoint-every the image so far is saved too, so you can stop when it
    looks right.
    """
    started = time.perf_counter()

    def step(losses, current) -> None:
        i = losses.step
        if i == 1 or i == iterations or (checkpoint_every and i % checkpoint_every == 0):
            line = (
                f"iteration {i:>5}: content {losses.content:.4f}  style {losses.style:.4f}  "
                f"tv {losses.tv:.4f}  total {losses.total:.4f}  ({time.perf_counter() - started:.1f} s)"
            )
            if checkpoint_every and i % checkpoint_every == 0 and i != iterations:
                line += f" -> {checkpoint_path(output, i)}"
            typer.echo(line)

    with handled("interrupted; checkpoints already written are kept."):
        nst = nst_options(
            replace(N, init=init, seed=seed),
            iterations,
            levels,
            optimizer,
            content_weight,
            style_weight,
            tv_weight,
            vgg_weights,
        )
        choice = StyleChoice(style, style_image, blend, method, strength, preserve_color)
        from vidstyle.pipeline.still import checkpoint_path, stylize_image_file

        result = stylize_image_file(
            source,
            output,
            choice,
            overwrite=overwrite,
            checkpoint_every=checkpoint_every,
            on_step=step,
            size=size,
            max_side=max_side,
            device=device,
            nst=nst,
        )
    h, w = result.shape[:2]
    typer.echo(f"{w}x{h} in {time.perf_counter() - started:.1f} s -> {output}")
