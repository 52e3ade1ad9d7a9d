"""The unit of work that flows from decode to encode, and the shape of everything that paints it.

A frame is (pts, duration, RGB uint8 HxWx3). A frame filter takes an iterator of frames and yields the
same frames painted, in order, one out per one in; filters wrap filters (strength and colours, the
stabiliser). What a filter did beyond painting (the keyframes an NST filter optimised, and their cost)
is its `report`, which wrappers share with the filter they wrap, so the segment runner reads it from the
outermost one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

Frame = tuple[int, int, np.ndarray]  # pts, duration, RGB uint8 HxWx3


@dataclass
class FilterReport:
    keyframes: list[tuple[int, float]] = field(default_factory=list)  # (pts, seconds) per optimised keyframe

    def clear(self) -> None:
        self.keyframes.clear()


class FrameFilter(Protocol):
    report: FilterReport

    def __call__(self, frames: Iterator[Frame]) -> Iterator[Frame]: ...


@dataclass
class Filter:
    """A function of frames as a `FrameFilter`; a wrapper passes the report of the filter it wraps."""

    run: Callable[[Iterator[Frame]], Iterator[Frame]]
    report: FilterReport = field(default_factory=FilterReport)

    def __call__(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        return self.run(frames)
