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

from .losses import JOHNSON, content_loss, resize_long_side, style_loss, style_targets
from .temporal import Flicker, frames_small, measure
from .vgg import VGGFeatures


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


def perceptual(vgg: VGGFeatures, painting: torch.Tensor, source: Path, output: Path, frames: int = 8,
               side: int = 256) -> tuple[float, float, int]:
    """(mean style loss to the painting, mean content loss to the input, frames used) over `frames` frames
    spread evenly; every frame is read, only the chosen ones go through VGG."""
    from .media import probe

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


def evaluate(source: Path, output: Path, every: int = 1, side: int = 384, vgg: VGGFeatures | None = None,
             painting: torch.Tensor | None = None, frames: int = 8) -> Evaluation:
    flicker: Flicker = measure(source, output, every, side)
    result = Evaluation(flicker.warp_error, flicker.warp_error_lum, flicker.pairs, flicker.visible)
    if vgg is not None and painting is not None:
        result.style_loss, result.content_loss, result.frames_scored = perceptual(vgg, painting, source, output,
                                                                                  frames)
    return result


def score_style(net, vgg: VGGFeatures, painting: torch.Tensor, photos: list[Path], side: int = 256,
                device: torch.device | None = None, keep: list | None = None) -> tuple[float, float]:
    """Mean style and content loss of a style network over held-out photos, each at `side` pixels (longer
    side), with training's layers and losses; `keep` collects the stylised photos for a contact sheet."""
    from .imagefile import read_rgb
    from .transformer import stylize

    device = device or torch.device("cpu")
    targets = style_targets(vgg, resize_long_side(painting.to(device), side), JOHNSON)
    styles, contents = [], []
    with torch.inference_mode():
        for path in photos:
            photo = resize_long_side(torch.from_numpy(read_rgb(path).copy()).permute(2, 0, 1)[None].float().to(device),
                                     side)
            out = stylize(net, photo.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1))
            x = torch.cat([out.permute(0, 3, 1, 2).float(), photo]) / 255
            feats = vgg(x)
            styles.append(style_loss({k: v[:1] for k, v in feats.items()}, targets).item())
            contents.append(content_loss(feats[JOHNSON.content][:1], feats[JOHNSON.content][1:]).item())
            if keep is not None:
                keep.append(out[0].cpu().numpy())
    return float(np.mean(styles)), float(np.mean(contents))
