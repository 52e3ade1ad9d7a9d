"""Video and still images in and out, with nothing of style transfer in it.

`vidstyle.media` is the video side (PyAV, in `media.video`): probe a source, decode a span of it as upright
RGB frames with their timestamps, encode a part, join parts with the source's audio. `media.images` reads
and writes stills, `media.sheets` draws contact sheets, `media.synth` makes the generated test clips. The
video names load on first use, so code that needs only stills (training) never imports PyAV.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__all__ = [
    "CONTAINERS",
    "REORDER_WINDOW",
    "EncodeSettings",
    "Part",
    "PartWriter",
    "Source",
    "VideoInfo",
    "comment",
    "copy_span",
    "decode_at",
    "decode_span",
    "fsync_file",
    "mux",
    "packet_times",
    "probe",
    "start_resolution",
]


def __getattr__(name: str) -> object:
    if name in __all__:
        value = getattr(importlib.import_module("vidstyle.media.video"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vidstyle.media' has no attribute {name!r}")


if TYPE_CHECKING:
    from vidstyle.media.video import (
        CONTAINERS,
        REORDER_WINDOW,
        EncodeSettings,
        Part,
        PartWriter,
        Source,
        VideoInfo,
        comment,
        copy_span,
        decode_at,
        decode_span,
        fsync_file,
        mux,
        packet_times,
        probe,
        start_resolution,
    )
