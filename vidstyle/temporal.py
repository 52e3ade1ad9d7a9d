"""Flicker, measured as papers measure it, and taken out of the stylised video.

Warping error (Lai et al. 2018): flow and visibility come from the *input* frames t and t+1; the output
frame t+1 is warped back onto t along that flow, and E_warp is the mean over pairs of the visible pixels'
mean squared RGB difference (RGB in [0, 1]). The luminance-compensated variant (ReCoNet, Gao et al. 2018)
first subtracts the change of the input's luminance between the two frames, so that a real change of
light in the scene is not counted as flicker.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from . import flow
from .errors import VidstyleError
from .threads import background


@dataclass
class Flicker:
    warp_error: float  # Lai et al.: mean over pairs of masked mean ||O_t - warp(O_t+1)||^2
    warp_error_lum: float  # ReCoNet: the same, less the input's own change of luminance
    pairs: int
    visible: float  # mean fraction of pixels that pass the forward-backward check


def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def pair_error(in_t: np.ndarray, in_t1: np.ndarray, out_t: np.ndarray, out_t1: np.ndarray) -> tuple[float, float, float]:
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
    from . import media

    info = media.probe(path)
    for _, _, rgb in media.decode_span(path, None, None, info.rotation, info.time_base):
        h, w = rgb.shape[:2]
        scale = min(1.0, side / max(h, w))
        if scale < 1:
            rgb = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        yield rgb.astype(np.float32) / 255


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
                raise VidstyleError(f"{output} is {o.shape[1]}x{o.shape[0]} but {source} is "
                                    f"{i.shape[1]}x{i.shape[0]}; compare a video with its own render.")
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


@dataclass
class StabilizeOptions:
    strength: float = 0.4  # weight of the previous output, warped, where it is visible (the CLI's default)
    side: int = 384  # flow is computed at most this large (flow is smooth; the warp is full size)
    lead: int = 8  # frames before a segment that only prime the state, so segment seams do not jump
    # DIS preset (flow.PRESETS). On cup.mp4 with muse (warping error over 60 pairs; per-frame 0.0244) "medium"
    # left 0.0083, "fast" 0.0094 and "ultrafast" 0.0119; "fast" costs a third of "medium"'s CPU, which on a
    # 2-core machine is about a tenth of a render's.
    flow: str = "fast"


def motion(frames, options: StabilizeOptions):
    """For each input frame: (frame, None) for the first, then (frame, (flow to the previous input frame in
    the frame's own pixels, visibility)), both at flow size. Only input frames are needed, so this runs
    ahead of the network."""
    previous = None
    for frame in frames:
        rgb = frame[2]
        h, w = rgb.shape[:2]
        scale = min(1.0, options.side / max(h, w))
        small = rgb if scale == 1 else cv2.resize(rgb, (round(w * scale), round(h * scale)),
                                                  interpolation=cv2.INTER_AREA)
        gray = flow.gray(small)
        moved = None
        if previous is not None:
            f = flow.flow(gray, previous, options.flow)
            seen = flow.consistent(f, flow.flow(previous, gray, options.flow)).astype(np.float32)
            moved = (f / scale, seen)
        previous = gray
        yield frame, moved


def stabilized(transform, options: StabilizeOptions):
    """Wrap a frame filter: each output is blended with the previous output warped along the input's flow,
    where the forward-backward check says the pixel was visible; newly visible pixels are left alone.

    The blend is recursive, so a texture that would crawl is held in place by all earlier frames with
    geometrically falling weights, while real motion is followed by the flow. Flow is computed on the
    input frames at `side` pixels, in a thread a few frames ahead of the network (it needs no output, so
    it overlaps the network instead of waiting for it), and scaled up for a full-size warp. Everything at full size stays 8-bit (the previous output is carried as written, the
    blend is OpenCV's): at GPU speeds this filter's CPU time is what limits a render, and float32 copies of
    1080p frames cost more than the flow itself.
    """
    def run(frames):
        motions: deque = deque()
        ahead = background(motion(frames, options), 4)

        def tee():
            for frame, moved in ahead:
                motions.append(moved)
                yield frame

        previous = None  # the output as written
        try:
            for pts, duration, out in transform(tee()):
                moved = motions.popleft()
                out = np.ascontiguousarray(out)
                if previous is not None and moved is not None:
                    f, seen = moved
                    h, w = out.shape[:2]
                    if f.shape[:2] != (h, w):
                        f = cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR)
                        seen = cv2.resize(seen, (w, h), interpolation=cv2.INTER_LINEAR)
                    weight = options.strength * seen
                    out = cv2.blendLinear(flow.warp(previous, f), out, weight, 1 - weight)
                previous = out
                yield pts, duration, out
        finally:
            ahead.close()

    run.log = getattr(transform, "log", None)  # keyframe reports pass through
    return run
