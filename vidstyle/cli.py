"""The `vidstyle` command: a thin layer over functions the tests call directly.

Every failure a user can fix is a `VidstyleError`, printed as one line on stderr with exit status 1.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path
from typing import Annotated, Optional

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

from . import __version__
from .errors import VidstyleError

app = typer.Typer(
    help="Turn videos into paintings: feed-forward neural style transfer with audio, frame rate and "
    "timestamps kept.",
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


def _terminate(signum, frame):  # SIGTERM behaves like Ctrl-C: temporaries are removed on the way out
    raise KeyboardInterrupt


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"vidstyle {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    signal.signal(signal.SIGTERM, _terminate)


def _human_size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


@styles_app.callback()
def styles_list(ctx: typer.Context) -> None:
    """List installed styles: name, painting, artist, network file and size."""
    if ctx.invoked_subcommand:
        return
    from .styles import installed_styles, user_dir

    styles = installed_styles()
    if not styles:
        typer.echo(f"No styles installed. Import one with `vidstyle styles import`; user styles live in {user_dir()}.")
        return
    table = Table("name", "painting", "artist", "file", "size", box=None)
    for name, info in sorted(styles.items()):
        table.add_row(name, info.painting, info.artist, str(info.path), _human_size(info.path.stat().st_size))
    Console().print(table)


@styles_app.command("import")
def styles_import(
    folder: Annotated[Path, typer.Argument(help="A deeplearn.js export of a TensorFlow fast-style-transfer "
                                           "network: manifest.json and its Variable files.")],
    name: Annotated[str, typer.Option(help="Name to use with `render --style NAME`.")],
    painting: Annotated[str, typer.Option(help="Title of the painting the network was trained on.")] = "",
    artist: Annotated[str, typer.Option(help="The painter.")] = "",
    licence: Annotated[str, typer.Option(help="Licence of the network's weights.")] = "unknown",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the style here instead of "
                                                   "the user style directory.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing style of that name.")] = False,
) -> None:
    """Convert a TensorFlow fast-style-transfer network into a vidstyle style."""
    from .styles import SUFFIX, StyleInfo, import_deeplearnjs, save_style, user_dir

    try:
        target = output or user_dir() / f"{name}{SUFFIX}"
        if target.exists() and not overwrite:
            raise VidstyleError(f"{target} already exists; pass --overwrite to replace it.")
        info = StyleInfo(name=name, painting=painting, artist=artist, licence=licence,
                         trained=f"imported from TensorFlow fast-style-transfer export {folder.resolve()}")
        net = import_deeplearnjs(folder, info)
        save_style(info, net, target)
    except VidstyleError as exc:
        fail(str(exc))
    typer.echo(f"imported {name!r} -> {target}")


# Options shared by `image` and `render --style-image` (Gatys et al. optimisation)
StyleImage = Annotated[Optional[Path], typer.Option(
    "--style-image", help="A painting to imitate, any image file: no trained network needed (NST).")]
VggWeights = Annotated[Optional[Path], typer.Option(
    help="torchvision-layout VGG16/VGG19 ImageNet weights for the losses; default $VIDSTYLE_VGG_WEIGHTS, then "
    "torchvision's file in the torch.hub cache ($TORCH_HOME), else a download when online.")]
Optimizer = Annotated[str, typer.Option(help="lbfgs (fewer iterations) or adam.")]
ContentWeight = Annotated[float, typer.Option(help="Weight of keeping the photo's content (relu4_2).")]
StyleWeight = Annotated[float, typer.Option(help="Weight of matching the painting's textures (Gram matrices of "
                                            "relu1_1..relu4_1). Losses are relative per layer, so the same "
                                            "weights suit any VGG checkpoint.")]
TvWeight = Annotated[float, typer.Option(help="Weight of smoothness (total variation).")]
Levels = Annotated[int, typer.Option(help="Coarse-to-fine levels, each twice the size of the one before.",
                                     min=1, max=5)]
PreserveColor = Annotated[bool, typer.Option(help="Keep the photo's colours; take only texture and tone.")]
Seed = Annotated[int, typer.Option(help="Seed for --init noise.")]


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("frames"),
        TextColumn("{task.fields[fps]:>6.1f} fps"), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(), console=err, transient=False,
    )


@app.command()
def image(
    source: Annotated[Path, typer.Argument(help="The photo to paint.")],
    style_image: Annotated[Path, typer.Option("--style-image", help="The painting to imitate.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Result image (.png, .jpg, ...).")],
    size: Annotated[int, typer.Option(help="Longer side of the result, in pixels.", min=32)] = 384,
    iterations: Annotated[int, typer.Option(help="Optimisation steps in all, split over the levels.",
                                            min=1)] = 300,
    checkpoint_every: Annotated[int, typer.Option(help="Also save OUTPUT_N.png every N iterations (0: never), "
                                                  "to stop early when it looks right.", min=0)] = 0,
    levels: Levels = 2,
    optimizer: Optimizer = "lbfgs",
    content_weight: ContentWeight = 1.0,
    style_weight: StyleWeight = 10.0,
    tv_weight: TvWeight = 10.0,
    init: Annotated[str, typer.Option(help="Start from the photo (content) or from noise.")] = "content",
    preserve_color: PreserveColor = False,
    vgg_weights: VggWeights = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    seed: Seed = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace the output file if it exists.")] = False,
) -> None:
    """Paint one photo in the manner of a painting by optimising the image itself (Gatys et al.).

    Slow but needs no trained network. Losses (content, style, total variation) are printed as it goes;
    with --checkpoint-every the image so far is saved too, so you can stop when it looks right.
    """
    import time

    from .imagefile import check_writable, read_rgb, to_tensor, to_uint8, write_rgb
    from .nst import NSTOptions, transfer
    from .render import resolve_device
    from .vgg import find_weights, load_state, load_vgg

    try:
        if output.exists() and not overwrite:
            raise VidstyleError(f"{output} already exists; pass --overwrite to replace it.")
        check_writable(output)
        options = NSTOptions(size=size, iterations=iterations, levels=levels, optimizer=optimizer,
                             content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight,
                             init=init, preserve_color=preserve_color, seed=seed)
        options.check()
        dev = resolve_device(device)
        photo, painting = to_tensor(read_rgb(source), dev), to_tensor(read_rgb(style_image), dev)
        vgg = load_vgg(options.layers.all, load_state(find_weights(vgg_weights))).to(dev)
        started = time.perf_counter()

        def step(losses, current) -> None:
            i = losses.iteration
            if i == 1 or i == iterations or (checkpoint_every and i % checkpoint_every == 0):
                line = (f"iteration {i:>5}: content {losses.content:.4f}  style {losses.style:.4f}  "
                        f"tv {losses.tv:.4f}  total {losses.total:.4f}  ({time.perf_counter() - started:.1f} s)")
                if checkpoint_every and i % checkpoint_every == 0 and i != iterations:
                    path = output.with_name(f"{output.stem}_{i}{output.suffix}")
                    write_rgb(path, to_uint8(current()))
                    line += f" -> {path}"
                typer.echo(line)

        result = transfer(vgg, photo, painting, options, step)
        write_rgb(output, to_uint8(result))
    except VidstyleError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted; checkpoints already written are kept.", code=130)
    h, w = result.shape[-2:]
    typer.echo(f"{w}x{h} in {time.perf_counter() - started:.1f} s -> {output}")


@app.command()
def render(
    source: Annotated[Path, typer.Argument(help="Input video (anything FFmpeg reads).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output video; the container follows the "
                                         "extension: .mp4, .mov, .mkv (H.264) or .webm (VP9).")],
    style: Annotated[Optional[str], typer.Option("--style", "-s", help="Installed style name (see `vidstyle "
                                                 "styles`) or a .vstyle file.")] = None,
    style_image: StyleImage = None,
    max_side: Annotated[Optional[int], typer.Option(help="Stylise at most this many pixels on the longer "
                                                    "side, then scale back to the source size (faster, "
                                                    "coarser brush strokes).", min=16)] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Frames per network call.", min=1)] = 4,
    crf: Annotated[Optional[int], typer.Option(help="Quality: lower is better and bigger (x264 default 18, "
                                               "VP9 32).", min=0, max=63)] = None,
    preset: Annotated[str, typer.Option(help="x264 speed preset (ultrafast ... veryslow).")] = "medium",
    overwrite: Annotated[bool, typer.Option(help="Replace the output file if it exists.")] = False,
    workers: Annotated[Optional[int], typer.Option(help="Ray actors, each holding the network: default one "
                                                   "per GPU, else one per 2 CPUs.", min=1)] = None,
    address: Annotated[Optional[str], typer.Option(help="Ray cluster to run on (ray://head:10001, auto, "
                                                   "host:port); default RAY_ADDRESS, else Ray starts "
                                                   "embedded on this machine.")] = None,
    no_ray: Annotated[bool, typer.Option("--no-ray", help="One process, no Ray: for debugging, and the "
                                         "reference the sharded path matches byte for byte.")] = False,
    keyframe_every: Annotated[int, typer.Option(help="--style-image: at most this many frames between "
                                                "optimised keyframes (shot changes add more).", min=1)] = 12,
    iterations: Annotated[int, typer.Option(help="--style-image: optimisation steps for a shot's first "
                                            "keyframe; later keyframes start from the previous one and take "
                                            "half.", min=2)] = 200,
    levels: Levels = 2,
    optimizer: Optimizer = "lbfgs",
    content_weight: ContentWeight = 1.0,
    style_weight: StyleWeight = 10.0,
    tv_weight: TvWeight = 10.0,
    preserve_color: PreserveColor = False,
    vgg_weights: VggWeights = None,
) -> None:
    """Stylise every frame of a video; audio, frame rate and timestamps are kept.

    With --style, a trained network paints every frame. With --style-image, any painting works: keyframes
    are optimised (Gatys et al., at 384 px unless --max-side says otherwise) and the frames between are
    carried from them along optical flow; slow, but no training needed.

    The timeline is cut at keyframes into segments that Ray actors decode, stylise and encode in parallel;
    the parts are joined without re-encoding. The output is written beside the target under a temporary name
    and renamed only when complete. A damaged input is stylised as far as it decodes, with a warning that
    says how many frames were lost.
    """
    from .render import RenderOptions
    from .styles import resolve_style

    if no_ray:
        from .render import render as run_render
    else:
        from functools import partial

        from .shard import ShardOptions, render_sharded

        run_render = partial(render_sharded, shard=ShardOptions(workers=workers, address=address))

    options = RenderOptions(device=device, batch_size=batch_size, max_side=max_side, crf=crf, preset=preset,
                            overwrite=overwrite)
    try:
        if (style is None) == (style_image is None):
            raise VidstyleError("give either --style NAME (a trained network) or --style-image PAINTING.")
        if style_image is not None:
            from .imagefile import read_rgb
            from .keyframes import KeyframeOptions
            from .nst import NSTOptions
            from .stylizers import ImageRecipe

            nst = NSTOptions(size=384, iterations=iterations, levels=levels, optimizer=optimizer,
                             content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight,
                             preserve_color=preserve_color)
            nst.check()
            recipe = ImageRecipe.of(read_rgb(style_image), vgg_weights, nst,
                                    KeyframeOptions(every=keyframe_every, warm_iterations=iterations // 2))
        else:
            recipe = resolve_style(style)
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
        typer.echo(f"{len(costs)} keyframes optimised at {times} s; {sum(costs) / len(costs):.1f} s each on "
                   f"average (first {costs[0]:.1f} s, {sum(costs):.1f} s in all)")
    typer.echo(
        f"{report.frames_out}/{report.frames_in} frames, {report.duration_out:.2f} s of video "
        f"(source {report.duration_in:.2f} s), audio packets out/in {audio}, "
        f"in {report.wall_seconds:.1f} s ({report.fps:.2f} fps) -> {output}"
    )


if __name__ == "__main__":
    sys.exit(app())
