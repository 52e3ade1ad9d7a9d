"""Where segments are painted: in this process, or on a pool of Ray actors. One interface for both.

A job is a list of `Work` items (one segment of one video, in one style). An executor is given the recipes
the items name, runs every item through `segments.render_segment`, and reports each finished part to
`done`, each failed video to `failed`, and the frames finished per video to `progress`. The render of one
video and the batch of many (`render.py`, `batch.py`) drive either executor the same way, so the frames
handed to x264 are the same whichever runs them.

- `InProcess`: segments one after another here; nothing to start, so a clip of one segment does not pay
  Ray's 9-14 s start-up (bench/pipeline_speed.py).
- `RayPool`: actors sized to the cluster, each holding the networks it was asked for (Ray's batch-inference
  pattern: the actor builds its model once and serves units of work). Segments travel as compressed
  packets (`media.copy_span`) through the object store and come back as encoded parts, so no node needs
  the input file or a shared filesystem. A segment whose actor dies is retried on a fresh actor; a segment
  that fails `ATTEMPTS` times fails its video, not the job.
"""

from __future__ import annotations

import errno
import io
import os
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import ray
import torch
from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError, RayTaskError

from vidstyle import interrupts, media
from vidstyle.allocator import keep_freed_memory
from vidstyle.cluster import connect, pool_shape
from vidstyle.errors import VidstyleError
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

    def __init__(self, options: RenderOptions, gflop: float):
        self.device = resolve_device(options.device)
        compiled = should_compile(options.compile, self.device, gflop)
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


@ray.remote(num_cpus=0)
class FrameCounter:
    """Frames done per (video, segment), so a retried segment is not counted twice in the progress bars."""

    def __init__(self) -> None:
        self.done: dict[tuple[int, int], int] = {}

    def add(self, key: tuple[int, int], n: int) -> None:
        self.done[key] = self.done.get(key, 0) + n

    def reset(self, key: tuple[int, int]) -> None:
        self.done.pop(key, None)

    def per_video(self) -> dict[int, int]:
        totals: dict[int, int] = {}
        for (video, _), n in self.done.items():
            totals[video] = totals.get(video, 0) + n
        return totals


@ray.remote
class StyleWorker:
    """Holds the filters it has been asked for (a network, or VGG and a painting) for the whole job, so one
    pool serves every video and style of a batch; renders one segment per call."""

    def __init__(self, device: str, threads: int, options: RenderOptions):
        if threads:
            torch.set_num_threads(threads)
        self.device, self.options = torch.device(device), options
        self.filters: dict[str, FrameFilter] = {}

    def render(
        self,
        style_key: str,
        recipe: list,
        span: bytes,
        key: tuple[int, int],
        segment: Segment,
        info: media.VideoInfo,
        settings: media.EncodeSettings,
        counter,
    ) -> media.Part:
        if style_key not in self.filters:  # the recipe is boxed in a list so Ray fetches it only now
            self.filters[style_key] = build_filter(ray.get(recipe[0]), self.device, self.options)

        def progress(n: int) -> None:
            counter.add.remote(key, n)

        return render_segment(
            io.BytesIO(span), segment, self.filters[style_key], info, settings, io.BytesIO(), progress
        )


