"""Video and still images in and out, with nothing of style transfer in it.

`vidstyle.media` is the video side (PyAV): probe a source, decode a span of it as upright RGB frames with
their timestamps, encode a part, join parts with the source's audio. `media.images` reads and writes stills,
`media.synth` makes the generated test clips.
"""

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
