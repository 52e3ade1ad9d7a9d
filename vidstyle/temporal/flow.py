"""Optical flow on input frames, warping, and occlusion masks (OpenCV's DIS: classical, no network to download).

Flow is always computed on the *input* frames, never on stylised ones: painted textures would give flow
that follows the brush strokes instead of the scene.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np


def gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


#: DIS's presets. At 384x288 on this project's 2-core machine one flow costs about 18 ms of CPU with
#: "medium", 5.5 with "fast" and 2.2 with "ultrafast".
PRESETS = {  # keyed by options.Flow, which StabilizeOptions checks against
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def flow(a: np.ndarray, b: np.ndarray, preset: str = "medium") -> np.ndarray:
    """HxWx2 float32: for each pixel of grey frame `a`, where it is in grey frame `b` (dx, dy).

    The flicker metric keeps "medium", the preset its published numbers were measured with; a fresh
    instance per call keeps it thread-safe.
    """
    # OpenCV allocates the output when `flow` is None, but its stub demands an array
    return cv2.DISOpticalFlow.create(PRESETS[preset]).calc(a, b, None)  # type: ignore[call-overload]


@functools.lru_cache(maxsize=8)
def _grid(h: int, w: int) -> np.ndarray:
    """The identity map (x, y) as HxWx2 float32, made once per frame size rather than once per warp."""
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    grid = np.dstack([xs, ys])
    grid.setflags(write=False)
    return grid


def warp(image: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Backward warp: sample `image` (in frame b) at x + f(x), giving it aligned to frame a."""
    return cv2.remap(image, _grid(*f.shape[:2]) + f, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def consistent(f_ab: np.ndarray, f_ba: np.ndarray, slack: float = 0.5) -> np.ndarray:
    """HxW bool: pixels of `a` visible in `b`, by the forward-backward check of Sundaram et al. 2010
    (as in Ruder et al. 2016): going a->b->a must come back to within a tolerance that grows with motion,
    plus `slack` (squared pixels; 0.5 is theirs, which the flicker metric keeps). Pixels that leave the
    frame are not visible either. The stabiliser runs this on every frame, so it
    reuses the warp's sampling positions and adds the two components' squares directly: at 384x288 that
    took under half the time of building a meshgrid and summing over numpy's last axis (7.9 ms, more
    than both DIS flows)."""
    h, w = f_ab.shape[:2]
    target = _grid(h, w) + f_ab  # where each pixel of a lands in b
    back = cv2.remap(f_ba, target, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    loop = f_ab + back
    x, y = target[..., 0], target[..., 1]
    inside = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    return (_squared(loop) <= 0.01 * (_squared(f_ab) + _squared(back)) + slack) & inside


def _squared(v: np.ndarray) -> np.ndarray:
    """HxW: the squared length of each vector of an HxWx2 field."""
    x, y = v[..., 0], v[..., 1]
    return x * x + y * y  # 5x faster than numpy's sum over an axis of two
