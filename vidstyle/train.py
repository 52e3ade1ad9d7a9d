"""Train a style network (Johnson et al. 2016): perceptual losses against one painting, over many photos.

Random crops and flips of a folder of photos; content loss on relu2_2, Gram style losses on relu1_2,
relu2_2, relu3_3 and relu4_3, total variation, Adam. The losses are the relative ones of `losses.py`, so
the default weights suit any VGG checkpoint, and `vidstyle evaluate-style` reports the same numbers.

A run is a pure function of its options and seed: the crop sequence comes from a seeded generator that is
saved in each checkpoint with the network and Adam's state, so `--resume` continues exactly where an
interrupted run stopped.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .errors import VidstyleError
from .imagefile import read_rgb, to_tensor
from .losses import (
    JOHNSON,
    Terms,
    content_loss,
    resize_long_side,
    style_loss,
    style_targets,
    tv_loss,
)
from .transformer import TransformerNet
from .vgg import VGGFeatures

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


@dataclass
class TrainOptions:
    steps: int = 2000
    batch_size: int = 4
    crop: int = 256  # side of the square random crops
    lr: float = 1e-3
    content_weight: float = 1.0
    style_weight: float = 5.0
    tv_weight: float = 1.0
    style_size: int = 512  # the painting's longer side for its Gram matrices (sets the brush-stroke scale)
    base: int = 32  # network width (32 = Johnson's; 16 = the lighter network)
    residual_blocks: int = 5
    checkpoint_every: int = 200
    preview_every: int = 200
    seed: int = 0


def list_photos(folder: Path, exclude: list[str]) -> list[Path]:
    """Photos in `folder`, sorted, without names matching any `exclude` pattern (keep test photos out)."""
    if not folder.is_dir():
        raise VidstyleError(f"{folder} is not a folder of photos.")
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES
                    and not any(fnmatch.fnmatch(p.name, pattern) for pattern in exclude))
    if not photos:
        raise VidstyleError(f"{folder} holds no photos ({', '.join(sorted(PHOTO_SUFFIXES))}) to train on.")
    return photos


def random_batch(photos: list[Path], rng: np.random.Generator, size: int, crop: int) -> torch.Tensor:
    """`size` random crops (scaled so the shorter side is at least `crop`) with random horizontal flips;
    NCHW float 0-255, as the network takes."""
    out = []
    for index in rng.integers(0, len(photos), size):
        with Image.open(photos[index]) as image:
            image = image.convert("RGB")
            scale = crop / min(image.size)
            if scale > 1:
                image = image.resize((round(image.width * scale + 0.5), round(image.height * scale + 0.5)),
                                     Image.Resampling.BICUBIC)
            x = int(rng.integers(0, image.width - crop + 1))
            y = int(rng.integers(0, image.height - crop + 1))
            patch = np.asarray(image.crop((x, y, x + crop, y + crop)))
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        out.append(torch.from_numpy(np.array(patch)).permute(2, 0, 1))
    return torch.stack(out).float()


def losses_of(net: TransformerNet, vgg: VGGFeatures, photos: torch.Tensor, grams: dict[str, torch.Tensor],
              options: TrainOptions) -> tuple[torch.Tensor, Terms]:
    out = net(photos) / 255
    feats = vgg(torch.cat([out, photos / 255]))
    n = len(photos)
    c = options.content_weight * content_loss(feats[JOHNSON.content][:n], feats[JOHNSON.content][n:]).mean()
    s = options.style_weight * style_loss({k: v[:n] for k, v in feats.items()}, grams).mean()
    t = options.tv_weight * tv_loss(out).mean()
    return c + s + t, Terms(0, c.item(), s.item(), t.item())


def checkpoint_path(output: Path) -> Path:
    return output.with_name(output.name + ".ckpt")


def save_checkpoint(path: Path, step: int, net, optimizer, rng: np.random.Generator, options: TrainOptions) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"step": step, "net": net.state_dict(), "optimizer": optimizer.state_dict(),
                "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "options": asdict(options)}, tmp)
    os.replace(tmp, path)


def train(
    vgg: VGGFeatures,
    painting: np.ndarray,
    photos: list[Path],
    output: Path,
    options: TrainOptions,
    device: torch.device,
    resume: bool = False,
    previews: list[Path] | None = None,
    on_step: Callable[[Terms], None] | None = None,
) -> TransformerNet:
    """Train and return the network; checkpoints go to OUTPUT.ckpt, preview strips to OUTPUT.previews/."""
    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    net = TransformerNet(options.base, options.residual_blocks).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=options.lr)
    vgg = vgg.to(device)
    grams = style_targets(vgg, resize_long_side(to_tensor(painting, device), options.style_size), JOHNSON)
    start = 0
    ckpt = checkpoint_path(output)
    if resume:
        if not ckpt.is_file():
            raise VidstyleError(f"no checkpoint {ckpt} to resume from; run without --resume.")
        state = torch.load(ckpt, map_location=device, weights_only=False)  # our own file: it holds RNG states
        saved = {k: v for k, v in state["options"].items() if k not in ("steps", "checkpoint_every", "preview_every")}
        mine = {k: v for k, v in asdict(options).items() if k in saved}
        if saved != mine:
            changed = ", ".join(k for k in saved if saved[k] != mine[k])
            raise VidstyleError(f"{ckpt} was trained with other settings ({changed}); use the same ones to resume.")
        net.load_state_dict(state["net"])
        optimizer.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        start = state["step"]
    net.train()
    for step in range(start + 1, options.steps + 1):
        batch = random_batch(photos, rng, options.batch_size, options.crop).to(device)
        optimizer.zero_grad()
        total, parts = losses_of(net, vgg, batch, grams, options)
        total.backward()
        optimizer.step()
        parts.step = step
        if on_step:
            on_step(parts)
        if step % options.checkpoint_every == 0 or step == options.steps:
            save_checkpoint(ckpt, step, net, optimizer, rng, options)
        if previews and (step % options.preview_every == 0 or step == options.steps):
            write_preview(net, previews, output.with_name(output.stem + ".previews") / f"step-{step:06d}.jpg", device)
    return net.eval()


def write_preview(net: TransformerNet, photos: list[Path], path: Path, device: torch.device, side: int = 256) -> None:
    """Held-out photos in a row, stylised by the network as it is now."""
    from .transformer import stylize, work_size

    was_training = net.training
    net.eval()
    tiles = []
    with torch.inference_mode():
        for photo in photos:
            rgb = read_rgb(photo)
            out = stylize(net, torch.from_numpy(rgb.copy())[None].to(device), work_size(*rgb.shape[:2], side))
            tiles.append(Image.fromarray(out[0].cpu().numpy()).resize((side, round(side * rgb.shape[0] / rgb.shape[1]))))
    net.train(was_training)
    sheet = Image.new("RGB", (sum(t.width for t in tiles), max(t.height for t in tiles)), "white")
    x = 0
    for tile in tiles:
        sheet.paste(tile, (x, 0))
        x += tile.width
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, quality=90)
