"""The one loop that makes videos: plan -> paint segments -> join, for a stream of tasks, on any executor.

`render` is a stream of one task and `batch` a stream read lazily from a folder or a manifest; both come
through here, so the same rules hold for both: a unit that fails `executor.attempts` times fails its video,
not the job; a video whose data was lost with a node starts again from its plan; a bounded window of
videos is in flight, so the first segment is dispatched as soon as the first video is planned, whatever the
batch's size, and the driver's memory does not grow with the number of videos or their length.

The driver holds metadata only: tasks, plans (segment boundaries, frame counts), references to what the
workers made, and the outcome of each video as it ends (handed to `on_end`, not kept).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from vidstyle import interrupts
from vidstyle.errors import VidstyleError
from vidstyle.pipeline.executors import Executor, Result, Unit
from vidstyle.pipeline.segments import RenderReport
from vidstyle.pipeline.units import Plan, VideoTask

#: A video sent back to its plan this many times (its data lost with nodes) fails.
RESTARTS = 3


@dataclass
class Ended:
    """How one video ended: done (with its report), skipped (already made), or failed (with one line)."""

    task: VideoTask
    status: str
    frames: int = 0
    seconds: float = 0.0  # worker time spent painting it (its segments' wall times added up)
    error: str = ""
    report: RenderReport | None = None
    exception: BaseException | None = None  # the failure's own error, when a caller may re-raise it


@dataclass
class _Video:
    task: VideoTask
    generation: int = 0  # bumped when the video starts again; results of an older generation are ignored
    restarts: int = 0
    plan: Plan | None = None
    job: Any = None  # the planned job's handle
    parts: dict[int, Any] = field(default_factory=dict)
    seconds: float = 0.0
    tries: dict[int, int] = field(default_factory=dict)  # segment index (-1 plan, -2 join) -> attempts


Progress = Callable[[VideoTask, int, int], None]


def drive(
    tasks: Iterable[VideoTask],
    executor: Executor,
    on_end: Callable[[Ended], None],
    *,
    window: int = 4,
    progress: Progress | None = None,
    planned: dict[int, tuple[Plan, Any]] | None = None,
    on_plan: Callable[[VideoTask, Plan], None] | None = None,
) -> None:
    """Make every task's output. `window`: videos in flight at once (planned or being painted or joined).
    `planned`: plans already made, by task index (a render plans before it picks its executor).
    `on_plan(task, plan)` is called when a video's plan is known; `progress(task, frames done, frames)` as
    frames are painted; `on_end` once per task."""
    source: Iterator[VideoTask] = iter(tasks)
    videos: dict[int, _Video] = {}
    to_plan: deque[int] = deque()
    to_paint: deque[tuple[int, int, int]] = deque()  # (video, generation, segment index)
    to_join: deque[int] = deque()
    exhausted = False
    shown: dict[int, int] = {}
    planned = dict(planned or {})

    def end(video: _Video, ended: Ended) -> None:
        videos.pop(video.task.index, None)
        shown.pop(video.task.index, None)
        executor.forget(video.task.index)
        on_end(ended)

    def fail(video: _Video, error: str, exception: BaseException | None = None) -> None:
        end(video, Ended(video.task, "failed", error=error, exception=exception))

    def accept_plan(video: _Video, plan: Plan, job: Any) -> None:
        if plan.status != "run":
            end(video, Ended(video.task, plan.status, frames=plan.frames, error=plan.error))
            return
        video.plan, video.job = plan, job
        if on_plan:
            on_plan(video.task, plan)
        to_paint.extend((video.task.index, video.generation, s.index) for s in plan.segments)

    def restart(video: _Video, why: str) -> None:
        video.restarts += 1
        if video.restarts > RESTARTS:
            fail(video, f"its data was lost {RESTARTS + 1} times, last because {why}")
            return
        video.generation += 1
        video.plan, video.job, video.parts, video.tries = None, None, {}, {}
        executor.forget(video.task.index)
        to_plan.appendleft(video.task.index)

    def next_unit() -> Unit | None:
        while to_join:
            index = to_join.popleft()
            if index in videos:
                video = videos[index]
                parts = [video.parts[k] for k in sorted(video.parts)]
                return Unit("join", index, (video.job, video.plan.comment if video.plan else None, parts))
        while to_paint:
            index, generation, segment = to_paint.popleft()
            painting = videos.get(index)
            if painting is None or painting.generation != generation or painting.plan is None:
                continue
            args = (painting.job, painting.plan.segments[segment], painting.task.style_key)
            return Unit("segment", index, args, segment)
        while to_plan:
            index = to_plan.popleft()
            if index in videos:
                video = videos[index]
                if index in planned:  # made before the executor was chosen
                    plan, job = planned.pop(index)
                    accept_plan(video, plan, job)
                    return next_unit()
                return Unit("plan", index, (video.task,))
        return None

    def handle(result: Result) -> None:
        unit = result.unit
        video = videos.get(unit.video)
        if video is None or unit.generation != video.generation:
            return
        key = {"plan": -1, "join": -2}.get(unit.kind, unit.segment)
        if result.data_lost:
            restart(video, result.error)
            return
        if result.error:
            video.tries[key] = video.tries.get(key, 0) + 1
            if result.worker_lost and video.tries[key] < executor.attempts:
                retry(video, unit)
                return
            what = {"plan": "planning", "join": "joining"}.get(unit.kind, f"segment {unit.segment + 1}")
            n = video.tries[key]
            if executor.attempts == 1 and isinstance(result.exception, VidstyleError):
                fail(video, str(result.exception), result.exception)  # the input's own problem, in its words
            else:
                times = f" {n} times" if n > 1 else ""
                fail(video, f"{what} failed{times}, last because {result.error}", result.exception)
            return
        if unit.kind == "plan":
            plan, job = result.value
            accept_plan(video, plan, job)
        elif unit.kind == "segment":
            seconds, part = result.value
            video.parts[unit.segment] = part
            video.seconds += seconds
            if video.plan and len(video.parts) == len(video.plan.segments):
                to_join.append(unit.video)
        else:
            report: RenderReport = result.value
            end(
                video,
                Ended(video.task, "done", frames=report.frames_out, seconds=round(video.seconds, 2), report=report),
            )

    def retry(video: _Video, unit: Unit) -> None:
        if unit.kind == "plan":
            to_plan.appendleft(video.task.index)
        elif unit.kind == "segment":
            to_paint.appendleft((video.task.index, video.generation, unit.segment))
        else:
            to_join.appendleft(video.task.index)

    while True:
        while not exhausted and len(videos) < window:
            task = next(source, None)
            if task is None:
                exhausted = True
                break
            videos[task.index] = _Video(task)
            to_plan.append(task.index)
        while executor.free():
            unit = next_unit()
            if unit is None:
                break
            unit.generation = videos[unit.video].generation
            executor.submit(unit)
        if exhausted and not videos:
            return
        for result in executor.results(0.25):
            handle(result)
        interrupts.check()
        if progress:
            counts = executor.frames()
            for index, n in counts.items():
                video = videos.get(index)
                if video is not None and video.plan is not None and shown.get(index) != n:
                    shown[index] = n
                    progress(video.task, n, video.plan.frames)
