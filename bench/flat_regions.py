"""Why flat regions stay flat: style distance per region (flat, textured, dark) on bench/hard_frames.py's set.

    python bench/flat_regions.py muse wave --size 480 --sheet-dir sheets/ --json regions.json

For each frame of the hard set at --size, masks from the source: `flat` where the grey's local standard
deviation (15 px window) is under 2.5 (of 255), `textured` where it is over 10, `dark` where the blurred luma
is under 40. Per region, the style distance of `evaluate.style_distance` (mean over relu1_2..relu4_3 of
||G-T||^2/||T||^2, the painting's Gram at the same long side) with G the Gram of the features inside the
region only (the mask shrunk to each layer's grid, its border cells left out), averaged over the frames
where the region covers at least 2% of the frame. Candidates, all in one run:
  reference   the fast-style-transfer network of the painting (research use only; a yardstick)
  ours        the built-in's code (or --ours NAME=PATH.vstyle) on the arbitrary-style network, in float
  ours-q8     the same with every activation rounded to 8 bits (per tensor, its min..max in 255 steps), as
              the int8 TensorFlow Lite model the peer runs does (issue 29's clue)
  ours-nN     the same float network with Gaussian noise of N/255 added to the input, its seed taken from a
              coarse thumbnail of the frame, so frames of one shot get the same pattern (no flicker where the
              picture holds still)
Not a test: numbers from one run.
"""

from __future__ import annotations

import argparse
import json
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from hard_frames import ASSETS, hard_frames
from style_quality import PAIRS, VGG, long_side

from vidstyle.media.images import read_rgb, to_tensor, write_rgb
from vidstyle.media.sheets import contact_sheet
from vidstyle.models import arbitrary
from vidstyle.models.arbitrary import (
    CODE_SIZE,
    NORM_CHANNELS,
    _s2d_bias,
    _s2d_kernel,
    conditional_norm,
    s2d_conditional_norm,
    s2d_reflect_pad,
    upsample_conv,
)
from vidstyle.models.styles import StyleInfo, import_deeplearnjs, load_code, resolve_style
from vidstyle.models.transformer import stylize
from vidstyle.models.vgg import load_state, load_vgg
from vidstyle.nst.losses import JOHNSON, resize_long_side, style_targets
from vidstyle.temporal.evaluate import structure

REGIONS = ("whole", "flat", "textured", "dark")
Stylize = Callable[[np.ndarray], np.ndarray]


def current_frames(assets: Path) -> list[tuple[str, np.ndarray]]:
    """bench/style_quality.py's default set: 4 frames of each video and the first 8 BSDS test_* photos."""
    from style_quality import VIDEOS

    from vidstyle.pipeline.preview import sample

    out = []
    for v in VIDEOS:
        info, pts, got, _ = sample(assets / "videos" / v, 4, "even")
        out += [(f"{Path(v).stem} {float(p * info.time_base):.1f}s", f) for p, f in zip(pts, got)]
    return out + [(p.stem, read_rgb(p)) for p in sorted((assets / "photos" / "bsds500").glob("test_*.jpg"))[:8]]


def masks(rgb: np.ndarray) -> dict[str, np.ndarray]:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    mean, mean2 = cv2.blur(grey, (15, 15)), cv2.blur(grey * grey, (15, 15))
    std = np.sqrt(np.clip(mean2 - mean * mean, 0, None))
    return {
        "whole": np.ones_like(grey, bool),
        "flat": std < 2.5,
        "textured": std > 10,
        "dark": cv2.blur(grey, (15, 15)) < 40,
    }


def region_distance(feats: dict, targets: dict, mask: np.ndarray) -> float | None:
    """Mean over layers of the relative Gram distance of the features inside `mask`; None if too few cells."""
    m = torch.from_numpy(mask.astype(np.float32))[None, None]
    out = []
    for name, target in targets.items():
        f = feats[name][0]
        inside = F.adaptive_avg_pool2d(m, f.shape[-2:])[0, 0] > 0.999
        if inside.sum() < 16:
            return None
        x = f[:, inside]
        g = x @ x.T / x.shape[1]
        out.append((((g - target[0]) ** 2).sum() / (target[0] ** 2).sum()).item())
    return float(np.mean(out))


