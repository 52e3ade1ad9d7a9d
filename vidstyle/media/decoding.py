"""Frames out of a source: a span of the timeline decoded as upright RGB with each frame's own pts, put back
in presentation order; single frames by seeking; and a span copied as compressed packets (how a segment
travels to a Ray actor).
"""

from __future__ import annotations

import heapq
import io
from collections.abc import Iterator
from fractions import Fraction

import av
import av.error
import numpy as np

from vidstyle.errors import VidstyleError
from vidstyle.media.encoding import PART_FORMAT
from vidstyle.media.probing import Color, Source, decoded_frames, open_source, video_stream

#: Decoded frames held to put them in presentation order. A plain decode of some real streams emits frames a
#: few places out of pts order (0, 101000, 67000, 134000, 34000, ... seen on an H.264 MP4 whose decoder was
#: told of no reordering); 16 covers any reorder depth H.264/HEVC allow and costs 16 frames of memory.
REORDER_WINDOW = 16


def _presentation_order(frames: Iterator[av.VideoFrame], window: int = REORDER_WINDOW) -> Iterator[av.VideoFrame]:
    """`frames` sorted by pts within a sliding window of `window` frames.

    A decoder may emit frames slightly out of pts order; each is still a frame a player shows, so it is put
    back in its place instead of dropped. Frames without a pts have no time to be shown at and are skipped.
    """
    heap: list[tuple[int, int, av.VideoFrame]] = []
    for n, frame in enumerate(frames):
        if frame.pts is None:
            continue
        heapq.heappush(heap, (frame.pts, n, frame))
        if len(heap) > window:
            yield heapq.heappop(heap)[2]
    while heap:
        yield heapq.heappop(heap)[2]


def _upright(frame: av.VideoFrame, rotation: int) -> np.ndarray:
    rgb = Color.of(frame).to_rgb(frame)
    return np.ascontiguousarray(np.rot90(rgb, rotation // 90)) if rotation else rgb


def decode_span(
    source: Source,
    start: int | None,
    end: int | None,
    rotation: int,
    time_base: Fraction,
    presented: tuple[int, int] | None = None,
    dropped: list[int] | None = None,
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield (pts, duration, upright RGB) for frames with start <= pts < end (None = open-ended).

    `start`, `end` and the yielded timestamps are in `time_base`, the original source's, even when `source`
    is a segment remuxed into a container that chose another time base. Seeks to the keyframe at or
    before `start`, so a span costs only its own GOPs. Frames come out in presentation order even when the
    decoder emits them slightly out of it (`_presentation_order`); only a frame that repeats a pts, or comes
    more than `REORDER_WINDOW` frames late, is dropped (its pts appended to `dropped`): the encoder needs
    strictly increasing timestamps.

    `presented` = (first, last) pts the container shows (`probe`'s): frames outside are an edit list's
    hidden lead-in. The file's decoder drops those itself, but a span remuxed for a remote worker has lost
    the container's discard flags, so both paths drop them here alike (no seek: the span starts at its top).
    """
    lo = None if start is None else start * time_base
    hi = None if end is None else end * time_base
    shown_from = None if presented is None else presented[0] * time_base
    shown_to = None if presented is None else presented[1] * time_base
    with open_source(source) as container:
        stream = video_stream(container, source)
        assert stream.time_base is not None  # FFmpeg gives every demuxed stream one (1/90000 by default)
        shift = Fraction(container.metadata.get(SPAN_SHIFT, 0) if container.format.name == PART_FORMAT else 0)
        if lo is not None:
            container.seek(int((lo + shift) / stream.time_base), stream=stream, backward=True, any_frame=False)
        last = None
        for frame in _presentation_order(decoded_frames(container, stream)):
            assert frame.pts is not None  # _presentation_order skips frames without one
            t = frame.pts * stream.time_base - shift
            # shown_to is None exactly when shown_from is (both come from `presented`)
            if (lo is not None and t < lo) or (
                shown_from is not None and shown_to is not None and not shown_from <= t <= shown_to
            ):
                continue
            if hi is not None and t >= hi:
                break
            if last is not None and t <= last:
                if dropped is not None:
                    dropped.append(int(t / time_base))
                continue
            last = t
            pts, duration = t / time_base, (frame.duration or 0) * stream.time_base / time_base
            if pts.denominator != 1:
                raise VidstyleError("internal: a frame time is not representable in the source's time base.")
            yield int(pts), int(duration), _upright(frame, rotation)


def decode_at(
    source: Source, wanted: list[int], keyframes: list[int], rotation: int, decoded: list[int] | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (pts, upright RGB) for each wanted pts (the stream's time base, as `probe` gives them).

    Seeks to the keyframe at or before each one, unless decoding on from the last frame gets there
    sooner, so a preview of 8 frames decodes a few GOPs, not the video. `decoded[0]` counts the frames
    the decoder produced.
    """
    counter = decoded if decoded is not None else [0]
    keys = np.asarray(sorted(keyframes) or [0])
    with open_source(source) as container:
        stream = video_stream(container, source)
        frames, position = None, None
        for target in sorted(wanted):
            key = int(keys[max(0, np.searchsorted(keys, target, side="right") - 1)])
            if frames is None or position is None or position >= target or position < key:
                container.seek(key, stream=stream, backward=True, any_frame=False)
                frames = _presentation_order(decoded_frames(container, stream))
            for frame in frames:
                counter[0] += 1
                position = frame.pts
                if frame.pts is not None and frame.pts >= target:
                    yield target, _upright(frame, rotation)
                    break


#: NUT metadata key of a span's time shift (seconds, a fraction) that `decode_span` takes off again.
SPAN_SHIFT = "vidstyle_span_shift"


def copy_span(source: Source, start: int | None, end: int | None, time_base: Fraction) -> bytes:
    """The compressed video packets a worker needs to decode [start, end), as a small NUT file.

    This is what crosses the network to a worker on another node: no shared filesystem, and no decoded
    frames. Packets run from the keyframe at `start` through the next segment's keyframe and any leading
    B-frames that display before `end`. NUT cannot store a negative timestamp (an edit list's hidden lead-in
    has them, as does a first DTS before zero), so such a span is shifted to start at zero and says by how
    much in its metadata (`SPAN_SHIFT`).
    """
    buf = io.BytesIO()
    with open_source(source) as container:
        stream = video_stream(container, source)
        if start is not None:
            container.seek(start, stream=stream, backward=True, any_frame=False)
        with av.open(buf, "w", format=PART_FORMAT, options={"avoid_negative_ts": "disabled"}) as out:
            copy = out.add_stream_from_template(stream)
            past_end = False
            shift = None
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                ts = packet.pts if packet.pts is not None else packet.dts
                if end is not None and ts is not None and ts >= end:
                    if past_end and not packet.is_keyframe:
                        break
                    past_end = past_end or packet.is_keyframe
                if shift is None:  # DTS never decrease, and no pts precedes its dts: the first DTS is the least
                    shift = _span_shift(packet)
                    if shift:
                        assert stream.time_base is not None  # FFmpeg gives every demuxed stream one
                        out.metadata[SPAN_SHIFT] = str(shift * stream.time_base)
                if shift:
                    packet.pts = None if packet.pts is None else packet.pts + shift
                    packet.dts = None if packet.dts is None else packet.dts + shift
                packet.stream = copy
                out.mux(packet)
    return buf.getvalue()


def _span_shift(first: av.Packet) -> int:
    """Ticks to add to every timestamp of a span so that none is negative."""
    ts = first.dts if first.dts is not None else first.pts
    return max(0, -ts) if ts is not None else 0
