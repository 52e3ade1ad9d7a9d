"""The segment runner: a video checked and planned into segments, one segment decoded -> stylised ->
encoded into a part, the parts joined with the audio and checked, the output staged and committed.

Both executors (`executors.py`: in this process, or on Ray actors) run `segment_to_part` on the same plan,
so they hand x264 the same frames.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import numpy as np

from vidstyle import interrupts, media, storage
from vidstyle.errors import VidstyleError
from vidstyle.files import (
    move_into_place,
    refuse_existing,
    remove_dead_temporaries,
    scratch_beside,
    space_checked,
    temporary_beside,
)
from vidstyle.frames import Frame, FrameFilter
from vidstyle.options import RenderOptions
from vidstyle.pipeline.stylizers import Recipe, frame_gflop
from vidstyle.threads import background, consumed

Progress = Callable[[int], None]


@dataclass
class Segment:
    index: int
    start: int | None  # first pts (inclusive); None: from the very beginning
    end: int | None  # last pts (exclusive); None: to the very end
    frames: int  # expected, from the packet index
    lead: int | None = None  # decode and stylise from here (< start) to prime temporal state; write from start

    @property
    def first(self) -> int | None:
        return self.lead if self.lead is not None else self.start


@dataclass
class RenderReport:
    source: str
    target: str
    frames_in: int
    frames_out: int
    duration_in: float
    duration_out: float
    audio_packets_in: list[int]
    audio_packets_out: list[int]
    wall_seconds: float
    segments: int
    transcoded: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    keyframes: list[tuple[float, float]] = field(default_factory=list)  # NST keyframes: (time s, cost s)

    @property
    def fps(self) -> float:
        return self.frames_out / self.wall_seconds if self.wall_seconds else 0.0


def encode_settings(target: Path, options: RenderOptions) -> tuple[str, str, media.EncodeSettings]:
    """(muxer, audio fallback codec, video settings) for the output's extension."""
    suffix = target.suffix.lower()
    if suffix not in media.CONTAINERS:
        raise VidstyleError(
            f"cannot write {suffix or 'extensionless'} files; use one of {', '.join(media.CONTAINERS)}."
        )
    fmt, codec, audio_codec = media.CONTAINERS[suffix]
    return fmt, audio_codec, media.EncodeSettings(codec=codec, crf=options.crf, preset=options.preset)


def plan_segments(info: media.VideoInfo, seconds: float, lead_frames: int = 0) -> list[Segment]:
    """Cut the timeline at keyframes into pieces of at least `seconds`, so each piece decodes on its own. A
    tail shorter than half a piece joins the piece before it: on its own it is a unit of work with the start-up
    costs of a whole one (a 10.5 s clip was two segments, the second half a second long).

    With `lead_frames`, each piece also runs the `lead_frames` frames before it (not written), so a
    temporal filter reaches its steady state before the first frame it writes."""
    min_ticks = seconds / float(info.time_base)
    cuts: list[int] = []
    last = int(info.pts[0])
    for key in info.keyframes:
        if key - last >= min_ticks and key > info.pts[0]:
            cuts.append(key)
            last = key
    end: int | None  # the timeline's end here; in the loop below a segment's (None: to the very end)
    end = int(np.max(info.pts)) + int(info.last_duration or 0)
    if cuts and end - cuts[-1] < min_ticks / 2:
        cuts.pop()
    bounds = [None, *cuts, None]
    segments = []
    for i, (start, end) in enumerate(zip(bounds, bounds[1:])):
        lo = 0 if start is None else int(np.searchsorted(info.pts, start))
        hi = len(info.pts) if end is None else int(np.searchsorted(info.pts, end))
        lead = int(np.sort(info.pts)[max(0, lo - lead_frames)]) if lead_frames and start is not None else None
        segments.append(Segment(i, start, end, hi - lo, lead))
    return segments


def shown_for(info: media.VideoInfo, pts: int) -> int:
    """How long the source shows the frame at `pts`: until the next frame, the last as long as its packet says.

    The encoder is given this, not the decoder's duration: a span sent to a Ray actor (NUT) has lost the
    durations the file's packets had, and both drivers must hand the encoder the same frames."""
    i = int(np.searchsorted(info.pts, pts, side="right"))
    return int(info.pts[i]) - pts if i < len(info.pts) else info.last_duration


