"""Everything PyAV: probe a source, decode a span of it as upright RGB with timestamps, encode a part,
join parts with the source's audio into the final file.

Timestamps are never synthesised: each decoded frame's pts (in the source stream's time base) is the pts of
its output frame, so variable frame rates and audio sync survive. Parts are NUT files written with
`avoid_negative_ts` disabled, because NUT keeps any time base exactly (Matroska would round to 1 ms).
"""

from __future__ import annotations

import heapq
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import av.error
import numpy as np

from vidstyle.errors import VidstyleError

Source = str | Path | BinaryIO

#: Output extension -> (muxer, video encoder, audio codec to transcode to when the source's cannot be copied)
CONTAINERS = {
    ".mp4": ("mp4", "libx264", "aac"),
    ".mov": ("mov", "libx264", "aac"),
    ".mkv": ("matroska", "libx264", "aac"),
    ".webm": ("webm", "libvpx-vp9", "libopus"),
}
PART_FORMAT = "nut"
#: Decoded frames held to put them in presentation order. A plain decode of some real streams emits frames a
#: few places out of pts order (0, 101000, 67000, 134000, 34000, ... seen on an H.264 MP4 whose decoder was
#: told of no reordering); 16 covers any reorder depth H.264/HEVC allow and costs 16 frames of memory.
REORDER_WINDOW = 16


@dataclass
class EncodeSettings:
    """Same settings for every part of a job, or the parts could not be joined without re-encoding."""

    codec: str = "libx264"
    crf: int | None = None  # None: the codec's default below
    preset: str = "medium"
    threads: int = 4  # fixed, never "auto": x264's output depends on its thread count, and every worker
    # on every machine must encode alike for parts to join and for a re-run to give the same bytes
    pix_fmt: str = "yuv420p"

    def options(self) -> dict[str, str]:
        if self.codec == "libvpx-vp9":
            crf = 32 if self.crf is None else self.crf
            return {
                "crf": str(crf),
                "b": "0",
                "row-mt": "1",
                "deadline": "good",
                "cpu-used": "4",
                "threads": str(self.threads),
            }
        crf = 18 if self.crf is None else self.crf
        return {"crf": str(crf), "preset": self.preset, "threads": str(self.threads)}


#: AVColorSpace -> the swscale matrix of the same name (PyAV's `Colorspace`); others have none of their own.
_SWS_MATRIX = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}
BT709, SMPTE170M = 1, 6  # AVColorSpace values
MPEG_RANGE, JPEG_RANGE = 1, 2  # AVColorRange values


def _specified(value: int) -> int:
    """A primaries or transfer tag, with the reserved values (0, 3) read as unspecified (2): they are not
    worth writing into an output."""
    return 2 if value in (0, 3) else value


@dataclass(frozen=True)
class Colour:
    """How a video's YUV samples map to RGB. Decoding and encoding use the same matrix and range, and the
    output is tagged with them, so a player shows the output's colours as it showed the input's: a BT.709
    clip was decoded with BT.709 but encoded with BT.601, untagged, and (48,96,192) played as (43,98,197).

    A source that does not say is taken as players take it: BT.709 from 1280 wide or 577 high (HD), else
    BT.601, limited range; the output then says so. Primaries and transfer are not converted, only carried.
    """

    matrix: int = SMPTE170M  # AVColorSpace: 1 BT.709, 5/6 BT.601, 7 SMPTE 240M, 9/10 BT.2020, 4 FCC
    primaries: int = 2  # AVColorPrimaries (2: unspecified)
    transfer: int = 2  # AVColorTransferCharacteristic (2: unspecified)
    range: int = MPEG_RANGE  # AVColorRange: 1 limited (16-235), 2 full

    @classmethod
    def of(cls, frame: av.VideoFrame) -> Colour:
        """The frame's tags, with players' guesses for the ones it lacks."""
        hd = frame.width >= 1280 or frame.height > 576
        matrix = frame.colorspace if frame.colorspace in _SWS_MATRIX else (BT709 if hd else SMPTE170M)
        full = frame.color_range == JPEG_RANGE or frame.format.name.startswith("yuvj")
        return cls(
            matrix, _specified(frame.color_primaries), _specified(frame.color_trc), JPEG_RANGE if full else MPEG_RANGE
        )

    def to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        return frame.to_ndarray(format="rgb24", src_colorspace=_SWS_MATRIX[self.matrix], src_color_range=self.range)

    def from_rgb(self, frame: av.VideoFrame, pix_fmt: str) -> av.VideoFrame:
        yuv = frame.reformat(format=pix_fmt, dst_colorspace=_SWS_MATRIX[self.matrix], dst_color_range=self.range)
        self.tag(yuv)
        return yuv

    def tag(self, target) -> None:
        """Set the four tags on a frame or codec context (x264 writes the context's into its VUI)."""
        target.colorspace, target.color_primaries = self.matrix, self.primaries
        target.color_trc, target.color_range = self.transfer, self.range


