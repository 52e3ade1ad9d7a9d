"""Where segments are painted: in this process, or on a pool of Ray actors. One interface for both.

A job is a list of `Work` items (one segment of one video, in one style). An executor is given the recipes
the items name, runs every item through `segments.render_segment`, and reports each finished part to
`done`, each failed video to `failed`, and the frames finished per video to `progress`. The render of one
video and the batch of many (`render.py`, `batch.py`) drive either executor the same way, so the frames
handed to x264 are the same whichever runs them.

- `InProcess`: segments one after another here; nothing to start, so a clip of one segment does not pay
  Ray's 9-14 s start-up (bench/pipeline_speed.py).
- `RayPool` (`ray_pool.py`, imported only when a job uses it): actors sized to the cluster, each holding
  the networks it was asked for (Ray's batch-inference pattern: the actor builds its model once and serves
  units of work). A segment that fails `ATTEMPTS` times fails its video, not the job.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import torch

from vidstyle import interrupts, media
from vidstyle.allocator import keep_freed_memory
from vidstyle.frames import FrameFilter
from vidstyle.models.acceleration import should_compile
from vidstyle.models.devices import resolve_device
from vidstyle.pipeline.segments import Job, RenderOptions, Segment, render_segment
from vidstyle.pipeline.stylizers import Recipe, make_transform

#: A segment is tried at most this many times (on different actors) before its video fails.
ATTEMPTS = 2


@dataclass
class ShardOptions:
    workers: int | None = None  # None: see cluster.shape (one per 4 CPUs sharing GPUs, else one per 2 CPUs)
    address: str | None = None  # None: RAY_ADDRESS if set, else an embedded Ray on this machine


@dataclass
class Work:
    """One segment of one video, in one style, and the folder its part goes to."""

    video: int
    job: Job
    style_key: str
    segment: Segment
    scratch: Path

    @property
    def part_path(self) -> Path:
        return self.scratch / f"part-{self.segment.index:05d}.nut"


Done = Callable[[Work, media.Part], None]
#: A failed video: the item whose segment failed, why (one line), and the error when there is one to re-raise
Failed = Callable[[Work, str, BaseException | None], None]
#: Frames finished so far, per video (the `Work.video` numbers)
Totals = Callable[[dict[int, int]], None]


class Executor(Protocol):
    attempts: int  # how many times a segment is tried before its video fails

    def add_recipe(self, key: str, recipe: Recipe) -> None: ...

    def run(self, work: list[Work], done: Done, failed: Failed, progress: Totals | None = None) -> None: ...

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
        options.finish,
    )


class InProcess:
    """Every segment in this process, one after another. `gflop`: the whole job's network work, which
    decides whether compiling pays."""

    attempts = 1

    def __init__(self, options: RenderOptions, gflop: float):
        self.device = resolve_device(options.device)
        compiled = should_compile(options.compile, self.device, gflop, options.precision)
        self.options = replace(options, compile="on" if compiled else "off")
        self.recipes: dict[str, Recipe] = {}
        self.filters: dict[str, FrameFilter] = {}

    def add_recipe(self, key: str, recipe: Recipe) -> None:
        self.recipes.setdefault(key, recipe)

    def filter(self, key: str) -> FrameFilter:
        if key not in self.filters:  # built on first use, as an actor builds it
            self.filters[key] = build_filter(self.recipes[key], self.device, self.options)
        return self.filters[key]

    def run(self, work: list[Work], done: Done, failed: Failed, progress: Totals | None = None) -> None:
        """A segment that raises fails its video at once (here a retry would meet the same error); the
        other videos go on. A full disk and an interrupt are not a video's failure: they end the job (the
        caller's `space_checked` turns the first into its one line)."""
        totals: dict[int, int] = {}
        dropped: set[int] = set()
        for item in work:
            if item.video in dropped:
                continue

            def count(n: int, video: int = item.video) -> None:
                totals[video] = totals.get(video, 0) + n
                if progress:
                    progress(dict(totals))

            try:
                part = render_segment(
                    item.job.source,
                    item.segment,
                    self.filter(item.style_key),
                    item.job.info,
                    item.job.settings,
                    str(item.part_path),
                    count,
                )
            except Exception as exc:  # noqa: BLE001  (KeyboardInterrupt is not caught: it stops the job)
                interrupts.check()  # a Ctrl-C that C code turned into another exception
                if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise
                dropped.add(item.video)
                failed(item, f"{type(exc).__name__}: {exc}".splitlines()[0], exc)
                continue
            done(item, part)

    def close(self) -> None:
        self.filters.clear()


def executor_for(
    options: RenderOptions, shard: ShardOptions | None, items: int, gflop: float, always_ray: bool = False
) -> Executor:
    """Ray only where it helps: a cluster (an address, or RAY_ADDRESS), workers asked for, or more than one
    work item to share out (segments of one video or of several), or `always_ray`. Otherwise, and always with
    `shard` None, this process: a clip of one segment gains nothing from a pool of one actor and would pay
    Ray's start-up (9-14 s, bench/pipeline_speed.py) for it, and does not even import Ray (0.3 s)."""
    wanted = shard is not None and (shard.address or os.environ.get("RAY_ADDRESS") or shard.workers or items > 1)
    if always_ray or wanted:
        from vidstyle.pipeline.ray_pool import RayPool

        return RayPool(options, shard or ShardOptions(), items, gflop)
    return InProcess(options, gflop)
