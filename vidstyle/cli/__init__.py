"""The `vidstyle` command: a thin layer over functions the tests call directly.

Every failure a user can fix is a `VidstyleError`, printed as one line on stderr with exit status 1.
"""

from __future__ import annotations

import contextlib
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from vidstyle import interrupts
from vidstyle.errors import VidstyleError
from vidstyle.version import __version__

app = typer.Typer(
    help="Turn videos into paintings: feed-forward neural style transfer with audio, frame rate and timestamps kept.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
styles_app = typer.Typer(help="List installed styles, or import one.", invoke_without_command=True)
app.add_typer(styles_app, name="styles")
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"vidstyle {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    interrupts.install()  # SIGTERM behaves like Ctrl-C: temporaries are removed on the way out


@styles_app.callback()
def styles_list(ctx: typer.Context) -> None:
    """List installed styles: name, painting, artist, network file and size."""
    if ctx.invoked_subcommand:
        return
    from vidstyle.files import human_size
    from vidstyle.models.styles import installed_styles, user_dir

    styles = installed_styles()
    if not styles:
        typer.echo(f"No styles installed. Import one with `vidstyle styles import`; user styles live in {user_dir()}.")
        return
    table = Table("name", "painting", "artist", "file", "size", box=None)
    for name, info in sorted(styles.items()):
        table.add_row(name, info.painting, info.artist, str(info.path), human_size(info.path.stat().st_size))
    Console().print(table)
    typer.echo(
        "Any painting: --style-image PAINTING (the arbitrary-style network; `vidstyle styles show "
        "arbitrary` says where it comes from)."
    )


@styles_app.command("show")
def styles_show(
    name: Annotated[str, typer.Argument(help="A style name or .vstyle file.")],
) -> None:
    """Everything a style file says about itself: painting, licence, network size, and how it was trained."""
    from dataclasses import asdict

    from vidstyle.models import arbitrary
    from vidstyle.models.styles import installed_styles, resolve_style

    try:
        if name == arbitrary.ArbitraryInfo.name and name not in installed_styles():
            facts = {
                **asdict(arbitrary.read_info()),
                "file": arbitrary.WEIGHTS,
                "notice": arbitrary.WEIGHTS.parent / "NOTICE",
            }
        else:
            facts = asdict(resolve_style(name))
    except VidstyleError as exc:
        fail(str(exc))
    for key, value in facts.items():
        typer.echo(f"{key + ':':16} {value}")


@styles_app.command("import")
def styles_import(
    folder: Annotated[
        Path,
        typer.Argument(
            help="A deeplearn.js export of a TensorFlow fast-style-transfer "
            "network: manifest.json and its Variable files."
        ),
    ],
    name: Annotated[str, typer.Option(help="Name to use with `render --style NAME`.")],
    painting: Annotated[str, typer.Option(help="Title of the painting the network was trained on.")] = "",
    artist: Annotated[str, typer.Option(help="The painter.")] = "",
    licence: Annotated[str, typer.Option(help="Licence of the network's weights.")] = "unknown",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the style here instead of the user style directory.")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing style of that name.")] = False,
) -> None:
    """Convert a TensorFlow fast-style-transfer network into a vidstyle style."""
    from vidstyle.models.styles import SUFFIX, StyleInfo, import_deeplearnjs, save_style, user_dir

    try:
        target = output or user_dir() / f"{name}{SUFFIX}"
        if target.exists() and not overwrite:
            raise VidstyleError(f"{target} already exists; pass --overwrite to replace it.")
        info = StyleInfo(
            name=name,
            painting=painting,
            artist=artist,
            licence=licence,
            trained=f"imported from TensorFlow fast-style-transfer export {folder.resolve()}",
        )
        net = import_deeplearnjs(folder, info)
        save_style(info, net, target)
    except VidstyleError as exc:
        fail(str(exc))
    typer.echo(f"imported {name!r} -> {target}")


class Method(str, Enum):
    fast = "fast"
    nst = "nst"


