"""Tune a style code for one painting: the built-in styles, trained on a CPU in minutes, not GPU days.

The arbitrary-style network (`arbitrary.py`) paints any painting from the code its predictor reads off the
painting. That code is a good start, not the best a code can do for that painting: here the code itself
(the scales and shifts of the network's 13 conditional instance norms, `CODE_SIZE` numbers) is optimised
with Johnson et al.'s perceptual losses, and the network's weights stay as shipped, so `--style-image`
keeps working unchanged and tuned codes still blend with paintings and with each other.

Trained at the scale of use: photos scaled so their long side is `photo_side` (480 px, the size videos are
rendered at), random `crop`-pixel crops and flips, the painting's Gram targets at the same long side.
Content loss on relu2_2, style loss the mean relative Gram distance over relu1_2 ... relu4_3 (the measure
`bench/style_quality.py` reports), total variation, and where `laplacian_weight` asks for it Li et al.'s
Laplacian loss (`losses.laplacian_loss`), which keeps the subject's edges where the content weight runs out.
Checkpoints (`OUTPUT.ckpt`, plain tensors, read with `weights_only=True`) hold the code and Adam's state;
step k's crops are drawn from a generator seeded by (seed, k), so `--resume` continues exactly as if it had
not stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch

from vidstyle.allocator import keep_freed_memory
from vidstyle.checks import check_finite, diverged
from vidstyle.errors import VidstyleError
from vidstyle.files import write_atomic
from vidstyle.media.images import read_rgb
from vidstyle.models import arbitrary
from vidstyle.models.vgg import VGGFeatures
from vidstyle.nst.losses import (
    JOHNSON,
    content_loss,
    laplacian_loss,
    resize_long_side,
    style_loss,
    style_targets,
    tv_loss,
)
from vidstyle.options import CodeTrainOptions

CKPT_FORMAT = "vidstyle-code-checkpoint/1"


@dataclass
class CodeStep:
    step: int
    content: float
    style: float
    tv: float
    seconds: float
    laplacian: float = 0.0


def _photos(paths: list[Path], side: int) -> list[torch.Tensor]:
    """Each photo as (3, H, W) floats in [0, 1], its long side `side`."""
    out = []
    for path in paths:
        x = torch.from_numpy(read_rgb(path).copy()).permute(2, 0, 1)[None].float() / 255
        out.append(resize_long_side(x, side)[0])
    return out


def _batch(photos: list[torch.Tensor], options: CodeTrainOptions, step: int) -> torch.Tensor:
    g = np.random.default_rng([options.seed, step])
    crops = []
    for _ in range(options.batch_size):
        p = photos[g.integers(len(photos))]
        h, w = p.shape[-2:]
        c = min(options.crop, h, w) // 4 * 4
        y, x = g.integers(h - c + 1), g.integers(w - c + 1)
        crop = p[:, y : y + c, x : x + c]
        crops.append(crop.flip(-1) if g.random() < 0.5 else crop)
    side = min(c.shape[-1] for c in crops)
    return torch.stack([c[:, :side, :side] for c in crops])


def checkpoint_path(output: Path) -> Path:
    return output.with_name(output.name + ".ckpt")


def read_checkpoint(path: Path) -> dict:
    """A checkpoint to go on from, loaded with `weights_only=True` and checked field by field: its step, a
    finite code of the network's size, Adam's state and the options it was made with."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, or a pickle that wants to run code
        raise VidstyleError(f"{path} is not a readable code checkpoint ({type(exc).__name__}).") from None
    if not isinstance(blob, dict) or blob.get("format") != CKPT_FORMAT:
        raise VidstyleError(f"{path} is not a vidstyle code checkpoint (expected {CKPT_FORMAT}).")
    step, code, adam = blob.get("step"), blob.get("code"), blob.get("adam")
    fits = {
        "step": isinstance(step, int) and not isinstance(step, bool) and step >= 0,
        "code": isinstance(code, torch.Tensor) and tuple(code.shape) == (arbitrary.CODE_SIZE,),
        "Adam's state": isinstance(adam, dict)
        and isinstance(adam.get("state"), dict)
        and isinstance(adam.get("param_groups"), list),
        "options": isinstance(blob.get("options"), dict),
    }
    damaged = [name for name, ok in fits.items() if not ok]
    if damaged:
        raise VidstyleError(f"{path} is damaged (its {', '.join(damaged)}); remove it, or run without --resume.")
    check_finite(
        [
            ("its code", code),
            *((f"Adam's {k}", v) for s in blob["adam"]["state"].values() if isinstance(s, dict) for k, v in s.items()),
        ],
        str(path),
    )
    return blob


