"""The three units of work every video goes through, run where the bytes are (a worker, or this process):
plan (probe the source, decide what to do with the target), paint one segment, join the parts.

The driver (`driver.py`) sees only what these return to it: a `Plan` (frame count, segment boundaries) and a
`RenderReport`. The `Job` (with the video's timeline) and the encoded parts stay with the workers, or in
Ray's object store between them, so the driver's memory and I/O do not grow with the videos' length.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vidstyle import media, storage
from vidstyle.errors import VidstyleError
from vidstyle.files import remove_dead_temporaries, temporary_beside
from vidstyle.frames import FrameFilter
from vidstyle.pipeline.segments import (
    Job,
    Progress,
    RenderOptions,
    RenderReport,
    Segment,
    commit,
    join_parts,
    prepare,
    remove_stale_temporaries,
    segment_to_part,
)
from vidstyle.version import __version__

#: How every batch output's comment starts: TAG, a digest of the input's location, ":", a digest of the rest.
TAG = "vidstyle:"


@dataclass
class VideoTask:
    """One output to make: `source` painted into `target` with the recipe registered as `style_key`.

    `style_digest` set: a batch output, fingerprinted (its comment), skipped when the target already holds
    the same fingerprint, and replacing an earlier output of the same input. None: a plain render, whose
    target was checked before it started."""

    index: int
    source: str
    target: str
    style_key: str
    label: str = ""
    style_digest: str | None = None
    overwrite: bool = False  # replace whatever is at the target
    ignore_batch_outputs: bool = False  # a folder's file that an earlier batch made is no input: "ignored"


@dataclass
class Plan:
    """What the driver keeps of a planned video: enough to schedule it and report on it."""

    status: str = "run"  # run, skipped (already made), failed, ignored (an output of an earlier batch)
    error: str = ""
    frames: int = 0
    segments: list[Segment] = field(default_factory=list)
    comment: str | None = None  # the fingerprint the output is tagged with
    replace: bool = False  # the target may be replaced when the output is committed
    needed: int = 0  # bytes the video is expected to write beside its target (`Job.needed`)


def input_tag(source: str) -> str:
    """The start of the fingerprint of every output made from `source`: an existing file whose comment
    starts so is this batch's own earlier output of that input, which a rerun may redo."""
    where = source if storage.is_url(source) else str(Path(source).resolve())
    return TAG + hashlib.sha256(where.encode()).hexdigest()[:16] + ":"


def fingerprint(source: str, style_digest: str, options: RenderOptions) -> str:
    """What decides an output's bytes: the input (location, size, version), the style, the settings."""
    size, version = storage.version(source)
    settings = asdict(options)  # every field decides pixels; what to do with outputs is not among them
    where = source if storage.is_url(source) else str(Path(source).resolve())
    blob = json.dumps([where, size, version, style_digest, settings, __version__], default=str)
    return input_tag(source) + hashlib.sha256(blob.encode()).hexdigest()[:32]


def made_by_batch(location: str) -> bool:
    """Whether `location` is a finished output of vidstyle batch (its comment holds a fingerprint)."""
    return (media.comment(location) or "").startswith(TAG)


def plan_video(task: VideoTask, options: RenderOptions) -> tuple[Plan, Job | None]:
    """Decide what to do with `task.target` and plan the source into segments: the probe (a demux of every
    packet) runs here, on a worker, never on the driver. A bad input is the plan's `error`, not an exception."""
    try:
        plan = Plan(replace=task.overwrite)
        if task.ignore_batch_outputs and made_by_batch(task.source):
            return Plan(status="ignored"), None
        if task.style_digest is not None:
            plan.comment = fingerprint(task.source, task.style_digest, options)
            if storage.exists(task.target):
                tag = media.comment(task.target)
                if tag == plan.comment:
                    plan.status, plan.frames = "skipped", len(media.packet_times(task.target)[0])
                    return plan, None
                if not (plan.replace or (tag or "").startswith(input_tag(task.source))):
                    plan.status = "failed"
                    plan.error = (
                        f"{task.target} already exists and is not this batch's output of "
                        f"{storage.name(task.source)}; pass --overwrite to replace it."
                    )
                    return plan, None
                plan.replace = True
        job = prepare(task.source, task.target, options, overwrite=True)  # the target was decided above
        job.overwrite = plan.replace
        plan.frames, plan.segments, plan.needed = job.info.frames, job.segments, job.needed
        return plan, job
    except VidstyleError as exc:
        return Plan(status="failed", error=str(exc)), None
    except OSError as exc:
        return Plan(status="failed", error=f"{task.source}: {exc.strerror or exc}"), None


def paint_segment(
    job: Job, segment: Segment, transform: FrameFilter, part: str | io.BytesIO, progress: Progress | None = None
) -> media.Part:
    """One segment read from the source (a local file, or byte ranges of an object), painted and encoded
    into `part` (a file, or a BytesIO whose bytes travel back through Ray's object store)."""
    return segment_to_part(job.source, segment, transform, job.info, job.settings, part, progress)


def join_video(job: Job, parts: list[media.Part], comment: str | None) -> RenderReport:
    """Join the parts with the source's audio, check every frame time, and put the result in place: renamed
    from a temporary beside a local target, or uploaded whole (create-only unless replacing) to a URL."""
    if storage.is_url(job.target):
        fd, name = tempfile.mkstemp(prefix="vidstyle-join-", suffix=Path(job.target).suffix)
        os.close(fd)
        tmp = Path(name)
        try:
            report = join_parts(job, tmp, parts, comment)
            try:
                storage.upload(tmp, job.target, job.overwrite, {"vidstyle-fingerprint": comment or ""})
            except FileExistsError:
                raise VidstyleError(
                    f"{job.target} appeared while this render ran (another process wrote it) and was "
                    "kept; pass --overwrite to replace it."
                ) from None
            return report
        finally:
            tmp.unlink(missing_ok=True)
    target = Path(job.target)
    folder = target.parent if str(target.parent) else Path(".")
    remove_stale_temporaries(target)
    tmp = temporary_beside(folder, f"{target.stem}.tmp-", target.suffix)
    try:
        report = join_parts(job, tmp, parts, comment)
        commit(tmp, None, target, job.overwrite)
        return report
    finally:
        tmp.unlink(missing_ok=True)


def scratch_for(target: str) -> Path:
    """A folder for the parts of a video painted in this process: beside a local target (the same disk the
    output goes to), in the system's temporary folder for a URL."""
    if storage.is_url(target):
        return Path(tempfile.mkdtemp(prefix="vidstyle-parts-"))
    from vidstyle.files import scratch_beside

    path = Path(target)
    folder = path.parent if str(path.parent) else Path(".")
    remove_dead_temporaries(folder, f".{path.stem}.parts-")
    return scratch_beside(folder, f".{path.stem}.parts-")