# What to paint with: the same options, and the same meaning, in render, image, preview and batch
StyleImage = Annotated[
    Path | None,
    typer.Option(
        "--style-image",
        help="A painting to imitate, any image file. Fast by default (the arbitrary-style "
        "network, one pass per frame); --method nst optimises keyframes instead (Gatys et al.: slow, finer).",
    ),
]
Blend = Annotated[
    str | None,
    typer.Option(help="Mix styles: 'muse=0.7,wave.jpg=0.3' (built-in styles and painting files, by weight)."),
]
MethodOption = Annotated[
    Method, typer.Option(help="For --style-image: fast (feed-forward) or nst (Gatys optimisation).")
]
Strength = Annotated[
    float,
    typer.Option(
        help="How much style, 0 to 1. Built-ins, paintings and blends: their "
        "style code moved towards the video's own (Ghiasi et al.); trained "
        "networks and NST: the share of the painted frame in a mix with the "
        "source."
    ),
]
VggWeights = Annotated[
    Path | None,
    typer.Option(
        help="torchvision-layout VGG16/VGG19 ImageNet weights for the losses; default $VIDSTYLE_VGG_WEIGHTS, then "
        "torchvision's file in the torch.hub cache ($TORCH_HOME), else a download when online."
    ),
]
Optimizer = Annotated[str, typer.Option(help="lbfgs (fewer iterations) or adam.")]
ContentWeight = Annotated[float, typer.Option(help="Weight of keeping the photo's content (relu4_2).")]
StyleWeight = Annotated[
    float,
    typer.Option(
        help="Weight of matching the painting's textures (Gram matrices of "
        "relu1_1..relu4_1). Losses are relative per layer, so the same "
        "weights suit any VGG checkpoint."
    ),
]
TvWeight = Annotated[float, typer.Option(help="Weight of smoothness (total variation).")]
Levels = Annotated[
    int, typer.Option(help="Coarse-to-fine levels, each twice the size of the one before.", min=1, max=5)
]
PreserveColor = Annotated[
    bool,
    typer.Option(
        help="Keep the source's colours; take only the painting's "
        "texture and tone (luminance transfer), for every kind of style."
    ),
]
Seed = Annotated[int, typer.Option(help="Seed for --init noise.")]
Arch = Annotated[
    str,
    typer.Option(
        help="auto: a style's lite network (NAME-lite, ~3x faster) when rendering on "
        "CPU and one is installed, else the full one; full; lite."
    ),
]
Compile = Annotated[
    str,
    typer.Option(
        help="torch.compile the network: on, off, or auto (when the job is "
        "long enough to repay the ~30 s of compiling; twice as fast on CPU)."
    ),
]
Precision = Annotated[
    str,
    typer.Option(
        help="The network's arithmetic: fp32, fp16, bf16, or auto (fp16 on a "
        "GPU with tensor cores, bf16 on a CPU with bf16 instructions such as "
        "AVX512-BF16 or AMX, else fp32). Without those instructions bf16 is "
        "several times slower on a CPU, fp16 many times."
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(
        help="Ray actors, each holding the network and decoding and encoding its own segments (a batch's videos "
        "share them). Default: with GPUs, one per 4 CPUs, sharing the GPUs (one actor's x264 cannot keep up "
        "with a GPU); without, one per 2 CPUs.",
        min=1,
    ),
]
Stabilize = Annotated[
    float,
    typer.Option(
        "--stabilize",
        help="Temporal stabilisation: each frame is blended with the previous output carried along "
        "the input's optical flow, where visible; this is the previous output's weight (0 turns it off). At 0.4 "
        "it cut the warping error by about two thirds for a few percent of speed and style (bench/flicker.py).",
        min=0.0,
        max=0.95,
    ),
]


def _on_cpu(device: str, address: str | None, no_ray: bool) -> bool:
    """Whether a render will run its networks on CPU, for `--arch auto`. A cluster's nodes are not known
    before connecting, so with an address `auto` assumes GPUs there (pass --arch lite for a CPU cluster)."""
    import os

    if device != "auto":
        return device == "cpu"
    if not no_ray and (address or os.environ.get("RAY_ADDRESS")):
        return False
    import torch

    return not torch.cuda.is_available()


def _stabilize(strength: float):
    from vidstyle.temporal.stabilizer import StabilizeOptions

    return StabilizeOptions(strength=strength) if strength > 0 else None


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames"),
        TextColumn("{task.fields[fps]:>6.1f} fps"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


@app.command()
def image(
    source: Annotated[Path, typer.Argument(help="The photo to paint.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Result image (.png, .jpg, ...).")],
    style: Annotated[
        str | None,
        typer.Option("--style", "-s", help="Installed style name (see `vidstyle styles`) or a .vstyle file."),
    ] = None,
    style_image: StyleImage = None,
    blend: Blend = None,
    method: MethodOption = Method.fast,
    strength: Strength = 1.0,
    size: Annotated[
        int | None,
        typer.Option(
            help="Longer side of the result, in pixels (default: the photo's own; 384 with --method nst).", min=32
        ),
    ] = None,
    max_side: Annotated[
        int | None,
        typer.Option(
            help="Paint at most this many pixels on the longer side "
            "and scale back to --size (default: 480 for a painting or a "
            "blend with one, as render does; the photo's size for "
            "built-ins).",
            min=16,
        ),
    ] = None,
    iterations: Annotated[
        int, typer.Option(help="--method nst: optimisation steps in all, split over the levels.", min=1)
    ] = 300,
    checkpoint_every: Annotated[
        int,
        typer.Option(
            help="--method nst: also save OUTPUT_N.png every N "
            "iterations (0: never), to stop early when it looks right.",
            min=0,
        ),
    ] = 0,
    levels: Levels = 2,
    optimizer: Optimizer = "lbfgs",
    content_weight: ContentWeight = 1.0,
    style_weight: StyleWeight = 10.0,
    tv_weight: TvWeight = 10.0,
    init: Annotated[str, typer.Option(help="--method nst: start from the photo (content) or from noise.")] = "content",
    preserve_color: PreserveColor = False,
    vgg_weights: VggWeights = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    seed: Seed = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace the output file if it exists.")] = False,
) -> None:
    """Paint one photo: with a built-in style, a trained network, a blend, or any painting (fast, one pass).

    --method nst optimises the image itself against the painting (Gatys et al.): slow but fine. Its losses
    are printed as it goes; with --checkpoint-every the image so far is saved too, so you can stop when it
    looks right.
    """
    import time

    from vidstyle.media.images import check_writable, read_rgb, write_rgb
    from vidstyle.models.devices import resolve_device
    from vidstyle.pipeline.choice import StyleChoice, make_recipe

    started = time.perf_counter()
    try:
        if output.exists() and not overwrite:
            raise VidstyleError(f"{output} already exists; pass --overwrite to replace it.")
        check_writable(output)
        dev = resolve_device(device)
        choice = StyleChoice(style, style_image, blend, method.value, strength, preserve_color)
        choice.check()
        photo = read_rgb(source)
        if method == Method.nst:
            result = _image_nst(
                photo,
                choice,
                output,
                size or 384,
                iterations,
                checkpoint_every,
                levels,
                optimizer,
                content_weight,
                style_weight,
                tv_weight,
                init,
                vgg_weights,
                dev,
                seed,
                started,
            )
        else:
            from vidstyle.pipeline.stylizers import stylize_still

            if size and size != max(photo.shape[:2]):
                import cv2

                scale = size / max(photo.shape[:2])
                photo = cv2.resize(
                    photo,
                    (max(1, round(photo.shape[1] * scale)), max(1, round(photo.shape[0] * scale))),
                    interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
                )
            recipe, finish = make_recipe(
                choice, lambda: [photo], on_cpu=dev.type == "cpu", note=lambda line: err.print(line, highlight=False)
            )
            result = stylize_still(recipe, finish, photo, dev, max_side)
        write_rgb(output, result)
    except VidstyleError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted; checkpoints already written are kept.", code=130)
    h, w = result.shape[:2]
    typer.echo(f"{w}x{h} in {time.perf_counter() - started:.1f} s -> {output}")


def _image_nst(
    photo,
    choice,
    output: Path,
    size: int,
    iterations: int,
    checkpoint_every: int,
    levels: int,
    optimizer: str,
    content_weight: float,
    style_weight: float,
    tv_weight: float,
    init: str,
    vgg_weights,
    dev,
    seed: int,
    started: float,
):
    """`image --method nst`: Gatys et al.'s optimisation, printing its losses and saving checkpoints."""
    import time

    from vidstyle.media.images import to_tensor, to_uint8, write_rgb
    from vidstyle.models.vgg import find_weights, load_state, load_vgg
    from vidstyle.nst.gatys import NSTOptions, transfer
    from vidstyle.pipeline.choice import read_painting
    from vidstyle.pipeline.stylizers import Finish

    options = NSTOptions(
        size=size,
        iterations=iterations,
        levels=levels,
        optimizer=optimizer,
        content_weight=content_weight,
        style_weight=style_weight,
        tv_weight=tv_weight,
        init=init,
        preserve_color=choice.preserve_color,
        seed=seed,
    )
    options.check()
    painting = to_tensor(read_painting(Path(choice.style_image)), dev)
    vgg = load_vgg(options.layers.all, load_state(find_weights(vgg_weights))).to(dev)

    def step(losses, current) -> None:
        i = losses.step
        if i == 1 or i == iterations or (checkpoint_every and i % checkpoint_every == 0):
            line = (
                f"iteration {i:>5}: content {losses.content:.4f}  style {losses.style:.4f}  "
                f"tv {losses.tv:.4f}  total {losses.total:.4f}  ({time.perf_counter() - started:.1f} s)"
            )
            if checkpoint_every and i % checkpoint_every == 0 and i != iterations:
                path = output.with_name(f"{output.stem}_{i}{output.suffix}")
                write_rgb(path, to_uint8(current()))
                line += f" -> {path}"
            typer.echo(line)

    result = to_uint8(transfer(vgg, to_tensor(photo, dev), painting, options, step))
    if choice.strength < 1.0:  # NST has no style code: strength mixes the result with the photo
        import cv2

        small = cv2.resize(photo, result.shape[1::-1], interpolation=cv2.INTER_AREA)
        result = Finish(choice.strength).apply(small, result, mix=choice.strength)
    return result


@app.command()
def render(
    source: Annotated[Path, typer.Argument(help="Input video (anything FFmpeg reads).")],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Output video; the container follows the extension: .mp4, .mov, .mkv (H.264) or .webm (VP9).",
        ),
    ],
    style: Annotated[
        str | None,
        typer.Option("--style", "-s", help="Installed style name (see `vidstyle styles`) or a .vstyle file."),
    ] = None,
    style_image: StyleImage = None,
    max_side: Annotated[
        int | None,
        typer.Option(
            help="Stylise at most this many pixels on the longer "
            "side, then scale back to the source size (faster, "
            "coarser brush strokes).",
            min=16,
        ),
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Frames per network call.", min=1)] = 4,
    arch: Arch = "auto",
    compile: Compile = "auto",
    precision: Precision = "auto",
    crf: Annotated[
        int | None, typer.Option(help="Quality: lower is better and bigger (x264 default 18, VP9 32).", min=0, max=63)
    ] = None,
    preset: Annotated[str, typer.Option(help="x264 speed preset (ultrafast ... veryslow).")] = "medium",
    overwrite: Annotated[bool, typer.Option(help="Replace the output file if it exists.")] = False,
    workers: Workers = None,
    address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to run on (ray://head:10001, auto, "
            "host:port); default RAY_ADDRESS, else Ray starts "
            "embedded on this machine."
        ),
    ] = None,
    no_ray: Annotated[
        bool,
        typer.Option(
            "--no-ray",
            help="One process, no Ray: for debugging, and the "
            "reference the sharded path matches frame for frame. A clip of one "
            "segment (under ~20 s) runs in one process anyway, unless --workers "
            "or --address asks for Ray.",
        ),
    ] = False,
    keyframe_every: Annotated[
        int,
        typer.Option(
            help="--method nst: at most this many frames between optimised keyframes (shot changes add more).", min=1
        ),
    ] = 12,
    iterations: Annotated[
        int,
        typer.Option(
            help="--method nst: optimisation steps for a shot's first "
            "keyframe; later keyframes start from the previous one and take "
            "half.",
            min=2,
        ),
    ] = 200,
    levels: Levels = 2,
    optimizer: Optimizer = "lbfgs",
    content_weight: ContentWeight = 1.0,
    style_weight: StyleWeight = 10.0,
    tv_weight: TvWeight = 10.0,
    preserve_color: PreserveColor = False,
    vgg_weights: VggWeights = None,
    stabilize: Stabilize = 0.4,
    blend: Blend = None,
    method: MethodOption = Method.fast,
    strength: Strength = 1.0,
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
    from vidstyle.models.acceleration import check_compile_mode, check_precision
    from vidstyle.pipeline.render import RenderOptions

    try:
        check_compile_mode(compile)
        check_precision(precision)
        from vidstyle.pipeline.choice import CONTENT_FRAMES, StyleChoice, make_recipe
        from vidstyle.pipeline.preview import sample

        def nst_recipe(painting):
            from vidstyle.nst.gatys import NSTOptions
            from vidstyle.pipeline.keyframes import KeyframeOptions
            from vidstyle.pipeline.stylizers import ImageRecipe

            nst = NSTOptions(
                size=384,
                iterations=iterations,
                levels=levels,
                optimizer=optimizer,
                content_weight=content_weight,
                style_weight=style_weight,
                tv_weight=tv_weight,
                preserve_color=preserve_color,
            )
            nst.check()
            return ImageRecipe.of(
                painting, vgg_weights, nst, KeyframeOptions(every=keyframe_every, warm_iterations=iterations // 2)
            )

        choice = StyleChoice(style, style_image, blend, method.value, strength, preserve_color)
        recipe, finish = make_recipe(
            choice,
            lambda: sample(source, CONTENT_FRAMES, "even")[2],
            arch,
            _on_cpu(device, address, no_ray),
            nst_recipe,
            note=lambda line: err.print(line, highlight=False),
        )
        options = RenderOptions(
            device=device,
            batch_size=batch_size,
            max_side=max_side,
            crf=crf,
            preset=preset,
            overwrite=overwrite,
            stabilize=_stabilize(stabilize),
            compile=compile,
            precision=precision,
            finish=finish,
        )
        from vidstyle.pipeline.render import render as run_render
        from vidstyle.pipeline.shard import ShardOptions, render_sharded, worth_a_pool

        shard = ShardOptions(workers=workers, address=address)
        if not no_ray and worth_a_pool(source, options, shard):
            from functools import partial

            run_render = partial(render_sharded, shard=shard)
        with contextlib.ExitStack() as stack:
            bar, task = None, None

            def started(video, segments) -> None:  # the bar appears once the input is known to be good
                nonlocal bar, task
                bar = stack.enter_context(_progress_bar())
                task = bar.add_task(source.name, total=video.frames, fps=0.0)

            def advance(n: int) -> None:
                bar.advance(task, n)
                t = bar.tasks[task]
                bar.update(task, fps=(t.completed / t.elapsed) if t.elapsed else 0.0)

            report = run_render(source, output, recipe, options, progress=advance, on_start=started)
    except VidstyleError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted; no output was written.", code=130)
    for line in report.transcoded:
        err.print(f"note: audio {line}: the {output.suffix} container cannot hold the source's codec.")
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
        str,
        typer.Option(
            help="even: the middles of equal stretches of the video; keyframes: "
            "keyframes spread the same way (one decoded frame each; encoders put "
            "them at shot changes)."
        ),
    ] = "even",
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
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace the output file if it exists.")] = False,
) -> None:
    """A contact sheet: sampled frames of a video, the original row and one row per style, labelled with
    their times. Only the sampled frames are decoded."""
    import time
    from functools import partial

    import numpy as np

    from vidstyle.media.images import check_writable, write_rgb
    from vidstyle.models.devices import resolve_device
    from vidstyle.nst.gatys import NSTOptions
    from vidstyle.pipeline import preview as pv
    from vidstyle.pipeline.choice import CONTENT_FRAMES, StyleChoice, make_recipe

    started = time.perf_counter()
    try:
        if not style and not style_image and not blend:
            raise VidstyleError("give at least one --style, --style-image or --blend to compare.")
        if output.exists() and not overwrite:
            raise VidstyleError(f"{output} already exists; pass --overwrite to replace it.")
        check_writable(output)
        dev = resolve_device(device)
        content = lambda: pv.sample(source, CONTENT_FRAMES, "even")[2]  # noqa: E731
        nst = method == Method.nst
        choices = [(name, StyleChoice(style=name)) for name in style or []]
        choices += [(path.stem, StyleChoice(style_image=path, method=method.value)) for path in style_image or []]
        choices += [(mix, StyleChoice(blend=mix)) for mix in blend or []]
        vgg = None
        runs = []
        for label, choice in choices:
            choice.strength, choice.preserve_color = strength, preserve_color
            if nst and choice.style_image is not None:
                from vidstyle.models.vgg import find_weights, load_state, load_vgg
                from vidstyle.pipeline.choice import read_painting

                options = NSTOptions(size=nst_size, iterations=iterations, preserve_color=preserve_color)
                vgg = vgg or load_vgg(options.layers.all, load_state(find_weights(vgg_weights)))
                runs.append(
                    (
                        label,
                        partial(
                            pv.stylise_painting,
                            painting=read_painting(choice.style_image),
                            vgg=vgg,
                            options=options,
                            device=dev,
                        ),
                    )
                )
                continue
            recipe, finish = make_recipe(choice, content, "auto", dev.type == "cpu")
            runs.append(
                (label, partial(pv.stylise_recipe, recipe=recipe, finish=finish, device=dev, max_side=max_side))
            )
        report = pv.preview(source, runs, frames, at, started)
        rows = list(zip(report.rows, report.cells))
        sheet = pv.contact_sheet(rows, [pv.clock(t) for t in report.times], thumb)
        write_rgb(output, np.asarray(sheet))
        if html_page:
            page = output.with_suffix(".html")
            page.write_text(pv.html_page(rows, report.times, f"{source.name}: vidstyle preview"))
    except VidstyleError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted; no sheet was written.", code=130)
    typer.echo(
        f"{len(report.times)} frames x {len(report.rows) - 1} styles, {report.decoded} frames decoded of "
        f"{report.frames_in_video}, in {time.perf_counter() - started:.1f} s -> {output}"
        + (f" and {output.with_suffix('.html')}" if html_page else "")
    )


