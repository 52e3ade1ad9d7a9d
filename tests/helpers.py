"""Reading outputs back: what the tests assert on."""

from __future__ import annotations

from collections.abc import Callable
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
        return {
            "width": v.codec_context.width,
            "height": v.codec_context.height,
            "codec": v.codec_context.name,
            "audio": [a.codec_context.name for a in c.streams.audio],
            "pix_fmt": v.codec_context.pix_fmt,
        }


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


def remux_with_pts(source: Path, target: Path, order: Callable[[list[av.Packet]], list[int]], lag: int) -> Path:
    """Remux the video of a clip without B-frames, giving the packet at decode position i the pts of frame
    order(packets)[i]. Its decoder knows of no reordering and emits frames in decode order, so a plain decode
    yields every frame, at the pts given here. DTS trail by `lag` frame periods, so that no pts precedes its dts.
    """
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        stream = src.streams.video[0]
        copy = out.add_stream_from_template(stream)
        packets = [p for p in src.demux(stream) if p.size]
        step = packets[1].pts - packets[0].pts
        for i, (packet, frame) in enumerate(zip(packets, order(packets), strict=True)):
            packet.pts, packet.dts = frame * step, (i - lag) * step
            packet.stream = copy
            out.mux(packet)
    return target


def scramble_pts(source: Path, target: Path) -> Path:
    """A stream whose decoder emits frames a few places out of pts order, as a real MP4's did: in every run of
    four frames after a keyframe, decode order 0 1 2 3 gets pts 2 1 3 0 (keyframes keep theirs, so every GOP
    still covers the same span of time), and a plain decode yields 0, 3, 2, 4, 1, ... frame periods."""

    def order(packets: list[av.Packet]) -> list[int]:
        frames = list(range(len(packets)))
        i = 0
        while i < len(packets):
            if packets[i].is_keyframe:
                i += 1
                continue
            run = list(range(i, min(i + 4, len(packets))))
            if len(run) == 4 and not any(packets[j].is_keyframe for j in run):
                for j, k in zip(run, (2, 1, 3, 0)):
                    frames[j] = run[k]
            i += len(run)
        return frames

    return remux_with_pts(source, target, order, lag=3)


def delay_frame(source: Path, target: Path, frame: int, late_by: int) -> Path:
    """A stream whose decoder emits frame `frame` `late_by` places after its turn (the frames between move up)."""

    def order(packets: list[av.Packet]) -> list[int]:
        frames = list(range(len(packets)))
        frames.remove(frame)
        frames.insert(frame + late_by, frame)
        return frames

    return remux_with_pts(source, target, order, lag=late_by)


def cut_with_edit_list(source: Path, target: Path, seconds: float) -> Path:
    """What `ffmpeg -ss SECONDS -i SOURCE -c copy TARGET` writes: packets from the keyframe before the cut,
    timestamps moved so the cut is at 0, and an edit list (MP4) that hides the frames before it. Those are
    decoded for reference and never shown; a plain decode yields only the frames after the cut."""
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in src.streams if s.type in ("video", "audio")}
        video = src.streams.video[0]
        keyframes = [p.pts * video.time_base for p in src.demux(video) if p.size and p.is_keyframe]
        start = max(k for k in keyframes if k <= seconds)
        src.seek(0)
        for packet in src.demux(*[src.streams[i] for i in streams]):
            if not packet.size or packet.dts is None or packet.pts * packet.time_base < start:
                continue
            shift = int(Fraction(seconds) / packet.time_base)
            packet.pts, packet.dts = packet.pts - shift, packet.dts - shift
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return target
