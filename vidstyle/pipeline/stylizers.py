"""What turns decoded frames into painted ones, as picklable recipes that each worker builds once.

A recipe carries everything a Ray actor on another node needs (network or VGG weights as bytes, the style
painting as pixels, a style code), so no node reads the driver's files. `build` returns a frame filter: a
function from an iterator of (pts, duration, RGB) frames to the same frames stylised, in order, one out per
one in. The recipes: a trained Johnson network (`NetworkRecipe`), a style code for the arbitrary-style
network (`CodeRecipe`: a painting, a built-in, a blend), and Gatys optimisation on keyframes (`ImageRecipe`).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
import torch

from vidstyle.errors import VidstyleError
from vidstyle.frames import Filter, Frame, FrameFilter
from vidstyle.models import arbitrary
from vidstyle.models.acceleration import Stylize, fast_stylizer, gflop_per_frame, network_dtype, run_padded
from vidstyle.models.styles import StyleInfo, load_code, load_network
from vidstyle.models.transformer import work_size
from vidstyle.models.vgg import find_weights, load_state, load_vgg
from vidstyle.nst.gatys import keep_colors
from vidstyle.nst.losses import GATYS
from vidstyle.options import VIDEO_NST, NSTOptions, StabilizeOptions
from vidstyle.pipeline.keyframes import KeyframeOptions, KeyframeStylizer
from vidstyle.temporal.stabilizer import stabilized
from vidstyle.threads import batched


@dataclass
class Finish:
    """What is done to each stylised frame against its source frame, for every kind of style.

    `strength` < 1: a style code's strength is applied to the code itself (`choice.make_recipe`); a trained
    network or NST has no code, so there it is the share of the stylised frame in a mix with the source
    frame. `keep_color`: the stylised frame's luminance with the source frame's colours (Gatys et al.
    2017, "Preserving colour"). Every recipe carries its own (`make_recipe` sets it from the StyleChoice)."""

    strength: float = 1.0
    keep_color: bool = False

    def mix(self, recipe: Recipe) -> float:
        return 1.0 if isinstance(recipe, CodeRecipe) else self.strength

    def apply(self, source: np.ndarray, out: np.ndarray, mix: float = 1.0) -> np.ndarray:
        if mix < 1.0:
            out = cv2.addWeighted(out, mix, source, 1.0 - mix, 0.0)
        if self.keep_color:
            pair = torch.from_numpy(np.stack([out, source])).permute(0, 3, 1, 2).float() / 255
            kept = keep_colors(pair[:1], pair[1:])
            out = (kept[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
        return out


@dataclass
class NetworkRecipe:
    """A trained style network (feed-forward, every frame)."""

    style: StyleInfo
    data: bytes
    finish: Finish = field(default_factory=Finish)

    @classmethod
    def of(cls, style: StyleInfo) -> NetworkRecipe:
        assert style.path is not None  # a style to load comes from a file (read_info)
        return cls(style, style.path.read_bytes())

    def build(
        self,
        device: torch.device,
        batch_size: int = 4,
        max_side: int | None = None,
        compile: bool = False,
        precision: str = "auto",
    ) -> FrameFilter:
        """`compile`: run the network through torch.compile (`acceleration.py`); frames of a new size make
        a new compiled graph, so a worker keeps one per size. `precision`: see `network_dtype`."""
        net = load_network(self.style, self.data)
        return batched_filter(net, device, batch_size, max_side, compile, network_dtype(precision, device))


@dataclass
class CodeRecipe:
    """A style code for the arbitrary-style network (`arbitrary.py`): a painting's, a built-in's, or a blend
    of them, with the strength already applied. Every frame gets the same code."""

    code: np.ndarray  # (arbitrary.CODE_SIZE,) float32
    label: str  # what the user named: shown in summaries, part of batch fingerprints
    #: the long side to paint at when --max-side is not given (None: the frame's own size); see
    #: `arbitrary.PAINTING_SIDE` for why a painting's code has one and a tuned built-in's has none
    side: int | None = None
    finish: Finish = field(default_factory=Finish)
    grain: float = arbitrary.GRAIN  # (0 turns it off, for measuring what it does)

    @classmethod
    def of(cls, code: np.ndarray, label: str, side: int | None = None) -> CodeRecipe:
        return cls(np.asarray(code, np.float32), label, side)

    def build(
        self,
        device: torch.device,
        batch_size: int = 4,
        max_side: int | None = None,
        compile: bool = False,
        precision: str = "auto",
    ) -> FrameFilter:
        """The network is the package's own, which every worker has (Ray ships the package to other nodes
        as `py_modules`), so a recipe is the code alone: a few kB per style, or per video in a batch with
        strength, instead of 5 MB of weights each through the object store."""
        net = arbitrary.load().transfer
        # a copy: a code that came through Ray's object store is a read-only array (torch warns on every worker)
        step = functools.partial(arbitrary.stylize, code=torch.tensor(self.code)[None], grain=self.grain)
        dtype = network_dtype(precision, device)
        return batched_filter(net, device, batch_size, self.paint_side(max_side), compile, dtype, step)

    def paint_side(self, max_side: int | None) -> int | None:
        """The long side to paint at: --max-side where given, else the recipe's own."""
        return max_side or self.side


