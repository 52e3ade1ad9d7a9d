"""The numbers to compare renders by: flicker, and how much style and content each frame keeps.

Stability is never judged alone: a blur is perfectly stable. So beside the warping errors come the style
loss of the output frames to the painting and their content loss to the input frames, with the layers
and relative losses that training uses (`losses.JOHNSON`), on evenly sampled frames.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from vidstyle.media.images import read_rgb, to_tensor
from vidstyle.models.devices import resolve_device
from vidstyle.models.styles import load_network, resolve_style
from vidstyle.models.vgg import VGGFeatures, perceptual_vgg
from vidstyle.nst.losses import JOHNSON, content_loss, resize_long_side, style_loss, style_targets
from vidstyle.temporal import flow
from vidstyle.temporal.flicker import Flicker, frames_small, measure


@dataclass
class Evaluation:
    warp_error: float
    warp_error_lum: float
    pairs: int
    visible: float
    style_loss: float | None = None
    content_loss: float | None = None
    frames_scored: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def perceptual(
    vgg: VGGFeatures, painting: torch.Tensor, source: Path, output: Path, frames: int = 8, side: int = 256
) -> tuple[float, float, int]:
    """(mean style loss to the painting, mean content loss to the input, frames used) over `frames` frames
    spread evenly; every frame is read, only the chosen ones go through VGG."""
    from vidstyle.media.probing import probe

    total = probe(source).frames
    chosen = set(np.linspace(0, total - 1, num=min(frames, total)).round().astype(int).tolist())
    targets = style_targets(vgg, resize_long_side(painting, side), JOHNSON)
    styles, contents = [], []
    with torch.no_grad():
        for t, (i, o) in enumerate(zip(frames_small(source, side), frames_small(output, side))):
            if t not in chosen:
                continue
            x = torch.from_numpy(np.stack([i, o])).permute(0, 3, 1, 2)
            feats = vgg(x)
            styles.append(style_loss({k: v[1:] for k, v in feats.items()}, targets).item())
            contents.append(content_loss(feats[JOHNSON.content][1:], feats[JOHNSON.content][:1]).item())
    return float(np.mean(styles)), float(np.mean(contents)), len(styles)


def evaluate(
    source: Path,
    output: Path,
    every: int = 1,
    side: int = 384,
    vgg: VGGFeatures | None = None,
    painting: torch.Tensor | None = None,
    frames: int = 8,
) -> Evaluation:
    flicker: Flicker = measure(source, output, every, side)
    result = Evaluation(flicker.warp_error, flicker.warp_error_lum, flicker.pairs, flicker.visible)
    if vgg is not None and painting is not None:
        result.style_loss, result.content_loss, result.frames_scored = perceptual(vgg, painting, source, output, frames)
    return result


def structure(source: np.ndarray, output: np.ndarray) -> float:
    """How much of the subject survives: the correlation of the blurred gradient magnitudes of the source and
    output frames (grey, uint8 RGB). 1: the same edges in the same places; a texture that swallows the
    subject, or a blur, scores low. The blur (sigma = long side / 240: 2 px at 480 px) makes it ask whether
    edges are kept where they were, not whether they are pixel-sharp."""
    import cv2

    sigma = max(source.shape[:2]) / 240

    def edges(rgb: np.ndarray) -> np.ndarray:
        grey = flow.gray(rgb).astype(np.float32) / 255
        magnitude = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
        return cv2.GaussianBlur(magnitude, (0, 0), sigma).ravel()

    return float(np.corrcoef(edges(source), edges(output))[0, 1])


def style_distance(vgg: VGGFeatures, painting: torch.Tensor, frames: list[np.ndarray]) -> list[float]:
    """Per frame: mean over training's style layers of ||G - T||^2 / ||T||^2, T the painting's Gram at the
    frame's long side (`painting`: (1, 3, H, W) in [0, 1]); frames uint8 RGB."""
    targets: dict[int, dict] = {}
    out = []
    with torch.no_grad():
        for frame in frames:
            side = max(frame.shape[:2])
            if side not in targets:
                targets[side] = style_targets(vgg, resize_long_side(painting, side), JOHNSON)
            x = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float() / 255
            out.append(style_loss(vgg(x), targets[side]).item())
    return out


def score_style(
    net,
    vgg: VGGFeatures,
    painting: torch.Tensor,
    photos: list[Path],
    side: int = 256,
    device: torch.device | None = None,
    keep: list | None = None,
) -> tuple[float, float]:
    """Mean style and content loss of a style network over held-out photos, each at `side` pixels (longer
    side), with training's layers and losses; `keep` collects the stylised photos for a contact sheet."""
    from vidstyle.models.transformer import stylize

    device = device or torch.device("cpu")
    targets = style_targets(vgg, resize_long_side(painting.to(device), side), JOHNSON)
    styles, contents = [], []
    with torch.inference_mode():
        for path in photos:
            photo = resize_long_side(
                torch.from_numpy(read_rgb(path).copy()).permute(2, 0, 1)[None].float().to(device), side
            )
            out = stylize(net, photo.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1))
            x = torch.cat([out.permute(0, 3, 1, 2).float(), photo]) / 255
            feats = vgg(x)
            styles.append(style_loss({k: v[:1] for k, v in feats.items()}, targets).item())
            contents.append(content_loss(feats[JOHNSON.content][:1], feats[JOHNSON.content][1:]).item())
            if keep is not None:
                keep.append(out[0].cpu().numpy())
    return float(np.mean(styles)), float(np.mean(contents))


def evaluate_render(
    source: Path,
    output: Path,
    painting: Path | None = None,
    *,
    every: int = 1,
    side: int = 384,
    frames: int = 8,
    vgg_weights: Path | None = None,
) -> Evaluation:
    """`evaluate` from files: with `painting`, also the style loss to it and the content loss to the input."""
    vgg = style = None
    if painting is not None:
        style = to_tensor(read_rgb(painting))
        vgg = perceptual_vgg(JOHNSON.all, vgg_weights)
    return evaluate(source, output, every, side, vgg, style, frames)


@dataclass
class StyleScore:
    name: str
    style: float  # mean style loss to the painting
    content: float  # mean content loss to the photo
    pictures: list[np.ndarray]  # the first photos, stylised, for a contact sheet


def compare_styles(
    styles: list[str],
    painting: Path,
    photos: list[Path],
    *,
    side: int = 256,
    device: str = "auto",
    vgg_weights: Path | None = None,
    keep: int = 6,
) -> list[StyleScore]:
    """Style networks scored side by side over the same held-out photos with training's layers and losses."""
    dev = resolve_device(device)
    vgg = perceptual_vgg(JOHNSON.all, vgg_weights).to(dev)
    art = to_tensor(read_rgb(painting))
    scores = []
    for name in styles:
        kept: list[np.ndarray] = []
        net = load_network(resolve_style(name)).to(dev)
        s, c = score_style(net, vgg, art, photos, side, dev, kept)
        scores.append(StyleScore(name, s, c, kept[:keep]))
    return scores