def segment_to_part(
    source: media.Source,
    segment: Segment,
    transform: FrameFilter,
    info: media.VideoInfo,
    settings: media.EncodeSettings,
    part: str | BinaryIO,
    progress: Progress | None = None,
) -> media.Part:
    """Stylise one segment into one part (a file path, or a BytesIO for a part that travels).

    Decoding runs in a thread a few frames ahead of `transform`, and encoding in another a few frames behind
    it, so neither waits for the network nor it for them; the part records the keyframes an NST
    transform optimised, with their cost.
    """
    started = time.perf_counter()
    writer = media.PartWriter(part, info.out_size, info.time_base, settings, info.color)
    transform.report.clear()
    presented = int(info.pts[0]), int(info.pts[-1])
    dropped: list[int] = []
    frames = background(
        media.decode_span(source, segment.first, segment.end, info.rotation, info.time_base, presented, dropped), 8
    )

    def encode(frame: Frame) -> None:  # (a lambda would leave consumed's item type unknown to mypy)
        writer.write(*frame)

    try:
        with consumed(encode, 8) as write:
            for pts, _, image in transform(frames):
                if segment.start is not None and pts < segment.start:
                    continue  # a lead frame: it primed the filter, the previous segment writes it
                write((pts, shown_for(info, pts), image))
                if progress:
                    progress(1)
    finally:
        frames.close()
    done = writer.close()
    done.keyframes = list(transform.report.keyframes)
    done.dropped = sum(1 for pts in dropped if segment.start is None or pts >= segment.start)  # not the lead's
    done.seconds = time.perf_counter() - started
    return done


def stage(target: Path) -> tuple[Path, Path]:
    """(temporary file beside the target, scratch dir for parts). `commit` renames into place; `discard`
    removes both, so the target path never holds a half-written video. Whether an existing target may be
    replaced is `prepare`'s decision, made before any work starts, and `commit`'s, for a target that
    appeared meanwhile. What a killed run left for this target goes first (`remove_stale_temporaries`)."""
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise VidstyleError(f"output folder {folder} does not exist.")
    remove_stale_temporaries(target)
    tmp = None
    try:
        tmp = temporary_beside(folder, f"{target.stem}.tmp-", target.suffix)
        return tmp, scratch_beside(folder, f".{target.stem}.parts-")
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise VidstyleError(f"cannot write to {folder} ({exc.strerror}).") from None


def remove_stale_temporaries(target: Path) -> None:
    """What killed runs left for this target (SIGKILL gives no chance to clean up): `stage`'s names, found
    by reading names, never by a glob made of the user's, and only those of runs that have ended (see
    `files`), so another process rendering the same target keeps its working files."""
    folder = target.parent if str(target.parent) else Path(".")
    remove_dead_temporaries(folder, f"{target.stem}.tmp-", target.suffix)
    remove_dead_temporaries(folder, f".{target.stem}.parts-")


def commit(tmp: Path, scratch: Path | None, target: Path, replace: bool = False) -> None:
    """Move the finished file into place. Unless `replace`, a target that another process created while
    this one worked is kept, and this run fails with one line: the start-of-run check alone let the later
    of two renders to one new name silently replace the earlier."""
    try:
        media.fsync_file(tmp)
        try:
            move_into_place(tmp, target, replace)
        except FileExistsError:
            raise VidstyleError(
                f"{target} appeared while this render ran (another process wrote it) and was "
                "kept; pass --overwrite to replace it."
            ) from None
    finally:
        discard(tmp, scratch)


def discard(tmp: Path, scratch: Path | None) -> None:
    tmp.unlink(missing_ok=True)
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def staged_output(target: Path, replace: bool = False, needed: int = 0) -> Iterator[tuple[Path, Path]]:
    """`stage` ... `commit` on success; any exception or Ctrl-C `discard`s instead. A full disk becomes one
    line naming the folder and `needed`, the bytes the job is expected to write there. An interrupt that
    was swallowed on its way (see `interrupts`) still stops the render before the rename."""
    tmp, scratch = stage(target)
    try:
        with space_checked(tmp.parent, needed):
            yield tmp, scratch
        interrupts.check()
    except BaseException:
        discard(tmp, scratch)
        raise
    with space_checked(tmp.parent, needed):  # fsync reports a full disk on some filesystems (NFS)
        commit(tmp, scratch, target, replace)


def check_output(path: Path, written: np.ndarray, time_base: Fraction, fmt: str = "") -> None:
    """The finished file must hold exactly the frames written, at their source timestamps to the output
    container's precision: half its step, whether that is the stream's time base (Matroska keeps
    milliseconds) or the MP4 movie header's, in which the first frame's offset is written. A difference the
    container cannot express is no reason to refuse a render."""
    times, out_tb = media.packet_times(path)
    expected = sorted(int(p) * time_base for p in written)
    if len(times) != len(expected):
        raise VidstyleError(f"internal: output holds {len(times)} frames, {len(expected)} were written.")
    worst = max((abs(a - b) for a, b in zip(times, expected)), default=0)
    if worst > max(out_tb, media.start_resolution(fmt, time_base)) / 2:
        raise VidstyleError(f"internal: output timestamps drift from the source's by up to {float(worst):.6f} s.")


def job_gflop(job: Job, recipe: Recipe, max_side: int | None) -> float:
    """The network work of the whole video."""
    return job.info.frames * frame_gflop(recipe, job.info.height, job.info.width, max_side)