class RayPool:
    """Ray actors sized to the cluster, the recipes they may be asked for, and a frame counter. `most`: no
    more actors than work items; `gflop`: the whole job's network work, shared by the actors, which decides
    whether they compile."""

    def __init__(self, options: RenderOptions, shard: ShardOptions, most: int, gflop: float):
        self.started_ray = connect(shard.address)
        self.actors: list = []
        self.counter: Any = None  # a FrameCounter actor handle (Ray's handles are untyped)
        try:
            n, self.cpus, self.gpus, self.device = pool_shape(shard.workers, options.device, share_gpus=True)
            n = max(1, min(n, most))
            compiled = should_compile(options.compile, torch.device(self.device), gflop / n)
            self.options = replace(options, compile="on" if compiled else "off")
            self.tag, self.spawned = uuid.uuid4().hex[:8], 0
            self.recipes: dict[str, list] = {}
            self.idle = deque(self.spawn() for _ in range(n))
            self.counter = FrameCounter.remote()  # type: ignore[attr-defined]
        except BaseException:
            self.close()
            raise

    def add_recipe(self, key: str, recipe: Recipe) -> None:
        if key not in self.recipes:
            self.recipes[key] = [ray.put(recipe)]  # weights travel once, through the object store

    def spawn(self):
        self.spawned += 1
        name = f"vidstyle-{self.tag}-{self.spawned}"
        actor = StyleWorker.options(num_cpus=self.cpus, num_gpus=self.gpus, name=name).remote(
            self.device, int(self.cpus), self.options
        )
        self.actors.append(actor)
        return actor

    def close(self) -> None:
        for actor in self.actors + ([self.counter] if self.counter else []):
            ray.kill(actor)
        if self.started_ray:
            ray.shutdown()

    def run(self, work: list[Work], done: Done, failed: Failed, progress: Totals | None = None) -> None:
        """Keep every actor busy with one segment, across all videos, until `work` is done. A segment whose
        actor dies goes to another actor (the dead one is replaced); after ATTEMPTS failures `failed` is
        called and the rest of that video's segments are dropped. `done` gets each part already written to
        its video's scratch folder (parts live on disk, not in the driver's memory)."""
        pending = deque(work)
        tries: dict[tuple[int, int], int] = {}
        dropped: set[int] = set()
        inflight: dict = {}
        shown: dict[int, int] = {}
        while pending or inflight:
            while pending and self.idle:
                item = pending.popleft()
                if item.video in dropped:
                    continue
                key = (item.video, item.segment.index)
                tries[key] = tries.get(key, 0) + 1
                actor = self.idle.popleft()
                job, segment = item.job, item.segment
                span = ray.put(media.copy_span(job.source, segment.first, segment.end, job.info.time_base))
                recipe = self.recipes[item.style_key]
                ref = actor.render.remote(
                    item.style_key, recipe, span, key, segment, job.info, job.settings, self.counter
                )
                inflight[ref] = (item, actor)
            ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.25)
            interrupts.check()
            if progress:
                totals = ray.get(self.counter.per_video.remote())
                if totals != shown:
                    progress(totals)
                    shown = totals
            for ref in ready:
                item, actor = inflight.pop(ref)
                key = (item.video, item.segment.index)
                error: BaseException | None = None
                try:
                    part = ray.get(ref)
                except (ActorDiedError, ActorUnavailableError, RayActorError) as exc:
                    self.idle.append(self.spawn())  # the dead actor is replaced
                    why = f"its worker died ({type(exc).__name__})"
                except RayTaskError as exc:
                    self.idle.append(actor)
                    error = exc.cause or exc
                    why = f"{type(error).__name__}: {error}".splitlines()[0]
                else:
                    self.idle.append(actor)
                    if item.video not in dropped:
                        item.part_path.write_bytes(part.data)
                        done(
                            item,
                            media.Part(
                                str(item.part_path), part.timestamps, part.time_base, part.keyframes, part.seconds
                            ),
                        )
                    continue
                if item.video in dropped:
                    continue
                if tries[key] >= ATTEMPTS:
                    dropped.add(item.video)
                    failed(item, why, error if isinstance(error, VidstyleError) else None)
                else:
                    self.counter.reset.remote(key)
                    pending.appendleft(item)
        if progress:
            progress(ray.get(self.counter.per_video.remote()))


def executor_for(options: RenderOptions, shard: ShardOptions | None, items: int, gflop: float) -> Executor:
    """Ray only where it helps: a cluster (an address, or RAY_ADDRESS), workers asked for, or more than one
    work item to share out (segments of one video or of several). Otherwise, and always with `shard` None,
    this process: a clip of one segment gains nothing from a pool of one actor and would pay Ray's start-up
    (9-14 s, bench/pipeline_speed.py) for it."""
    if shard is not None and (shard.address or os.environ.get("RAY_ADDRESS") or shard.workers or items > 1):
        return RayPool(options, shard, items, gflop)
    return InProcess(options, gflop)
