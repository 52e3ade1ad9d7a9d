"""Render one video on a pool of Ray actors, each holding the style network (one GPU each when there are GPUs).

Segments of the timeline travel as compressed packets (`media.copy_span`) through Ray's object store and come
back as encoded parts, so no node needs the input file or a shared filesystem, and only compressed video
crosses the network. The join, audio and final check are `render.finish`, the single-process path's own,
so both drivers give the same file.
"""

from __future__ import annotations

import io
import logging
import os
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ray
import torch
from ray.exceptions import (
    ActorDiedError,
    ActorUnavailableError,
    RayActorError,
    RayTaskError,
)

from . import media
from .errors import VidstyleError
from .render import (
    Progress,
    RenderOptions,
    RenderReport,
    Segment,
    finish,
    prepare,
    render_segment,
    staged_output,
)
from .styles import StyleInfo
from .stylizers import Recipe, as_recipe

#: A segment is tried at most this many times (on different actors) before the job fails.
ATTEMPTS = 2


@dataclass
class ShardOptions:
    workers: int | None = None  # None: one per GPU, else one per 2 CPUs
    address: str | None = None  # None: RAY_ADDRESS if set, else an embedded Ray on this machine


@ray.remote(num_cpus=0)
class FrameCounter:
    """Frames done per segment, so a retried segment is not counted twice in the progress bar."""

    def __init__(self) -> None:
        self.done: dict[int, int] = {}

    def add(self, segment: int, n: int) -> None:
        self.done[segment] = self.done.get(segment, 0) + n

    def reset(self, segment: int) -> None:
        self.done.pop(segment, None)

    def total(self) -> int:
        return sum(self.done.values())


@ray.remote
class StyleWorker:
    """Holds one stylizer (a network, or VGG and a painting) for the whole job; renders one segment per call."""

    def __init__(self, recipe: Recipe, device: str, threads: int, batch_size: int, max_side: int | None):
        if threads:
            torch.set_num_threads(threads)
        self.transform = recipe.build(torch.device(device), batch_size, max_side)

    def render(self, span: bytes, segment: Segment, info: media.VideoInfo, settings: media.EncodeSettings,
               counter) -> media.Part:
        def progress(n: int) -> None:
            counter.add.remote(segment.index, n)

        return render_segment(io.BytesIO(span), segment, self.transform, info, settings, io.BytesIO(), progress)


def connect(address: str | None) -> bool:
    """Join the cluster at `address` (or RAY_ADDRESS), else start Ray embedded. True if we started it."""
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        # Workers on other nodes import vidstyle from the driver's copy; torch and av must be installed there.
        ray.init(address=address, runtime_env={"py_modules": [str(Path(__file__).parent)]},
                 logging_level=logging.WARNING)
        return False
    ray.init(include_dashboard=False, logging_level=logging.WARNING)
    return True


def _pool_shape(workers: int | None, device: str) -> tuple[int, float, float, str]:
    """(workers, CPUs each, GPUs each, device) from what the cluster offers."""
    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
    use_gpu = gpus > 0 and device in ("auto", "cuda")
    if device == "cuda" and not gpus:
        raise VidstyleError("--device cuda asked for, but the Ray cluster has no GPU; use --device cpu or auto.")
    if use_gpu:
        n = workers or gpus
        return n, max(1, cpus // n), 1, "cuda"
    n = workers or max(1, cpus // 2)
    return n, max(1, cpus // n), 0, "cpu"


def render_sharded(
    source: Path,
    target: Path,
    style: StyleInfo | Recipe,
    options: RenderOptions,
    shard: ShardOptions | None = None,
    progress: Progress | None = None,
    on_start: Callable[[media.VideoInfo, list[Segment]], None] | None = None,
) -> RenderReport:
    shard = shard or ShardOptions()
    job = prepare(source, target, options)
    started_ray = connect(shard.address)
    actors: list = []
    counter = None
    try:
        n, cpus, gpus, device = _pool_shape(shard.workers, options.device)
        n = min(n, len(job.segments))
        tag = uuid.uuid4().hex[:8]
        recipe_ref = ray.put(as_recipe(style))  # weights travel once, through the object store
        spawned = 0

        def spawn():
            nonlocal spawned
            spawned += 1
            actor = StyleWorker.options(num_cpus=cpus, num_gpus=gpus, name=f"vidstyle-{tag}-{spawned}").remote(
                recipe_ref, device, int(cpus), options.batch_size, options.max_side)
            actors.append(actor)
            return actor

        idle = deque(spawn() for _ in range(n))
        counter = FrameCounter.remote()
        if on_start:
            on_start(job.info, job.segments)
        with staged_output(job.target) as (tmp, scratch):
            parts = _dispatch(job, options, idle, spawn, counter, scratch, progress)
            return finish(job, tmp, parts)
    finally:
        for actor in actors + ([counter] if counter else []):
            ray.kill(actor)
        if started_ray:
            ray.shutdown()


def _dispatch(job, options: RenderOptions, idle: deque, spawn, counter, scratch: Path,
              progress: Progress | None) -> list[media.Part]:
    """Keep every actor busy with one segment; a segment whose actor dies goes to another actor."""
    pending = deque(job.segments)
    tries = {s.index: 0 for s in job.segments}
    inflight: dict = {}
    parts: dict[int, media.Part] = {}
    shown = 0
    while pending or inflight:
        while pending and idle:
            segment, actor = pending.popleft(), idle.popleft()
            tries[segment.index] += 1
            span = ray.put(media.copy_span(job.source, segment.start, segment.end, job.info.time_base))
            ref = actor.render.remote(span, segment, job.info, job.settings, counter)
            inflight[ref] = (segment, actor)
        ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.25)
        if progress:
            total = ray.get(counter.total.remote())
            if total != shown:
                progress(total - shown)
                shown = total
        for ref in ready:
            segment, actor = inflight.pop(ref)
            try:
                part = ray.get(ref)
            except (ActorDiedError, ActorUnavailableError, RayActorError) as exc:
                idle.append(spawn())  # the dead actor is replaced; its segment goes to whoever is free
                _retry(segment, tries, pending, counter, f"its worker died ({type(exc).__name__})")
                continue
            except RayTaskError as exc:
                idle.append(actor)
                cause = exc.cause or exc
                _retry(segment, tries, pending, counter, f"{type(cause).__name__}: {cause}".splitlines()[0])
                continue
            idle.append(actor)
            path = scratch / f"part-{segment.index:05d}.nut"
            path.write_bytes(part.data)  # parts live on disk, not in the driver's memory
            parts[segment.index] = media.Part(str(path), part.timestamps, part.time_base, part.keyframes)
    if progress:
        progress(ray.get(counter.total.remote()) - shown)
    return [parts[i] for i in sorted(parts)]


def _retry(segment: Segment, tries: dict, pending: deque, counter, why: str) -> None:
    if tries[segment.index] >= ATTEMPTS:
        raise VidstyleError(f"segment {segment.index + 1} failed {ATTEMPTS} times, last because {why}; "
                            "no output was written.")
    counter.reset.remote(segment.index)
    pending.appendleft(segment)
