"""A training run as a user asks for it: photos listed, VGG loaded, the loop run (here or on Ray Train),
and the style saved with who painted it and the command that made it, so `vidstyle styles show` can say."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from vidstyle.checks import check_name
from vidstyle.errors import VidstyleError
from vidstyle.files import refuse_existing
from vidstyle.media.images import list_photos, read_rgb
from vidstyle.models import arbitrary
from vidstyle.models.devices import resolve_device
from vidstyle.models.styles import (
    StyleInfo,
    load_code,
    load_network,
    resolve_style,
    save_code_style,
    save_style,
)
from vidstyle.models.vgg import find_weights, load_state, perceptual_vgg
from vidstyle.nst.losses import JOHNSON, Terms
from vidstyle.options import Credits
from vidstyle.pipeline.choice import painting_code, read_painting
from vidstyle.train.code import CodeStep, CodeTrainOptions, train_code
from vidstyle.train.network import TrainOptions, train


def _check_output(output: Path, overwrite: bool, resume: bool) -> None:
    refuse_existing(output, overwrite or resume)
    if output.suffix != ".vstyle":
        raise VidstyleError(f"{output}: a style file must end in .vstyle.")


def train_style(
    painting: Path,
    photos: Path,
    output: Path,
    credits: Credits,
    options: TrainOptions | None = None,
    *,
    exclude: list[str] | None = None,
    init: str | None = None,
    previews: list[Path] | None = None,
    device: str = "auto",
    workers: int | None = None,
    address: str | None = None,
    vgg_weights: Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    on_step: Callable[[Terms], None] | None = None,
) -> Path:
    """Train a Johnson network for `painting` on `photos` and save it as a `.vstyle` (fp16) at `output`.

    `workers` or `address` run the same loop on Ray Train workers; `init` starts from another style's
    network; `resume` goes on from `OUTPUT.ckpt` exactly as if the run had not stopped."""
    started = time.perf_counter()
    options = options or TrainOptions()
    check_name(credits.name)
    options.check()  # before photos, VGG or Ray are loaded
    _check_output(output, overwrite, resume)
    photo_list = list_photos(photos, exclude or [])
    start = load_network(resolve_style(init)).state_dict() if init else None
    if workers or address:
        from vidstyle.options import ShardOptions
        from vidstyle.train.distributed import train_on_ray

        address = ShardOptions(address=address).resolved().address  # RAY_ADDRESS, read once here

        state = load_state(find_weights(vgg_weights))
        net, where = train_on_ray(
            state, read_rgb(painting), photo_list, output, options, workers or 1, device, address, resume, start
        )
    else:
        dev = resolve_device(device)
        where = dev.type
        vgg = perceptual_vgg(JOHNSON.all, vgg_weights)
        net = train(vgg, read_rgb(painting), photo_list, output, options, dev, resume, previews, on_step, init=start)
    info = StyleInfo(
        name=credits.name,
        painting=credits.painting,
        artist=credits.artist,
        licence=credits.licence,
        base=options.base,
        trained=f"{credits.made_by}  ({len(photo_list)} photos, {where}, {time.perf_counter() - started:.0f} s)",
    )
    return save_style(info, net.cpu(), output, half=True)


def train_code_style(
    painting: Path,
    photos: Path,
    output: Path,
    credits: Credits,
    options: CodeTrainOptions | None = None,
    *,
    exclude: list[str] | None = None,
    vgg_weights: Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    on_step: Callable[[CodeStep], None] | None = None,
    init: str | None = None,
) -> Path:
    """Tune a style code for `painting` (the shipped arbitrary-style network stays as it is) and save it as a
    `.vstyle` at `output`: minutes on a CPU, and the result blends with paintings and other codes. `init`: a
    code style (built-in name or .vstyle path) to start from instead of the code read off the painting."""
    options = options or CodeTrainOptions()
    check_name(credits.name)
    options.check()
    refuse_existing(output, overwrite)
    art = read_painting(painting)
    net = arbitrary.load()
    vgg = perceptual_vgg(JOHNSON.all, vgg_weights)
    train_photos = list_photos(photos, exclude or [])
    start = load_code(resolve_style(init)) if init else painting_code(net, art)
    code = train_code(vgg, net, art, train_photos, start, output, options, resume, on_step)
    info = StyleInfo(
        name=credits.name,
        painting=credits.painting,
        artist=credits.artist,
        licence=credits.licence,
        trained=f"{credits.made_by} (code tuned on {len(train_photos)} photos; network: the shipped "
        "arbitrary-style network)",
    )
    return save_code_style(info, code, output)
