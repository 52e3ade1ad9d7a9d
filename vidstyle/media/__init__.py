"""Video and still images in and out, with nothing of style transfer in it.

The video side is PyAV: `probe` (what a source holds: packet index, rotation, colour, audio), `decode`
(a span as upright RGB frames with their own timestamps; a span as compressed packets), `encode` (frames
into a part) and `mux` (parts and the source's audio into the final file); `vidstyle.media` offers their
public names. `images` reads and writes stills, `sheets` draws contact sheets, `synth` makes the generated
test clips. The names load on first use, so code that needs only stills (training) never imports PyAV.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

#: name -> the module that defines it
_NAMES = {
    "CONTAINERS": "vidstyle.media.encode",
    "REORDER_WINDOW": "vidstyle.media.decode",
    "EncodeSettings": "vidstyle.media.encode",
    "Part": "vidstyle.media.encode",
    "PartWriter": "vidstyle.media.encode",
    "Source": "vidstyle.media.probe",
    "VideoInfo": "vidstyle.media.probe",
    "comment": "vidstyle.media.probe",
    "copy_span": "vidstyle.media.decode",
    "decode_at": "vidstyle.media.decode",
    "decode_span": "vidstyle.media.decode",
    "fsync_file": "vidstyle.media.encode",
    "mux": "vidstyle.media.mux",
    "packet_times": "vidstyle.media.probe",
    "probe": "vidstyle.media.probe",
    "start_resolution": "vidstyle.media.mux",
}

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
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vidstyle.media' has no attribute {name!r}")


if TYPE_CHECKING:
    from vidstyle.media.decode import REORDER_WINDOW, copy_span, decode_at, decode_span
    from vidstyle.media.encode import CONTAINERS, EncodeSettings, Part, PartWriter, fsync_file
    from vidstyle.media.mux import mux, start_resolution
    from vidstyle.media.probe import Source, VideoInfo, comment, packet_times, probe
