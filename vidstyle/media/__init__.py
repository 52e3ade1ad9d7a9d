"""Video and still images in and out, with nothing of style transfer in it.

The video side is PyAV in four steps: `probing` (what a source holds: packet index, rotation, colour,
audio), `decoding` (a span as upright RGB frames with their own timestamps; a span as compressed packets),
`encoding` (frames into a part) and `muxing` (parts and the source's audio into the final file);
`vidstyle.media` offers their public names (`media.probe`, `media.decode_span`, `media.mux`, ...).
`images` reads and writes stills, `sheets` draws contact sheets, `synth` makes the generated test clips.
The names load on first use, so code that needs only stills (training) never imports PyAV.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vidstyle.lazy import lazy_names

#: name -> the module that defines it
_NAMES = {
    "CONTAINERS": "vidstyle.media.encoding",
    "REORDER_WINDOW": "vidstyle.media.decoding",
    "X264_CRF": "vidstyle.media.encoding",
    "X264_PRESET": "vidstyle.media.encoding",
    "EncodeSettings": "vidstyle.media.encoding",
    "Part": "vidstyle.media.encoding",
    "PartWriter": "vidstyle.media.encoding",
    "Source": "vidstyle.media.probing",
    "VideoInfo": "vidstyle.media.probing",
    "comment": "vidstyle.media.probing",
    "copy_span": "vidstyle.media.decoding",
    "decode_at": "vidstyle.media.decoding",
    "decode_span": "vidstyle.media.decoding",
    "fsync_file": "vidstyle.media.encoding",
    "mux": "vidstyle.media.muxing",
    "not_kept": "vidstyle.media.probing",
    "packet_times": "vidstyle.media.probing",
    "probe": "vidstyle.media.probing",
    "start_resolution": "vidstyle.media.muxing",
}

__all__ = [
    "CONTAINERS",
    "REORDER_WINDOW",
    "X264_CRF",
    "X264_PRESET",
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
    "not_kept",
    "packet_times",
    "probe",
    "start_resolution",
]


__getattr__ = lazy_names(globals(), _NAMES)


if TYPE_CHECKING:
    from vidstyle.media.decoding import REORDER_WINDOW, copy_span, decode_at, decode_span
    from vidstyle.media.encoding import CONTAINERS, X264_CRF, X264_PRESET, EncodeSettings, Part, PartWriter, fsync_file
    from vidstyle.media.muxing import mux, start_resolution
    from vidstyle.media.probing import Source, VideoInfo, comment, not_kept, packet_times, probe
