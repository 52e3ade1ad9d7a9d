"""What a video holds, read before any frame is decoded: its packet index (timestamps, keyframes, durations),
rotation, colour tags, audio streams, and whether it is damaged or a still image in disguise.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import IO, BinaryIO

import av
import av.error
import numpy as np

from vidstyle import storage
from vidstyle.errors import VidstyleError
from vidstyle.pixels import check_size

Source = str | Path | BinaryIO


#: AVColorSpace -> the swscale matrix of the same name (PyAV's `Colorspace`); others have none of their own.
_SWS_MATRIX = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}


BT709, SMPTE170M = 1, 6  # AVColorSpace values


MPEG_RANGE, JPEG_RANGE = 1, 2  # AVColorRange values


def _specified(value: int) -> int:
    """A primaries or transfer tag, with the reserved values (0, 3) read as unspecified (2): they are not
    worth writing into an output."""
    return 2 if value in (0, 3) else value


@dataclass(frozen=True)
class Color:
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
    def of(cls, frame: av.VideoFrame) -> Color:
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
    color: Color = field(default_factory=Color)  # as the first frame says (or players would guess)

    @property
    def frames(self) -> int:
        return len(self.pts)

    @property
    def out_size(self) -> tuple[int, int]:
        """(width, height) of the output: 4:2:0 needs even sides, so an odd side loses its last pixel."""
        return self.width - self.width % 2, self.height - self.height % 2


@contextlib.contextmanager
def open_source(source: Source) -> Iterator[av.container.InputContainer]:
    """The source opened for reading: a path, a file object, or a URL (`storage.opened`: byte ranges
    read as the demuxer seeks, so a worker reads its own segment of an object, not all of it)."""
    name = getattr(source, "name", source)
    if isinstance(source, (str, Path)) and storage.is_url(source):
        with storage.opened(source) as handle, _open_container(handle, source) as container:
            yield container
        return
    if isinstance(source, (str, Path)) and not Path(source).is_file():
        raise VidstyleError(f"{source}: no such file.")
    with _open_container(source if not isinstance(source, Path) else str(source), name) as container:
        yield container


def _open_container(source: str | IO[bytes], name: object) -> av.container.InputContainer:
    try:
        return av.open(source, "r")
    except (av.error.InvalidDataError, av.error.EOFError):
        raise VidstyleError(f"{name}: not a video file that FFmpeg can read.") from None
    except av.error.FFmpegError as exc:
        raise VidstyleError(f"{name}: cannot be opened ({exc.strerror}).") from None


def video_stream(container: av.container.InputContainer, name: object) -> av.video.stream.VideoStream:
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
    with open_source(path) as container:
        _refuse_still_image(container, path)
        stream = video_stream(container, path)
        audio = list(container.streams.audio)
        index = _read_index(container, stream, audio)
        if not index.pts:
            raise VidstyleError(f"{path}: its video stream holds no frames.")
        container.seek(0)
        first = next(decoded_frames(container, stream), None)
        if first is None:
            raise VidstyleError(f"{path}: no frame of its video stream can be decoded (corrupt file?).")
        rotation = int(round(first.rotation or 0)) % 360
        width, height = (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
        check_size(width, height, f"{path}: the video")  # not OpenCV's message from the optical flow
        pts_array = np.unique(np.asarray(index.pts, dtype=np.int64))
        tb = stream.time_base
        assert tb is not None  # FFmpeg gives every demuxed stream one (1/90000 by default); the stub allows None
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
            color=Color.of(first),
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


def decoded_frames(container: av.container.InputContainer, stream) -> Iterator[av.VideoFrame]:
    """Decode, skipping damaged packets instead of stopping: a corrupt file yields what can be decoded."""
    if not stream.codec_context.is_open:
        stream.thread_type = "AUTO"
    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.error.InvalidDataError:
            continue


def comment(path: str | Path) -> str | None:
    """The container's comment tag (MP4/MOV write it lower-case, Matroska upper-case), if readable; a URL
    costs a few range reads (the header, and an MP4's index at its end)."""
    try:
        with open_source(path) as container:
            tags = {k.lower(): v for k, v in container.metadata.items()}
    except (av.error.FFmpegError, OSError, VidstyleError):
        return None
    return tags.get("comment")


def packet_times(path: Source) -> tuple[list[Fraction], Fraction]:
    """Sorted presentation times of the video packets, and the stream's time base: the render's own check
    reads the finished file back, without decoding it."""
    with open_source(path) as container:
        stream = video_stream(container, path)
        tb = stream.time_base
        assert tb is not None  # FFmpeg gives every demuxed stream one
        return sorted(p.pts * tb for p in container.demux(stream) if p.size and p.pts is not None), tb


def not_kept(source: Source) -> str | None:
    """What of `source` an output does not carry, in words ("2 subtitle streams and 1 attachment"), or None:
    vidstyle writes the video and the audio; subtitles, attachments (fonts, cover art) and data are left."""
    with open_source(source) as container:
        kinds: dict[str, int] = {}
        for stream in container.streams:
            if stream.type in ("subtitle", "attachment", "data"):
                kinds[stream.type] = kinds.get(stream.type, 0) + 1
    words = {"subtitle": "subtitle stream", "attachment": "attachment", "data": "data stream"}
    parts = [f"{n} {words[kind]}{'s' if n > 1 else ''}" for kind, n in kinds.items()]
    return " and ".join(parts) if parts else None
