"""Perceptual losses (Gatys et al. 2016; Johnson et al. 2016), normalised per layer.

Each layer's loss is relative to the size of its target: the content loss divides by the mean square of the
content features, the style loss by the squared norm of the style Gram matrix. Activations of different VGG
checkpoints differ by two orders of magnitude (the shared Caffe VGG16 against torchvision's), and Gram
matrices by the square of that; relative losses are the same for both, so one set of default weights works
with either, and a layer with big activations cannot drown the others. The same functions serve image
optimisation, training, and evaluation, so their numbers are comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vidstyle.models.vgg import VGGFeatures
from vidstyle.pixels import fit_long_side
from vidstyle.vgg_layers import GATYS, JOHNSON, LayerSet  # noqa: F401  (the losses' layers, named in vgg_layers.py)


@dataclass
class Terms:
    """The weighted loss terms of one optimisation step, as optimised (total = content + style + tv)."""

    step: int
    content: float
    style: float
    tv: float

    @property
    def total(self) -> float:
        return self.content + self.style + self.tv


def gram(features: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C) channel correlations, averaged over positions so image size cancels."""
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


def style_targets(vgg: VGGFeatures, style: torch.Tensor, layers: LayerSet) -> dict[str, torch.Tensor]:
    """Gram matrices of a style image (1, 3, H, W in [0, 1]), computed once per size."""
    with torch.no_grad():
        feats = vgg(style)
        return {name: gram(feats[name]) for name in layers.style}


def style_loss(feats: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean over layers of ||G - T||^2 / ||T||^2, per image: shape (N,)."""
    losses = []
    for name, target in targets.items():
        g = gram(feats[name])
        losses.append(((g - target) ** 2).sum(dim=(1, 2)) / (target**2).sum(dim=(1, 2)))
    return torch.stack(losses).mean(0)


def content_loss(feats: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean square feature difference over the target's mean square, per image: shape (N,)."""
    dims = (1, 2, 3)
    return ((feats - target) ** 2).mean(dims) / (target**2).mean(dims).clamp_min(1e-12)


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of neighbouring pixels (image in [0, 1]), per image: shape (N,)."""
    dy = (image[:, :, 1:, :] - image[:, :, :-1, :]) ** 2
    dx = (image[:, :, :, 1:] - image[:, :, :, :-1]) ** 2
    return dy.mean((1, 2, 3)) + dx.mean((1, 2, 3))


def laplacian_loss(image: torch.Tensor, target: torch.Tensor, pool: int = 4) -> torch.Tensor:
    """Li et al. 2017 ("Laplacian-steered neural style transfer"): the mean square difference of the
    Laplacians of the two images, each first averaged over `pool` x `pool` blocks, over the target's mean
    square, per image: shape (N,). relu2_2 features tolerate a texture laid over fine detail (grass, bark,
    small figures); the Laplacian of the block averages asks that the edges of the subject stay where they
    were at the scale of the pooling, and leaves strokes finer than a block free."""
    kernel = image.new_tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).expand(image.shape[1], 1, 3, 3)

    def edges(x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(x, pool)
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=x.shape[1])

    a, b = edges(image), edges(target)
    dims = (1, 2, 3)
    return ((a - b) ** 2).mean(dims) / (b**2).mean(dims).clamp_min(1e-12)


def resize_long_side(image: torch.Tensor, side: int) -> torch.Tensor:
    """Scale an NCHW image so that its longer side is `side`, keeping the aspect ratio."""
    h, w = image.shape[-2:]
    size = fit_long_side(h, w, side)
    if size == (h, w):
        return image
    return F.interpolate(image, size=size, mode="bilinear", antialias=side < max(h, w), align_corners=False)
