"""End-to-end `vidstyle render` against the style network alone, at 360p, 720p and 1080p, in one run.

    python bench/pipeline_speed.py --style muse                      # a real clip when ../shared is there
    python bench/pipeline_speed.py --style muse --compile off --sizes 360

Each size gets a clip made from the source (`--clip`, scaled, with its audio), FRAMES frames long. Then, for
each way of running (`--drivers`: `ray`, the default sharded render; `no-ray`, one process):
  network  the render's own frame filter (`make_transform`: batching, compile, channels-last) on frames
           decoded beforehand;
  render   the real render: probe, decode, colour conversion, network, x264, join with the audio, check.
Both are timed frame by frame, and the table compares their steady rates: frames after the first batch over
the time since the first batch came out. That ratio, render/network, is what decode, conversion, transfer
and encode cost beyond the network (1.0: completely hidden behind it). What a run costs once (Ray's workers
starting, compiling, the join) is the `startup` column, and `render wall fps` includes it.
An untimed render of a one-batch clip of the same size goes first, so Inductor's on-disk cache holds the
compiled kernels, as it does on any machine after its first render.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from functools import partial
from pathlib import Path

import av
import ray
import torch

from vidstyle import media
from vidstyle.models.devices import resolve_device
from vidstyle.models.styles import resolve_style
from vidstyle.pipeline.executors import ShardOptions
from vidstyle.pipeline.render import render_recipe
from vidstyle.pipeline.segments import RenderOptions, job_gflop, prepare
from vidstyle.pipeline.stylizers import NetworkRecipe, make_transform

SIZES = {360: (640, 360), 720: (1280, 720), 1080: (1920, 1080)}
SHARED_CLIP = Path(__file__).resolve().parents[2] / "shared/assets/videos/cup.mp4"


def scaled_clip(source: Path, target: Path, width: int, height: int, frames: int) -> Path:
    """The first `frames` frames of `source` at width x height (x264, CRF 18) with its audio over that time."""
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        vin = src.streams.video[0]
        vout = out.add_stream("libx264", rate=vin.average_rate or 25, options={"crf": "18"})
        vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
        vout.time_base = vout.codec_context.time_base = vin.time_base
        ain = src.streams.audio[0] if src.streams.audio else None
        aout = out.add_stream("aac", rate=ain.rate) if ain else None
        end = None
        for i, frame in enumerate(src.decode(vin)):
            if i == frames:
                end = frame.time
                break
            image = frame.reformat(width=width, height=height, format="yuv420p")
            image.pts, image.time_base = frame.pts, vin.time_base
            out.mux(vout.encode(image))
        out.mux(vout.encode(None))
        if ain:
            src.seek(0)
            for frame in src.decode(ain):
                if end is not None and frame.time >= end:
                    break
                frame.pts = None
                out.mux(aout.encode(frame))
            out.mux(aout.encode(None))
    return target


class Clock:
    """When each frame came out: `tick(n)` is a render's progress callback."""

    def __init__(self) -> None:
        self.start, self.marks = time.perf_counter(), [(0.0, 0)]

    def tick(self, n: int = 1) -> None:
        self.marks.append((time.perf_counter() - self.start, self.marks[-1][1] + n))

    def steady_fps(self, batch: int) -> float:
        """Frames after the first batch, over the time since the first batch was out."""
        t0, n0 = next((t, n) for t, n in self.marks if n >= batch)
        t1, n1 = self.marks[-1]
        return (n1 - n0) / (t1 - t0)

    def startup(self, batch: int) -> float:
        """Seconds to the first batch beyond what one batch costs at the steady rate."""
        return next(t for t, n in self.marks if n >= batch) - batch / self.steady_fps(batch)


def network_only(recipe: NetworkRecipe, clip: Path, options: RenderOptions, compiled: bool) -> Clock:
    """The render's frame filter on frames decoded beforehand, timed from building it."""
    info = media.probe(clip)
    frames = list(media.decode_span(clip, None, None, info.rotation, info.time_base))
    clock = Clock()
    transform = make_transform(
        recipe, resolve_device(options.device), options.batch_size, options.max_side, None, compiled
    )
    for _ in transform(iter(frames)):
        clock.tick()
    return clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="muse", help="style name or .vstyle file")
    parser.add_argument("--clip", type=Path, default=SHARED_CLIP if SHARED_CLIP.exists() else Path("samples/scene.mp4"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[360, 720, 1080], choices=sorted(SIZES))
    parser.add_argument(
        "--frames",
        type=int,
        nargs="+",
        default=None,
        help="frames per size (default 48 at 360p, 24 at 720p, 12 at 1080p)",
    )
    parser.add_argument("--compile", default="on", choices=["on", "off"])
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--drivers", nargs="+", default=["no-ray", "ray"], choices=["no-ray", "ray"])
    args = parser.parse_args()
    frames = dict(zip(args.sizes, args.frames or [{360: 48, 720: 24, 1080: 12}[s] for s in args.sizes]))
    recipe = NetworkRecipe.of(resolve_style(args.style))
    options = RenderOptions(batch_size=args.batch_size, compile=args.compile)
    print(
        f"style {recipe.style.name} (base {recipe.style.base}), clip {args.clip.name}, compile {args.compile}, "
        f"batch {args.batch_size}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if "ray" in args.drivers:
            ray.init(include_dashboard=False, log_to_driver=False)
        for size in args.sizes:
            clip = scaled_clip(args.clip, Path(tmp) / f"{size}p.mp4", *SIZES[size], frames[size])
            warm = scaled_clip(args.clip, Path(tmp) / f"{size}p-warm.mp4", *SIZES[size], args.batch_size)
            out = Path(tmp) / f"{size}p-out.mp4"
            gflop = job_gflop(prepare(clip, out, options, overwrite=True), recipe, None) / frames[size]
            for driver in args.drivers:
                run = (
                    partial(render_recipe, overwrite=True)
                    if driver == "no-ray"
                    else lambda *a: render_recipe(
                        *a[:4], shard=ShardOptions(), progress=a[4] if a[4:] else None, overwrite=True, always_ray=True
                    )
                )
                run(warm, out, recipe, options)  # warm-up: Inductor's cache, Ray's worker processes
                net = network_only(recipe, clip, options, args.compile == "on").steady_fps(args.batch_size)
                clock = Clock()
                report = run(clip, out, recipe, options, clock.tick)
                assert report.frames_out == frames[size], report
                e2e = clock.steady_fps(args.batch_size)
                rows.append((size, driver, frames[size], gflop, net, e2e, report.fps, clock.startup(args.batch_size)))
                print(f"  {size}p {driver}: network {net:.3f} fps, render {e2e:.3f} fps", flush=True)
        if "ray" in args.drivers:
            ray.shutdown()
    print(
        f"\n{'size':>5} {'driver':>7} {'frames':>6} {'GFLOP/frame':>11} {'network fps':>11} {'render fps':>10} "
        f"{'render/network':>14} {'startup s':>9} {'render wall fps':>15}"
    )
    for size, driver, n, gflop, net, e2e, wall, startup in rows:
        print(
            f"{size:>4}p {driver:>7} {n:>6} {gflop:>11.0f} {net:>11.3f} {e2e:>10.3f} {e2e / net:>14.2f} "
            f"{startup:>9.1f} {wall:>15.3f}"
        )


if __name__ == "__main__":
    main()
