"""The Ray side of `executors.py`: actors that hold the networks, and the pool that hands them segments.

Imported only when a job runs on Ray (`executors.executor_for`), so a render in this process never pays for
importing Ray. Segments travel as compressed packets (`media.copy_span`) through the object store and come
back as encoded parts, so no node needs the input file or a shared filesystem. A segment whose actor dies is
retried on a fresh actor; a segment that fails `ATTEMPTS` times fails its video, not the job.
"""

from __future__ import annotations

import io
import uuid
from collections import deque
from dataclasses import replace
from typing import Any

import ray
import torch
from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError, RayTaskError

from vidstyle import interrupts, media
from vidstyle.cluster import connect, pool_shape
from vidstyle.errors import VidstyleError
from vidstyle.frames import FrameFilter
from vidstyle.models.acceleration import should_compile
from vidstyle.pipeline.executors import ATTEMPTS, Done, Failed, ShardOptions, Totals, Work, build_filter
from vidstyle.pipeline.segments import RenderOptions, Segment, render_segment
from vidstyle.pipeline.stylizers import Recipe


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

    attempts = ATTEMPTS

    def __init__(self, options: RenderOptions, shard: ShardOptions, most: int, gflop: float):
        self.started_ray = connect(shard.address)
        self.actors: list = []
        self.counter: Any = None  # a FrameCounter actor handle (Ray's handles are untyped)
        try:
            n, self.cpus, self.gpus, self.device = pool_shape(shard.workers, options.device, share_gpus=True)
            n = max(1, min(n, most))
            compiled = should_compile(options.compile, torch.device(self.device), gflop / n, options.precision)
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