@dataclass
class VideoInfo:
    path: str
    codec: str
    width: int  # as displayed (after rotation)
    height: int
    rotation: int  # degrees counter-clockwise the player turns the coded frame; 0, 90, 180 or 270
    pix_fmt: str
    time_base: Fraction
    pts: np.ndarray  # sorted pts of the video packets: one per frame for all but exotic codecs
    keyframes: list[int]  # pts of keyframes, ascending
    average_rate: Fraction | None
    duration: float  # seconds, first frame to the end of the last
    last_duration: int = 0  # how long the last frame is shown, in time_base (from its packet when stored)
    audio: list[str] = field(default_factory=list)  # codec of each audio stream
    audio_packets: list[int] = field(default_factory=list)
    damage: str | None = None  # why reading stopped early, or a shortfall against the declared frame count
    colour: Colour = field(default_factory=Colour)  # as the first frame says (or players would guess)

    @property
    def frames(self) -> int:
        return len(self.pts)

    @property
    def out_size(self) -> tuple[int, int]:
        """(width, height) of the output: 4:2:0 needs even sides, so an odd side loses its last pixel."""
        return self.width - self.width % 2, self.height - self.height % 2


def _open(source: Source) -> av.container.InputContainer:
    name = getattr(source, "name", source)
    if isinstance(source, (str, Path)) and not Path(source).is_file():
        raise VidstyleError(f"{source}: no such file.")
    try:
        return av.open(source if not isinstance(source, Path) else str(source), "r")
    except (av.error.InvalidDataError, av.error.EOFError):
        raise VidstyleError(f"{name}: not a video file that FFmpeg can read.") from None
    except av.error.FFmpegError as exc:
        raise VidstyleError(f"{name}: cannot be opened ({exc.strerror}).") from None


def _video_stream(container: av.container.InputContainer, name: object) -> av.video.stream.VideoStream:
    streams = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not streams:
        raise VidstyleError(f"{name}: has no video stream (audio-only or data file?).")
    return streams[0]


#: Demuxers that read one picture, not a video: a PNG or JPEG renamed .mp4 opens with these.
IMAGE_DEMUXERS = ("image2", "_pipe")


@dataclass
class _Index:
    """What the packets of a video stream say, before any decoding."""

    pts: list[int] = field(default_factory=list)  # presented frames only
    durations: dict[int, int] = field(default_factory=dict)  # pts -> packet duration (0: unknown)
    keyframes: list[int] = field(default_factory=list)  # every keyframe, a hidden one included: seek points
    hidden: int = 0  # packets an edit list hides (decoded for reference, never shown)
    audio_packets: dict[int, int] = field(default_factory=dict)
    damage: str | None = None


def _refuse_still_image(container: av.container.InputContainer, name: object) -> None:
    """A still picture under a video name would render as one frame claiming a made-up length."""
    fmt = container.format.name
    if fmt == IMAGE_DEMUXERS[0] or fmt.endswith(IMAGE_DEMUXERS[1]):
        kind = fmt.removesuffix("_pipe").upper()
        raise VidstyleError(f"{name}: is a still image ({kind}), not a video.")


