"""One video rendered: checked and planned (`segments.prepare`), its segments run by an executor, the parts
joined with the audio, checked and renamed into place. The executor is the only difference between a
render in this process and one on Ray actors, so both hand x264 the same frames.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vidstyle import media
from vidstyle.errors import VidstyleError
from vidstyle.models.styles import StyleInfo
from vidstyle.pipeline.executors import Executor, InProcess, ShardOptions, Work, executor_for
from vidstyle.pipeline.segments import (
    Job,
    Progress,
    RenderOptions,
    RenderReport,
    Segment,
    finish,
    job_gflop,
    prepare,
    staged_output,
)
from vidstyle.pipeline.stylizers import Recipe, as_recipe

OnStart = Callable[[media.VideoInfo, list[Segment]], None]


def render(
    source: Path,
    target: Path,
    style: StyleInfo | Recipe,
    options: RenderOptions,
    progress: Progress | None = None,
    on_start: OnStart | None = None,
    shard: ShardOptions | None = None,
    *,
    overwrite: bool = False,
    always_ray: bool = False,
) -> RenderReport:
    """Render `source` to `target`. With `shard` None, in this process; with `shard`, on a Ray actor pool
    where that helps (`executors.executor_for`), else in this process too; `always_ray`: on the pool
    whatever the video's length. The input and the output path are checked before any executor starts,
    so a typo never costs a Ray start-up; an existing `target` is replaced only with `overwrite`."""
    job = prepare(source, target, options, overwrite)
    recipe = as_recipe(style)
    gflop = job_gflop(job, recipe, options.max_side)
    executor = executor_for(options, shard, len(job.segments), gflop, always_ray)
    try:
        return run_one(job, recipe, executor, options, progress, on_start)
    finally:
        executor.close()


def render_sharded(
    source: Path,
    target: Path,
    style: StyleInfo | Recipe,
    options: RenderOptions,
    shard: ShardOptions | None = None,
    progress: Progress | None = None,
    on_start: OnStart | None = None,
    *,
    overwrite: bool = False,
) -> RenderReport:
    """One video on a pool of Ray actors, whatever its length (the reference the tests compare the
    in-process render with)."""
    return render(source, target, style, options, progress, on_start, shard, overwrite=overwrite, always_ray=True)


def run_one(
    job: Job,
    recipe: Recipe,
    executor: Executor,
    options: RenderOptions,
    progress: Progress | None = None,
    on_start: OnStart | None = None,
) -> RenderReport:
    """The segments of one prepared job through `executor`, then the join, staged beside the target."""
    executor.add_recipe("style", recipe)
    if on_start:
        on_start(job.info, job.segments)
    with staged_output(job.target, job.overwrite, job.needed) as (tmp, scratch):
        parts: dict[int, media.Part] = {}

        def failed(item: Work, why: str, error: BaseException | None) -> None:
            if isinstance(error, VidstyleError) and isinstance(executor, InProcess):
                raise error  # the input's own problem, in its own words
            tries = f"failed {executor.attempts} times" if executor.attempts > 1 else "failed"
            raise VidstyleError(
                f"segment {item.segment.index + 1} {tries}, last because {why}; no output was written."
            ) from error

        shown = [0]

        def report(totals: dict[int, int]) -> None:
            if progress and totals.get(0, 0) != shown[0]:
                progress(totals.get(0, 0) - shown[0])
                shown[0] = totals.get(0, 0)

        work = [Work(0, job, "style", segment, scratch) for segment in job.segments]
        executor.run(work, lambda item, part: parts.__setitem__(item.segment.index, part), failed, report)
        return finish(job, tmp, [parts[i] for i in sorted(parts)])
