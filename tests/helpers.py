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
