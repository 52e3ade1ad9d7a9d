"""A render or a batch as a user asks for it: the style chosen, its recipe built once, the driver picked.

The CLI, `pipelines/` and library users call `render_video` and `render_batch`; they hold the policy the
commands share (which driver, which NST defaults, when Ray starts), so the same words give the same video
through every door.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from vidstyle import storage
from vidstyle.errors import VidstyleError
from vidstyle.files import space_checked
from vidstyle.models.acceleration import check_compile_mode, check_precision
from vidstyle.nst.gatys import NSTOptions
from vidstyle.pipeline import batch as batches
from vidstyle.pipeline.choice import CONTENT_FRAMES, StyleChoice, check_strength, make_recipe, parse_blend
from vidstyle.pipeline.executors import ShardOptions
from vidstyle.pipeline.keyframes import KeyframeOptions
from vidstyle.pipeline.preview import sample
from vidstyle.pipeline.render import render
from vidstyle.pipeline.segments import Progress, RenderOptions, RenderReport, Segment
from vidstyle.pipeline.stylizers import Finish, ImageRecipe


@dataclass
class VideoNST:
    """`--method nst` on video: keyframes optimised (Gatys et al.), the frames between carried along optical
    flow. One set of defaults for `render` and `batch`, so a painting renders alike through both.

    `nst.iterations` go to a shot's first keyframe, coarse to fine; later keyframes start from the previous
    one, warped, and take half. `nst.size` is the optimisation's long side unless --max-side says otherwise."""

    nst: NSTOptions = field(default_factory=lambda: NSTOptions(iterations=200))
    keyframe_every: int = 12  # at most this many frames between optimised keyframes (shot changes add more)
    vgg_weights: Path | None = None

    def recipe(self, painting: np.ndarray, preserve_color: bool) -> ImageRecipe:
        nst = replace(self.nst, preserve_color=preserve_color)
        nst.check()
        keyframes = KeyframeOptions(every=self.keyframe_every, warm_iterations=nst.iterations // 2)
        return ImageRecipe.of(painting, self.vgg_weights, nst, keyframes)


def on_cpu(device: str, address: str | None, no_ray: bool = False) -> bool:
    """Whether the networks will run on a CPU, for `--arch auto`. A cluster's nodes are not known before
    connecting, so with an address `auto` assumes GPUs there (pass arch "lite" for a CPU cluster)."""
    if device != "auto":
        return device == "cpu"
    if not no_ray and (address or os.environ.get("RAY_ADDRESS")):
        return False
    import torch

    return not torch.cuda.is_available()


def check_options(options: object) -> None:
    """`options` must be a RenderOptions (a dict was an AttributeError deep inside), with every field in range
    again here: fields may have been changed since it was made."""
    if not isinstance(options, RenderOptions):
        raise TypeError(f"options must be a vidstyle RenderOptions, not {type(options).__name__}.")
    options.check()
    check_compile_mode(options.compile)
    check_precision(options.precision)


def render_video(
    source: str | Path,
    output: str | Path,
    choice: StyleChoice,
    options: RenderOptions | None = None,
    *,
    arch: str = "auto",
    nst: VideoNST | None = None,
    shard: ShardOptions | None = None,
    no_ray: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[object, list[Segment]], None] | None = None,
    note: Callable[[str], None] | None = None,
    overwrite: bool = False,
) -> RenderReport:
    """Paint every frame of `source` into `output`, with its audio, frame rate and timestamps.

    Ray starts only where it helps (`executors.executor_for`: an address, `workers`, or more than one segment);
    `no_ray` keeps any job in this process. `note` receives one-line remarks (e.g. a lite network picked)."""
    options = options or RenderOptions()
    shard = shard or ShardOptions()
    nst = nst or VideoNST()
    check_options(options)
    source, output = str(source), str(output)

    def content() -> list[np.ndarray]:
        return sample(source, CONTENT_FRAMES, "even")[2]

    recipe, finish = make_recipe(
        choice,
        content,
        arch,
        on_cpu(options.device, shard.address, no_ray),
        lambda painting: nst.recipe(painting, choice.preserve_color),
        note,
    )
    options = replace(options, finish=finish)
    return render(source, output, recipe, options, progress, on_start, None if no_ray else shard, overwrite=overwrite)


@dataclass
class BatchRequest:
    """What to render: every video of a folder (or the rows of a manifest) in every style given. Inputs,
    manifests and the output folder are local paths or URLs (`storage`: s3:// with vidstyle[s3])."""

    inputs: str | Path  # a folder of videos, or a .csv / .jsonl manifest
    out_dir: str | Path
    styles: list[str] = field(default_factory=list)
    paintings: Sequence[str | Path] = field(default_factory=list)
    blends: list[str] = field(default_factory=list)
    method: str = "fast"
    strength: float = 1.0
    preserve_color: bool = False
    suffix: str = ".mp4"
    overwrite: bool = False  # replace files at output paths that are not this batch's own outputs


def render_batch(
    request: BatchRequest,
    options: RenderOptions | None = None,
    *,
    arch: str = "auto",
    nst: VideoNST | None = None,
    shard: ShardOptions | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    log: Callable[[batches.Outcome], None] | None = None,
    on_items: Callable[[int], None] | None = None,
) -> batches.BatchResult:
    """Render many videos in many styles as one Ray job, streamed and resumable; returns the counts and the
    summary files (JSON, CSV) written into `out_dir`. Bad inputs fail their own rows, not the batch; problems
    with the request itself (a bad blend, `out_dir` a file, a summary file the batch did not write) fail
    before any work. `on_items(n)` is told how many outputs the batch will make or skip."""
    options = options or RenderOptions()
    shard = shard or ShardOptions()
    nst = nst or VideoNST()
    check_options(options)
    check_strength(request.strength)
    suffix = request.suffix if request.suffix.startswith(".") else "." + request.suffix
    out_dir = str(request.out_dir)
    if storage.exists(out_dir) and not storage.is_dir(out_dir):
        raise VidstyleError(f"{out_dir} is a file; -o names the folder for the outputs.")
    for text in request.blends:
        parse_blend(text)  # a bad blend given for every video is the command's error, before any work
    items = batches.Discovery(request.inputs, request.styles, request.paintings, out_dir, suffix, request.blends)
    summary = batches.Summary(out_dir)
    try:
        summary.check(request.overwrite)
        recipes = batches.Recipes(
            arch,
            on_cpu(options.device, shard.address),
            request.method,
            request.strength,
            request.preserve_color,
            lambda painting: nst.recipe(painting, request.preserve_color),
        )
        if not storage.is_url(out_dir):
            Path(out_dir).mkdir(parents=True, exist_ok=True)  # only once the request is known to be good
        fast = request.method == "fast"
        options = replace(options, finish=Finish(request.strength, request.preserve_color and fast))
        if on_items:
            on_items(items.count)
        local_out = Path(tempfile.gettempdir()) if storage.is_url(out_dir) else Path(out_dir)
        batches.run_batch(
            iter(items),
            recipes,
            options,
            shard,
            summary,
            progress,
            log,
            request.overwrite,
            from_folder=items.folder,
            folder=local_out,
        )
        with space_checked(local_out, 1 << 20):
            written = summary.write()
        return batches.BatchResult(summary.counts["done"], summary.counts["skipped"], summary.counts["failed"], written)
    finally:
        summary.close()