@app.command()
def batch(
    inputs: Annotated[
        Path,
        typer.Argument(
            help="A folder of videos, or a manifest: .csv or .jsonl with "
            "columns input, style (or style_image, or blend) and optional "
            "output."
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the outputs and the summary (created if missing).")
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
            help="A blend for every video, as in render "
            '("muse=0.7,wave.jpg=0.3"; repeat for several); '
            "outputs are named VIDEO.muse70+wave30.SUFFIX."
        ),
    ] = None,
    method: MethodOption = Method.fast,
    strength: Strength = 1.0,
    preserve_color: PreserveColor = False,
    suffix: Annotated[str, typer.Option(help="Container of the outputs named VIDEO.STYLE.SUFFIX.")] = ".mp4",
    max_side: Annotated[
        int | None, typer.Option(help="Stylise at most this many pixels on the longer side.", min=16)
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Frames per network call.", min=1)] = 4,
    arch: Arch = "auto",
    compile: Compile = "auto",
    precision: Precision = "auto",
    crf: Annotated[int | None, typer.Option(help="Quality (x264 default 18).", min=0, max=63)] = None,
    preset: Annotated[str, typer.Option(help="x264 speed preset.")] = "medium",
    workers: Workers = None,
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster (auto, host:port, ray://...); default RAY_ADDRESS, else Ray starts embedded."),
    ] = None,
    vgg_weights: VggWeights = None,
    stabilize: Stabilize = 0.4,
    overwrite: Annotated[
        bool,
        typer.Option(
            help="Replace files at output paths that are not this batch's own "
            "outputs (its earlier outputs of the same input are redone when "
            "their input, style or settings changed, without it)."
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
    from vidstyle.files import space_checked
    from vidstyle.models.acceleration import check_compile_mode, check_precision
    from vidstyle.pipeline import batch as bt
    from vidstyle.pipeline.choice import check_strength, parse_blend
    from vidstyle.pipeline.render import RenderOptions
    from vidstyle.pipeline.shard import ShardOptions
    from vidstyle.pipeline.stylizers import Finish

    if not suffix.startswith("."):
        suffix = "." + suffix
    try:
        check_compile_mode(compile)
        check_precision(precision)
        check_strength(strength)
        if output.exists() and not output.is_dir():
            raise VidstyleError(f"{output} is a file; -o names the folder for the outputs.")
        for text in blend or []:
            parse_blend(text)  # a bad blend given for every video is the command's error, before any work
        items = bt.discover(inputs, style or [], style_image or [], output, suffix, blend or [])
        recipes = bt.build_recipes(
            [i for i in items if not i.error],
            vgg_weights,
            arch,
            _on_cpu(device, address, False),
            method.value,
            strength,
            preserve_color,
        )
        output.mkdir(parents=True, exist_ok=True)  # only once the inputs are known to be good
        options = RenderOptions(
            device=device,
            batch_size=batch_size,
            max_side=max_side,
            crf=crf,
            preset=preset,
            stabilize=_stabilize(stabilize),
            compile=compile,
            precision=precision,
            overwrite=overwrite,
            finish=Finish(strength, preserve_color and method == Method.fast),
        )
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
        ) as bar:
            overall = bar.add_task(f"{len(items)} outputs", total=len(items))
            tasks: dict[str, int] = {}

            def progress(label: str, done: int, total: int) -> None:
                if label not in tasks:
                    tasks[label] = bar.add_task(f"  {label}", total=total)
                bar.update(tasks[label], completed=done)

            def log(outcome) -> None:
                bar.advance(overall)
                label = f"  {Path(outcome.video).name} [{outcome.style}]"
                for key in [k for k in tasks if f"  {k}" == label]:
                    bar.remove_task(tasks.pop(key))
                bar.console.print(
                    f"{outcome.status:>7}  {Path(outcome.output).name}"
                    + (f"  ({outcome.error})" if outcome.error else ""),
                    highlight=False,
                    markup=False,
                )  # file names may hold [brackets]

            outcomes = bt.run_batch(
                items, recipes, options, ShardOptions(workers=workers, address=address), progress, log
            )
        with space_checked(output, 1 << 20):
            json_path, csv_path = bt.write_summary(outcomes, output)
    except VidstyleError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted; finished outputs are kept, run the same command again to do the rest.", code=130)
    table = Table("video", "style", "frames", "seconds", "status", "error", box=None)
    for o in outcomes:
        table.add_row(
            *(
                Text(cell)
                for cell in (Path(o.video).name, o.style, str(o.frames), f"{o.seconds:.1f}", o.status, o.error)
            )
        )  # Text: [brackets] in names are not markup
    Console().print(table)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "skipped", "failed")}
    typer.echo(
        f"{counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed; summary in "
        f"{json_path} and {csv_path}"
    )
    if counts["failed"]:
        raise typer.Exit(1)


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
    import json

    from vidstyle.temporal.evaluate import evaluate as run

    try:
        vgg = painting = None
        if style_image:
            from vidstyle.media.images import read_rgb, to_tensor
            from vidstyle.models.vgg import find_weights, load_state, load_vgg
            from vidstyle.nst.losses import JOHNSON

            painting = to_tensor(read_rgb(style_image))
            vgg = load_vgg(JOHNSON.all, load_state(find_weights(vgg_weights)))
        result = run(source, output, every, side, vgg, painting, frames)
    except VidstyleError as exc:
        fail(str(exc))
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


@app.command("train-code")
def train_code_command(
    style_image: Annotated[Path, typer.Option("--style-image", help="The painting.")],
    photos: Annotated[Path, typer.Option(help="Folder of training photos.")],
    name: Annotated[str, typer.Option(help="Style name (use with --style NAME).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The style file to write (NAME.vstyle).")],
    painting: Annotated[str, typer.Option(help="Title of the painting, for `styles show`.")] = "",
    artist: Annotated[str, typer.Option(help="The painter.")] = "",
    licence: Annotated[str, typer.Option(help="Licence of the painting's image.")] = "",
    exclude: Annotated[
        list[str] | None, typer.Option(help="Leave out photos matching this pattern (repeat), e.g. 'test_*'.")
    ] = None,
    steps: Annotated[int, typer.Option(help="Optimisation steps.", min=1)] = 100,
    batch_size: Annotated[int, typer.Option(help="Crops per step.", min=1)] = 2,
    crop: Annotated[int, typer.Option(help="Crop side, pixels.", min=32)] = 192,
    photo_side: Annotated[
        int,
        typer.Option(help="Photos and the painting's Gram targets at this long side: the size you render at.", min=64),
    ] = 480,
    lr: Annotated[float, typer.Option(help="Adam's learning rate.")] = 0.05,
    content_weight: Annotated[
        float, typer.Option(help="Weight of the content loss (relu2_2); raise it (3) where texture covers the subject.")
    ] = 1.0,
    style_weight: Annotated[
        float, typer.Option(help="Weight of the style loss (relative Gram distance over relu1_2..relu4_3).")
    ] = 20.0,
    tv_weight: Annotated[float, typer.Option(help="Weight of total variation.")] = 10.0,
    checkpoint_every: Annotated[int, typer.Option(help="Save OUTPUT.ckpt every N steps.", min=1)] = 25,
    seed: Annotated[int, typer.Option(help="Seed of the crops.")] = 0,
    resume: Annotated[bool, typer.Option(help="Go on from OUTPUT.ckpt.")] = False,
    vgg_weights: VggWeights = None,
    overwrite: Annotated[bool, typer.Option(help="Replace OUTPUT if it exists.")] = False,
) -> None:
    """Tune a style code for a painting: the arbitrary-style network's weights stay as shipped, the code of
    its conditional instance norms is optimised with perceptual losses. Minutes on a CPU; the result is a
    style (`--style NAME`) that also blends with paintings and other code styles."""
    import shlex

    from vidstyle.models import arbitrary
    from vidstyle.models.styles import StyleInfo, save_code_style
    from vidstyle.models.vgg import find_weights, load_state, load_vgg
    from vidstyle.nst.losses import JOHNSON
    from vidstyle.pipeline.choice import painting_code, read_painting
    from vidstyle.train.code import CodeTrainOptions, train_code
    from vidstyle.train.network import list_photos

    try:
        if output.exists() and not overwrite:
            raise VidstyleError(f"{output} already exists; pass --overwrite to replace it.")
        options = CodeTrainOptions(
            steps=steps,
            batch_size=batch_size,
            crop=crop,
            photo_side=photo_side,
            lr=lr,
            content_weight=content_weight,
            style_weight=style_weight,
            tv_weight=tv_weight,
            checkpoint_every=checkpoint_every,
            seed=seed,
        )
        art = read_painting(style_image)
        net = arbitrary.load()
        vgg = load_vgg(JOHNSON.all, load_state(find_weights(vgg_weights)))
        train_photos = list_photos(photos, exclude or [])

        def show(s) -> None:
            if s.step == 1 or s.step % 10 == 0 or s.step == steps:
                typer.echo(
                    f"step {s.step:>5}: style {s.style:.4f} content {s.content:.4f} tv {s.tv:.5f} ({s.seconds:.0f} s)"
                )

        code = train_code(vgg, net, art, train_photos, painting_code(net, art), output, options, resume, show)
        command = "vidstyle train-code " + shlex.join(sys.argv[2:]) if len(sys.argv) > 2 else "vidstyle train-code"
        save_code_style(
            StyleInfo(
                name=name,
                painting=painting,
                artist=artist,
                licence=licence,
                trained=f"{command} (code tuned on {len(train_photos)} photos; network: "
                "the shipped arbitrary-style network)",
            ),
            code,
            output,
        )
    except VidstyleError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted; run again with --resume to go on from the last checkpoint.", code=130)
    typer.echo(f"-> {output}")


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
    exclude: Annotated[
        list[str] | None, typer.Option(help="Leave out photos matching this pattern (repeatable), e.g. 'test_*'.")
    ] = None,
    steps: Annotated[int, typer.Option(help="Optimisation steps.", min=1)] = 2000,
    batch_size: Annotated[int, typer.Option(help="Crops per step.", min=1)] = 4,
    crop: Annotated[int, typer.Option(help="Crop side in pixels.", min=16)] = 256,
    photo_size: Annotated[
        int,
        typer.Option(
            help="Scale each photo so its shorter side is this many pixels "
            "before cropping (0: as they are). Sets the scale the network "
            "learns strokes at.",
            min=0,
        ),
    ] = 0,
    lr: Annotated[float, typer.Option(help="Adam's learning rate.")] = 1e-3,
    content_weight: ContentWeight = 1.0,
    style_weight: StyleWeight = 5.0,
    tv_weight: TvWeight = 1.0,
    content_layer: Annotated[
        str,
        typer.Option(
            help="VGG layer of the content loss: relu2_2 (Johnson's) keeps "
            "pixels close; relu3_3 or relu4_3 keep shapes and free the "
            "texture."
        ),
    ] = "relu2_2",
    style_size: Annotated[
        int, typer.Option(help="The painting's longer side for its Gram matrices: larger gives finer strokes.", min=32)
    ] = 512,
    arch: Annotated[
        str,
        typer.Option(
            help="full: Johnson's network (32 channels first); lite: half the "
            "channels, about 3x faster on CPU. Name a lite style NAME-lite and "
            "render picks it on CPU."
        ),
    ] = "full",
    base: Annotated[
        int | None,
        typer.Option(help="First-layer width, overriding --arch (tests train tiny networks).", min=2, hidden=True),
    ] = None,
    checkpoint_every: Annotated[int, typer.Option(help="Save a checkpoint every N steps.", min=1)] = 200,
    preview: Annotated[
        list[Path] | None, typer.Option(help="Held-out photo to stylise every --checkpoint-every steps (repeatable).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed: same seed, same options, same network.")] = 0,
    init: Annotated[
        str | None,
        typer.Option(
            help="Start from this style's network (name or .vstyle) instead "
            "of random weights: a new painting then needs far fewer "
            "steps."
        ),
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue from OUTPUT.ckpt (same options; --steps may grow).")] = False,
    painting: Annotated[str, typer.Option(help="Title of the painting, for `vidstyle styles`.")] = "",
    artist: Annotated[str, typer.Option(help="The painter.")] = "",
    licence: Annotated[str, typer.Option(help="Licence of the trained weights.")] = "",
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    workers: Annotated[
        int | None,
        typer.Option(
            help="Train on this many Ray Train workers (one GPU each when "
            "the cluster has GPUs), averaging their gradients; needs "
            "vidstyle[train].",
            min=1,
        ),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to train on (implies --workers 1 unless "
            "given); default RAY_ADDRESS with --workers, else Ray starts "
            "embedded."
        ),
    ] = None,
    vgg_weights: VggWeights = None,
    overwrite: Annotated[bool, typer.Option(help="Replace OUTPUT if it exists.")] = False,
) -> None:
    """Train a feed-forward style network for one painting (Johnson et al. 2016).

    Perceptual losses (relative, per layer) on VGG relu1_2..relu4_3, Adam, random crops and flips.
    Progress shows the losses; checkpoints let an interrupted run go on with --resume, exactly as if it
    had not stopped. The result is saved in half precision with the command that made it.
    """
    import shlex
    import time

    from vidstyle.media.images import read_rgb
    from vidstyle.models.devices import resolve_device
    from vidstyle.models.styles import ARCH_BASE, StyleInfo, load_network, resolve_style, save_style
    from vidstyle.models.vgg import find_weights, load_state, load_vgg
    from vidstyle.nst.losses import JOHNSON
    from vidstyle.train.network import TrainOptions, list_photos
    from vidstyle.train.network import train as run_training

    started = time.perf_counter()
    if arch not in ARCH_BASE:
        fail(f"--arch must be one of {', '.join(ARCH_BASE)}, not {arch!r}.")
    base = base or ARCH_BASE[arch]
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
        base=base,
        checkpoint_every=checkpoint_every,
        preview_every=checkpoint_every,
        seed=seed,
    )
    try:
        if output.exists() and not overwrite and not resume:
            raise VidstyleError(f"{output} already exists; pass --overwrite to replace it.")
        if output.suffix != ".vstyle":
            raise VidstyleError(f"{output}: a style file must end in .vstyle.")
        photo_list = list_photos(photos, exclude or [])
        start = load_network(resolve_style(init)).state_dict() if init else None
        if workers or address:
            from vidstyle.train.distributed import train_on_ray

            net, where = train_on_ray(
                load_state(find_weights(vgg_weights)),
                read_rgb(style_image),
                photo_list,
                output,
                options,
                workers or 1,
                device,
                address,
                resume,
                start,
            )
        else:
            dev = resolve_device(device)
            where = dev.type
            vgg = load_vgg(JOHNSON.all, load_state(find_weights(vgg_weights)))
            with Progress(
                TextColumn("[bold]training"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[losses]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=err,
            ) as bar:
                task = bar.add_task("train", total=steps, losses="")

                def step(losses) -> None:
                    text = f"content {losses.content:.3f} style {losses.style:.3f} tv {losses.tv:.3f}"
                    bar.update(task, completed=losses.step, losses=text)
                    if losses.step % checkpoint_every == 0 or losses.step == steps:
                        bar.console.print(f"step {losses.step:>6}: {text}  total {losses.total:.3f}", highlight=False)

                net = run_training(
                    vgg, read_rgb(style_image), photo_list, output, options, dev, resume, preview, step, init=start
                )
        command = "vidstyle " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        info = StyleInfo(
            name=name,
            painting=painting,
            artist=artist,
            licence=licence,
            base=base,
            trained=f"{command}  ({len(photo_list)} photos, {where}, {time.perf_counter() - started:.0f} s)",
        )
        save_style(info, net.cpu(), output, half=True)
    except VidstyleError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted; the last checkpoint is kept: add --resume to go on.", code=130)
    typer.echo(f"trained {name!r} in {time.perf_counter() - started:.0f} s -> {output}")


@app.command("evaluate-style")
def evaluate_style(
    styles: Annotated[list[str], typer.Argument(help="Styles to compare (names or .vstyle files).")],
    style_image: Annotated[Path, typer.Option("--style-image", help="The painting they imitate.")],
    photos: Annotated[Path, typer.Option(help="A folder of held-out photos.")],
    include: Annotated[str, typer.Option(help="Only photos matching this pattern.")] = "*",
    size: Annotated[int, typer.Option(help="Photos are scored at this size (longer side).", min=32)] = 256,
    sheet: Annotated[Path | None, typer.Option(help="Also write a contact sheet: photo | each style.")] = None,
    sheet_photos: Annotated[int, typer.Option(help="Photos on the sheet.", min=1)] = 6,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    vgg_weights: VggWeights = None,
) -> None:
    """Style loss to the painting and content loss to the photo, averaged over held-out photos: the same
    layers and losses as training, so networks trained anyhow can be compared side by side."""
    import fnmatch

    from vidstyle.media.images import read_rgb, to_tensor, write_rgb
    from vidstyle.models.devices import resolve_device
    from vidstyle.models.styles import load_network, resolve_style
    from vidstyle.models.vgg import find_weights, load_state, load_vgg
    from vidstyle.nst.losses import JOHNSON
    from vidstyle.temporal.evaluate import score_style
    from vidstyle.train.network import list_photos

    try:
        dev = resolve_device(device)
        chosen = [p for p in list_photos(photos, []) if fnmatch.fnmatch(p.name, include)]
        if not chosen:
            raise VidstyleError(f"no photo in {photos} matches {include!r}.")
        vgg = load_vgg(JOHNSON.all, load_state(find_weights(vgg_weights))).to(dev)
        painting = to_tensor(read_rgb(style_image))
        table = Table("style", "style loss", "content loss", "× first (style)", "× first (content)", box=None)
        columns = []
        first = None
        for name in styles:
            kept: list = []
            net = load_network(resolve_style(name)).to(dev)
            s, c = score_style(net, vgg, painting, chosen, size, dev, kept)
            first = first or (s, c)
            table.add_row(name, f"{s:.4f}", f"{c:.4f}", f"{s / first[0]:.2f}", f"{c / first[1]:.2f}")
            columns.append((name, kept[:sheet_photos]))
        Console().print(table)
        typer.echo(f"{len(chosen)} photos at {size} px")
        if sheet:
            import numpy as np

            from vidstyle.pipeline.preview import contact_sheet

            rows = [
                (p.stem, [read_rgb(p), *[kept[i] for _, kept in columns]]) for i, p in enumerate(chosen[:sheet_photos])
            ]
            picture = contact_sheet(rows, ["photo", *styles], 200)
            write_rgb(sheet, np.asarray(picture))
            typer.echo(f"sheet -> {sheet} (columns: photo, {', '.join(styles)})")
    except VidstyleError as exc:
        fail(str(exc))


if __name__ == "__main__":
    sys.exit(app())
