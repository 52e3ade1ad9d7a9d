"""Reading outputs back: what the tests assert on."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def frame_times(path: Path) -> list[Fraction]:
    """Presentation time of every decoded frame, exact."""
    with av.open(str(path)) as c:
        return [f.pts * f.time_base for f in c.decode(video=0)]


def frames_rgb(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def audio_packets(path: Path) -> list[tuple[Fraction, bytes]]:
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return []
        s = c.streams.audio[0]
        return [(p.pts * p.time_base, bytes(p)) for p in c.demux(s) if p.size]


def stream_info(path: Path) -> dict:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return {"width": v.codec_context.width, "height": v.codec_context.height, "codec": v.codec_context.name,
                "audio": [a.codec_context.name for a in c.streams.audio], "pix_fmt": v.codec_context.pix_fmt}


def same_pictures(a: Path, b: Path) -> bool:
    """Both files decode to exactly the same frames, at the same times.

    What the single-process and Ray drivers are compared on. Their encoded bytes are not: the x264 in PyAV's
    wheels does not reproduce its own output run to run on some CPUs (measured on a 2-core AMD EPYC with
    AVX-512: the same frames encoded 12 times in one process gave 12 different bitstreams, at 1 and at 4
    threads; restricting x264 to AVX2 made them identical). So tests render with crf 0, x264's lossless
    mode, where the decoded frames are exactly what the pipeline handed the encoder whatever x264 decides.
    """
    if frame_times(a) != frame_times(b):
        return False
    return all(np.array_equal(x, y) for x, y in zip(frames_rgb(a), frames_rgb(b), strict=True))
