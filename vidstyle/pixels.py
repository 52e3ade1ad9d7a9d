"""Pixel rules every layer shares: the size that fits a long side, resizing RGB frames, and luminance.

One place for them, so a frame scaled for the network, for optical flow, for the flicker metric or for NST
lands on the same size, and the luma weights are written once.
"""

from __future__ import annotations

import cv2
import numpy as np

from vidstyle.errors import VidstyleError

#: The smallest picture (shorter side, pixels) vidstyle paints: the networks pad by 4 px at full size and
#: DIS optical flow needs 12; below this a photo or video is refused in one line, not torch's or OpenCV's.
MIN_SIDE = 16

#: ITU-R BT.601 luma weights (R, G, B): OpenCV's grey, JPEG's Y, and Gatys et al.'s colour preservation
LUMA = (0.299, 0.587, 0.114)


def fit_long_side(height: int, width: int, side: int) -> tuple[int, int]:
    """(h, w) scaled so the longer side is `side`, aspect kept, never below one pixel."""
    scale = side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_rgb(rgb: np.ndarray, side: int, enlarge: bool = False) -> np.ndarray:
    """An HxWxC frame with its longer side at most `side` (area filter), or exactly `side` with `enlarge`
    (bicubic upwards); the array itself when nothing changes."""
    h, w = rgb.shape[:2]
    if max(h, w) == side or (max(h, w) < side and not enlarge):
        return rgb
    size_h, size_w = fit_long_side(h, w, side)
    shrink = max(h, w) > side
    return cv2.resize(rgb, (size_w, size_h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Luma of float RGB (..., 3) arrays, same scale as the input."""
    return rgb @ np.array(LUMA, np.float32)


def check_rgb(image: object, what: str = "photo") -> np.ndarray:
    """`image` as vidstyle paints it: a uint8 array of shape (height, width, 3), each side at least MIN_SIDE.
    TypeError or ValueError naming `what` for another kind or shape; VidstyleError for one too small."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{what} must be a path (str or Path) or a uint8 RGB array, not {type(image).__name__}.")
    if image.dtype != np.uint8:
        raise TypeError(f"{what} must be a uint8 RGB array (0-255), not {image.dtype}.")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{what} must be an RGB array of shape (height, width, 3), not {image.shape}.")
    check_size(image.shape[1], image.shape[0], what)
    return image


def check_size(width: int, height: int, what: str) -> None:
    if min(width, height) < MIN_SIDE:
        raise VidstyleError(
            f"{what} is {width}x{height} pixels; vidstyle paints pictures of at least {MIN_SIDE} pixels a side."
        )
