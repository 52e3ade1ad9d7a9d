"""Flicker, measured as papers measure it (the stabiliser that takes it out is `stabilizer.py`).

Warping error (Lai et al. 2018): flow and visibility come from the *input* frames t and t+1; the output
frame t+1 is warped back onto t along that flow, and E_warp is the mean over pairs of the visible pixels'
mean squared RGB difference (RGB in [0, 1]). The luminance-compensated variant (ReCoNet, Gao et al. 2018)
first subtracts the change of the input's luminance between the two frames, so that a real change of
light in the scene is not counted as flicker.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from vidstyle.errors import VidstyleError
from vidstyle.pixels import luminance, resize_rgb
from vidstyle.temporal import flow


@dataclass
class Flicker:
    warp_error: float  # Lai et al.: mean over pairs of masked mean ||O_t - warp(O_t+1)||^2
    warp_error_lum: float  # ReCoNet: the same, less the input's own change of luminance
    pairs: int
    visible: float  # mean fraction of pixels that pass the forward-backward check


def pair_error(
    in_t: np.ndarray, in_t1: np.ndarray, out_t: np.ndarray, out_t1: np.ndarray
) -> tuple[float, float, float]:
    """(E_warp, E_warp with luminance compensation, visible fraction) of one pair; float32 RGB in [0, 1]."""
    g0, g1 = flow.gray((in_t * 255).astype(np.uint8)), flow.gray((in_t1 * 255).astype(np.uint8))
    f = flow.flow(g0, g1)
    visible = flow.consistent(f, flow.flow(g1, g0))
    n = max(int(visible.sum()), 1)
    diff = out_t - flow.warp(out_t1, f)
    e = float((diff**2).sum(-1)[visible].sum() / n)
    light = luminance(in_t) - luminance(flow.warp(in_t1, f))
    e_lum = float(((diff - light[..., None]) ** 2).sum(-1)[visible].sum() / n)
    return e, e_lum, float(visible.mean())


def frames_small(path, side: int) -> Iterator[np.ndarray]:
    """Upright frames of a video as float32 RGB in [0, 1], longer side at most `side`."""
    from vidstyle import media

    info = media.probe(path)
    for _, _, rgb in media.decode_span(path, None, None, info.rotation, info.time_base):
        yield resize_rgb(rgb, side).astype(np.float32) / 255


def measure(source, output, every: int = 1, side: int = 384, limit: int | None = None) -> Flicker:
    """Warping error of `output` against the motion in `source`, over pairs (t, t+1) for t = 0, every, ...

    The two videos are read in step, frame for frame; `render` keeps every frame and its time, so frame
    t of the output is frame t of the input.
    """
    errors, lum, seen = [], [], []
    previous = None
    pairs = zip(frames_small(source, side), frames_small(output, side))
    for t, (i, o) in enumerate(pairs):
        if previous is not None and (t - 1) % every == 0:
            if i.shape != o.shape:
                raise VidstyleError(
                    f"{output} is {o.shape[1]}x{o.shape[0]} but {source} is "
                    f"{i.shape[1]}x{i.shape[0]}; compare a video with its own render."
                )
            e, el, v = pair_error(previous[0], i, previous[1], o)
            errors.append(e)
            lum.append(el)
            seen.append(v)
            if limit and len(errors) >= limit:
                break
        previous = (i, o)
    if not errors:
        raise VidstyleError(f"{source} and {output} have no pair of frames to compare.")
    return Flicker(float(np.mean(errors)), float(np.mean(lum)), len(errors), float(np.mean(seen)))
