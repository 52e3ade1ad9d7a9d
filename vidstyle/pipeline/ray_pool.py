"""The Ray side of `executors.py`: actors that hold the networks and run every unit of work, and the pool
that hands units to them.

Imported only when a job runs on Ray (`executors.executor_for`), so a render in this process never pays for
importing Ray. Workers read their segment straight from the source (a path every node sees, or byte ranges
of an object in storage) and keep what they make in Ray's object store: a planned job (the video's
timeline) and each encoded part go from the worker that made them to the one that joins them, and the
driver holds only references. A unit whose worker dies, or whose node goes away, runs again on another
actor; a unit that fails `ATTEMPTS` times fails its video, not the job; an object lost with its node
(a part not yet joined) sends its video back to its plan.
"""

from __future__ import annotations

import io
import time
import uuid
from collections import deque
from dataclasses import replace
from typing import Any

import ray
import torch
from ray.exceptions import (
    ActorDiedError,
    ActorUnavailableError,
    GetTimeoutError,
    NodeDiedError,
    ObjectLostError,
    OwnerDiedError,
    RayActorError,
    RayTaskError,
    WorkerCrashedError,
)
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from vidstyle import interrupts, media
from vidstyle.cluster import connect, pool_shape
from vidstyle.errors import VidstyleError
from vidstyle.frames import FrameFilter
from vidstyle.models.acceleration import should_compile
from vidstyle.pipeline.executors import ATTEMPTS, Result, ShardOptions, Unit, build_filter, full_disk, one_line
from vidstyle.pipeline.segments import Job, RenderOptions, RenderReport, Segment
from vidstyle.pipeline.stylizers import Recipe
from vidstyle.pipeline.units import Plan, VideoTask, join_video, paint_segment, plan_video

#: Errors that mean the worker (or its node) went away, not that the unit is wrong: try it elsewhere.
LOST_WORKER = (ActorDiedError, ActorUnavailableError, RayActorError, NodeDiedError, WorkerCrashedError)
#: An object a unit needed went away with its node: the video starts again from its plan.
LOST_DATA = (ObjectLostError, OwnerDiedError)
#: A pool with no worker alive or starting for this long cannot go on (the cluster lost every node that could
#: hold one): the job ends with one line instead of waiting for ever.
STARVED_SECONDS = 300.0
#: Workers per pool slot that may die before answering, in a row, before the job gives up on the cluster.
STILLBORN_LIMIT = 3


@ray.remote(num_cpus=0)
class FrameCounter:
    """Frames done per (video, segment), so a retried segment is not counted twice in the progress bars.
    It lives on the driver's node, which the job cannot outlive anyway."""

    def __init__(self) -> None:
        self.done: dict[tuple[int, int], int] = {}

    def add(self, key: tuple[int, int], n: int) -> None:
        self.done[key] = self.done.get(key, 0) + n

    def reset(self, key: tuple[int, int]) -> None:
        self.done.pop(key, None)

    def forget(self, video: int) -> None:
        for key in [k for k in self.done if k[0] == video]:
            del self.done[key]

    def per_video(self) -> dict[int, int]:
        totals: dict[int, int] = {}
        for (video, _), n in self.done.items():
            totals[video] = totals.get(video, 0) + n
        return totals


@ray.remote
class StyleWorker:
    """Holds the filters it has been asked for (a network, or VGG and a painting) for the whole job, so one
    pool serves every video and style of a batch; runs one unit per call."""

    def __init__(self, device: str, threads: int, options: RenderOptions):
        if threads:
            torch.set_num_threads(threads)
        self.device, self.options = torch.device(device), options
        self.filters: dict[str, FrameFilter] = {}

    def ready(self) -> bool:
        return True

    def plan(self, task: VideoTask) -> tuple[Plan, Job | None]:
        return plan_video(task, self.options)

    def segment(
        self, style_key: str, recipe: list, job: Job, segment: Segment, key: tuple[int, int], counter
    ) -> tuple[float, media.Part]:
        if style_key not in self.filters:  # the recipe is boxed in a list so Ray fetches it only now
            self.filters[style_key] = build_filter(ray.get(recipe[0]), self.device, self.options)

        def progress(n: int) -> None:
            counter.add.remote(key, n)

        part = paint_segment(job, segment, self.filters[style_key], io.BytesIO(), progress)
        return part.seconds, part

    def join(self, job: Job, comment: str | None, *parts: media.Part) -> RenderReport:
        return join_video(job, list(parts), comment)


