"""Options shared by several commands, defined once so they read and mean the same everywhere; choices are
Enums, so `--help` lists them and Typer refuses anything else before any work starts."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from vidstyle.models.vgg import ENV as VGG_ENV


class Method(str, Enum):
    fast = "fast"
    nst = "nst"


class Arch(str, Enum):
    auto = "auto"
    full = "full"
    lite = "lite"


class CompileMode(str, Enum):
    auto = "auto"
    on = "on"
    off = "off"


class Precision(str, Enum):
    auto = "auto"
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"


class Optimizer(str, Enum):
    lbfgs = "lbfgs"
    adam = "adam"


class Init(str, Enum):
    content = "content"
    noise = "noise"


class At(str, Enum):
    even = "even"
    keyframes = "keyframes"


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
        envvar=VGG_ENV,
        help="torchvision-layout VGG16/VGG19 ImageNet weights for the losses; else torchvision's file in the "
        "torch.hub cache ($TORCH_HOME), else a download when online.",
    ),
]
OptimizerOption = Annotated[Optimizer, typer.Option(help="lbfgs (fewer iterations) or adam.")]
ContentWeight = Annotated[float, typer.Option(help="Weight of keeping the photo's content (relu4_2).")]
StyleWeight = Annotated[
    float,
    typer.Option(
        help="Weight of matching the painting's textures (Gram matrices of relu1_1..relu4_1). Losses are "
        "relative per layer, so the same weights suit any VGG checkpoint."
    ),
]
TvWeight = Annotated[float, typer.Option(help="Weight of smoothness (total variation).")]
Levels = Annotated[
    int, typer.Option(help="Coarse-to-fine levels, each twice the size of the one before.", min=1, max=5)
]
# Not an Enum: besides auto, cpu and cuda it takes cuda:N, which no fixed list of choices can name.
DeviceOption = Annotated[
    str, typer.Option(help="Where the networks run: auto, cpu, cuda or cuda:N.", rich_help_panel=SPEED_PANEL)
]
ArchOption = Annotated[
    Arch,
    typer.Option(
        help="auto: a style's lite network (NAME-lite, ~3x faster) when rendering on CPU and one is installed, "
        "else the full one; full; lite.",
        rich_help_panel=SPEED_PANEL,
    ),
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
# checked with the rest of RenderOptions (its ranges are defined there, once for the CLI and the library)
BatchSize = Annotated[int, typer.Option(help="Frames per network call (at least 1).", rich_help_panel=SPEED_PANEL)]
Preset = Annotated[
    str,
    typer.Option(
        help="x264 speed preset (ultrafast ... veryslow, placebo): slower ones make smaller files at the same --crf.",
        rich_help_panel=SPEED_PANEL,
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(
        help="Ray actors, each holding the network and decoding and encoding its own segments (a batch's videos "
        "share them). Default: with GPUs, one per 4 CPUs, sharing the GPUs (one actor's x264 cannot keep up "
        "with a GPU); without, one per 2 CPUs.",
        min=1,
        rich_help_panel=RAY_PANEL,
    ),
]
Address = Annotated[
    str | None,
    typer.Option(
        envvar="RAY_ADDRESS",
        help="Ray cluster to run on (ray://head:10001, auto, host:port); else Ray starts embedded on this machine.",
        rich_help_panel=RAY_PANEL,
    ),
]
Stabilize = Annotated[
    float,
    typer.Option(
        "--stabilize",
        help="Temporal stabilisation: each frame is blended with the previous output carried along the input's "
        "optical flow, where visible; this is the previous output's weight (0 turns it off). At 0.4 it cut the "
        "warping error by about two thirds for a few percent of speed and style (bench/flicker.py).",
        min=0.0,
        max=0.95,
        rich_help_panel=SPEED_PANEL,
    ),
]
Overwrite = Annotated[bool, typer.Option(help="Replace the output file if it exists.")]
