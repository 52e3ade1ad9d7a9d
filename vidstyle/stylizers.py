"""What turns decoded frames into painted ones, as picklable recipes that each worker builds once.

A recipe carries everything a Ray actor on another node needs (network or VGG weights as bytes, the style
painting as pixels), so no node reads the driver's files. `build` returns a frame filter: a function from
an iterator of (pts, duration, RGB) frames to the same frames stylised, in order, one out per one in.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .acceleration import Stylize, fast_stylizer, gflop_per_frame, network_dtype, run_padded
from .keyframes import Frame, KeyframeOptions, KeyframeStylizer
from .nst import NSTOptions
from .styles import StyleInfo, load_network
from .temporal import StabilizeOptions, stabilized
from .threads import batched
from .transformer import work_size
from .vgg import find_weights, load_state, load_vgg

FrameFilter = Callable[[Iterator[Frame]], Iterator[Frame]]


@dataclass
class NetworkRecipe:
    """A trained style network (feed-forward, every frame)."""

    style: StyleInfo
    data: bytes

    @classmethod
    def of(cls, style: StyleInfo) -> NetworkRecipe:
        return cls(style, style.path.read_bytes())

    def build(self, device: torch.device, batch_size: int = 4, max_side: int | None = None,
              compile: bool = False, precision: str = "auto") -> FrameFilter:
        """`compile`: run the network through torch.compile (`acceleration.py`); frames of a new size make
        a new compiled graph, so a worker keeps one per size. `precision`: see `network_dtype`."""
        net, dtype = load_network(self.style, self.data), network_dtype(precision, device)
        stylizers: dict[tuple[int, int], Stylize] = {}

        def run(frames: Iterator[Frame]) -> Iterator[Frame]:
            with torch.inference_mode():
                for batch in batched(frames, batch_size):
                    rgb = torch.from_numpy(np.stack([f[2] for f in batch])).to(device)
                    size = tuple(rgb.shape[1:3])
                    if size not in stylizers:
                        stylizers[size] = fast_stylizer(net, device, work_size(*size, max_side), compile,
                                                         dtype)
                    out = run_padded(stylizers[size], rgb, batch_size, pad=compile).cpu().numpy()
                    for (pts, duration, _), image in zip(batch, out):
                        yield pts, duration, image

        return run


@dataclass
class ImageRecipe:
    """A painting with no trained network: NST on keyframes, flow in between (`keyframes.py`)."""

    style_rgb: np.ndarray
    vgg_state: bytes
    nst: NSTOptions = field(default_factory=NSTOptions)
    keyframes: KeyframeOptions = field(default_factory=KeyframeOptions)

    @classmethod
    def of(cls, style_rgb: np.ndarray, vgg_weights: str | Path | None, nst: NSTOptions,
           keyframes: KeyframeOptions) -> ImageRecipe:
        path = find_weights(vgg_weights)
        load_state(path)  # fail here, in the driver, with a clear message, not in every worker
        return cls(style_rgb, path.read_bytes(), nst, keyframes)

    def build(self, device: torch.device, batch_size: int = 4, max_side: int | None = None,
              compile: bool = False, precision: str = "auto") -> FrameFilter:
        """`max_side` (render's --max-side) replaces the NST working size; batches, compiling and precision
        do not apply (the optimisation stays fp32)."""
        state = torch.load(io.BytesIO(self.vgg_state), map_location="cpu", weights_only=True)
        nst = replace(self.nst, size=max_side) if max_side else self.nst
        return KeyframeStylizer(load_vgg(nst.layers.all, state), self.style_rgb, nst, self.keyframes, device)


Recipe = NetworkRecipe | ImageRecipe


def make_transform(recipe: Recipe, device: torch.device, batch_size: int, max_side: int | None,
                   stabilize: StabilizeOptions | None, compile: bool = False, precision: str = "auto") -> FrameFilter:
    """What a worker runs: the recipe's filter, stabilised when asked."""
    transform = recipe.build(device, batch_size, max_side, compile, precision)
    return stabilized(transform, stabilize) if stabilize else transform


def frame_gflop(recipe: Recipe, height: int, width: int, max_side: int | None) -> float:
    """The network's work per frame, for deciding whether to compile it; 0 for NST, which never compiles."""
    if not isinstance(recipe, NetworkRecipe):
        return 0.0
    h, w = work_size(height, width, max_side) or (height, width)
    return gflop_per_frame(recipe.style.base, recipe.style.residual_blocks, h, w)


def as_recipe(style: StyleInfo | Recipe) -> Recipe:
    """A bare StyleInfo means its network with default batching."""
    return NetworkRecipe.of(style) if isinstance(style, StyleInfo) else style
