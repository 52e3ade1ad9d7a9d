"""One picture painted: the same choices and the same frame filter as a render, or Gatys et al.'s
optimisation (`method` nst) with its losses reported and its progress saved as it goes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from vidstyle.checks import whole_number
from vidstyle.files import refuse_existing, space_checked
from vidstyle.media.images import check_writable, read_rgb, to_tensor, to_uint8, write_rgb
from vidstyle.models.devices import resolve_device
from vidstyle.models.vgg import perceptual_vgg
from vidstyle.nst.gatys import StepCallback, transfer
from vidstyle.nst.losses import GATYS
from vidstyle.options import NSTOptions, StyleChoice
from vidstyle.pipeline.choice import checked, make_recipe, read_painting
from vidstyle.pipeline.stylizers import Finish, stylize_still
from vidstyle.pixels import check_rgb, resize_rgb


def stylize_image(
    photo: str | Path | np.ndarray,
    choice: StyleChoice,
    *,
    size: int | None = None,
    max_side: int | None = None,
    device: str = "auto",
    nst: NSTOptions | None = None,
    on_step: StepCallback | None = None,
) -> np.ndarray:
    """The photo (a file or uint8 RGB) painted as `choice` says, as uint8 RGB.

    `size`: the result's long side (default: the photo's own; `nst.size`, 384, with nst). `max_side`: paint at
    most this large and scale back (default: a painting's code paints at 480 px, as `render` does). With
    nst, `on_step(losses, current)` is called after every iteration. A photo, options or a choice of the
    wrong kind is a TypeError or ValueError naming it; one the CLI would refuse, its one line (VidstyleError)."""
    checked(choice)
    if size is not None:
        whole_number(size, "--size", 32, name="size")
    if max_side is not None:
        whole_number(max_side, "--max-side", 16, name="max_side")
    if nst is not None and not isinstance(nst, NSTOptions):
        raise TypeError(f"nst must be an NSTOptions, not {type(nst).__name__}.")
    nst = nst or NSTOptions()
    nst.check()
    if isinstance(photo, (str, Path)):
        image = check_rgb(read_rgb(photo), str(photo))
    else:
        image = check_rgb(photo, "photo")
    dev = resolve_device(device)
    if choice.method == "nst":
        options = replace(nst, size=size or nst.size, preserve_color=choice.preserve_color)
        options.check()
        painting = to_tensor(read_painting(Path(str(choice.style_image))), dev)
        vgg = perceptual_vgg(GATYS.all, nst.vgg_weights).to(dev)
        result = to_uint8(transfer(vgg, to_tensor(image, dev), painting, options, on_step))
        if choice.strength < 1.0:  # NST has no style code: strength mixes the result with the photo
            source = cv2.resize(image, result.shape[1::-1], interpolation=cv2.INTER_AREA)
            result = Finish(choice.strength).apply(source, result, mix=choice.strength)
        return result
    if size:
        image = resize_rgb(image, size, enlarge=True)
    return stylize_still(make_recipe(choice, lambda: [image]), image, dev, max_side)


def stylize_image_file(
    photo: str | Path,
    output: str | Path,
    choice: StyleChoice,
    *,
    overwrite: bool = False,
    checkpoint_every: int = 0,
    on_step: StepCallback | None = None,
    **settings,
) -> np.ndarray:
    """`stylize_image` from file to file: `output` is checked before any work and written whole (never
    replaced unless `overwrite`); with nst, `OUTPUT_N.EXT` is saved every `checkpoint_every` iterations."""
    output = Path(output)
    refuse_existing(output, overwrite)
    check_writable(output)
    last = (settings.get("nst") or NSTOptions()).iterations

    def step(losses, current) -> None:
        if checkpoint_every and losses.step % checkpoint_every == 0 and losses.step != last:
            image = to_uint8(current())
            with space_checked(output.parent, 2 * image.nbytes):
                write_rgb(checkpoint_path(output, losses.step), image)
        if on_step:
            on_step(losses, current)

    result = stylize_image(photo, choice, on_step=step, **settings)
    with space_checked(output.parent, result.nbytes):  # a full disk: one line, as render's
        write_rgb(output, result)
    return result


def checkpoint_path(output: Path, step: int) -> Path:
    return output.with_name(f"{output.stem}_{step}{output.suffix}")
