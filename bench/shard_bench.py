"""Throughput of `vidstyle render` with 1..N Ray workers, against the network alone, measured in one run.

    python bench/shard_bench.py ../shared/assets/videos/cup.mp4 --style muse.vstyle --max-side 240

For each pool size it prints: model-only fps (the same actors running only the network on preloaded frames,
concurrently), end-to-end fps (the real render: decode, network, x264, join, audio, check), their ratio and
the speed-up over 1 worker. Ray is started once, before timing, as on a cluster. Timings on a shared machine
are noisy: read the ratios, which come from the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import ray
import torch

from vidstyle import media
from vidstyle.models.styles import load_network, resolve_style
from vidstyle.models.transformer import stylize, work_size
from vidstyle.pipeline.executors import ShardOptions
from vidstyle.pipeline.render import render_recipe
from vidstyle.pipeline.segments import RenderOptions


@ray.remote
class NetworkOnly:
    def __init__(self, info, style_bytes: bytes, threads: int):
        torch.set_num_threads(threads)
        self.net = load_network(info, style_bytes)

    def run(self, frames: np.ndarray, batch: int, size) -> float:
        x = torch.from_numpy(frames.copy())  # object-store arrays are read-only
        with torch.inference_mode():
            stylize(self.net, x[:batch], size)  # warm-up
            start = time.perf_counter()
            for i in range(0, len(x), batch):
                stylize(self.net, x[i : i + batch], size)
        return time.perf_counter() - start


def preload(path: Path, n: int) -> np.ndarray:
    info = media.probe(path)
    frames = media.decode_span(path, None, None, info.rotation, info.time_base)
    return np.stack([f[2] for _, f in zip(range(n), frames)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clip", type=Path)
    parser.add_argument("--style", required=True, help="style name or .vstyle file")
    parser.add_argument("--max-side", type=int, default=None)
    parser.add_argument("--workers", type=int, nargs="+", default=None, help="pool sizes (default 1..CPUs/1)")
    parser.add_argument("--segment-seconds", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--model-frames", type=int, default=64, help="preloaded frames per model-only actor")
    args = parser.parse_args()

    style = resolve_style(args.style)
    info = media.probe(args.clip)
    size = work_size(info.height, info.width, args.max_side)
    options = RenderOptions(max_side=args.max_side, segment_seconds=args.segment_seconds, batch_size=args.batch_size)
    frames = preload(args.clip, args.model_frames)
    cpus = torch.get_num_threads()
    pools = args.workers or list(range(1, cpus + 1))
    print(
        f"clip {args.clip.name}: {info.frames} frames {info.width}x{info.height}, network at "
        f"{size or (info.height, info.width)}, {cpus} CPU threads, torch {torch.__version__}"
    )

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mp4"
        # the single-process reference: no Ray at all
        net = load_network(style)
        with torch.inference_mode():
            stylize(net, torch.from_numpy(frames[:1]), size)
            t = time.perf_counter()
            for i in range(0, len(frames), args.batch_size):
                stylize(net, torch.from_numpy(frames[i : i + args.batch_size]), size)
            model = len(frames) / (time.perf_counter() - t)
        report = render_recipe(args.clip, out, style, options, overwrite=True)
        rows.append(("no Ray", model, report.fps))

        ray.init(num_cpus=cpus, include_dashboard=False)
        style_bytes = ray.put(style.path.read_bytes())
        frames_ref = ray.put(frames)
        for n in pools:
            threads = max(1, cpus // n)
            actors = [NetworkOnly.options(num_cpus=threads).remote(style, style_bytes, threads) for _ in range(n)]
            t = time.perf_counter()
            ray.get([a.run.remote(frames_ref, args.batch_size, size) for a in actors])
            model = n * len(frames) / (time.perf_counter() - t)
            for a in actors:
                ray.kill(a)
            report = render_recipe(
                args.clip, out, style, options, shard=ShardOptions(workers=n), always_ray=True, overwrite=True
            )
            rows.append((f"{n} worker{'s' if n > 1 else ''}", model, report.fps))
        ray.shutdown()

    base = rows[1][2]
    print(f"\n{'pool':<10} {'model-only fps':>15} {'end-to-end fps':>15} {'e2e/model':>10} {'speed-up':>9}")
    for name, model, e2e in rows:
        print(f"{name:<10} {model:>15.2f} {e2e:>15.2f} {e2e / model:>10.2f} {e2e / base:>8.2f}x")


if __name__ == "__main__":
    main()
