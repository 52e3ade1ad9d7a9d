"""Render one video on a pool of Ray actors, each holding the style network (one GPU each when there are GPUs).

Segments of the timeline travel as compressed packets (`media.copy_span`) through Ray's object store and come
back as encoded parts, so no node needs the input file or a shared filesystem, and only compressed video
crosses the network. The join, audio and final check are `render.finish`, the single-process path's own,
so both drivers give the same file.
"""

from __future__ import annotations

import io
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import ray
import torch
from ray.exceptions import (
    ActorDiedError,
    ActorUnavailableError,
    RayActorError,
    RayTaskError,
)

from vidstyle import interrupts, media
from vidstyle.cluster import connect, pool_shape
from vidstyle.errors import VidstyleError
from vidstyle.models.acceleration import should_compile
from vidstyle.models.styles import StyleInfo
from vidstyle.pipeline.render import (
    Job,
    Progress,
    RenderOptions,
    RenderReport,
    Segment,
    finish,
    job_gflop,
    plan_segments,
    prepare,
    render_segment,
    staged_output,
)
from vidstyle.pipeline.stylizers import Recipe, as_recipe, make_transform

#: A segment is tried at most this many times (on different actors) before its video fails.
ATTEMPTS = 2


@dataclass
class ShardOptions:
    workers: int | None = None  # None: see cluster.shape (one per 4 CPUs sharing GPUs, else one per 2 CPUs)
    address: str | None = None  # None: RAY_ADDRESS if set, else an embedded Ray on this machine


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
    """Holds the stylizers it has been asked for (a network, or VGG and a painting) for the whole job, so
    one pool serves every video and style of a batch; renders one segment per call."""

    def __init__(self, device: str, threads: int, options: RenderOptions):
        if threads:
            torch.set_num_threads(threads)
        self.device, self.options = torch.device(device), options
        self.transforms: dict[str, object] = {}

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
        if style_key not in self.transforms:  # the recipe is boxed in a list so Ray fetches it only now
            o = self.options
            self.transforms[style_key] = make_transform(
                ray.get(recipe[0]),
                self.device,
                o.batch_size,
                o.max_side,
                o.stabilize,
                o.compile == "on",
                o.precision,
                o.finish,
            )

        def progress(n: int) -> None:
            counter.add.remote(key, n)

        return render_segment(
            io.BytesIO(span), segment, self.transforms[style_key], info, settings, io.BytesIO(), progress
        )


@dataclass
class Work:
    """One segment of one video, and where its part goes."""

    video: int
    job: Job
    style_key: str
    segment: Segment
    scratch: Path


class Pool:
    """Ray actors sized to the cluster, the recipes they may be asked for, and the frame counter.

    `gflop` is the network work of the whole job: whether the actors compile is decided here, where their
    number and device are known, and handed to them as `compile` on or off."""

    def __init__(self, options: RenderOptions, shard: ShardOptions, most: int, gflop: float):
        self.started_ray = connect(shard.address)
        self.actors: list = []
        self.counter = None
        try:
            n, self.cpus, self.gpus, self.device = pool_shape(shard.workers, options.device, share_gpus=True)
            n = max(1, min(n, most))
            compiled = should_compile(options.compile, torch.device(self.device), gflop / n)
            self.options = replace(options, compile="on" if compiled else "off")
            self.tag, self.spawned = uuid.uuid4().hex[:8], 0
            self.recipes: dict[str, list] = {}
            self.idle = deque(self.spawn() for _ in range(n))
            self.counter = FrameCounter.remote()
        except BaseException:
            self.close()
            raise

    def add_recipe(self, key: str, recipe: Recipe) -> None:
        if key not in self.recipes:
            self.recipes[key] = [ray.put(recipe)]  # weights travel once, through the object store

    def spawn(self):
        self.spawned += 1
        actor = StyleWorker.options(
            num_cpus=self.cpus, num_gpus=self.gpus, name=f"vidstyle-{self.tag}-{self.spawned}"
        ).remote(self.device, int(self.cpus), self.options)
        self.actors.append(actor)
        return actor

    def close(self) -> None:
        for actor in self.actors + ([self.counter] if self.counter else []):
            ray.kill(actor)
        if self.started_ray:
            ray.shutdown()