def _read_index(container: av.container.InputContainer, stream, audio: list) -> _Index:
    """Demux every packet once. Packets flagged discard are decoded but never presented (an MP4 edit list
    that starts past a keyframe, as `ffmpeg -ss T -c copy` writes): they are not frames of the video."""
    index = _Index(audio_packets={s.index: 0 for s in audio})
    try:
        for packet in container.demux(stream, *audio):
            if packet.size == 0:
                continue
            if packet.stream.index != stream.index:
                index.audio_packets[packet.stream.index] += 1
                continue
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is None:
                continue
            if packet.is_keyframe:
                index.keyframes.append(ts)
            if packet.is_discard:
                index.hidden += 1
                continue
            index.pts.append(ts)
            index.durations[ts] = packet.duration or 0
    except av.error.FFmpegError as exc:  # truncated or damaged: plan with what is readable
        index.damage = f"reading stopped at {len(index.pts)} frames: {exc.strerror}"
    return index


def _last_duration(pts: np.ndarray, durations: dict[int, int], stream) -> int:
    """How long the last frame is shown, in the stream's time base: its packet's duration when the container
    stores one, else the gap before it, else one period of the average rate."""
    last = int(pts[-1])
    if durations.get(last, 0) > 0:
        return durations[last]
    if len(pts) > 1:
        return last - int(pts[-2])
    if stream.average_rate:
        return max(1, round(1 / (stream.average_rate * stream.time_base)))
    return 0


