"""The feed-forward style network of Johnson et al. (2016), laid out as the source documents build it.

The layer semantics follow the TensorFlow fast-style-transfer that trained the reference networks (and that
the OCaml port imported): convolutions without bias (instance norm's shift makes a bias redundant),
TensorFlow "SAME" zero padding, instance norm with eps 1e-3, and transposed convolutions that produce exactly
2H x 2W. Keeping those semantics exact is what lets `vidstyle styles import` reproduce the reference images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vidstyle.pixels import fit_long_side

#: The network has two stride-2 stages, so inputs are padded to a multiple of this and cropped back.
STRIDE_MULTIPLE = 4
#: Zero padding inside the network paints saturated bands along the frame's edges; running on a frame
#: reflected outwards by this many pixels and cropping puts those bands outside the picture (16 px was
#: not enough on the reference networks; the cost is ~25% at 640x480 and ~9% at 1080p).
EDGE_MARGIN = 32


class ConvLayer(nn.Module):
    """Conv (TF SAME padding, no bias) + instance norm, ReLU optional."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, relu: bool = True):
        super().__init__()
        self.stride, self.kernel, self.relu = stride, kernel, relu
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, bias=False)
        self.norm = nn.InstanceNorm2d(cout, affine=True, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            p = self.kernel // 2
            x = F.pad(x, (p, p, p, p))
        else:  # TF SAME, stride 2, even input: the one extra row/column goes bottom/right.
            extra = self.kernel - self.stride
            x = F.pad(x, (extra // 2, extra - extra // 2, extra // 2, extra - extra // 2))
        x = self.norm(self.conv(x))
        return F.relu(x) if self.relu else x


class UpLayer(nn.Module):
    """Stride-2 transposed conv with TF SAME alignment (output exactly 2H x 2W) + instance norm + ReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.ConvTranspose2d(cin, cout, 3, stride=2, bias=False)
        self.norm = nn.InstanceNorm2d(cout, affine=True, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        # The full transposed conv gives 2H+1; TF SAME keeps the first 2H (PyTorch's padding=1 would keep
        # the last 2H, shifting the image by one pixel relative to the TF-trained weights).
        x = self.conv(x)[..., : 2 * h, : 2 * w]
        return F.relu(self.norm(x))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, 3)
        self.conv2 = ConvLayer(channels, channels, 3, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.conv1(x))


class TransformerNet(nn.Module):
    """RGB in 0-255 (NCHW, sides a multiple of 4) -> stylised RGB in 0-255.

    `base` is the first layer's width (32 in the paper); smaller values give lighter networks and the tiny
    ones the tests train in seconds.
    """

    def __init__(self, base: int = 32, residual_blocks: int = 5):
        super().__init__()
        c1, c2, c3 = base, base * 2, base * 4
        self.base, self.residual_blocks = base, residual_blocks
        self.conv1 = ConvLayer(3, c1, 9)
        self.conv2 = ConvLayer(c1, c2, 3, stride=2)
        self.conv3 = ConvLayer(c2, c3, 3, stride=2)
        self.res = nn.Sequential(*(ResidualBlock(c3) for _ in range(residual_blocks)))
        self.up1 = UpLayer(c3, c2)
        self.up2 = UpLayer(c2, c1)
        self.conv_out = ConvLayer(c1, 3, 9, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3(self.conv2(self.conv1(x)))
        x = self.up2(self.up1(self.res(x)))
        return torch.tanh(self.conv_out(x)) * 150 + 127.5


def stylize(net: TransformerNet, frames: torch.Tensor, work_size: tuple[int, int] | None = None) -> torch.Tensor:
    """Stylise a uint8 NHWC batch of any size; returns uint8 NHWC of the same size.

    With `work_size` (h, w) the network runs at that resolution and the result is scaled back, which is
    how `--max-side` trades detail for speed. Frames are reflect-padded by EDGE_MARGIN and up to a multiple
    of 4, then cropped back, so odd sizes work without off-by-one shifts. Callers wrap this in `torch.inference_mode()`.
    """
    h, w = frames.shape[1:3]
    x = resized(frames.permute(0, 3, 1, 2), work_size).float()
    wh, ww = x.shape[-2:]
    m = EDGE_MARGIN
    ph, pw = -(wh + 2 * m) % STRIDE_MULTIPLE, -(ww + 2 * m) % STRIDE_MULTIPLE
    # reflect needs the padding to be smaller than the side; tiny frames fall back to replicating the edge
    mode = "reflect" if m + max(ph, pw) < min(wh, ww) else "replicate"
    x = F.pad(x, (m, m + pw, m, m + ph), mode=mode)
    # The network runs in its own precision (half on GPUs); resizing and rounding stay in fp32.
    y = net(x.to(net.conv1.conv.weight.dtype)).float()[..., m : m + wh, m : m + ww]
    return resized(y.clamp_(0, 255).round_().to(torch.uint8), (h, w)).permute(0, 2, 3, 1)


def resized(x: torch.Tensor, size: tuple[int, int] | None) -> torch.Tensor:
    """uint8 NCHW images scaled to `size` (h, w) with bilinear filtering, antialiased when shrinking; as is
    when `size` is None or theirs.

    On the CPU, PyTorch filters uint8 images in channels-last layout (a frame permuted from NHWC is) with a
    vectorised kernel, 4-8x faster than on floats and within one level of them; elsewhere it runs on floats."""
    if size is None or tuple(size) == tuple(x.shape[-2:]):
        return x
    shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    if x.device.type == "cpu":
        return F.interpolate(
            x.contiguous(memory_format=torch.channels_last),
            size=size,
            mode="bilinear",
            antialias=shrink,
            align_corners=False,
        )
    y = F.interpolate(x.float(), size=size, mode="bilinear", antialias=shrink, align_corners=False)
    return y.clamp_(0, 255).round_().to(torch.uint8)


def work_size(height: int, width: int, max_side: int | None) -> tuple[int, int] | None:
    """The (h, w) to run the network at so that the longer side is at most `max_side`, aspect kept."""
    if not max_side or max(height, width) <= max_side:
        return None
    return fit_long_side(height, width, max_side)
