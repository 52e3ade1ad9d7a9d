"""Flicker taken out of a stylised video: each output frame is blended with the previous output carried
along the *input's* optical flow, wherever the pixel was visible (`flicker.py` measures the result)."""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from vidstyle.frames import Filter, FrameFilter
from vidstyle.options import StabilizeOptions
from vidstyle.pixels import resize_rgb
from vidstyle.temporal import flow
from vidstyle.threads import background

#: The forward-backward check's slack for the stabiliser's flows, in squared pixels (the metric's is 0.5).
#: DIS "fast" stops at a quarter of the flow size, so a round trip of a pixel that *is* visible often comes
#: back 0.7-1.4 px off; with 0.5 those pixels were left unstabilised and kept all of their flicker. At
#: strength 0.5, stabilising the same per-frame renders of cup.mp4 with 0.5 and with 2: the reference scream
#: network (240 px) 71% -> 75% less warping error, La Muse (360 px) 64% -> 69%, style drift 0.019 -> 0.024
#: and 0.017 -> 0.021. Through the whole pipeline (bench/flicker.py, README) the defaults give 73% and 68%.
SLACK = 2.0


def motion(frames, options: StabilizeOptions):
    """For each input frame: (frame, None) for the first, then (frame, (flow to the previous input frame in
    the frame's own pixels, visibility)), both at flow size. Only input frames are needed, so this runs
    ahead of the network."""
    previous = None
    for frame in frames:
        rgb = frame[2]
        h, w = rgb.shape[:2]
        scale = min(1.0, options.side / max(h, w))
        small = resize_rgb(rgb, options.side)
        gray = flow.gray(small)
        moved = None
        if previous is not None:
            f = flow.flow(gray, previous, options.flow)
            seen = flow.consistent(f, flow.flow(previous, gray, options.flow), SLACK).astype(np.float32)
            moved = (f / scale, seen)
        previous = gray
        yield frame, moved


def stabilized(transform: FrameFilter, options: StabilizeOptions) -> FrameFilter:
    """Wrap a frame filter: each output is blended with the previous output warped along the input's flow,
    where the forward-backward check says the pixel was visible; newly visible pixels are left alone.

    The blend is recursive, so a texture that would crawl is held in place by all earlier frames with
    geometrically falling weights, while real motion is followed by the flow. Flow is computed on the
    input frames at `side` pixels, in a thread a few frames ahead of the network (it needs no output, so
    it overlaps the network instead of waiting for it), and scaled up for a full-size warp. Everything at
    full size stays 8-bit (the previous output is carried as written, the blend is OpenCV's): at GPU speeds
    this filter's CPU time is what limits a render, and float32 copies of 1080p frames cost more than the
    flow itself.
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

    return Filter(run, transform.report)
