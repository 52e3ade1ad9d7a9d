"""Media edge cases from real files (issue 17): each builds its input with PyAV and asserts on the output."""

from __future__ import annotations

import io
from fractions import Fraction

import numpy as np
import torch

from vidstyle import media
from vidstyle.render import RenderOptions, plan_segments, render
from vidstyle.styles import load_network
from vidstyle.synth import ClipSpec, make_clip
from vidstyle.transformer import stylize

from .helpers import frame_times, frames_rgb, scramble_pts


def run(source, target, style, **kw):
    return render(source, target, style, RenderOptions(segment_seconds=0.3, **kw))


def direct(style, rgb: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return stylize(load_network(style), torch.from_numpy(rgb)[None])[0].numpy()


def decoded_times(path) -> list[Fraction]:
    """What a plain `container.decode(video=0)` yields, in the order it yields it."""
    return frame_times(path)


def test_frames_the_decoder_emits_out_of_pts_order_all_reach_the_output_in_presentation_order(tiny_style, tmp_path):
    plain = make_clip(tmp_path / "plain.mp4", ClipSpec(seconds=1.0, bframes=0))
    source = scramble_pts(plain, tmp_path / "scrambled.mp4")
    decoded = decoded_times(source)
    assert len(decoded) == 25 and decoded != sorted(decoded)  # the decoder really emits them out of order

    out = tmp_path / "out.mp4"
    report = run(source, out, tiny_style)
    assert report.segments > 1
    assert frame_times(out) == sorted(decoded)
    assert report.frames_out == 25 and report.warnings == []
    pictures = dict(zip(decoded, frames_rgb(source)))
    for i, got in enumerate(frames_rgb(out)):
        if i in (2, 4, 13):  # frames that arrive late from the decoder
            expected = direct(tiny_style, pictures[sorted(decoded)[i]]).astype(int)
            assert np.abs(got.astype(int) - expected).mean() < 4


def test_spans_copied_for_remote_workers_decode_to_the_same_frames_in_order(tmp_path):
    """The Ray path decodes `copy_span`'s NUT bytes, not the file: it must reorder alike."""
    source = scramble_pts(make_clip(tmp_path / "plain.mp4", ClipSpec(seconds=1.0, bframes=0, audio=None)),
                          tmp_path / "scrambled.mp4")
    info = media.probe(source)
    segments = plan_segments(info, 0.3)
    assert len(segments) > 1
    everything = []
    for s in segments:
        local = [p for p, _, _ in media.decode_span(source, s.start, s.end, 0, info.time_base)]
        span = io.BytesIO(media.copy_span(source, s.start, s.end, info.time_base))
        remote = [p for p, _, _ in media.decode_span(span, s.start, s.end, 0, info.time_base)]
        assert remote == local and len(local) == s.frames
        everything += local
    assert everything == sorted(everything) and everything == list(info.pts)
