"""Train a style network (Johnson et al. 2016): perceptual losses against one painting, over many photos.

Random crops and flips of a folder of photos; content loss on relu2_2, Gram style losses on relu1_2,
relu2_2, relu3_3 and relu4_3, total variation, Adam. The losses are the relative ones of `losses.py`, so
the default weights suit any VGG checkpoint, and `vidstyle evaluate-style` reports the same numbers.

A run is a pure function of its options and seed: step k's crops come from a generator seeded with
(seed, k), so batches can be made ahead in threads, a checkpoint needs no sampler state, and
`--resume` continues exactly where an interrupted run stopped. On a GPU the forward passes run in bfloat16
(Gram matrices in float32) with channels-last tensors; on a CPU everything stays float32.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vidstyle.allocator import keep_freed_memory
from vidstyle.checks import check_finite, diverged
from vidstyle.errors import VidstyleError
from vidstyle.files import write_atomic
from vidstyle.media.images import read_rgb, to_tensor
from vidstyle.media.sheets import contact_sheet
from vidstyle.models.transformer import TransformerNet
from vidstyle.models.vgg import VGGFeatures
from vidstyle.nst.losses import (
    JOHNSON,
    Terms,
    content_loss,
    resize_long_side,
    style_loss,
    style_targets,
    tv_loss,
)
from vidstyle.options import TrainOptions


@dataclass(frozen=True)
class Worker:
    """Where this process stands among the training processes (one, unless Ray Train started several)."""

    rank: int = 0
    count: int = 1

    @property
    def leads(self) -> bool:
        return self.rank == 0


@functools.lru_cache(maxsize=1024)
def _decoded(path: Path, crop: int, photo_size: int = 0) -> np.ndarray:
    """A photo as RGB uint8, its shorter side scaled to `photo_size` (if given) and at least `crop`.
    Cached: a small photo set is decoded once per run rather than once per crop (1024 BSDS-sized photos
    are ~0.5 GB)."""
    image = Image.fromarray(read_rgb(path))  # the same pixels every other door reads (16-bit, EXIF, alpha)
    scale = max(crop, photo_size) / min(image.size) if photo_size else crop / min(image.size)
    if scale > 1 or photo_size:
        image = image.resize(
            (round(image.width * scale + 0.5), round(image.height * scale + 0.5)), Image.Resampling.BICUBIC
        )
    return np.asarray(image)


def step_batch(
    photos: list[Path], seed: int, step: int, size: int, crop: int, worker: Worker = Worker(), photo_size: int = 0
) -> torch.Tensor:
    """`worker`'s share of step `step`'s crops, NCHW float 0-255 as the network takes.

    The step's `size` crops (photo, position, horizontal flip) are drawn from a generator seeded by
    (seed, step) alone and dealt out to the workers in turn, so any thread can make any step's batch, and
    N workers averaging their gradients train exactly the network one process would.
    """
    rng = np.random.default_rng([seed, step])
    picks = [(int(i), rng.random(), rng.random(), rng.random() < 0.5) for i in rng.integers(0, len(photos), size)]
    out = []
    for index, fy, fx, flip in picks[worker.rank :: worker.count]:
        pixels = _decoded(photos[index], crop, photo_size)
        y = int(fy * (pixels.shape[0] - crop + 1))
        x = int(fx * (pixels.shape[1] - crop + 1))
        patch = pixels[y : y + crop, x : x + crop]
        if flip:
            patch = patch[:, ::-1]
        out.append(torch.from_numpy(np.ascontiguousarray(patch)).permute(2, 0, 1))
    return torch.stack(out).float()


def batches(
    photos: list[Path], options: TrainOptions, first: int, worker: Worker, threads: int
) -> Iterator[torch.Tensor]:
    """Batches for steps first..steps, made `2 * threads` steps ahead so decoding overlaps the GPU."""
    with ThreadPoolExecutor(max(1, threads)) as pool:
        ahead: deque = deque()
        for step in range(first, options.steps + 1):
            ahead.append(
                pool.submit(
                    step_batch, photos, options.seed, step, options.batch_size, options.crop, worker, options.photo_size
                )
            )
            if len(ahead) > 2 * threads:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def losses_of(
    net: torch.nn.Module, vgg: VGGFeatures, photos: torch.Tensor, grams: dict[str, torch.Tensor], options: TrainOptions
) -> tuple[torch.Tensor, Terms]:
    amp = torch.autocast("cuda", torch.bfloat16) if photos.is_cuda else nullcontext()
    with amp:
        out = net(photos) / 255
        feats = vgg(torch.cat([out, photos / 255]))
    feats = {k: v.float() for k, v in feats.items()}
    out = out.float()
    n = len(photos)
    layer = options.content_layer
    c = options.content_weight * content_loss(feats[layer][:n], feats[layer][n:]).mean()
    s = options.style_weight * style_loss({k: v[:n] for k, v in feats.items()}, grams).mean()
    t = options.tv_weight * tv_loss(out).mean()
    return c + s + t, Terms(0, c.item(), s.item(), t.item())


def checkpoint_path(output: Path) -> Path:
    return output.with_name(output.name + ".ckpt")


def checkpoint_state(step: int, net: TransformerNet, optimizer, options: TrainOptions) -> dict:
    return {
        "step": step,
        "net": net.state_dict(),
        "optimizer": optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "options": asdict(options),
    }


def save_checkpoint(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)  # as save_style does for the result beside it
    write_atomic(path, lambda tmp: torch.save(state, tmp))


#: What a checkpoint holds, and the type of each: plain data and tensors, all that `weights_only` loads.
CHECKPOINT_FIELDS = {"step": int, "net": dict, "optimizer": dict, "torch_rng": torch.Tensor, "options": dict}


def read_checkpoint(path: Path) -> dict:
    """A checkpoint to resume from, loaded with `weights_only=True`: OUTPUT.ckpt is a file anyone who can
    write beside the output may have planted, and a full unpickle runs whatever function its pickle names.
    Its optimiser state, RNG state and options are tensors and plain types, which that loader allows.
    A file that is not such a checkpoint is one line, not a traceback."""
    if not path.is_file():
        raise VidstyleError(f"no checkpoint {path} to resume from; run without --resume.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, not a torch file, or a pickle that wants to run code
        raise VidstyleError(
            f"{path} is not a readable vidstyle checkpoint ({type(exc).__name__}); remove it, or run without --resume."
        ) from None
    if not isinstance(state, dict) or not all(isinstance(state.get(k), t) for k, t in CHECKPOINT_FIELDS.items()):
        raise VidstyleError(
            f"{path} is not a vidstyle checkpoint (it lacks {', '.join(CHECKPOINT_FIELDS)}); "
            "remove it, or run without --resume."
        )
    if isinstance(state["step"], bool) or state["step"] < 0:
        raise VidstyleError(f"{path} is damaged (its step, {state['step']!r}); remove it, or run without --resume.")
    check_finite(state["net"].items(), str(path))
    return state


#: What may change between the parts of a run: its length and how often it reports.
MAY_CHANGE = ("steps", "checkpoint_every", "preview_every")


def check_resumable(state: dict, options: TrainOptions, where: str) -> None:
    """Every other setting must be the checkpoint's; one the checkpoint lacks counts as changed."""
    saved = state["options"]
    mine = {k: v for k, v in asdict(options).items() if k not in MAY_CHANGE}
    changed = [k for k in mine if k not in saved or saved[k] != mine[k]]
    changed += [str(k) for k in saved if k not in mine and k not in MAY_CHANGE]
    if changed:
        raise VidstyleError(
            f"{where} was trained with other settings ({', '.join(changed)}); use the same ones to resume."
        )


