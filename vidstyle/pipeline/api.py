"""The library's two video calls, as users make them: `render_video` (one video) and `render_batch` (many).

Both check every path and option before anything is read, predicted, sampled or downloaded; then build the
style's recipe once and hand it to the driver. The CLI, `pipelines/` and library users call these, so the
same words give the same video through every door.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vidstyle import storage
from vidstyle.errors import VidstyleError
from vidstyle.files import space_checked
from vidstyle.options import VIDEO_NST, BatchRequest, NSTOptions, RenderOptions, ShardOptions, StyleChoice
from vidstyle.pipeline import batch as batches
from vidstyle.pipeline.choice import CONTENT_FRAMES, checked, make_recipe
from vidstyle.pipeline.preview import sample
from vidstyle.pipeline.render import render_recipe
from vidstyle.pipeline.segments import Progress, RenderReport, Segment, check_paths


def check_options(options: RenderOptions, shard: ShardOptions, nst: NSTOptions) -> None:
    """Each argument of its own kind (a dict was an AttributeError deep inside), every field in range again
    here: fields may have been changed since they were made."""
    for name, value, kind in (
        ("options", options, RenderOptions),
        ("shard", shard, ShardOptions),
        ("nst", nst, NSTOptions),
    ):
        if not isinstance(value, kind):
            raise TypeError(f"{name} must be a vidstyle {kind.__name__}, not {type(value).__name__}.")
    options.check()
    nst.check()


def render_video(
    source: str | Path,
    output: str | Path,
    choice: StyleChoice,
    options: RenderOptions | None = None,
    *,
    nst: NSTOptions = VIDEO_NST,
    shard: ShardOptions | None = None,
    no_ray: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[object, list[Segment]], None] | None = None,
    overwrite: bool = False,
) -> RenderReport:
    """Paint every frame of `source` into `output`, with its audio, frame rate and timestamps. `options`
    default to `RenderOptions()`, the CLI's defaults (stabilised at 0.5). `nst`: for `method` nst, the
    keyframes' optimisation.

    Ray starts only where it helps (`executors.executor_for`); `no_ray` keeps any job in this process."""
    options = options or RenderOptions()
    shard = (shard or ShardOptions()).resolved()
    check_options(options, shard, nst)
    checked(choice)
    source, output = str(source), str(output)
    check_paths(source, output, options, overwrite)  # before a painting is read or a network predicts

    def content() -> list[np.ndarray]:
        return sample(source, CONTENT_FRAMES, "even")[2]

    recipe = make_recipe(choice, content, nst)
    return render_recipe(
        source, output, recipe, options, progress, on_start, None if no_ray else shard, overwrite=overwrite
    )


def render_batch(
    request: BatchRequest,
    options: RenderOptions | None = None,
    *,
    nst: NSTOptions = VIDEO_NST,
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
    shard = (shard or ShardOptions()).resolved()
    check_options(options, shard, nst)
    if not isinstance(request, BatchRequest):
        raise TypeError(f"request must be a vidstyle BatchRequest, not {type(request).__name__}.")
    request.check()
    suffix = request.suffix if request.suffix.startswith(".") else "." + request.suffix
    out_dir = str(request.out_dir)
    if storage.exists(out_dir) and not storage.is_dir(out_dir):
        raise VidstyleError(f"{out_dir} is a file; -o names the folder for the outputs.")
    items = batches.Discovery(request.inputs, request.styles, request.paintings, out_dir, suffix, request.blends)
    summary = batches.Summary(out_dir)
    try:
        summary.check(request.overwrite)
        recipes = batches.Recipes(request.method, request.strength, request.preserve_color, nst)
        if not storage.is_url(out_dir):
            Path(out_dir).mkdir(parents=True, exist_ok=True)  # only once the request is known to be good
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
