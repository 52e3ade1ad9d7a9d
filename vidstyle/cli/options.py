"""The options several commands take, declared once (flag, help, panel) so they read and mean the same in
render, batch, preview and image. Their choices and defaults are the library's (`vidstyle.options`): a
command writes `= R.batch_size`, never a literal. Ranges are checked by the library's dataclasses, in their
words, so the CLI and the library refuse the same values with the same line (exit 1); Typer refuses what is
not a number or not among the choices (exit 2)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from vidstyle.options import (
    VGG_WEIGHTS_ENV,
    At,
    CompileMode,
    Init,
    Method,
    NSTOptions,
    Optimizer,
    Precision,
    Preset,
    RenderOptions,
    StyleChoice,
)

R, C, N = RenderOptions(), StyleChoice(), NSTOptions()  # the library's defaults
__all__ = ["At", "CompileMode", "Init", "Method", "Optimizer", "Precision", "Preset", "R", "C", "N"]


STYLE_PANEL = "What to paint with"
SPEED_PANEL = "Speed and quality"
RAY_PANEL = "Ray"
NST_PANEL = "--method nst (Gatys keyframes)"

Style = Annotated[
    str | None,
    typer.Option(
        "--style",
        "-s",
        help="Installed style name (see `vidstyle styles`) or a .vstyle file.",
        rich_help_panel=STYLE_PANEL,
    ),
]
StyleImage = Annotated[
    Path | None,
    typer.Option(
        "--style-image",
        help="A painting to imitate, any image file. Fast by default (the arbitrary-style network, one pass per "
        "frame); --method nst optimises keyframes instead (Gatys et al.: slow, finer).",
        rich_help_panel=STYLE_PANEL,
    ),
]
Blend = Annotated[
    str | None,
    typer.Option(
        help="Mix styles: 'muse=0.7,wave.jpg=0.3' (built-in styles and painting files, by weight).",
        rich_help_panel=STYLE_PANEL,
    ),
]
MethodOption = Annotated[
    Method,
    typer.Option(
        help="For --style-image: fast (feed-forward) or nst (Gatys optimisation).", rich_help_panel=STYLE_PANEL
    ),
]
Strength = Annotated[
    float,
    typer.Option(
        help="How much style, 0 to 1. Built-ins, paintings and blends: their style code moved towards the video's "
        "own (Ghiasi et al.); trained networks and NST: the share of the painted frame in a mix with the source.",
        rich_help_panel=STYLE_PANEL,
    ),
]
PreserveColor = Annotated[
    bool,
    typer.Option(
        help="Keep the source's colours; take only the painting's texture and tone (luminance transfer), for "
        "every kind of style.",
        rich_help_panel=STYLE_PANEL,
    ),
]
VggWeights = Annotated[
    Path | None,
    typer.Option(
        envvar=VGG_WEIGHTS_ENV,
        help="torchvision-layout VGG16/VGG19 ImageNet weights for the losses; else torchvision's file in the "
        "torch.hub cache ($TORCH_HOME), else a download when online.",
    ),
]
# Not an Enum: besides auto, cpu and cuda it takes cuda:N, which no fixed list of choices can name.
DeviceOption = Annotated[
    str, typer.Option(help="Where the networks run: auto, cpu, cuda or cuda:N.", rich_help_panel=SPEED_PANEL)
]
CompileOption = Annotated[
    CompileMode,
    typer.Option(
        "--compile",
        help="torch.compile the network: on, off, or auto (when the job is long enough to repay the ~30 s of "
        "compiling; twice as fast on CPU).",
        rich_help_panel=SPEED_PANEL,
    ),
]
PrecisionOption = Annotated[
    Precision,
    typer.Option(
        help="The network's arithmetic: auto is fp16 on a GPU with tensor cores, bf16 on a CPU with bf16 "
        "instructions (AVX512-BF16, AMX), else fp32. Without those instructions bf16 is several times slower "
        "on a CPU, fp16 many times.",
        rich_help_panel=SPEED_PANEL,
    ),
]
BatchSize = Annotated[int, typer.Option(help="Frames per network call (at least 1).", rich_help_panel=SPEED_PANEL)]
PresetOption = Annotated[
    Preset,
    typer.Option(
        "--preset",
        help="x264 speed preset: slower ones make smaller files at the same --crf.",
        rich_help_panel=SPEED_PANEL,
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(
        help="Ray actors, each holding the network and decoding and encoding its own segments (a batch's videos "
        "share them). Default: with GPUs, one per 4 CPUs, sharing the GPUs (one actor's x264 cannot keep up "
        "with a GPU); without, one per 2 CPUs.",
        rich_help_panel=RAY_PANEL,
    ),
]
Address = Annotated[
    str | None,
    typer.Option(
        help="Ray cluster to run on (ray://head:10001, auto, host:port); default $RAY_ADDRESS, else a Ray of its "
        "own on this machine where that helps.",
        rich_help_panel=RAY_PANEL,
        show_default=False,
    ),
]
Stabilize = Annotated[
    float,
    typer.Option(
        "--stabilize",
        help="Temporal stabilisation: each frame is blended with the previous output carried along the input's "
        "optical flow, where visible; this is the previous output's weight (0 turns it off). At the default 0.5 "
        "it cut the warping error by 65-73% on real, dark and flat clips, with strokes a little softer "
        "(bench/flicker.py). 0 to 0.95.",
        rich_help_panel=SPEED_PANEL,
    ),
]
Overwrite = Annotated[bool, typer.Option(help="Replace the output file if it exists.")]
MaxSide = Annotated[
    int | None,
    typer.Option(
        help="Stylise at most this many pixels on the longer side, then scale back to the source size (faster, "
        "coarser brush strokes); at least 16.",
        rich_help_panel=SPEED_PANEL,
    ),
]
Crf = Annotated[
    int | None,
    typer.Option(
        help="Quality, 0 to 63: lower is better and bigger (x264 default 16, VP9 32).", rich_help_panel=SPEED_PANEL
    ),
]
KeyframeEvery = Annotated[
    int,
    typer.Option(
        help="At most this many frames between optimised keyframes (shot changes add more).", rich_help_panel=NST_PANEL
    ),
]
Iterations = Annotated[
    int,
    typer.Option(
        help="Optimisation steps (a video: for a shot's first keyframe; later keyframes start from the previous "
        "one and take half).",
        rich_help_panel=NST_PANEL,
    ),
]
NstLevels = Annotated[
    int,
    typer.Option(
        "--levels",
        help="Coarse-to-fine levels (1 to 5), each twice the size of the one before.",
        rich_help_panel=NST_PANEL,
    ),
]
NstOptimizer = Annotated[
    Optimizer, typer.Option("--optimizer", help="lbfgs (fewer iterations) or adam.", rich_help_panel=NST_PANEL)
]
NstContentWeight = Annotated[
    float,
    typer.Option(
        "--content-weight", help="Weight of keeping the photo's content (relu4_2).", rich_help_panel=NST_PANEL
    ),
]
NstStyleWeight = Annotated[
    float,
    typer.Option(
        "--style-weight",
        help="Weight of matching the painting's textures (Gram matrices of relu1_1..relu4_1). Losses are relative "
        "per layer, so the same weights suit any VGG checkpoint.",
        rich_help_panel=NST_PANEL,
    ),
]
NstTvWeight = Annotated[
    float, typer.Option("--tv-weight", help="Weight of smoothness (total variation).", rich_help_panel=NST_PANEL)
]
NstVggWeights = Annotated[
    Path | None,
    typer.Option(
        "--vgg-weights", envvar=VGG_WEIGHTS_ENV, help=VggWeights.__metadata__[0].help, rich_help_panel=NST_PANEL
    ),
]


def render_options(
    device: str,
    batch_size: int,
    max_side: int | None,
    crf: int | None,
    preset: str,
    stabilize: float,
    compile: str,
    precision: str,
) -> RenderOptions:
    """The speed and quality options `render` and `batch` share, as the library takes them (and checks)."""
    options = RenderOptions(device, batch_size, max_side, crf=crf, preset=preset, compile=compile, precision=precision)
    return options.with_stabilize(stabilize)


def nst_options(
    base: NSTOptions,
    iterations: int,
    levels: int,
    optimizer: str,
    content_weight: float,
    style_weight: float,
    tv_weight: float,
    vgg_weights: Path | None,
    keyframe_every: int | None = None,
) -> NSTOptions:
    """`base` (the library's defaults for the job) with the NST options given, checked."""
    nst = replace(
        base,
        iterations=iterations,
        levels=levels,
        optimizer=optimizer,
        content_weight=content_weight,
        style_weight=style_weight,
        tv_weight=tv_weight,
        vgg_weights=vgg_weights,
        keyframe_every=base.keyframe_every if keyframe_every is None else keyframe_every,
    )
    nst.check()
    return nst


#: --stabilize's default: the library's (0 where the library's default is no stabilisation)
STABILIZE_DEFAULT = R.stabilize.strength if R.stabilize else 0.0