def schedule(
    pool: Pool,
    work: list[Work],
    done: Callable[[Work, media.Part], None],
    failed: Callable[[Work, str], None],
    progress: Callable[[dict[int, int]], None] | None = None,
) -> None:
    """Keep every actor busy with one segment, across all videos, until `work` is done.

    A segment whose actor dies goes to another actor (the dead one is replaced); after ATTEMPTS failures
    `failed` is called and the rest of that video's segments are dropped, so one bad video never stops
    the others. `done` gets each part already written to its video's scratch folder.
    """
    pending = deque(work)
    tries: dict[tuple[int, int], int] = {}
    dropped: set[int] = set()
    inflight: dict = {}
    shown: dict[int, int] = {}
    while pending or inflight:
        while pending and pool.idle:
            item = pending.popleft()
            if item.video in dropped:
                continue
            key = (item.video, item.segment.index)
            tries[key] = tries.get(key, 0) + 1
            actor = pool.idle.popleft()
            span = ray.put(
                media.copy_span(item.job.source, item.segment.first, item.segment.end, item.job.info.time_base)
            )
            ref = actor.render.remote(
                item.style_key,
                pool.recipes[item.style_key],
                span,
                key,
                item.segment,
                item.job.info,
                item.job.settings,
                pool.counter,
            )
            inflight[ref] = (item, actor)
        ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.25)
        interrupts.check()
        if progress:
            totals = ray.get(pool.counter.per_video.remote())
            if totals != shown:
                progress(totals)
                shown = totals
        for ref in ready:
            item, actor = inflight.pop(ref)
            key = (item.video, item.segment.index)
            try:
                part = ray.get(ref)
            except (ActorDiedError, ActorUnavailableError, RayActorError) as exc:
                pool.idle.append(pool.spawn())  # the dead actor is replaced
                why = f"its worker died ({type(exc).__name__})"
            except RayTaskError as exc:
                pool.idle.append(actor)
                cause = exc.cause or exc
                why = f"{type(cause).__name__}: {cause}".splitlines()[0]
            else:
                pool.idle.append(actor)
                if item.video not in dropped:
                    path = item.scratch / f"part-{item.segment.index:05d}.nut"
                    path.write_bytes(part.data)  # parts live on disk, not in the driver's memory
                    done(item, media.Part(str(path), part.timestamps, part.time_base, part.keyframes, part.seconds))
                continue
            if item.video in dropped:
                continue
            if tries[key] >= ATTEMPTS:
                dropped.add(item.video)
                failed(item, why)
            else:
                pool.counter.reset.remote(key)
                pending.appendleft(item)
    if progress:
        progress(ray.get(pool.counter.per_video.remote()))


def worth_a_pool(source: Path, options: RenderOptions, shard: ShardOptions) -> bool:
    """Whether a render should start Ray: for a cluster (an address), when asked for workers, or when the
    video has more than one segment to share out. A clip of one segment gains nothing from a pool of one
    actor and would pay Ray's start-up (9-14 s measured by bench/pipeline_speed.py) for it."""
    import os

    if shard.address or os.environ.get("RAY_ADDRESS") or shard.workers:
        return True
    if not Path(source).is_file():
        return False  # not a video: `prepare` says what it is, in one line, before any work
    info = media.probe(source)
    lead = options.stabilize.lead if options.stabilize else 0
    return len(plan_segments(info, options.segment_seconds, lead)) > 1


def render_sharded(
    source: Path,
    target: Path,
    style: StyleInfo | Recipe,
    options: RenderOptions,
    shard: ShardOptions | None = None,
    progress: Progress | None = None,
    on_start: Callable[[media.VideoInfo, list[Segment]], None] | None = None,
) -> RenderReport:
    """One video on a pool of actors; the same plan, parts and join as `render.render`, so the same bytes."""
    job = prepare(source, target, options)
    recipe = as_recipe(style)
    pool = Pool(options, shard or ShardOptions(), len(job.segments), job_gflop(job, recipe, options.max_side))
    try:
        pool.add_recipe("style", recipe)
        if on_start:
            on_start(job.info, job.segments)
        with staged_output(job.target, job.overwrite, job.needed) as (tmp, scratch):
            parts: dict[int, media.Part] = {}

            def failed(item: Work, why: str) -> None:
                raise VidstyleError(
                    f"segment {item.segment.index + 1} failed {ATTEMPTS} times, last because "
                    f"{why}; no output was written."
                )

            shown = [0]

            def report(totals: dict[int, int]) -> None:
                if progress and totals.get(0, 0) != shown[0]:
                    progress(totals.get(0, 0) - shown[0])
                    shown[0] = totals.get(0, 0)

            schedule(
                pool,
                [Work(0, job, "style", s, scratch) for s in job.segments],
                lambda item, part: parts.__setitem__(item.segment.index, part),
                failed,
                report,
            )
            return finish(job, tmp, [parts[i] for i in sorted(parts)], options.comment)
    finally:
        pool.close()