def check_split(batch_size: int, workers: int) -> None:
    if batch_size % workers:
        raise VidstyleError(f"--batch-size {batch_size} does not split evenly over {workers} workers.")


def train(
    vgg: VGGFeatures,
    painting: np.ndarray,
    photos: list[Path],
    output: Path,
    options: TrainOptions,
    device: torch.device,
    resume: bool | dict = False,
    previews: list[Path] | None = None,
    on_step: Callable[[Terms], None] | None = None,
    worker: Worker = Worker(),
    wrap: Callable[[torch.nn.Module], torch.nn.Module] = lambda net: net,
    save: Callable[[dict], None] | None = None,
    loader_threads: int = 2,
    init: dict | None = None,
) -> TransformerNet:
    """Train and return the network; checkpoints go to OUTPUT.ckpt, preview strips to OUTPUT.previews/.

    `resume` is True (read OUTPUT.ckpt) or a checkpoint already read. Ray Train workers pass their
    `worker` place, `wrap` (DistributedDataParallel) and `save` (report a checkpoint to Ray) instead of
    the single-process defaults. `init` is another style network's state dict to start from: styles differ
    mostly in their normalisation parameters (Dumoulin et al. 2017), so fine-tuning one converges in a
    fraction of the steps a random start needs.
    """
    options.check()
    check_split(options.batch_size, worker.count)
    keep_freed_memory()
    torch.manual_seed(options.seed)
    net = TransformerNet(options.base, options.residual_blocks)
    if init is not None:
        try:
            net.load_state_dict({k: v.float() for k, v in init.items()})
        except RuntimeError:
            raise VidstyleError(
                f"the starting network does not have this shape (base {options.base}, "
                f"{options.residual_blocks} residual blocks)."
            ) from None
    net = net.to(device)
    fast = device.type == "cuda"
    if fast:
        # Module.to takes memory_format (its docs say so), but torch's overloads for it omit the keyword
        net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        vgg = vgg.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    vgg = vgg.to(device)
    model = wrap(net)
    optimizer = torch.optim.Adam(model.parameters(), lr=options.lr)
    grams = style_targets(vgg, resize_long_side(to_tensor(painting, device), options.style_size), JOHNSON)
    start = 0
    ckpt = checkpoint_path(output)
    if resume:
        state = resume if isinstance(resume, dict) else read_checkpoint(ckpt)
        check_resumable(state, options, str(ckpt))
        try:
            net.load_state_dict(state["net"])
            optimizer.load_state_dict(state["optimizer"])
            torch.set_rng_state(state["torch_rng"])
        except (RuntimeError, ValueError, KeyError, TypeError) as exc:
            raise VidstyleError(
                f"{ckpt} does not fit this network ({type(exc).__name__}); remove it, or run without --resume."
            ) from None
        start = state["step"]
    save = save or (lambda state: save_checkpoint(ckpt, state))
    model.train()
    for step, batch in enumerate(batches(photos, options, start + 1, worker, loader_threads), start + 1):
        batch = batch.to(device, non_blocking=True)
        if fast:
            batch = batch.contiguous(memory_format=torch.channels_last)
        optimizer.zero_grad(set_to_none=True)
        total, parts = losses_of(model, vgg, batch, grams, options)
        if not torch.isfinite(total):
            raise diverged(step, "the loss")
        total.backward()
        optimizer.step()
        parts.step = step
        if on_step:
            on_step(parts)
        if step % options.checkpoint_every == 0 or step == options.steps:
            if not all(bool(torch.isfinite(p).all()) for p in net.parameters()):
                raise diverged(step, "the network")
            save(checkpoint_state(step, net, optimizer, options) if worker.leads else {})
        if worker.leads and previews and (step % options.preview_every == 0 or step == options.steps):
            write_preview(net, previews, output.with_name(output.stem + ".previews") / f"step-{step:06d}.jpg", device)
    return net.eval()


def write_preview(net: TransformerNet, photos: list[Path], path: Path, device: torch.device, side: int = 256) -> None:
    """Held-out photos in a row, stylised by the network as it is now."""
    from vidstyle.models.transformer import stylize, work_size

    was_training = net.training
    net.eval()
    tiles = []
    with torch.inference_mode():
        for photo in photos:
            rgb = read_rgb(photo)
            height, width = rgb.shape[:2]  # (a starred shape[:2] is of unknown length to mypy)
            out = stylize(net, torch.from_numpy(rgb.copy())[None].to(device), work_size(height, width, side))
            tiles.append(out[0].cpu().numpy())
    net.train(was_training)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet = contact_sheet([("", tiles)], [], side)
    write_atomic(path, lambda tmp: sheet.save(tmp, quality=90))
