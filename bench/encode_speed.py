"""What x264 costs in a render, per preset and CRF, on painted frames: CPU seconds, file size and PSNR, side by
side in one run against the default (these machines are noisy; compare ratios).

    python bench/encode_speed.py                          # paints cup.mp4 with muse first, then encodes it
    python bench/encode_speed.py --painted out.mp4 --settings medium:18 veryfast:15 veryfast:18

Painted frames are the hard case for an encoder: brush texture everywhere, little of it static. The frames
are decoded once into memory and encoded by each setting with the render's own encoder settings (4 threads,
yuv420p); PSNR is over RGB against those frames (so it includes 4:2:0's own loss, the same for every row).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from vidstyle.media.encoding import EncodeSettings

ASSETS = Path(__file__).resolve().parents[2] / "shared" / "assets"


def encode(frames: list[np.ndarray], rate: int, preset: str, crf: int, path: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) to encode `frames` to `path`."""
    settings = EncodeSettings(crf=crf, preset=preset)
    cpu, wall = os.times(), time.perf_counter()
    with av.open(str(path), "w") as out:
        stream = out.add_stream(settings.codec, rate=rate, options=settings.options())
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = settings.pix_fmt
        for rgb in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode())
    done = os.times()
    return done.user - cpu.user + done.system - cpu.system, time.perf_counter() - wall


def psnr(frames: list[np.ndarray], path: Path) -> float:
    with av.open(str(path)) as src:
        back = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]
    mse = np.mean([np.mean((a.astype(np.float32) - b) ** 2) for a, b in zip(frames, back, strict=True)])
    return float(10 * np.log10(255**2 / mse))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--painted", type=Path, help="a painted clip (default: cup.mp4 painted with --style)")
    parser.add_argument("--style", default="muse")
    parser.add_argument("--settings", nargs="+", default=["medium:18", "faster:16", "veryfast:15", "veryfast:18"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        painted = args.painted
        if painted is None:
            painted = Path(tmp) / "painted.mp4"
            cmd = [sys.executable, "-m", "vidstyle", "render", str(ASSETS / "videos" / "cup.mp4"), "--style"]
            subprocess.run([*cmd, args.style, "-o", str(painted), "--crf", "0"], check=True, capture_output=True)
        with av.open(str(painted)) as src:
            rate = round(src.streams.video[0].average_rate or 25)
            frames = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]
        h, w = frames[0].shape[:2]
        print(f"{len(frames)} painted frames, {w}x{h}\n")
        print("| preset:crf | CPU s | x the first row | wall s | size MB | PSNR dB |\n|---|---|---|---|---|---|")
        first = None
        for setting in args.settings:
            preset, crf = setting.split(":")
            path = Path(tmp) / f"{preset}-{crf}.mp4"
            cpu, wall = encode(frames, rate, preset, int(crf), path)
            first = first or cpu
            size = path.stat().st_size / 1e6
            print(f"| {setting} | {cpu:.1f} | {cpu / first:.2f} | {wall:.1f} | {size:.1f} | {psnr(frames, path):.2f} |")


if __name__ == "__main__":
    main()