class RayPool:
    """Ray actors sized to the cluster, the recipes they may be asked for, and a frame counter. `most`: no
    more actors than this; `gflop`: the whole job's network work, shared by the actors, which decides
    whether they compile."""

    attempts = ATTEMPTS

    def __init__(self, options: RenderOptions, shard: ShardOptions, most: int, gflop: float):
        self.started_ray = connect(shard.address)
        self.actors: list = []
        self.counter: Any = None  # a FrameCounter actor handle (Ray's handles are untyped)
        try:
            n, self.cpus, self.gpus, self.device = pool_shape(shard.workers, options.device, share_gpus=True)
            n = max(1, min(n, most))
            self.size = n
            compiled = should_compile(options.compile, torch.device(self.device), gflop / n, options.precision)
            self.options = replace(options, compile="on" if compiled else "off")
            self.tag, self.spawned, self.stillborn = uuid.uuid4().hex[:8], 0, 0
            self.recipes: dict[str, list] = {}
            self.starting: dict[Any, Any] = {}  # ready() reference -> actor not yet known to be up
            self.idle: deque = deque()
            self.inflight: dict[Any, tuple[Unit, Any]] = {}  # result reference -> (unit, actor)
            self.starved_since: float | None = None
            here = ray.get_runtime_context().get_node_id()
            self.counter = FrameCounter.options(  # type: ignore[attr-defined]
                scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False)
            ).remote()
            for _ in range(n):
                self.spawn()
        except BaseException:
            self.close()
            raise

    def add_recipe(self, key: str, recipe: Recipe) -> None:
        if key not in self.recipes:
            self.recipes[key] = [ray.put(recipe)]  # weights travel once, through the object store

    def share(self, value: Any) -> Any:
        """A value every unit of a video reads (its planned job): stored once, fetched by the workers."""
        return ray.put(value)

    def spawn(self) -> None:
        """A new actor; it takes work once it has answered (one that cannot be placed, on a cluster that
        lost nodes, never holds a unit)."""
        self.spawned += 1
        name = f"vidstyle-{self.tag}-{self.spawned}"
        worker: Any = StyleWorker  # Ray's decorated class: its options() and remote() are not typed
        actor = worker.options(num_cpus=self.cpus, num_gpus=self.gpus, name=name).remote(
            self.device, int(self.cpus), self.options
        )
        self.actors.append(actor)
        self.starting[actor.ready.remote()] = actor

    def free(self) -> int:
        return len(self.idle)

    def submit(self, unit: Unit) -> None:
        actor = self.idle.popleft()
        if unit.kind == "plan":
            ref, job = actor.plan.options(num_returns=2).remote(*unit.args)
            self.inflight[ref] = (unit, actor)
            unit.args = (*unit.args[:1], job)  # the job's reference rides on the unit until its plan is read
            return
        if unit.kind == "segment":
            job, segment, style_key = unit.args
            key = (unit.video, segment.index)
            self.counter.reset.remote(key)
            seconds, part = actor.segment.options(num_returns=2).remote(
                style_key, self.recipes[style_key], job, segment, key, self.counter
            )
            self.inflight[seconds] = (unit, actor)
            unit.args = (*unit.args, part)
            return
        job, comment, parts = unit.args
        self.inflight[actor.join.remote(job, comment, *parts)] = (unit, actor)

    def results(self, timeout: float) -> list[Result]:
        """What ended within `timeout` seconds; a dead actor is replaced, a started one joins the idle."""
        waiting = list(self.inflight) + list(self.starting)
        if not waiting:
            time.sleep(min(timeout, 0.05))
            self.check_starved()
            return []
        ready, _ = ray.wait(waiting, num_returns=len(waiting), timeout=timeout, fetch_local=False)
        interrupts.check()
        out: list[Result] = []
        for ref in ready:
            if ref in self.starting:
                actor = self.starting.pop(ref)
                try:
                    ray.get(ref)
                except LOST_WORKER:
                    self.stillborn += 1  # it died before it could take a unit: replaced, within reason
                    if self.stillborn > STILLBORN_LIMIT * self.size:
                        raise VidstyleError(
                            f"Ray workers keep dying before they start ({self.stillborn} in a row); see the Ray "
                            "logs of the cluster (memory, a missing package on a node)."
                        ) from None
                    self.spawn()
                    continue
                self.stillborn = 0
                self.idle.append(actor)
                continue
            unit, actor = self.inflight.pop(ref)
            out.append(self.ended(unit, actor, ref))
        self.check_starved()
        return out

    def ended(self, unit: Unit, actor: Any, ref: Any) -> Result:
        try:
            value = ray.get(ref)
        except LOST_DATA as exc:
            self.idle.append(actor)
            return Result(unit, error=f"its data was lost with a node ({type(exc).__name__})", data_lost=True)
        except LOST_WORKER as exc:
            self.spawn()  # the dead actor is replaced
            return Result(unit, error=f"its worker died ({type(exc).__name__})", worker_lost=True)
        except RayTaskError as exc:
            self.idle.append(actor)
            cause = exc.cause or exc
            if isinstance(cause, LOST_DATA):
                return Result(unit, error=f"its data was lost with a node ({type(cause).__name__})", data_lost=True)
            if full_disk(cause):
                raise cause from None
            return Result(unit, error=one_line(cause), exception=cause)
        self.idle.append(actor)
        if unit.kind == "plan":
            return Result(unit, (value, unit.args[1]))
        if unit.kind == "segment":
            return Result(unit, (value, unit.args[3]))
        return Result(unit, value)

    def check_starved(self) -> None:
        if self.idle or self.inflight:
            self.starved_since = None
            return
        now = time.monotonic()
        self.starved_since = self.starved_since or now
        if now - self.starved_since > STARVED_SECONDS:
            raise VidstyleError(
                f"no worker could start on the Ray cluster for {STARVED_SECONDS:.0f} s (nodes lost, or none has "
                f"{self.cpus:g} CPUs{' and a GPU' if self.gpus else ''} free); finished outputs are kept."
            )

    def frames(self) -> dict[int, int]:
        try:
            return ray.get(self.counter.per_video.remote(), timeout=5)
        except (GetTimeoutError, *LOST_WORKER):
            return {}  # no progress this time; the next poll tries again

    def forget(self, video: int) -> None:
        self.counter.forget.remote(video)

    def close(self) -> None:
        for actor in self.actors + ([self.counter] if self.counter else []):
            try:
                ray.kill(actor)
            except Exception:  # noqa: BLE001  (an actor of a node already gone)
                pass
        if self.started_ray:
            ray.shutdown()
