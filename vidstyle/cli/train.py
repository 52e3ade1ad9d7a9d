"""`vidstyle train` (a Johnson network for one painting) and `vidstyle train-code` (a style code for the
shipped arbitrary-style network): both save a style with the command that made it."""

from __future__ import annotations

import contextlib
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import MofNCompleteColumn, Progress, TaskID, TextColumn

from vidstyle.cli.app import app, handled, progress_bar
from vidstyle.cli.options import DeviceOption, R, VggWeights
from vidstyle.options import ARCH_BASE, Arch, CodeTrainOptions, ContentLayer, Credits, TrainOptions

T, C = TrainOptions, CodeTrainOptions  # the defaults, defined once in the library


ContentWeight = Annotated[float, typer.Option(help="Weight of keeping the photo's content (at --content-layer).")]
StyleWeight = Annotated[
    float,
    typer.Option(
        help="Weight of matching the painting's textures (Gram matrices of relu1_2, relu2_2, relu3_3, relu4_3). "
        "Losses are relative per layer, so the same weights suit any VGG checkpoint."
    ),
]
TvWeight = Annotated[float, typer.Option(help="Weight of smoothness (total variation).")]


def command_line() -> str:
    """The command as the user typed it, for the style's provenance (`vidstyle styles show`)."""
    return "vidstyle " + shlex.join(sys.argv[1:])


Painting = Annotated[str, typer.Option(help="Title of the painting, for `vidstyle styles`.")]
Artist = Annotated[str, typer.Option(help="The painter.")]
Exclude = Annotated[
    list[str] | None, typer.Option(help="Leave out photos matching this pattern (repeatable), e.g. 'test_*'.")
]
Resume = Annotated[bool, typer.Option(help="Continue from OUTPUT.ckpt (same options; --steps may grow).")]
OverwriteStyle = Annotated[bool, typer.Option(help="Replace OUTPUT if it exists.")]


@app.command()
def train(
    style_image: Annotated[Path, typer.Option("--style-image", help="The painting to learn.")],
    photos: Annotated[Path, typer.Option(help="A folder of photos to train on (random crops and flips).")],
    name: Annotated[str, typer.Option(help="Style name, for `render --style NAME`.")],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="The .vstyle file to write; checkpoints go to OUTPUT.ckpt, previews to OUTPUT.previews/.",
        ),
    ],
    exclude: Exclude = None,
    steps: Annotated[int, typer.Option(help="Optimisation steps.", min=1)] = T.steps,
    batch_size: Annotated[int, typer.Option(help="Crops per step.", min=1)] = T.batch_size,
    crop: Annotated[int, typer.Option(help="Crop side in pixels (at least 16).")] = T.crop,
    photo_size: Annotated[
        int,
        typer.Option(
            help="Scale each photo so its shorter side is this many pixels before cropping (0: as they are). Sets "
            "the scale the network learns strokes at.",
            min=0,
        ),
    ] = T.photo_size,
    lr: Annotated[float, typer.Option(help="Adam's learning rate.")] = T.lr,
    content_weight: ContentWeight = T.content_weight,
    style_weight: StyleWeight = T.style_weight,
    tv_weight: TvWeight = T.tv_weight,
    content_layer: Annotated[
        ContentLayer,
        typer.Option(
            help="VGG layer of the content loss: relu2_2 (Johnson's) keeps pixels close; relu3_3 or relu4_3 keep "
            "shapes and free the texture."
        ),
    ] = ContentLayer(T.content_layer),
    style_size: Annotated[
        int,
        typer.Option(
            help="The painting's longer side for its Gram matrices: larger gives finer strokes (at least 32)."
        ),
    ] = T.style_size,
    arch: Annotated[
        Arch,
        typer.Option(
            help="full: Johnson's network (32 channels first); lite: half the channels, about 3x faster on CPU. Name "
            "a lite style NAME-lite and render picks it on CPU."
        ),
    ] = Arch.full,
    base: Annotated[
        int | None,
        typer.Option(help="First-layer width, overriding --arch (tests train tiny networks).", min=2, hidden=True),
    ] = None,
    checkpoint_every: Annotated[int, typer.Option(help="Save a checkpoint every N steps.", min=1)] = T.checkpoint_every,
    preview: Annotated[
        list[Path] | None, typer.Option(help="Held-out photo to stylise every --checkpoint-every steps (repeatable).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed: same seed, same options, same network.")] = T.seed,
    init: Annotated[
        str | None,
        typer.Option(
            help="Start from this style's network (name or .vstyle) instead of random weights: a new painting then "
            "needs far fewer steps."
        ),
    ] = None,
    resume: Resume = False,
    painting: Painting = "",
    artist: Artist = "",
    licence: Annotated[str, typer.Option(help="Licence of the trained weights.")] = "",
    device: DeviceOption = R.device,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Train on this many Ray Train workers (one GPU each when the cluster has GPUs), averaging their "
            "gradients; needs vidstyle\\[train].",
            min=1,
        ),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to train on (implies --workers 1 unless given); default RAY_ADDRESS with --workers, "
            "else Ray starts embedded."
        ),
    ] = None,
    vgg_weights: VggWeights = None,
    overwrite: OverwriteStyle = False,
) -> None:
    """Train a feed-forward style network for one painting (Johnson et al. 2016).

    Perceptual losses (relative, per layer) on VGG relu1_2..relu4_3, Adam, random crops and flips.
    Progress shows the losses; checkpoints let an interrupted run go on with --resume, exactly as if it
    had not stopped. The result is saved in half precision with the command that made it.
    """
    started = time.perf_counter()
    options = TrainOptions(
        steps=steps,
        batch_size=batch_size,
        crop=crop,
        photo_size=photo_size,
        lr=lr,
        content_weight=content_weight,
        content_layer=content_layer,
        style_weight=style_weight,
        tv_weight=tv_weight,
        style_size=style_size,
        base=base or ARCH_BASE[arch],
        checkpoint_every=checkpoint_every,
        preview_every=checkpoint_every,
        seed=seed,
    )
    credits = Credits(name, painting, artist, licence, command_line())
    with handled("interrupted; the last checkpoint is kept: add --resume to go on."), contextlib.ExitStack() as stack:
        bars: list[tuple[Progress, TaskID]] = []  # the bar appears with the first step (never on Ray Train)

        def step(losses) -> None:
            if not bars:
                bar = stack.enter_context(progress_bar(MofNCompleteColumn(), TextColumn("{task.fields[losses]}")))
                bars.append((bar, bar.add_task("training", total=steps, losses="")))
            bar, task = bars[0]
            text = f"content {losses.content:.3f} style {losses.style:.3f} tv {losses.tv:.3f}"
            bar.update(task, completed=losses.step, losses=text)
            if losses.step % checkpoint_every == 0 or losses.step == steps:
                bar.console.print(f"step {losses.step:>6}: {text}  total {losses.total:.3f}", highlight=False)

        from vidstyle.train.jobs import train_style

        train_style(
            style_image,
            photos,
            output,
            credits,
            options,
            exclude=exclude,
            init=init,
            previews=preview,
            device=device,
            workers=workers,
            address=address,
            vgg_weights=vgg_weights,
            resume=resume,
            overwrite=overwrite,
            on_step=step,
        )
    typer.echo(f"trained {name!r} in {time.perf_counter() - started:.0f} s -> {output}")


