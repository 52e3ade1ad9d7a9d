"""One video rendered: a batch of one on the same driver as `batch` (`driver.drive`: plan -> paint segments
-> join). A render here plans first (the probe is cheap, and the number of segments decides whether Ray
helps at all); the executor is the only difference between a render in this process and one on Ray actors,
so both hand x264 the same frames.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from vidstyle import storage
from vidstyle.errors import VidstyleError
from vidstyle.files import space_checked
from vidstyle.models.styles import StyleInfo
from vidstyle.pipeline.driver import Ended, drive
from vidstyle.pipeline.executors import ShardOptions, executor_for
from vidstyle.pipeline.segments import (
    Progress,
    RenderOptions,
    RenderReport,
    Segment,
    check_paths,
    discard,
    job_gflop,
    stage,
)
from vidstyle.pipeline.stylizers import Recipe, as_recipe
from vidstyle.pipeline.units import Plan, VideoTask, plan_video

OnStart = Callable[[Plan, list[Segment]], None]


def render_recipe(
    source: str | Path,
    target: str | Path,
    style: StyleInfo | Recipe,
    options: RenderOptions,
    progress: Progress | None = None,
    on_start: OnStart | None = None,
    shard: ShardOptions | None = None,
    *,
    overwrite: bool = False,
    always_ray: bool = False,
) -> RenderReport:
    """Render `source` to `target` (local paths or URLs). With `shard` None, in this process; with `shard`, on
    a Ray actor pool where that helps (`executors.executor_for`), else in this process too; `always_ray`: on
    the pool whatever the video's length. The input and the output path are checked before any executor
    starts, so a typo never costs a Ray start-up; an existing `target` is replaced only with `overwrite`."""
    source, target = str(source), str(target)
    check_paths(source, target, options, overwrite)
    if not storage.is_url(target):
        discard(*stage(Path(target)))  # the folder exists and takes files, before anything is read
    task = VideoTask(0, source, target, "style", overwrite=overwrite)
    plan, job = plan_video(task, options)
    if plan.status == "failed" or job is None:
        raise VidstyleError(plan.error)
    recipe = as_recipe(style)
    executor = executor_for(options, shard, len(job.segments), job_gflop(job, recipe, options.max_side), always_ray)
    ended: list[Ended] = []
    shown = [0]

    def report(_: VideoTask, done: int, total: int) -> None:
        if progress and done != shown[0]:
            progress(done - shown[0])
            shown[0] = done

    def started(_: VideoTask, plan: Plan) -> None:
        if on_start:
            on_start(plan, plan.segments)

    folder = Path(tempfile.gettempdir()) if storage.is_url(target) else Path(target).parent
    try:
        executor.add_recipe("style", recipe)
        with space_checked(folder, job.needed):
            planned = {0: (plan, executor.share(job))}
            drive([task], executor, ended.append, window=1, progress=report, planned=planned, on_plan=started)
    finally:
        executor.close()
    (outcome,) = ended
    if outcome.status != "done" or outcome.report is None:
        if isinstance(outcome.exception, VidstyleError) and outcome.error == str(outcome.exception):
            raise outcome.exception
        raise VidstyleError(f"{outcome.error}; no output was written.") from outcome.exception
    return outcome.report