@dataclass
class Job:
    """What a worker needs to paint and join one video: checked locations, encoder settings, the plan.
    `source` and `target` are local paths or URLs (`storage`)."""

    source: str
    target: str
    fmt: str
    audio_codec: str
    settings: media.EncodeSettings
    info: media.VideoInfo
    segments: list[Segment]
    started: float
    overwrite: bool = False  # the target may be replaced, even one that appears while the job runs
    needed: int = 0  # bytes the job is expected to write beside the target: its parts, then the joined file


def check_paths(source: str | Path, target: str | Path, options: RenderOptions, overwrite: bool = False) -> None:
    """What can be refused from the names alone, before anything is read: a folder where a file belongs, the
    output being the input, an existing output without `overwrite`, a container vidstyle cannot write."""
    if not storage.is_url(source) and Path(source).is_dir():
        raise VidstyleError(f"{source} is a directory, not a video file.")
    if not storage.is_url(source) and not Path(source).exists():
        raise VidstyleError(f"{source}: no such file.")
    if storage.is_url(target):
        if str(target).endswith("/"):
            raise VidstyleError(f"{target} is a folder; give a file name such as {target}out.mp4.")
        if str(target) == str(source):
            raise VidstyleError("the output would overwrite the input; choose another output path.")
        if not overwrite and storage.exists(target):
            raise VidstyleError(f"{target} already exists; pass --overwrite to replace it.")
    else:
        target = Path(target)
        if target.is_dir():
            raise VidstyleError(f"{target} is a directory; give a file name such as {target / 'out.mp4'}.")
        if not storage.is_url(source) and target.exists() and target.resolve() == Path(source).resolve():
            raise VidstyleError("the output would overwrite the input; choose another output path.")
        refuse_existing(target, overwrite)
    encode_settings(Path(str(target)), options)


def prepare(source: str | Path, target: str | Path, options: RenderOptions, overwrite: bool = False) -> Job:
    """Check the paths and the input, and plan the segments, before any work or any file is made. An
    existing target is refused unless `overwrite` (what to do with the output is not a processing setting,
    so it is not in `options`, whose every field decides the output's pixels)."""
    started = time.time()  # wall clock: the join that reads it may run on another machine
    check_paths(source, target, options, overwrite)
    fmt, audio_codec, settings = encode_settings(Path(str(target)), options)
    info = media.probe(source)
    lead = options.stabilize.lead if options.stabilize else 0
    # A stylised video is about the size of its input; the parts and the joined file are two copies.
    needed = 2 * storage.version(source)[0]
    return Job(
        str(source),
        str(target),
        fmt,
        audio_codec,
        settings,
        info,
        plan_segments(info, options.segment_seconds, lead),
        started,
        overwrite,
        needed,
    )


def join_parts(job: Job, tmp: Path, parts: list[media.Part], comment: str | None = None) -> RenderReport:
    """Join the parts with the audio, check the result, and describe it (the rename is the caller's)."""
    source, info = job.source, job.info
    dropped = sum(p.dropped for p in parts)
    parts = [p for p in parts if len(p.timestamps)]
    written = np.concatenate([p.frames for p in parts]) if parts else np.empty(0, np.int64)
    if len(written) == 0:
        raise VidstyleError(f"{source}: no frame could be decoded.")
    muxed = media.mux(parts, source, tmp, job.fmt, job.audio_codec, comment, info.last_duration, info.color)
    check_output(tmp, written, info.time_base, job.fmt)
    out = media.probe(tmp)
    warnings = []
    if dropped:
        warnings.append(
            f"left out {dropped} decoded frame{'s' if dropped > 1 else ''} that repeat an earlier "
            f"frame's time or come more than {media.REORDER_WINDOW} frames out of order (the input's "
            "timestamps are wrong there; a video cannot show them)."
        )
    if info.damage:
        warnings.append(
            f"the input is damaged ({info.damage}); the output holds the {len(written)} frames that decoded."
        )
    elif len(written) + dropped < info.frames:
        warnings.append(
            f"only {len(written)} of {info.frames} frames could be decoded (damaged input?); the output holds those."
        )
    if (out.width, out.height) != (info.width, info.height):
        warnings.append(
            f"odd frame size {info.width}x{info.height} was cropped to {out.width}x{out.height} "
            "(4:2:0 video needs even sides)."
        )
    return RenderReport(
        source=str(source),
        target=str(job.target),
        frames_in=info.frames,
        frames_out=muxed.video_packets,
        duration_in=info.duration,
        duration_out=out.duration,
        audio_packets_in=info.audio_packets,
        audio_packets_out=out.audio_packets,
        wall_seconds=time.time() - job.started,
        segments=len(parts),
        transcoded=muxed.transcoded,
        warnings=warnings,
        keyframes=[(float(pts * info.time_base), cost) for p in parts for pts, cost in p.keyframes],
    )
