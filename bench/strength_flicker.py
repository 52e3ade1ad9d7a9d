"""Does `--strength` flicker? The content's own style code taken once per job (what vidstyle does: the mean
embedding of 8 frames) against once per frame (what Ghiasi et al.'s recipe gives when applied per image),
measured by warping error (`temporal.pair_error`, Lai et al.) on per-frame renders, no stabiliser.

    python bench/strength_flicker.py                         # cup.mp4, la_muse, strength 0.6, 75 frames at 360 px
    python bench/strength_flicker.py --clip ../shared/assets/videos/fox.mp4 --strength 0.3
"""

from __future__ import annotations

import argparse
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from vidstyle.models import arbitrary
from vidstyle.pipeline.choice import CONTENT_FRAMES, content_code, painting_code, read_painting
from vidstyle.temporal import flicker as temporal

ASSETS = Path(__file__).resolve().parents[2] / "shared" / "assets"


def first_frames(clip: Path, n: int, side: int) -> list[np.ndarray]:
    frames = []
    with av.open(str(clip)) as container:
        for frame in container.decode(video=0):
            rgb = frame.to_ndarray(format="rgb24")
            scale = side / max(rgb.shape[:2])
            frames.append(
                cv2.resize(
                    rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA
                )
            )
            if len(frames) == n:
                break
    return frames


def warping_error(frames: list[np.ndarray], outs: list[np.ndarray]) -> float:
    pairs = zip(frames, frames[1:], outs, outs[1:])
    return float(np.mean([temporal.pair_error(*(x.astype(np.float32) / 255 for x in p))[0] for p in pairs]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=ASSETS / "videos" / "cup.mp4")
    parser.add_argument("--painting", type=Path, default=ASSETS / "styles" / "la_muse.jpg")
    parser.add_argument("--strength", type=float, default=0.6)
    parser.add_argument("--frames", type=int, default=75)
    parser.add_argument("--side", type=int, default=360)
    args = parser.parse_args()
    frames = first_frames(args.clip, args.frames, args.side)
    net, transfer = arbitrary.shipped(), arbitrary.load().transfer
    painting = painting_code(net, read_painting(args.painting))
    per_job = content_code(net, frames[:: max(1, len(frames) // CONTENT_FRAMES)][:CONTENT_FRAMES])

    def render(codes: list[np.ndarray]) -> list[np.ndarray]:
        with torch.inference_mode():
            return [
                arbitrary.stylize(transfer, torch.from_numpy(f)[None], code=torch.from_numpy(c)[None])[0].numpy()
                for f, c in zip(frames, codes)
            ]

    s = args.strength
    rows = {
        "strength 1": [painting] * len(frames),
        f"strength {s}, content code once per job": [s * painting + (1 - s) * per_job] * len(frames),
        f"strength {s}, content code per frame": [s * painting + (1 - s) * content_code(net, [f]) for f in frames],
    }
    print(f"{args.clip.name}, first {len(frames)} frames at {args.side} px, {args.painting.name}; warping error:")
    for name, codes in rows.items():
        print(f"  {name}: {warping_error(frames, render(codes)):.5f}")


if __name__ == "__main__":
    main()