def batched_filter(
    net: torch.nn.Module,
    device: torch.device,
    batch_size: int,
    max_side: int | None,
    compile: bool,
    dtype: torch.dtype,
    step: Callable[..., torch.Tensor] | None = None,
) -> FrameFilter:
    """A feed-forward network over frames, `batch_size` at a time; one compiled graph per frame size."""
    stylizers: dict[tuple[int, int], Stylize] = {}
    extra = {"step": step} if step else {}

    def run(frames: Iterator[Frame]) -> Iterator[Frame]:
        with torch.inference_mode():
            for batch in batched(frames, batch_size):
                rgb = torch.from_numpy(np.stack([f[2] for f in batch])).to(device)
                height, width = rgb.shape[1:3]  # (tuple() of a shape slice has no fixed length for mypy)
                size = height, width
                if size not in stylizers:
                    stylizers[size] = fast_stylizer(net, device, work_size(*size, max_side), compile, dtype, **extra)
                out = run_padded(stylizers[size], rgb, batch_size, pad=compile).cpu().numpy()
                for (pts, duration, _), image in zip(batch, out):
                    yield pts, duration, image

    return Filter(run)


@dataclass
class ImageRecipe:
    """A painting with no trained network: NST on keyframes, flow in between (`keyframes.py`)."""

    style_rgb: np.ndarray
    vgg_state: bytes
    nst: NSTOptions = VIDEO_NST
    finish: Finish = field(default_factory=Finish)

    @classmethod
    def of(cls, style_rgb: np.ndarray, nst: NSTOptions) -> ImageRecipe:
        nst.check()
        path = find_weights(nst.vgg_weights)
        load_state(path)  # fail here, in the driver, with a clear message, not in every worker
        return cls(style_rgb, path.read_bytes(), nst)

    @property
    def keyframes(self) -> KeyframeOptions:
        """A shot's first keyframe takes `nst.iterations`; later ones start from the previous, warped, and
        take half."""
        return KeyframeOptions(every=self.nst.keyframe_every, warm_iterations=self.nst.iterations // 2)

    def build(
        self,
        device: torch.device,
        batch_size: int = 4,
        max_side: int | None = None,
        compile: bool = False,
        precision: str = "auto",
    ) -> FrameFilter:
        """`max_side` (render's --max-side) replaces the NST working size; batches, compiling and precision
        do not apply (the optimisation stays fp32)."""
        state = torch.load(io.BytesIO(self.vgg_state), map_location="cpu", weights_only=True)
        nst = replace(self.nst, size=max_side) if max_side else self.nst
        return KeyframeStylizer(load_vgg(GATYS.all, state), self.style_rgb, nst, self.keyframes, device)


Recipe = NetworkRecipe | CodeRecipe | ImageRecipe
#: The smallest side the feed-forward networks paint: the arbitrary-style network's reflection padding needs
#: 5 pixels (a 4x4 picture was torch's "Padding size should be less than ..." traceback).
MIN_SIDE = 8


def with_finish(transform: FrameFilter, finish: Finish, mix: float) -> FrameFilter:
    """Wrap a frame filter so that each output frame is finished against its own source frame."""
    from collections import deque

    def run(frames: Iterator[Frame]) -> Iterator[Frame]:
        sources: deque = deque()

        def tee() -> Iterator[Frame]:
            for frame in frames:
                sources.append(frame[2])
                yield frame

        for pts, duration, out in transform(tee()):
            yield pts, duration, finish.apply(sources.popleft(), out, mix)

    return Filter(run, transform.report)


def stylize_still(recipe: Recipe, image: np.ndarray, device: torch.device, max_side: int | None = None) -> np.ndarray:
    """One picture through the same frame filter a render runs (for `vidstyle image` and previews)."""
    h, w = image.shape[:2]
    side = recipe.paint_side(max_side) if isinstance(recipe, CodeRecipe) else max_side
    work_h, work_w = work_size(h, w, side) or (h, w)
    if not isinstance(recipe, ImageRecipe) and min(work_h, work_w) < MIN_SIDE:
        painted = f" (painted at {work_w}x{work_h})" if (work_h, work_w) != (h, w) else ""
        raise VidstyleError(
            f"a {w}x{h} picture{painted} is too small to paint: the networks need at least {MIN_SIDE} pixels "
            "on each side."
        )
    run = make_transform(recipe, device, 1, max_side, None)
    return next(iter(run(iter([(0, 0, image)]))))[2]


def make_transform(
    recipe: Recipe,
    device: torch.device,
    batch_size: int,
    max_side: int | None,
    stabilize: StabilizeOptions | None,
    compile: bool = False,
    precision: str = "auto",
) -> FrameFilter:
    """What a worker runs: the recipe's filter, with its finish (strength, colours), stabilised when asked."""
    transform = recipe.build(device, batch_size, max_side, compile, precision)
    finish = recipe.finish
    if finish.mix(recipe) < 1.0 or finish.keep_color:
        transform = with_finish(transform, finish, finish.mix(recipe))
    return stabilized(transform, stabilize) if stabilize else transform


def frame_gflop(recipe: Recipe, height: int, width: int, max_side: int | None) -> float:
    """The work per frame that compiling could speed up, for deciding whether to compile (`--compile auto`):
    a Johnson network's; 0 for NST and for the arbitrary-style network, which `auto` never compiles.

    The arbitrary network on its space-to-depth frames runs slower compiled than eager (fp32, batch 4 at
    640x480: 9.8 against 12.1 fps; batch 1 at 960x720: 5.3 against 6.5-6.7; bf16 no faster either), after
    40-50 s of compiling; `--compile on` still compiles it."""
    if isinstance(recipe, NetworkRecipe):
        h, w = work_size(height, width, max_side) or (height, width)
        return gflop_per_frame(recipe.style.base, recipe.style.residual_blocks, h, w)
    return 0.0


def as_recipe(style: StyleInfo | Recipe) -> Recipe:
    """A bare StyleInfo means its network, or its code on the arbitrary-style network."""
    if not isinstance(style, StyleInfo):
        return style
    return CodeRecipe.of(load_code(style), style.name) if style.kind == "code" else NetworkRecipe.of(style)
