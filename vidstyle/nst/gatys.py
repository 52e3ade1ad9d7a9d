"""Optimisation-based style transfer (Gatys et al. 2016): the image itself is optimised against VGG losses.

No trained network is needed, so any painting works; it is the slow, high-quality path for single images,
previews, and the keyframes of `render --style-image`. Coarse to fine: the result is optimised small,
upsampled and refined, which finds large-scale structure in cheap iterations (the source documents go
from 300x200 to 1200x800).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
import torch.nn.functional as F

from vidstyle.models.vgg import VGGFeatures
from vidstyle.nst.losses import (
    GATYS,
    Terms,
    content_loss,
    resize_long_side,
    style_loss,
    style_targets,
    tv_loss,
)
from vidstyle.options import NSTOptions
from vidstyle.pixels import LUMA

#: Called after each iteration with its losses and a function that returns the current image (1x3xHxW).
StepCallback = Callable[[Terms, Callable[[], torch.Tensor]], None]


def level_sizes(options: NSTOptions) -> list[int]:
    return [options.size >> (options.levels - 1 - i) for i in range(options.levels)]


def level_iterations(options: NSTOptions) -> list[int]:
    base, extra = divmod(options.iterations, options.levels)
    return [base + (1 if i < extra else 0) for i in range(options.levels)]


def optimise(
    vgg: VGGFeatures,
    content: torch.Tensor,
    style: torch.Tensor,
    init: torch.Tensor,
    iterations: int,
    options: NSTOptions,
    on_step: StepCallback | None = None,
    first_iteration: int = 1,
) -> torch.Tensor:
    """One level: optimise `init` (1x3xHxW in [0, 1], the size of `content`) for `iterations` steps.

    The style image is scaled to the content's longer side, so brush strokes keep their size relative to
    the result. L-BFGS works on unclamped pixels (clamping would corrupt its curvature history); the
    result is clamped at the end.
    """
    layers = GATYS
    with torch.no_grad():
        target_content = vgg(content)[layers.content]
    grams = style_targets(vgg, resize_long_side(style, max(content.shape[-2:])), layers)
    image = init.detach().clone().requires_grad_(True)
    if options.optimizer == "lbfgs":
        optimizer: torch.optim.Optimizer = torch.optim.LBFGS([image], lr=1, max_iter=1, history_size=50)
    else:
        optimizer = torch.optim.Adam([image], lr=options.lr)
    last: list[Terms] = []

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        feats = vgg(image)
        c = options.content_weight * content_loss(feats[layers.content], target_content).sum()
        s = options.style_weight * style_loss(feats, grams).sum()
        t = options.tv_weight * tv_loss(image).sum()
        total = c + s + t
        total.backward()
        last[:] = [Terms(0, c.item(), s.item(), t.item())]
        return total

    for i in range(iterations):
        # torch types a closure as returning a float; LBFGS takes the loss tensor (it calls float() on it)
        optimizer.step(cast("Callable[[], float]", closure))
        if options.optimizer == "adam":
            with torch.no_grad():
                image.clamp_(0, 1)
        if on_step:
            losses = last[0]
            losses.step = first_iteration + i
            on_step(losses, lambda: image.detach().clamp(0, 1))
    return image.detach().clamp_(0, 1)


def transfer(
    vgg: VGGFeatures,
    content: torch.Tensor,
    style: torch.Tensor,
    options: NSTOptions,
    on_step: StepCallback | None = None,
    init: torch.Tensor | None = None,
) -> torch.Tensor:
    """Stylise `content` (1x3xHxW in [0, 1]) at `options.size`, coarse to fine; returns that size.

    `init` (any size) replaces the content/noise start, as keyframes of a video start from the previous
    keyframe's result.
    """
    options.check()
    full = resize_long_side(content, options.size)
    if on_step:  # checkpoints show what the result would be: full size, colours kept if asked
        report = on_step

        def finished(current: Callable[[], torch.Tensor]) -> torch.Tensor:
            image = F.interpolate(current(), size=full.shape[-2:], mode="bilinear", align_corners=False)
            return keep_colors(image, full) if options.preserve_color else image

        def on_step(losses: Terms, current: Callable[[], torch.Tensor]) -> None:
            report(losses, lambda: finished(current))

    generator = torch.Generator(device="cpu").manual_seed(options.seed)
    image = None
    done = 0
    for size, steps in zip(level_sizes(options), level_iterations(options)):
        target = resize_long_side(full, size)
        if image is None:
            if init is not None:
                image = F.interpolate(init, size=target.shape[-2:], mode="bilinear", align_corners=False)
            elif options.init == "noise":
                noise = torch.rand(target.shape, generator=generator).to(target.device)
                image = 0.5 * target + 0.5 * noise  # pure noise converges too slowly to be useful
            else:
                image = target.clone()
        else:
            image = F.interpolate(image, size=target.shape[-2:], mode="bilinear", align_corners=False)
        image = optimise(vgg, target, style, image, steps, options, on_step, done + 1)
        done += steps
    assert image is not None  # check() fails below one level (its size shift), so the loop ran
    if options.preserve_color:
        image = keep_colors(image, full)
    return image


def _ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    y = LUMA[0] * r + LUMA[1] * g + LUMA[2] * b
    return torch.stack([y, (b - y) * 0.564 + 0.5, (r - y) * 0.713 + 0.5], 1)


def _rgb(ycc: torch.Tensor) -> torch.Tensor:
    y, cb, cr = ycc[:, 0], ycc[:, 1] - 0.5, ycc[:, 2] - 0.5
    r = y + 1.403 * cr
    b = y + 1.773 * cb
    g = (y - LUMA[0] * r - LUMA[2] * b) / LUMA[1]
    return torch.stack([r, g, b], 1).clamp(0, 1)


def keep_colors(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Luminance transfer (Gatys et al. 2017, "Preserving colour"): the result's Y with the photo's CbCr."""
    ycc = _ycbcr(content)
    ycc[:, 0] = _ycbcr(stylized)[:, 0]
    return _rgb(ycc)