def quantise(x: torch.Tensor, levels: int = 255) -> torch.Tensor:
    lo, hi = x.amin(), x.amax()
    scale = (hi - lo).clamp_min(1e-8) / levels
    return ((x - lo) / scale).round() * scale + lo


def transfer_q(net: arbitrary.StyleTransfer, x: torch.Tensor, code: torch.Tensor, q) -> torch.Tensor:
    """`StyleTransfer.forward` with `q` applied to every activation."""
    gammas, betas = code.split(CODE_SIZE // 2, dim=1)
    norms = iter(zip(gammas.split(NORM_CHANNELS, dim=1), betas.split(NORM_CHANNELS, dim=1)))
    first, down, down2 = net.contract
    frame = F.pixel_unshuffle(F.pad(x, (4, 4, 4, 4), mode="reflect"), 2)
    x = q(F.conv2d(frame, _s2d_kernel(first, 5, -2), _s2d_bias(first)).relu_())
    x = q(F.conv2d(F.pad(x, (1, 0, 1, 0), mode="replicate"), _s2d_kernel(down, 2, -1), _s2d_bias(down)).relu_())
    x = q(down2(x).relu_())
    for conv1, conv2 in net.residual:
        h = q(conditional_norm(q(conv1(x)), *next(norms)).relu_())
        x = q(x + q(conditional_norm(q(conv2(h)), *next(norms))))
    up1, up2, last = net.expand
    x = q(conditional_norm(q(upsample_conv(x, up1)), *next(norms)).relu_())
    x = q(s2d_conditional_norm(q(upsample_conv(x, up2, shuffle=False)), *next(norms)).relu_())
    x = q(F.conv2d(s2d_reflect_pad(x, 2), _s2d_kernel(last, 5, -2), _s2d_bias(last)))
    return F.pixel_shuffle(s2d_conditional_norm(x, *next(norms)).sigmoid_(), 2)


def scene_noise(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian noise (sigma in 0-255 units) seeded by an 8x8 thumbnail of the frame in 8 grey levels."""
    thumb = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (8, 8), interpolation=cv2.INTER_AREA) // 32
    g = np.random.default_rng(zlib.crc32(thumb.tobytes()))
    return g.normal(0, sigma, rgb.shape[:2])[..., None].astype(np.float32)


def code_candidate(net: arbitrary.StyleTransfer, code: np.ndarray, how: str) -> Stylize:
    c = torch.from_numpy(code)[None]

    def run(frame: np.ndarray) -> np.ndarray:
        src = frame.astype(np.float32)
        if how.startswith("n"):
            src = np.clip(src + scene_noise(frame, float(how[1:])), 0, 255)
        x = torch.from_numpy(src).permute(2, 0, 1)[None] / 255
        h, w = x.shape[-2:]
        x = F.pad(x, (0, -w % 4, 0, -h % 4), mode="reflect")
        with torch.inference_mode():
            y = transfer_q(net, x, c, quantise if how == "q8" else (lambda t: t))[..., :h, :w]
        return (y[0].permute(1, 2, 0) * 255).clamp(0, 255).round().to(torch.uint8).numpy()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("styles", nargs="*", default=["muse", "udnie", "wave", "wreck"])
    parser.add_argument("--size", type=int, default=480)
    parser.add_argument("--noise", type=float, nargs="*", default=[2.0, 6.0], help="input noise sigmas (0-255)")
    parser.add_argument("--no-q8", action="store_true")
    parser.add_argument("--ours", action="append", default=[], metavar="NAME=PATH.vstyle")
    parser.add_argument("--assets", type=Path, default=ASSETS)
    parser.add_argument("--set", choices=("hard", "current"), default="hard", help="current: style_quality's set")
    parser.add_argument("--sheet-dir", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    ours_files = {n: p for n, _, p in (o.partition("=") for o in args.ours)}
    vgg = load_vgg(JOHNSON.all, load_state(args.assets / "weights" / VGG))
    net = arbitrary.shipped().transfer.eval()
    source = current_frames(args.assets) if args.set == "current" else hard_frames(args.assets)
    frames = [(label, long_side(f, args.size)) for label, f in source]
    frame_masks = [masks(f) for _, f in frames]
    share = {r: np.mean([m[r].mean() for m in frame_masks]) for r in REGIONS}
    print(
        f"{len(frames)} {args.set} frames at {args.size} px; mean share: "
        + ", ".join(f"{r} {v:.2f}" for r, v in share.items())
    )
    hows = ["plain"] + ([] if args.no_q8 else ["q8"]) + [f"n{s:g}" for s in args.noise]
    results: dict = {}
    for name in args.styles:
        folder, painting_file = PAIRS[name]
        ref_net = import_deeplearnjs(args.assets / "reference-styles" / folder, StyleInfo(name=folder))
        code = load_code(resolve_style(ours_files.get(name, name)))

        def reference(frame: np.ndarray, ref_net=ref_net) -> np.ndarray:
            with torch.inference_mode():
                return stylize(ref_net, torch.from_numpy(np.ascontiguousarray(frame))[None])[0].numpy()

        found: dict[str, Stylize] = {"reference": reference}
        found |= {("ours" if h == "plain" else f"ours-{h}"): code_candidate(net, code, h) for h in hows}
        painting = to_tensor(read_rgb(args.assets / "styles" / painting_file))
        table: dict = {c: {r: [] for r in REGIONS} | {"structure": []} for c in found}
        outs: dict = {c: [] for c in found}
        targets: dict = {}
        with torch.no_grad():
            for (_, frame), fm in zip(frames, frame_masks):
                side = max(frame.shape[:2])
                if side not in targets:
                    targets[side] = style_targets(vgg, resize_long_side(painting, side), JOHNSON)
                for cand, run in found.items():
                    out = run(frame)
                    outs[cand].append(out)
                    feats = vgg(torch.from_numpy(out).permute(2, 0, 1)[None].float() / 255)
                    for r in REGIONS:
                        if fm[r].mean() >= 0.02 and (d := region_distance(feats, targets[side], fm[r])) is not None:
                            table[cand][r].append(d)
                    table[cand]["structure"].append(structure(frame, out))
        summary = {c: {k: float(np.mean(v)) if v else float("nan") for k, v in t.items()} for c, t in table.items()}
        counts = {r: len(table["reference"][r]) for r in REGIONS}
        results[name] = {"summary": summary, "frames_per_region": counts}
        ref = summary["reference"]
        print(f"\n## {name} ({args.size} px; frames per region: {counts})\n")
        print("| candidate | " + " | ".join(f"{r} dist (x ref)" for r in REGIONS) + " | structure (x ref) |")
        print("|---" * (len(REGIONS) + 2) + "|")
        for c, s in summary.items():
            dist = " | ".join(f"{s[r]:.3f} ({s[r] / ref[r]:.2f})" for r in REGIONS)
            print(f"| {c} | {dist} | {s['structure']:.3f} ({s['structure'] / ref['structure']:.2f}) |", flush=True)
        if args.sheet_dir:
            args.sheet_dir.mkdir(parents=True, exist_ok=True)
            picks = [
                i
                for i, (label, _) in enumerate(frames)
                if any(k in label for k in ("night", "low_key", "flat", "graphic", "synth night"))
            ] or list(range(0, len(frames), max(1, len(frames) // 8)))
            rows = [(frames[i][0], [frames[i][1]] + [outs[c][i] for c in found]) for i in picks[:8]]
            write_rgb(
                args.sheet_dir / f"regions-{name}-{args.set}-{args.size}.png",
                np.asarray(contact_sheet(rows, ["source", *found], 200)),
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
