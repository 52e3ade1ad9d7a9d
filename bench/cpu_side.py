"""What the CPU side of a render costs per frame, with the network taken out: how many CPU cores a GPU needs.

    python bench/cpu_side.py                         # 1080p, x264 presets medium / fast / veryfast
    python bench/cpu_side.py --sizes 720 1080 --frames 96

A GPU runs the network at hundreds of frames per second; what is left on the CPU is decoding, colour
conversion both ways, x264 (4 threads, fixed so that parts match byte for byte) and the stabiliser's optical
flow. This runs the render's own `segment_to_part` (decode thread, encoder thread) on a scaled clip with an
identity frame filter, and with the stabiliser's filter around it, and measures the process's CPU time per
frame (all threads) beside the wall time. CPU time per frame is what does not depend on this machine's two
cores: a GPU at F frames per second needs about F x (CPU s/frame) cores, spread over enough actors
(`cluster.CPUS_PER_GPU_ACTOR` each) to use them.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from pipeline_speed import SHARED_CLIP, SIZES, scaled_clip

from vidstyle import media
from vidstyle.frames import Filter, Frame
from vidstyle.pipeline.segments import RenderOptions, encode_settings, plan_segments, segment_to_part
from vidstyle.temporal.stabilizer import StabilizeOptions, stabilized


def _identity(frames: Iterator[Frame]) -> Iterator[Frame]:
    yield from frames


identity = Filter(_identity)


def measure(clip: Path, preset: str, stabilize: bool) -> tuple[float, float]:
    """(wall s, CPU s) per frame for one segment covering the clip."""
    info = media.probe(clip)
    _, _, settings = encode_settings(Path("out.mp4"), RenderOptions(preset=preset))
    segment = plan_segments(info, 1e9)[0]
    transform = stabilized(identity, StabilizeOptions()) if stabilize else identity
    wall, cpu = time.perf_counter(), time.process_time()
    part = segment_to_part(clip, segment, transform, info, settings, io.BytesIO())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert len(part.timestamps) == info.frames, (len(part.timestamps), info.frames)
    return wall / info.frames, cpu / info.frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=SHARED_CLIP if SHARED_CLIP.exists() else Path("samples/scene.mp4"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1080], choices=sorted(SIZES))
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--presets", nargs="+", default=["medium", "fast", "veryfast"])
    parser.add_argument("--gpu-fps", type=float, default=200.0, help="the network rate to size the CPUs for")
    args = parser.parse_args()
    print(f"clip {args.clip.name}, {args.frames} frames; wall and CPU time per frame (CPU: all threads)")
    print(
        f"{'size':>5} {'preset':>9} {'stabilise':>9} {'wall ms':>8} {'CPU ms':>7} {'fps':>6} "
        f"{'cores for ' + str(int(args.gpu_fps)) + ' fps':>17}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            clip = scaled_clip(args.clip, Path(tmp) / f"{size}p.mp4", *SIZES[size], args.frames)
            measure(clip, "medium", False)  # warm-up: file cache, codec set-up
            for preset in args.presets:
                for stabilize in (False, True):
                    wall, cpu = measure(clip, preset, stabilize)
                    print(
                        f"{size:>4}p {preset:>9} {'on' if stabilize else 'off':>9} {wall * 1e3:8.1f} "
                        f"{cpu * 1e3:7.1f} {1 / wall:6.1f} {args.gpu_fps * cpu:17.1f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