@app.command("train-code")
def train_code(
    style_image: Annotated[Path, typer.Option("--style-image", help="The painting.")],
    photos: Annotated[Path, typer.Option(help="Folder of training photos.")],
    name: Annotated[str, typer.Option(help="Style name (use with --style NAME).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The style file to write (NAME.vstyle).")],
    painting: Painting = "",
    artist: Artist = "",
    licence: Annotated[str, typer.Option(help="Licence of the painting's image.")] = "",
    exclude: Exclude = None,
    steps: Annotated[int, typer.Option(help="Optimisation steps.", min=1)] = C.steps,
    batch_size: Annotated[int, typer.Option(help="Crops per step.", min=1)] = C.batch_size,
    crop: Annotated[int, typer.Option(help="Crop side, pixels (at least 32).")] = C.crop,
    photo_side: Annotated[
        int,
        typer.Option(
            help="Photos and the painting's Gram targets at this long side: the size you render at (at least 64)."
        ),
    ] = C.photo_side,
    lr: Annotated[float, typer.Option(help="Adam's learning rate.")] = C.lr,
    content_weight: Annotated[
        float, typer.Option(help="Weight of the content loss (relu2_2); raise it (3) where texture covers the subject.")
    ] = C.content_weight,
    style_weight: Annotated[
        float, typer.Option(help="Weight of the style loss (relative Gram distance over relu1_2..relu4_3).")
    ] = C.style_weight,
    tv_weight: Annotated[float, typer.Option(help="Weight of total variation.")] = C.tv_weight,
    laplacian_weight: Annotated[
        float,
        typer.Option(help="Weight of the Laplacian loss (Li et al. 2017): keeps the subject's edges under strokes."),
    ] = C.laplacian_weight,
    checkpoint_every: Annotated[int, typer.Option(help="Save OUTPUT.ckpt every N steps.", min=1)] = C.checkpoint_every,
    seed: Annotated[int, typer.Option(help="Seed of the crops.")] = C.seed,
    resume: Annotated[bool, typer.Option(help="Go on from OUTPUT.ckpt.")] = False,
    init: Annotated[
        str | None,
        typer.Option(help="Start from this code style (a built-in name or .vstyle) instead of the painting's code."),
    ] = None,
    vgg_weights: VggWeights = None,
    overwrite: OverwriteStyle = False,
) -> None:
    """Tune a style code for a painting: the arbitrary-style network's weights stay as shipped, the code of
    its conditional instance norms is optimised with perceptual losses. Minutes on a CPU; the result is a
    style (`--style NAME`) that also blends with paintings and other code styles."""
    options = CodeTrainOptions(
        steps=steps,
        batch_size=batch_size,
        crop=crop,
        photo_side=photo_side,
        lr=lr,
        content_weight=content_weight,
        style_weight=style_weight,
        tv_weight=tv_weight,
        laplacian_weight=laplacian_weight,
        checkpoint_every=checkpoint_every,
        seed=seed,
    )

    def show(s) -> None:
        if s.step == 1 or s.step % 10 == 0 or s.step == steps:
            typer.echo(
                f"step {s.step:>5}: style {s.style:.4f} content {s.content:.4f} laplacian {s.laplacian:.3f} "
                f"tv {s.tv:.5f} ({s.seconds:.0f} s)"
            )

    credits = Credits(name, painting, artist, licence, command_line())
    with handled("interrupted; run again with --resume to go on from the last checkpoint."):
        from vidstyle.train.jobs import train_code_style

        train_code_style(
            style_image,
            photos,
            output,
            credits,
            options,
            exclude=exclude,
            vgg_weights=vgg_weights,
            resume=resume,
            overwrite=overwrite,
            on_step=show,
            init=init,
        )
    typer.echo(f"-> {output}")
