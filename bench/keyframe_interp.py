"""Which way to fill the frames between stylised keyframes? Measured, not guessed.

The test: treat the input keyframes themselves as the "stylised" keyframes and rebuild every frame in
between from them. A method that rebuilds the input well will carry painted keyframes along the scene's
motion equally well; one that blurs or ghosts here ghosts the painting too. Prints PSNR (dB, higher is
better) against the true frames and the cost per frame, for each method side by side, in one run.

    python bench/keyframe_interp.py ../shared/assets/videos/cup.mp4 ../shared/assets/videos/fox.mp4 --every 12
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import av
import cv2
import numpy as np

from vidstyle.pipeline.keyframes import Key, blend_between
from vidstyle.temporal import flow


def hold(gray, k0, k1, alpha):
    return (k0 if alpha < 0.5 else k1).styled


def crossfade(gray, k0, k1, alpha):
    return (1 - alpha) * k0.styled + alpha * k1.styled


def warp_previous(gray, k0, k1, alpha):
    return flow.warp(k0.styled, flow.flow(gray, k0.gray))


def warp_both_no_mask(gray, k0, k1, alpha):
    return (1 - alpha) * flow.warp(k0.styled, flow.flow(gray, k0.gray)) + alpha * flow.warp(
        k1.styled, flow.flow(gray, k1.gray)
    )


METHODS = {
    "hold nearest": hold,
    "cross-fade": crossfade,
    "warp previous": warp_previous,
    "warp both": warp_both_no_mask,
    "warp both + occlusion (vidstyle)": blend_between,
}


def frames(path: Path, side: int, limit: int):
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i >= limit:
                return
            rgb = frame.to_ndarray(format="rgb24")
            h, w = rgb.shape[:2]
            s = side / max(h, w)
            yield cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a - b) ** 2).mean())
    return 10 * np.log10(1 / max(mse, 1e-10))


def run(path: Path, every: int, side: int, limit: int) -> dict[str, tuple[float, float]]:
    video = list(frames(path, side, limit))
    keys = {i: Key(i, f, flow.gray(f), f.astype(np.float32) / 255) for i, f in enumerate(video) if i % every == 0}
    scores = {name: [] for name in METHODS}
    costs = {name: 0.0 for name in METHODS}
    for i, f in enumerate(video):
        k0 = i - i % every
        if i % every == 0 or k0 + every not in keys:
            continue
        gray, truth = flow.gray(f), f.astype(np.float32) / 255
        for name, method in METHODS.items():
            started = time.perf_counter()
            out = method(gray, keys[k0], keys[k0 + every], (i - k0) / every)
            costs[name] += time.perf_counter() - started
            scores[name].append(psnr(np.clip(out, 0, 1), truth))
    n = len(scores["hold nearest"])
    return {name: (float(np.mean(scores[name])), costs[name] / n * 1000) for name in METHODS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="+", type=Path)
    parser.add_argument("--every", type=int, default=12, help="keyframe interval (frames)")
    parser.add_argument("--side", type=int, default=384, help="working size, longer side")
    parser.add_argument("--frames", type=int, default=217, help="frames per video")
    args = parser.parse_args()
    results = {path.name: run(path, args.every, args.side, args.frames) for path in args.videos}
    names = list(results)
    print(
        f"keyframe every {args.every} frames, {args.side} px; PSNR of rebuilt in-between frames (dB), and ms per frame"
    )
    print(f"| method | {' | '.join(names)} | ms/frame |")
    print("|---|" + "---|" * (len(names) + 1))
    for method in METHODS:
        cells = " | ".join(f"{results[n][method][0]:.2f}" for n in names)
        print(f"| {method} | {cells} | {np.mean([results[n][method][1] for n in names]):.1f} |")


if __name__ == "__main__":
    main()
