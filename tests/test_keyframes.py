"""render --style-image: keyframes at shot changes and every K frames, flow in between, inside the pipeline."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from vidstyle.media.synth import ClipSpec, make_clip, scene
from vidstyle.models.vgg import load_vgg
from vidstyle.nst.gatys import NSTOptions
from vidstyle.nst.losses import GATYS
from vidstyle.pipeline.executors import ShardOptions
from vidstyle.pipeline.keyframes import KeyframeOptions, KeyframeStylizer, histogram_distance
from vidstyle.pipeline.render import render_recipe
from vidstyle.pipeline.segments import RenderOptions
from vidstyle.pipeline.stylizers import ImageRecipe
from vidstyle.temporal import flow

from .helpers import STRIPES, audio_packets, frame_times, frames_rgb, on_ray, random_vgg_state

FAST = NSTOptions(size=64, iterations=6, levels=2)


def frames(spec: ClipSpec):
    from vidstyle.media.synth import frame_times as times

    for i, t in enumerate(times(spec)):
        picture = scene(float(t), spec.width, spec.height)
        if spec.cut is not None and t >= spec.cut:
            picture = (255 - picture[:, ::-1]) // 3
        yield i, 1, picture


def test_flow_follows_a_shift_and_warping_undoes_it():
    rng = np.random.default_rng(0)
    base = (rng.random((80, 100)) * 255).astype(np.uint8)
    base = flow.cv2.GaussianBlur(base, (7, 7), 2)
    shifted = np.roll(base, 3, axis=1)  # content moves 3 px right
    f = flow.flow(shifted, base)  # for pixels of `shifted`, where they are in `base`
    assert np.median(f[10:-10, 10:-10, 0]) == pytest.approx(-3, abs=0.3)
    assert np.abs(flow.warp(base, f)[10:-10, 10:-10].astype(int) - shifted[10:-10, 10:-10]).mean() < 3
    visible = flow.consistent(f, flow.flow(base, shifted))
    assert visible[10:-10, 10:-10].mean() > 0.9 and visible[:, :2].mean() < 0.5  # entered from the left edge


def test_a_cut_is_far_in_histogram_distance_and_motion_is_not():
    a, b = scene(0.5, 160, 120), scene(0.54, 160, 120)
    night = (255 - a[:, ::-1]) // 3
    assert histogram_distance(flow.gray(a), flow.gray(b)) < 0.1
    assert histogram_distance(flow.gray(a), flow.gray(night)) > 0.6


def test_keyframes_at_every_k_frames_at_the_cut_and_at_the_end():
    spec = ClipSpec(seconds=1.58, cut=0.78)  # 40 frames, the cut at frame 20 (t = 0.8 s)
    stylizer = KeyframeStylizer(
        load_vgg(GATYS.all, random_vgg_state()),
        STRIPES,
        FAST,
        KeyframeOptions(every=8, warm_iterations=3),
        torch.device("cpu"),
    )
    out = list(stylizer(frames(spec)))
    assert [pts for pts, _, _ in out] == list(range(40))
    keys = [pts for pts, _ in stylizer.report.keyframes]
    # shot 1: 0, 8, 16, then its last frame 19; shot 2 from 20: 20, 28, 36, then the last frame 39
    assert keys == [0, 8, 16, 19, 20, 28, 36, 39]
    assert all(image.shape == (120, 160, 3) and image.dtype == np.uint8 for _, _, image in out)


def test_in_between_frames_change_smoothly_and_carry_the_style():
    spec = ClipSpec(seconds=0.64)  # 16 frames, one shot
    stylizer = KeyframeStylizer(
        load_vgg(GATYS.all, random_vgg_state()),
        STRIPES,
        FAST,
        KeyframeOptions(every=8, warm_iterations=3),
        torch.device("cpu"),
    )
    out = [image.astype(np.float32) for _, _, image in stylizer(frames(spec))]
    inputs = [image.astype(np.float32) for _, _, image in frames(spec)]
    steps = [np.abs(b - a).mean() for a, b in zip(out, out[1:])]
    # no jump at a keyframe is much bigger than the typical step between frames
    assert max(steps) < 4 * np.median(steps) + 2, steps
    # every frame, keyframe or not, differs from its input about as much as a keyframe does
    change = [np.abs(o - i).mean() for o, i in zip(out, inputs)]
    assert min(change) > 0.5 * change[0], change


@pytest.fixture(scope="module")
def recipe():
    import io

    buf = io.BytesIO()
    torch.save(random_vgg_state(), buf)
    return ImageRecipe(STRIPES, buf.getvalue(), replace(FAST, keyframe_every=6))  # warm keyframes: 6 // 2 = 3


def test_style_image_render_keeps_every_frame_time_and_the_audio(tmp_path, recipe):
    source = make_clip(tmp_path / "in.mp4", ClipSpec(seconds=1.2))
    out = tmp_path / "out.mp4"
    report = render_recipe(source, out, recipe, RenderOptions(segment_seconds=0.4))
    assert frame_times(out) == frame_times(source) and report.frames_out == 30
    assert audio_packets(out) == audio_packets(source)
    assert report.segments >= 2 and len(report.keyframes) >= 6  # each segment starts and ends on a keyframe
    assert np.abs(frames_rgb(out)[15].astype(int) - frames_rgb(source)[15]).mean() > 10


@pytest.mark.slow
def test_style_image_render_is_the_same_through_ray(tmp_path, recipe, embedded_ray):
    source = make_clip(tmp_path / "in.mp4", ClipSpec(seconds=1.2))
    single, sharded = tmp_path / "single.mp4", tmp_path / "sharded.mp4"
    expected = render_recipe(source, single, recipe, RenderOptions(segment_seconds=0.4))
    report = on_ray(source, sharded, recipe, RenderOptions(segment_seconds=0.4), ShardOptions(workers=2))
    assert frame_times(sharded) == frame_times(source)
    assert [t for t, _ in report.keyframes] == [t for t, _ in expected.keyframes]
    # L-BFGS is not bit-reproducible across thread counts (workers run 1 thread each), so compare paint:
    # the two renders are far closer to each other than either is to the input
    a, b, src = (np.stack(frames_rgb(p)).astype(np.float32) for p in (single, sharded, source))
    assert np.abs(a - b).mean() < 0.5 * np.abs(a - src).mean()
