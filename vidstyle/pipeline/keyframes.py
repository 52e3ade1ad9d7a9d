"""Video from a painting with no trained network: optimise keyframes (NST), carry them along optical flow.

Keyframes are the first frame of every shot, its last frame, and every `every`-th frame in between. Each
keyframe in a shot starts from the previous keyframe's result warped onto it, so the painted texture stays
put where the scene does and needs far fewer iterations than a cold start. Frames in between are both
neighbouring keyframes warped onto them along flow computed on the input, blended by distance in time,
each weighted by where it is visible (forward-backward check). `bench/keyframe_interp.py` measured this
against holding the nearest keyframe, cross-fading, and warping from the previous keyframe only.

At most `every` frames (at the working size) are held at once: memory stays bounded however long the shot.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import cv2
import numpy as np
import torch

from vidstyle.frames import FilterReport, Frame
from vidstyle.media.images import to_tensor
from vidstyle.models.vgg import VGGFeatures
from vidstyle.nst.gatys import NSTOptions, transfer
from vidstyle.pixels import resize_rgb
from vidstyle.temporal import flow


@dataclass
class KeyframeOptions:
    every: int = 12  # at most this many frames from one keyframe to the next
    warm_iterations: int = 100  # for keyframes that start from the previous one (one level, no coarse pass)
    cut_threshold: float = 0.4  # grey-histogram distance (0..1) between neighbours that starts a new shot


@dataclass
class Key:
    index: int  # frame number in the segment
    small: np.ndarray  # input at the working size, uint8
    gray: np.ndarray
    styled: np.ndarray  # float32 in [0, 1], working size


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Half the L1 distance of 32-bin grey histograms: 0 same tones, 1 disjoint. Cheap and blind to motion,
    which is what a shot-change detector wants."""
    ha = np.bincount(a.ravel() >> 3, minlength=32) / a.size
    hb = np.bincount(b.ravel() >> 3, minlength=32) / b.size
    return float(np.abs(ha - hb).sum() / 2)


def blend_between(gray: np.ndarray, k0: Key, k1: Key, alpha: float) -> np.ndarray:
    """A frame at fraction `alpha` of the way from keyframe k0 to k1, from both warped onto it."""
    f0, f1 = flow.flow(gray, k0.gray), flow.flow(gray, k1.gray)
    v0 = flow.consistent(f0, flow.flow(k0.gray, gray))
    v1 = flow.consistent(f1, flow.flow(k1.gray, gray))
    # where neither keyframe sees a pixel, both still contribute by time alone
    a0 = (1 - alpha) * (v0 + 0.01)
    a1 = alpha * (v1 + 0.01)
    w0, w1 = flow.warp(k0.styled, f0), flow.warp(k1.styled, f1)
    return (a0[..., None] * w0 + a1[..., None] * w1) / (a0 + a1)[..., None]


class KeyframeStylizer:
    """A frame filter (frames in, the same frames stylised out, in order) for `render --style-image`."""

    def __init__(
        self, vgg: VGGFeatures, style: np.ndarray, nst: NSTOptions, options: KeyframeOptions, device: torch.device
    ):
        self.vgg, self.nst, self.options, self.device = vgg.to(device), nst, options, device
        self.style = to_tensor(style, device)
        self.report = FilterReport()  # the keyframes optimised, (pts, seconds); `segment_to_part` reads it

    def _key(self, index: int, frame: Frame, previous: Key | None) -> Key:
        started = time.perf_counter()
        small = resize_rgb(frame[2], self.nst.size)
        gray = flow.gray(small)
        options = replace(self.nst, size=max(small.shape[:2]))
        init = None
        if previous is not None:
            f = flow.flow(gray, previous.gray)
            seen = flow.consistent(f, flow.flow(previous.gray, gray))[..., None]
            carried = np.where(seen, flow.warp(previous.styled, f), small.astype(np.float32) / 255)
            init = to_tensor((carried * 255).round().astype(np.uint8), self.device)
            options = replace(options, iterations=self.options.warm_iterations, levels=1)
        out = transfer(self.vgg, to_tensor(small, self.device), self.style, options, init=init)
        styled = out[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)
        self.report.keyframes.append((frame[0], time.perf_counter() - started))
        return Key(index, small, gray, styled)

    def _emit(self, frame: Frame, image: np.ndarray) -> Frame:
        pts, duration, rgb = frame
        h, w = rgb.shape[:2]
        if image.shape[:2] != (h, w):
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
        return pts, duration, (np.clip(image, 0, 1) * 255).round().astype(np.uint8)

    def _span(self, k0: Key, held: list[Frame], grays: list[np.ndarray], k1: Key) -> Iterator[Frame]:
        gap = k1.index - k0.index
        for i, (frame, gray) in enumerate(zip(held, grays), start=1):
            yield self._emit(frame, blend_between(gray, k0, k1, i / gap))

    def __call__(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        previous: Key | None = None  # the last keyframe, already emitted
        held: list[Frame] = []  # frames after it, waiting for the next keyframe
        grays: list[np.ndarray] = []
        last_gray: np.ndarray | None = None
        index = -1
        with torch.inference_mode(False), torch.enable_grad():
            for index, frame in enumerate(frames):
                gray = flow.gray(resize_rgb(frame[2], self.nst.size))
                cut = last_gray is not None and histogram_distance(last_gray, gray) > self.options.cut_threshold
                last_gray = gray
                if previous is not None and cut:
                    if held:  # the old shot's last frame closes its span
                        end = self._key(index - 1, held[-1], previous)
                        yield from self._span(previous, held[:-1], grays[:-1], end)
                        yield self._emit(held[-1], end.styled)
                    held, grays, previous = [], [], None
                if previous is None:
                    previous = self._key(index, frame, None)
                    yield self._emit(frame, previous.styled)
                    continue
                held.append(frame)
                grays.append(gray)
                if len(held) == self.options.every:
                    key = self._key(index, frame, previous)
                    yield from self._span(previous, held[:-1], grays[:-1], key)
                    yield self._emit(frame, key.styled)
                    held, grays, previous = [], [], key
            if held:
                assert previous is not None  # frames are held only after a keyframe (a cut empties them)
                key = self._key(index, held[-1], previous)
                yield from self._span(previous, held[:-1], grays[:-1], key)
                yield self._emit(held[-1], key.styled)
