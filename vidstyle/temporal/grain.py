"""Grain that moves with the scene: where each frame reads the arbitrary network's grain pattern.

The network paints strokes in flat regions only from the grain added at its input (`arbitrary.GRAIN`). A
pattern fixed to the screen stays still while the camera pans, so the strokes it seeds slide over the
picture: on a dark panning clip (fox.mp4 through bench/hard_frames.py's `night`) the warping error of
stabilised La Muse rose 20% against no grain (`bench/flicker.py --grain`). The stabiliser already computes
the input's flow a few frames ahead; from it this follows the scene's global motion (the median flow of
the visible pixels) and shifts the pattern by it, so a pan carries the strokes along with the picture.

The shift starts at zero with each segment's first frame (its warm-up included), the same whether the
segments run here or on Ray actors, so both hand the encoder the same frames.
"""

from __future__ import annotations

import numpy as np


class SceneGrain:
    """Per frame (by pts), the pattern shift (dy, dx) in the input frame's pixels. The stabiliser calls
    `follow` for each frame in order before the network sees it; the network's filter `take`s it."""

    def __init__(self) -> None:
        self._at = np.zeros(2)
        self._shifts: dict[int, np.ndarray] = {}

    def start(self) -> None:
        """A new run of frames (a segment): the shift starts again at zero. A worker builds its filter once
        and paints many segments with it, and a segment must not depend on which ones went before."""
        self._at = np.zeros(2)
        self._shifts.clear()

    def follow(self, pts: int, motion: np.ndarray | None) -> None:
        """Frame `pts` moved by `motion` (dx, dy: where its pixels were in the frame before), or None for
        the first frame."""
        if motion is not None:
            self._at += motion[::-1]  # (dy, dx): a pixel reads the pattern where its content was before
        self._shifts[pts] = self._at.copy()

    def take(self, pts: int) -> np.ndarray:
        """The shift of frame `pts` (zero for a frame the stabiliser did not see), forgotten once taken."""
        return self._shifts.pop(pts, np.zeros(2))


def global_motion(flow: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """(dx, dy): the median of `flow` over the pixels `seen` marks visible (every 4th row and column, enough
    for a median and a fraction of the cost), or zero when too few are."""
    f, mask = flow[::4, ::4], seen[::4, ::4] > 0.5
    if mask.sum() < 16:
        return np.zeros(2)
    return np.median(f[mask], axis=0)
