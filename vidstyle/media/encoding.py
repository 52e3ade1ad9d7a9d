"""Frames into a part: x264 (or VP9) with the container's settings, written as NUT with the encoder's own
(pts, dts) table beside it, because NUT keeps any time base exactly and stores no DTS.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, cast

import av
import av.error
import numpy as np

from vidstyle.media.probing import Color

#: Output extension -> (muxer, video encoder, audio codec to transcode to when the source's cannot be copied)
CONTAINERS = {
    ".mp4": ("mp4", "libx264", "aac"),
    ".mov": ("mov", "libx264", "aac"),
    ".mkv": ("matroska", "libx264", "aac"),
    ".webm": ("webm", "libvpx-vp9", "libopus"),
}


PART_FORMAT = "nut"
#: x264's defaults here. Painted frames are brush texture everywhere, which makes x264 a third of a CPU
#: render's work at "medium". On 217 painted 640x480 frames (`bench/encode_speed.py`), "veryfast" at crf 16
#: encoded as close to the frames as "medium" at crf 18 (32.90 against 32.87 dB PSNR) for a third of the
#: CPU time (3.3 against 10.0 s), in a 17% larger file; `--preset medium --crf 18` gives the smaller file.
X264_PRESET = "veryfast"
X264_CRF = 16


@dataclass
class EncodeSettings:
    """Same settings for every part of a job, or the parts could not be joined without re-encoding."""

    codec: str = "libx264"
    crf: int | None = None  # None: the codec's default (X264_CRF, or 32 for VP9)
    preset: str = X264_PRESET
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
        crf = X264_CRF if self.crf is None else self.crf
        return {"crf": str(crf), "preset": self.preset, "threads": str(self.threads)}


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
        color: Color | None = None,
    ):
        self.target = target
        self.color = color or Color()
        self.container = av.open(target, "w", format=PART_FORMAT, options={"avoid_negative_ts": "disabled"})
        # settings.codec is a video encoder (libx264, libvpx-vp9); the stub types a plain str's stream as any kind
        self.stream = cast(
            "av.video.stream.VideoStream", self.container.add_stream(settings.codec, options=settings.options())
        )
        self.stream.width, self.stream.height = size
        self.stream.pix_fmt = settings.pix_fmt
        self.stream.time_base = time_base
        self.stream.codec_context.time_base = time_base
        self.color.tag(self.stream.codec_context)
        self.time_base = time_base
        self.width, self.height = size
        self.timestamps: list[tuple[int, int]] = []

    def _mux(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            assert packet.pts is not None and packet.dts is not None  # an encoder's packets carry both
            self.timestamps.append((packet.pts, packet.dts))
            self.container.mux(packet)

    def write(self, pts: int, duration: int, rgb: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(rgb[: self.height, : self.width], format="rgb24")
        assert self.stream.pix_fmt is not None  # set in __init__
        frame = self.color.from_rgb(frame, self.stream.pix_fmt)
        frame.pts, frame.time_base = pts, self.time_base
        if duration:
            frame.duration = duration
        self._mux(self.stream.encode(frame))

    def close(self) -> Part:
        self._mux(self.stream.encode(None))
        self.container.close()
        data = self.target.getvalue() if isinstance(self.target, io.BytesIO) else self.target
        # a target that is not a BytesIO is a path (segment_to_part passes one or the other)
        return Part(cast(str | bytes, data), np.asarray(self.timestamps, dtype=np.int64).reshape(-1, 2), self.time_base)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
