"""Parts joined into the final file without re-encoding, with the source's audio packets, languages and
dispositions, interleaved by time, in the output container's time scale.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np

from vidstyle.errors import VidstyleError
from vidstyle.media.encoding import Part
from vidstyle.media.probing import Color, Source, open_source, video_stream


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
    with open_source(source) as container:
        in_stream = container.streams[index]
        for packet in container.demux(in_stream):
            if transcode:
                try:
                    frames = packet.decode() if packet.size else []
                except av.error.InvalidDataError:
                    continue
                for frame in frames:
                    assert isinstance(frame, av.AudioFrame)
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
    color: Color | None = None,
) -> MuxReport:
    """Join video parts (stream copy) and the source's audio (copied, else transcoded once) into `target`.

    `last_duration` (source time base) is how long the last frame is shown: the video ends where the
    source's does."""
    with open_source(source) as src, parts[0].open() as first:
        audio_in = [(s.index, s.codec_context.name) for s in src.streams.audio]
        options = _muxer_options(fmt, parts[0].time_base)
        with av.open(str(target), "w", format=fmt, options=options) as out:
            if comment:
                out.metadata["comment"] = comment
            video = out.add_stream_from_template(first.streams.video[0])
            _keep_identity(video_stream(src, source), video)
            if color:  # the container's own colour tags (MP4 colr, Matroska Colour): VP9 has no room for all four
                color.tag(video.codec_context)
            streams = []
            transcoded = []
            for index, codec in audio_in:
                template = src.streams[index]
                if codec in out.supported_codecs:
                    streams.append((index, out.add_stream_from_template(template), False))
                else:
                    context: Any = template.codec_context  # an audio stream's: sample_rate, layout
                    rate = context.sample_rate
                    stream = out.add_stream(audio_codec, rate=48000 if audio_codec == "libopus" else rate)
                    stream.layout = context.layout
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
