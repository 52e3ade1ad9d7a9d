"""End-to-end renders of generated clips, asserted on what the output file really holds."""

from fractions import Fraction

import av
import numpy as np
import pytest
import torch

from vidstyle import media
from vidstyle.media.synth import scene
from vidstyle.models.styles import load_network
from vidstyle.models.transformer import stylize
from vidstyle.pipeline.render import render_recipe
from vidstyle.pipeline.segments import RenderOptions, plan_segments

from .helpers import audio_packets, frame_times, frames_rgb, stream_info


def run(source, target, style, **kw):
    """Unstabilised unless asked (the library's default stabilises): these compare frames with the network's."""
    return render_recipe(source, target, style, RenderOptions(segment_seconds=0.5, **{"stabilize": None, **kw}))


def direct(style, rgb: np.ndarray, **kw) -> np.ndarray:
    with torch.inference_mode():
        return stylize(load_network(style), torch.from_numpy(rgb)[None], **kw)[0].numpy()


def test_every_frame_keeps_its_timestamp_and_the_audio_is_copied_untouched(clips, tiny_style, tmp_path):
    out = tmp_path / "out.mp4"
    report = run(clips["plain"], out, tiny_style)
    assert report.segments > 1  # the join of several parts is exercised
    assert frame_times(out) == frame_times(clips["plain"])
    assert len(frame_times(out)) == report.frames_out == report.frames_in == 50
    assert audio_packets(out) == audio_packets(clips["plain"])
    assert report.duration_out == pytest.approx(report.duration_in) == pytest.approx(2.0)
    info = stream_info(out)
    assert (info["width"], info["height"], info["codec"], info["audio"]) == (160, 120, "h264", ["aac"])


def test_output_frames_are_the_network_applied_to_the_input_frames(clips, tiny_style, tmp_path):
    out = tmp_path / "out.mp4"
    run(clips["plain"], out, tiny_style)
    inputs, outputs = frames_rgb(clips["plain"]), frames_rgb(out)
    for i in (0, 17, 49):
        expected = direct(tiny_style, inputs[i]).astype(int)
        got = outputs[i].astype(int)
        assert np.abs(got - expected).mean() < 4  # x264 at CRF 18
        assert np.abs(got - inputs[i]).mean() > 5 * np.abs(got - expected).mean()


def test_variable_frame_rate_stays_variable(clips, tiny_style, tmp_path):
    out = tmp_path / "out.mp4"
    run(clips["vfr"], out, tiny_style)
    times = frame_times(out)
    assert times == frame_times(clips["vfr"])
    gaps = {b - a for a, b in zip(times, times[1:])}
    assert gaps == {Fraction(1, 25), Fraction(2, 25)}


def test_rotated_phone_clip_comes_out_upright(clips, tiny_style, tmp_path):
    out = tmp_path / "out.mp4"
    run(clips["rotated"], out, tiny_style)
    info = stream_info(out)
    assert (info["width"], info["height"]) == (128, 96)  # as displayed, not as coded (96x128)
    with av.open(str(out)) as c:
        assert (next(c.decode(video=0)).rotation or 0) == 0  # no display matrix left to apply twice
    upright = scene(0.0, 128, 96)
    first = frames_rgb(out)[0].astype(int)
    right = np.abs(first - direct(tiny_style, upright)).mean()
    wrong = np.abs(first - direct(tiny_style, np.ascontiguousarray(np.rot90(upright, 2))[:96, :128])).mean()
    assert right < 8 and wrong > 2 * right


def test_odd_sized_clip_is_cropped_to_even_and_says_so(clips, tiny_style, tmp_path):
    out = tmp_path / "out.mp4"
    report = run(clips["odd"], out, tiny_style)
    info = stream_info(out)
    assert (info["width"], info["height"]) == (160, 120)
    assert any("161x121" in w for w in report.warnings)
    assert len(frame_times(out)) == 50


def test_ten_bit_source_is_converted_not_greyed(clips, tiny_style, tmp_path):
    out = tmp_path / "out.mp4"
    run(clips["tenbit"], out, tiny_style)
    frames = frames_rgb(out)
    expected = direct(tiny_style, frames_rgb(clips["tenbit"])[10])
    assert np.abs(frames[10].astype(int) - expected).mean() < 4
    assert frames[10].std() > 20


def test_no_audio_in_no_audio_out(clips, tiny_style, tmp_path):
    out = tmp_path / "out.mp4"
    report = run(clips["silent"], out, tiny_style)
    assert stream_info(out)["audio"] == [] and report.audio_packets_out == []


@pytest.mark.parametrize(
    "suffix,codec,audio", [(".mkv", "h264", "aac"), (".mov", "h264", "aac"), (".webm", "vp9", "opus")]
)
def test_container_follows_extension_and_audio_is_transcoded_only_when_it_must(
    clips, tiny_style, tmp_path, suffix, codec, audio
):
    out = tmp_path / f"out{suffix}"
    report = run(clips["plain"], out, tiny_style)
    info = stream_info(out)
    assert (info["codec"], info["audio"]) == (codec, [audio])
    assert report.transcoded == ([] if audio == "aac" else ["aac -> libopus"])
    tolerance = Fraction(1, 2000) if suffix == ".mkv" else 0  # Matroska keeps milliseconds
    if audio == "aac":
        copied, original = audio_packets(out), audio_packets(clips["plain"])
        assert [d for _, d in copied] == [d for _, d in original]
        assert all(abs(a - b) <= tolerance for (a, _), (b, _) in zip(copied, original, strict=True))
    source_times = frame_times(clips["plain"])
    assert all(abs(a - b) <= tolerance for a, b in zip(frame_times(out), source_times, strict=True))


def test_max_side_stylizes_small_and_returns_full_size(clips, tiny_style, tmp_path):
    out = tmp_path / "out.mp4"
    run(clips["plain"], out, tiny_style, max_side=80)
    info = stream_info(out)
    assert (info["width"], info["height"]) == (160, 120)
    frame = frames_rgb(clips["plain"])[5]
    small = direct(tiny_style, frame, work_size=(60, 80)).astype(int)
    assert np.abs(frames_rgb(out)[5].astype(int) - small).mean() < 4


def test_segments_cut_at_keyframes_and_cover_every_frame(clips):
    info = media.probe(clips["plain"])
    segments = plan_segments(info, 0.5)
    assert sum(s.frames for s in segments) == info.frames == 50
    assert all(s.start in info.keyframes for s in segments[1:])
    assert [s.end for s in segments[:-1]] == [s.start for s in segments[1:]]


def test_outputs_get_the_permissions_of_any_new_file_not_the_temporary_files_0600(clips, tiny_style, tmp_path):
    import os

    from vidstyle.media.images import write_rgb

    old = os.umask(0o022)
    try:
        run(clips["plain"], tmp_path / "out.mp4", tiny_style)
        write_rgb(tmp_path / "still.png", np.zeros((8, 8, 3), np.uint8))
    finally:
        os.umask(old)
    assert (tmp_path / "out.mp4").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "still.png").stat().st_mode & 0o777 == 0o644