def check_resumable(saved: dict, options: CodeTrainOptions, where: Path) -> None:
    """Only --steps may change between the parts of a run; a setting the checkpoint lacks counts as changed."""
    mine = {k: v for k, v in asdict(options).items() if k != "steps"}
    changed = [k for k in mine if k not in saved or saved[k] != mine[k]]
    changed += [str(k) for k in saved if k not in mine and k != "steps"]
    if changed:
        raise VidstyleError(
            f"{where} was made with other options ({', '.join(changed)}); use the same ones, or start again "
            "without --resume."
        )


def train_code(
    vgg: VGGFeatures,
    net: arbitrary.ArbitraryNet,
    painting: np.ndarray,
    photos: list[Path],
    init: np.ndarray,
    output: Path,
    options: CodeTrainOptions,
    resume: bool = False,
    on_step: Callable[[CodeStep], None] | None = None,
) -> np.ndarray:
    """Optimise a code from `init`; returns it. Checkpoints go to `checkpoint_path(output)`."""
    if not photos:
        raise VidstyleError("no training photos.")
    options.check()
    keep_freed_memory()
    torch.manual_seed(options.seed)
    transfer = net.transfer.eval().requires_grad_(False)
    vgg = vgg.eval().requires_grad_(False)
    code = torch.nn.Parameter(torch.from_numpy(np.asarray(init, np.float32)).clone()[None])
    adam = torch.optim.Adam([code], lr=options.lr)
    start = 0
    ckpt = checkpoint_path(output)
    if resume and ckpt.is_file():
        blob = read_checkpoint(ckpt)
        check_resumable(blob["options"], options, ckpt)
        with torch.no_grad():
            code.copy_(blob["code"])
        try:
            adam.load_state_dict(blob["adam"])
            if any(v.shape != code.shape for st in adam.state.values() for v in st.values() if v.ndim):
                raise ValueError("moments of another size")
        except (ValueError, KeyError, TypeError, IndexError, RuntimeError) as exc:
            raise VidstyleError(
                f"{ckpt}: Adam's state does not fit this code ({type(exc).__name__}); remove it, or run "
                "without --resume."
            ) from None
        start = blob["step"]
    painting_t = torch.from_numpy(painting.copy()).permute(2, 0, 1)[None].float() / 255
    targets = style_targets(vgg, resize_long_side(painting_t, options.photo_side), JOHNSON)
    images = _photos(photos, options.photo_side)
    started = time.perf_counter()
    for step in range(start + 1, options.steps + 1):
        x = _batch(images, options, step)
        with torch.no_grad():
            content_target = vgg(x)[JOHNSON.content]
        # with the grain `render` adds (arbitrary.GRAIN): the code is tuned on what it will paint
        y = transfer(arbitrary.add_grain(x, transfer.grain, arbitrary.GRAIN), code.expand(len(x), -1))
        feats = vgg(y)
        s = style_loss(feats, targets).mean()
        c = content_loss(feats[JOHNSON.content], content_target).mean()
        t = tv_loss(y).mean()
        lap = laplacian_loss(y, x).mean()
        loss = (
            options.style_weight * s
            + options.content_weight * c
            + options.tv_weight * t
            + options.laplacian_weight * lap
        )
        if not torch.isfinite(loss):
            raise diverged(step, "the loss")
        adam.zero_grad()
        loss.backward()
        adam.step()
        if not torch.isfinite(code).all():
            raise diverged(step, "the code")
        if on_step:
            on_step(CodeStep(step, c.item(), s.item(), t.item(), time.perf_counter() - started, lap.item()))
        if step % options.checkpoint_every == 0 or step == options.steps:
            blob = {
                "format": CKPT_FORMAT,
                "step": step,
                "code": code.detach()[0].clone(),
                "adam": adam.state_dict(),
                "options": asdict(options),
            }
            write_atomic(ckpt, partial(torch.save, blob))
    return code.detach()[0].numpy()