def probe(path: str | Path) -> VideoInfo:
    """Read the packet index (no decoding but one frame): timestamps, keyframes, rotation, audio packets.

    Frames are counted as the container presents them (an edit list's hidden lead-in is not counted), and the
    length runs to the end of the last frame, so a valid file is never taken for a damaged one."""
    with _open(path) as container:
        _refuse_still_image(container, path)
        stream = _video_stream(container, path)
        audio = list(container.streams.audio)
        index = _read_index(container, stream, audio)
        if not index.pts:
            raise VidstyleError(f"{path}: its video stream holds no frames.")
        container.seek(0)
        first = next(_decoded(container, stream), None)
        if first is None:
            raise VidstyleError(f"{path}: no frame of its video stream can be decoded (corrupt file?).")
        rotation = int(round(first.rotation or 0)) % 360
        width, height = (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
        pts_array = np.unique(np.asarray(index.pts, dtype=np.int64))
        tb = stream.time_base
        last_duration = _last_duration(pts_array, index.durations, stream)
        duration = float((int(pts_array[-1]) - int(pts_array[0]) + last_duration) * tb)
        return VideoInfo(
            path=str(path),
            codec=stream.codec_context.name,
            width=width,
            height=height,
            rotation=rotation,
            pix_fmt=first.format.name,
            time_base=tb,
            pts=pts_array,
            keyframes=sorted(set(index.keyframes)),
            average_rate=stream.average_rate,
            duration=duration,
            last_duration=last_duration,
            audio=[s.codec_context.name for s in audio],
            audio_packets=list(index.audio_packets.values()),
            damage=index.damage or _shortfall(stream, index, duration, last_duration),
            colour=Colour.of(first),
        )


def _shortfall(stream, index: _Index, duration: float, last_duration: int) -> str | None:
    """A header that promises more frames, or more time, than the packets hold: a truncated file."""
    if stream.frames and stream.frames > len(index.pts) + index.hidden:
        return f"the container declares {stream.frames} frames, {len(index.pts) + index.hidden} are present"
    declared = _declared_seconds(stream)
    frame = float(last_duration * stream.time_base)
    if declared and declared - duration > max(3 * frame, 0.02 * declared):
        return f"the container declares {declared:.2f} s of video, {duration:.2f} s are present"
    return None


def _declared_seconds(stream) -> float | None:
    """The video stream's length as its container's header states it (MP4 duration, Matroska tag)."""
    if stream.duration:
        return float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    try:
        h, m, sec = tag.split(":")
        return int(h) * 3600 + int(m) * 60 + float(sec)
    except (AttributeError, ValueError):
        return None


def _decoded(container: av.container.InputContainer, stream) -> Iterator[av.VideoFrame]:
    """Decode, skipping damaged packets instead of stopping: a corrupt file yields what can be decoded."""
    if not stream.codec_context.is_open:
        stream.thread_type = "AUTO"
    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.error.InvalidDataError:
            continue


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
    rgb = Colour.of(frame).to_rgb(frame)
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
    with _open(source) as container:
        stream = _video_stream(container, source)
        shift = Fraction(container.metadata.get(SPAN_SHIFT, 0) if container.format.name == PART_FORMAT else 0)
        if lo is not None:
            container.seek(int((lo + shift) / stream.time_base), stream=stream, backward=True, any_frame=False)
        last = None
        for frame in _presentation_order(_decoded(container, stream)):
            t = frame.pts * stream.time_base - shift
            if (lo is not None and t < lo) or (shown_from is not None and not shown_from <= t <= shown_to):
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
    with _open(source) as container:
        stream = _video_stream(container, source)
        frames, position = None, None
        for target in sorted(wanted):
            key = int(keys[max(0, np.searchsorted(keys, target, side="right") - 1)])
            if frames is None or position is None or position >= target or position < key:
                container.seek(key, stream=stream, backward=True, any_frame=False)
                frames = _presentation_order(_decoded(container, stream))
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
    with _open(source) as container:
        stream = _video_stream(container, source)
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


@dataclass
class Part:
    """One encoded segment: a NUT file (path, or bytes from a remote worker) and its packets' true timestamps.

    NUT keeps pts exactly but stores no dts (its demuxer re-derives them, and not for the first B-frame
    delay), so the encoder's (pts, dts) of each packet, in file order, travel beside it.
    """

    data: str | bytes
    timestamps: np.ndarray  # (packets, 2) int64: pts, dts in `time_base`
    time_base: Fraction
    keyframes: list[tuple[int, float]] = field(default_factory=list)  # NST keyframes: (pts, seconds spent)
    seconds: float = 0.0  # wall time its worker spent on it
    dropped: int = 0  # decoded frames left out: a repeated pts, or beyond the reorder window (decode_span)

    @property
    def frames(self) -> np.ndarray:
        return np.sort(self.timestamps[:, 0])

    def open(self) -> av.container.InputContainer:
        return av.open(io.BytesIO(self.data) if isinstance(self.data, bytes) else self.data, "r", format=PART_FORMAT)


class PartWriter:
    """Encode RGB frames, with their source timestamps, into one part."""

    def __init__(
        self,
        target: str | BinaryIO,
        size: tuple[int, int],
        time_base: Fraction,
        settings: EncodeSettings,
        colour: Colour | None = None,
    ):
        self.target = target
        self.colour = colour or Colour()
        self.container = av.open(target, "w", format=PART_FORMAT, options={"avoid_negative_ts": "disabled"})
        self.stream = self.container.add_stream(settings.codec, options=settings.options())
        self.stream.width, self.stream.height = size
        self.stream.pix_fmt = settings.pix_fmt
        self.stream.time_base = time_base
        self.stream.codec_context.time_base = time_base
        self.colour.tag(self.stream.codec_context)
        self.time_base = time_base
        self.width, self.height = size
        self.timestamps: list[tuple[int, int]] = []

    def _mux(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            self.timestamps.append((packet.pts, packet.dts))
            self.container.mux(packet)

    def write(self, pts: int, duration: int, rgb: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(rgb[: self.height, : self.width], format="rgb24")
        frame = self.colour.from_rgb(frame, self.stream.pix_fmt)
        frame.pts, frame.time_base = pts, self.time_base
        if duration:
            frame.duration = duration
        self._mux(self.stream.encode(frame))

    def close(self) -> Part:
        self._mux(self.stream.encode(None))
        self.container.close()
        data = self.target.getvalue() if isinstance(self.target, io.BytesIO) else self.target
        return Part(data, np.asarray(self.timestamps, dtype=np.int64).reshape(-1, 2), self.time_base)


@dataclass
class MuxReport:
    video_packets: int
    audio_packets: dict[int, int]  # output stream index -> packets written
    transcoded: list[str]  # "aac -> libopus" for each audio stream that could not be copied


def frame_durations(parts: list[Part], last_duration: int) -> dict[int, int]:
    """pts -> how long each written frame is shown: until the next frame, and the last one as long as the
    source shows its last. Encoders and part files do not carry durations (NUT stores none), and a muxer left
    to guess writes nonsense (2.7 s per frame in Matroska); these are the same on every path."""
    written = np.unique(np.concatenate([p.frames for p in parts]))
    gaps = np.diff(written).tolist() + [last_duration]
    return dict(zip(written.tolist(), gaps))


def _video_packets(parts: list[Part], stream, durations: dict[int, int]) -> Iterator[av.Packet]:
    """Packets of all parts in order, with the encoder's timestamps restored and `durations` set. A part's
    first DTS can fall behind the previous part's last (the B-frame delay is extrapolated from its first
    frames); such DTS are nudged forward one tick, which never reorders frames."""
    last_dts = None
    extradata = None
    for part in parts:
        with part.open() as container:
            vs = container.streams.video[0]
            if extradata is None:
                extradata = vs.codec_context.extradata
            elif vs.codec_context.extradata != extradata:
                raise VidstyleError("internal: parts were encoded with different settings and cannot be joined.")
            packets = (p for p in container.demux(vs) if p.size)
            for packet, (pts, dts) in zip(packets, part.timestamps, strict=True):
                if packet.pts * packet.time_base != pts * part.time_base:
                    raise VidstyleError("internal: a part's packets do not match its timestamp table.")
                packet.time_base = part.time_base
                packet.pts, packet.dts = int(pts), int(dts)
                packet.duration = durations[int(pts)]
                if last_dts is not None and packet.dts <= last_dts:
                    packet.dts = last_dts + 1
                    if packet.dts > packet.pts:
                        raise VidstyleError("internal: parts cannot be joined (timestamps overlap).")
                last_dts = packet.dts
                packet.stream = stream
                yield packet


def _audio_packets(source: Source, index: int, out_stream, transcode: bool) -> Iterator[av.Packet]:
    with _open(source) as container:
        in_stream = container.streams[index]
        for packet in container.demux(in_stream):
            if transcode:
                try:
                    frames = packet.decode() if packet.size else []
                except av.error.InvalidDataError:
                    continue
                for frame in frames:
                    frame.pts = None  # let the encoder count samples; resampling makes source pts inexact
                    yield from out_stream.encode(frame)
                continue
            if packet.size == 0 or packet.dts is None:
                continue
            packet.stream = out_stream
            yield packet
        if transcode:
            yield from out_stream.encode(None)


def _seconds(packet: av.Packet) -> float:
    ts = packet.dts if packet.dts is not None else packet.pts
    return float(ts * packet.time_base) if ts is not None else 0.0


#: Stream tags that still describe a stream after the render (not the encoder, handler or a stale duration),
#: by the name a muxer writes them from: MP4 reads a track's title back as "name" and writes it from "title".
KEPT_TAGS = {"language": "language", "title": "title", "name": "title"}


def _keep_identity(template, stream) -> None:
    """Give an output stream its source stream's language, title and dispositions (default, forced, ...):
    players choose tracks by them, and two audio tracks tagged eng/fra came out und/und."""
    for key, value in template.metadata.items():
        if key.lower() in KEPT_TAGS:
            stream.metadata[KEPT_TAGS[key.lower()]] = value
    stream.disposition = template.disposition


def mp4_timescale(time_base: Fraction) -> int:
    """Ticks per second for an MP4/MOV video track and its movie header: a multiple of the source time base's
    denominator, so every source time is a whole number of ticks (125/2997 s -> 95904), doubled up to at
    least 10000 as FFmpeg's own choice is. The movie header's scale matters too: an edit list that starts
    the track at its first frame is written in it, and at the default 1/1000 s it moved every frame of a
    23.976 fps clip by 0.7 ms."""
    scale = time_base.denominator
    while scale < 10000:
        scale *= 2
    return scale


def start_resolution(fmt: str, time_base: Fraction) -> Fraction:
    """The finest step in which `fmt` can place a video's first frame (MP4/MOV: the movie header's
    timescale, which holds the edit list); 0 where the stream's own time base is all that counts."""
    if fmt not in ("mp4", "mov"):
        return Fraction(0)
    scale = mp4_timescale(time_base)
    return Fraction(1, scale if scale < 2**31 else 1000)  # 1000: FFmpeg's default movie timescale


def _muxer_options(fmt: str, time_base: Fraction) -> dict[str, str]:
    # Timestamps stay as the source has them: no muxer may shift them to start at zero.
    options = {"avoid_negative_ts": "disabled"}
    if fmt in ("mp4", "mov"):
        options["movflags"] = "+faststart"
        scale = mp4_timescale(time_base)
        if scale < 2**31:  # the muxer's limit; beyond it FFmpeg picks, and check_output judges the result
            options.update(video_track_timescale=str(scale), movie_timescale=str(scale))
    return options


def mux(
    parts: list[Part],
    source: Source,
    target: Path,
    fmt: str,
    audio_codec: str,
    comment: str | None = None,
    last_duration: int = 0,
    colour: Colour | None = None,
) -> MuxReport:
    """Join video parts (stream copy) and the source's audio (copied, else transcoded once) into `target`.

    `last_duration` (source time base) is how long the last frame is shown: the video ends where the
    source's does."""
    with _open(source) as src, parts[0].open() as first:
        audio_in = [(s.index, s.codec_context.name) for s in src.streams.audio]
        options = _muxer_options(fmt, parts[0].time_base)
        with av.open(str(target), "w", format=fmt, options=options) as out:
            if comment:
                out.metadata["comment"] = comment
            video = out.add_stream_from_template(first.streams.video[0])
            _keep_identity(_video_stream(src, source), video)
            if colour:  # the container's own colour tags (MP4 colr, Matroska Colour): VP9 has no room for all four
                colour.tag(video.codec_context)
            streams = []
            transcoded = []
            for index, codec in audio_in:
                template = src.streams[index]
                if codec in out.supported_codecs:
                    streams.append((index, out.add_stream_from_template(template), False))
                else:
                    rate = template.codec_context.sample_rate
                    stream = out.add_stream(audio_codec, rate=48000 if audio_codec == "libopus" else rate)
                    stream.layout = template.codec_context.layout
                    streams.append((index, stream, True))
                    transcoded.append(f"{codec} -> {audio_codec}")
                _keep_identity(template, streams[-1][1])
            counts = {s.index: 0 for _, s, _ in streams}
            counts[video.index] = 0
            sources = [_video_packets(parts, video, frame_durations(parts, last_duration))]
            sources += [_audio_packets(source, i, s, t) for i, s, t in streams]
            for packet in heapq.merge(*sources, key=_seconds):
                counts[packet.stream.index] += 1
                out.mux(packet)
        return MuxReport(
            video_packets=counts.pop(video.index),
            audio_packets=counts,
            transcoded=transcoded,
        )


def comment(path: Path) -> str | None:
    """The container's comment tag (MP4/MOV write it lower-case, Matroska upper-case), if readable."""
    try:
        with av.open(str(path)) as container:
            tags = {k.lower(): v for k, v in container.metadata.items()}
    except (av.error.FFmpegError, OSError):
        return None
    return tags.get("comment")


def packet_times(path: Path) -> tuple[list[Fraction], Fraction]:
    """Sorted presentation times of the video packets, and the stream's time base: the render's own check
    reads the finished file back, without decoding it."""
    with _open(path) as container:
        stream = _video_stream(container, path)
        tb = stream.time_base
        return sorted(p.pts * tb for p in container.demux(stream) if p.size and p.pts is not None), tb


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
