"""Where the units of work run (`units.py`: plan a video, paint a segment, join the parts): in this
process, or on a pool of Ray actors. One interface for both, driven by `driver.drive`.

The driver submits units while `free()` says a worker can take one, and collects what ends with
`results()`. Handles (a planned job, a painted part) are opaque to it: objects here, Ray object references
there, so on a cluster the bytes go from worker to worker and the driver holds only references.

- `InProcess`: one unit at a time here; nothing to start, so a clip of one segment does not pay Ray's
  9-14 s start-up (bench/pipeline_speed.py). Parts are files in a scratch folder beside the output.
- `RayPool` (`ray_pool.py`, imported only when a job uses it): actors sized to the cluster, each holding
  the networks it was asked for (Ray's batch-inference pattern: the actor builds its model once and serves
  units of work).
"""

from __future__ import annotations

import errno
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import torch

from vidstyle import interrupts
from vidstyle.allocator import keep_freed_memory
from vidstyle.frames import FrameFilter
from vidstyle.models.acceleration import should_compile
from vidstyle.models.devices import resolve_device
from vidstyle.options import RenderOptions, ShardOptions
from vidstyle.pipeline.stylizers import Recipe, make_transform
from vidstyle.pipeline.units import join_video, paint_segment, plan_video, scratch_for

#: A segment is tried at most this many times (on different actors) before its video fails.
ATTEMPTS = 2


@dataclass
class Unit:
    """One unit of work: `kind` plan, segment or join, for the video numbered `video`."""

    kind: str
    video: int
    args: tuple = ()
    segment: int = -1  # the segment's index, for kind segment
    generation: int = 0  # which start of its video it belongs to (a video whose data was lost starts again)


@dataclass
class Result:
    """How a unit ended: `value` (a plan: (Plan, job handle); a segment: (seconds, part handle); a join: the
    RenderReport), or `error` (one line) with `exception` where there is one worth keeping. `worker_lost`:
    the worker died or its node went away (worth another try elsewhere); `data_lost`: an object the unit
    needed (the planned job, a part) was lost with a node, so the video must start again from its plan."""

    unit: Unit
    value: Any = None
    error: str = ""
    exception: BaseException | None = None
    worker_lost: bool = False
    data_lost: bool = False


class Executor(Protocol):
    attempts: int  # how many times a unit is tried before its video fails

    def add_recipe(self, key: str, recipe: Recipe) -> None: ...

    def share(self, value: Any) -> Any: ...

    def free(self) -> int: ...

    def submit(self, unit: Unit) -> None: ...

    def results(self, timeout: float) -> list[Result]: ...

    def frames(self) -> dict[int, int]: ...

    def forget(self, video: int) -> None: ...

    def close(self) -> None: ...


def build_filter(recipe: Recipe, device: torch.device, options: RenderOptions) -> FrameFilter:
    """The recipe's frame filter with the render's settings; `options.compile` is already "on" or "off".
    Built in the process that runs the network, which is where freed activations should stay."""
    keep_freed_memory()
    return make_transform(
        recipe,
        device,
        options.batch_size,
        options.max_side,
        options.stabilize,
        options.compile == "on",
        options.precision,
    )


def full_disk(exc: BaseException) -> bool:
    """A full disk (or quota) is no video's failure: it ends the job, with one line (`files.space_checked`)."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


class InProcess:
    """Every unit in this process, one at a time, as it is submitted. `gflop`: the whole job's network
    work, which decides whether compiling pays. A unit that raises fails its video at once (here a retry
    would meet the same error); a full disk and an interrupt end the job."""

    attempts = 1

    def __init__(self, options: RenderOptions, gflop: float):
        self.device = resolve_device(options.device)
        compiled = should_compile(options.compile, self.device, gflop, options.precision)
        self.options = replace(options, compile="on" if compiled else "off")
        self.recipes: dict[str, Recipe] = {}
        self.filters: dict[str, FrameFilter] = {}
        self.done: list[Result] = []
        self.counts: dict[int, int] = {}
        self.scratch: dict[int, Path] = {}

    def add_recipe(self, key: str, recipe: Recipe) -> None:
        self.recipes.setdefault(key, recipe)

    def filter(self, key: str) -> FrameFilter:
        if key not in self.filters:  # built on first use, as an actor builds it
            self.filters[key] = build_filter(self.recipes[key], self.device, self.options)
        return self.filters[key]

    def share(self, value: Any) -> Any:
        return value

    def free(self) -> int:
        return 0 if self.done else 1

    def submit(self, unit: Unit) -> None:
        try:
            value = self.run(unit)
        except Exception as exc:  # noqa: BLE001  (KeyboardInterrupt is not caught: it stops the job)
            interrupts.check()  # a Ctrl-C that C code turned into another exception
            if full_disk(exc):
                raise
            self.done.append(Result(unit, error=one_line(exc), exception=exc))
            return
        self.done.append(Result(unit, value))

    def run(self, unit: Unit) -> Any:
        if unit.kind == "plan":
            (task,) = unit.args
            return plan_video(task, self.options)
        if unit.kind == "segment":
            job, segment, style_key = unit.args
            if unit.video not in self.scratch:
                self.scratch[unit.video] = scratch_for(job.target)
            path = self.scratch[unit.video] / f"part-{segment.index:05d}.nut"

            def count(n: int) -> None:
                self.counts[unit.video] = self.counts.get(unit.video, 0) + n

            part = paint_segment(job, segment, self.filter(style_key), str(path), count)
            return part.seconds, part
        job, comment, parts = unit.args
        try:
            return join_video(job, list(parts), comment)
        finally:
            self.forget(unit.video)

    def results(self, timeout: float) -> list[Result]:
        done, self.done = self.done, []
        return done

    def frames(self) -> dict[int, int]:
        return dict(self.counts)

    def forget(self, video: int) -> None:
        self.counts.pop(video, None)
        scratch = self.scratch.pop(video, None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)

    def close(self) -> None:
        for video in list(self.scratch):
            self.forget(video)
        self.filters.clear()


def actors_here(device: str) -> int:
    """How many actors a Ray of our own would put on this machine (`cluster.shape`, as `RayPool` sizes its
    pool), counting CPUs as Ray does (the cgroup's and the process's affinity)."""
    import ray._private.utils as ray_utils

    from vidstyle.cluster import shape

    gpus = torch.cuda.device_count() if device == "auto" or device.startswith("cuda") else 0
    return shape({"CPU": ray_utils.get_num_cpus(), "GPU": gpus}, None, device, share_gpus=True)[0]


def executor_for(
    options: RenderOptions, shard: ShardOptions | None, units: int, gflop: float, always_ray: bool = False
) -> Executor:
    """Ray only where it helps: a cluster named (`shard.address`, RAY_ADDRESS already resolved into it),
    workers asked for, or more than one segment to share out among more than one actor on this machine; or
    `always_ray`. Otherwise, and always with `shard` None, this process: a pool of one actor runs the
    segments one after another, as this process would, after Ray's start-up (9-14 s on 2 cores,
    bench/pipeline_speed.py), and the job does not even import Ray. `units`: segments to paint."""
    wanted = shard is not None and bool(
        shard.address or shard.workers or (units > 1 and actors_here(options.device) > 1)
    )
    if always_ray or wanted:
        from vidstyle.pipeline.ray_pool import RayPool

        return RayPool(options, shard or ShardOptions(), units, gflop)
    return InProcess(options, gflop)
