"""The flicker metric: moving content is not flicker, changing texture is, and so is not a change of light."""

import numpy as np

from vidstyle.media.synth import scene
from vidstyle.temporal.flicker import pair_error


def textured(seed: int, h: int = 96, w: int = 128) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (5, 5), 1.5)


def test_motion_that_the_output_follows_is_not_flicker():
    base = textured(0, 96, 160)
    i0, i1 = base[:, 10:138], base[:, 8:136]  # the scene moves 2 px right
    painted = np.clip(base[..., ::-1] * 1.3 - 0.1, 0, 1)  # a "style" that moves with the scene
    o0, o1 = painted[:, 10:138], painted[:, 8:136]
    e, _, visible = pair_error(i0, i1, o0, o1)
    assert e < 1e-3 and visible > 0.9


def test_texture_that_changes_on_a_still_scene_is_flicker():
    still = scene(0.5, 128, 96).astype(np.float32) / 255
    steady, shaky = textured(1), textured(2)
    calm = pair_error(still, still, steady, steady)[0]
    flicker = pair_error(still, still, steady, shaky)[0]
    assert calm < 1e-6 and flicker > 0.01


def test_a_change_of_light_counts_in_the_plain_error_but_not_the_compensated_one():
    still = scene(0.5, 128, 96).astype(np.float32) / 255
    brighter = np.clip(still + 0.1, 0, 1)
    e, e_lum, _ = pair_error(still, brighter, still, brighter)  # the output brightens exactly as the input
    assert e > 0.02 and e_lum < 0.1 * e


def noisy(frames):
    """A stand-in for a style network that flickers: the scene plus a texture that changes every frame."""
    rng = np.random.default_rng(0)
    for pts, duration, rgb in frames:
        texture = rng.normal(0, 25, rgb.shape[:2] + (1,))
        yield pts, duration, np.clip(rgb + texture, 0, 255).astype(np.uint8)


def clip_frames(n=12):
    for i in range(n):
        yield i, 1, scene(0.5 + 0.04 * i, 128, 96)


def test_stabilising_a_flickering_filter_cuts_its_warping_error_by_the_goal():
    """Issue 29's goal, on a synthetic clip: the default stabiliser takes out at least 65% of the warping
    error (the defaults before, 0.4 and the metric's own slack, took out 64%)."""
    from vidstyle.frames import Filter
    from vidstyle.temporal.stabilizer import StabilizeOptions, stabilized

    plain = [f[2] / 255 for f in noisy(clip_frames(24))]
    steady = [f[2] / 255 for f in stabilized(Filter(noisy), StabilizeOptions())(clip_frames(24))]
    inputs = [f[2] / 255 for f in clip_frames(24)]

    def err(out: list[np.ndarray]) -> float:
        pairs = range(len(out) - 1)
        return float(np.mean([pair_error(inputs[t], inputs[t + 1], out[t], out[t + 1])[0] for t in pairs]))

    assert err(steady) < 0.35 * err(plain)
    # the picture itself is kept: stabilised frames stay as close to the scene as the noisy ones
    assert np.mean([np.abs(s - i).mean() for s, i in zip(steady, inputs)]) <= np.mean(
        [np.abs(p - i).mean() for p, i in zip(plain, inputs)]
    )


def test_the_stabiliser_counts_a_pixel_visible_a_pixel_off_where_the_metric_does_not():
    """DIS "fast" stops at a quarter of the flow's size, so a visible pixel's round trip often ends a pixel
    off; the stabiliser's check allows that (stabilizer.SLACK) and the metric keeps Sundaram et al.'s 0.5."""
    from vidstyle.temporal import flow
    from vidstyle.temporal.stabilizer import SLACK

    h, w = 15, 32
    forward = np.zeros((h, w, 2), np.float32)
    forward[..., 0] = 3.0  # every pixel moves 3 px right...
    short = np.linspace(0, 1.4, h, dtype=np.float32)  # ...and comes back 0 to 1.4 px short, by row
    backward = np.zeros_like(forward)
    backward[..., 0] = (short - 3.0)[:, None]
    inside = np.arange(w) + 3 <= w - 1  # the last 3 columns leave the frame
    metric, stabiliser = flow.consistent(forward, backward), flow.consistent(forward, backward, SLACK)
    assert stabiliser[:, inside].all() and not stabiliser[:, ~inside].any()
    assert metric[short <= 0.7][:, inside].all() and not metric[short >= 0.85].any()


def test_the_stabiliser_checks_visibility_with_its_own_slack(monkeypatch):
    """The stabiliser passes SLACK to the check (on the synthetic clip above the slack is worth only a point of
    warping error, so the goal test alone would not notice it gone); the frames it writes are the real ones."""
    from vidstyle.frames import Filter
    from vidstyle.temporal import flow
    from vidstyle.temporal.stabilizer import SLACK, StabilizeOptions, stabilized

    slacks: list[float] = []
    check = flow.consistent

    def spy(f_ab, f_ba, slack=0.5):
        slacks.append(slack)
        return check(f_ab, f_ba, slack)

    monkeypatch.setattr(flow, "consistent", spy)
    steady = list(stabilized(Filter(noisy), StabilizeOptions())(clip_frames(6)))
    assert len(steady) == 6 and slacks == [SLACK] * 5


def test_segments_lead_in_by_the_frames_the_filter_needs(tmp_path):
    from vidstyle import media
    from vidstyle.media.synth import ClipSpec, make_clip
    from vidstyle.pipeline.segments import plan_segments

    info = media.probe(make_clip(tmp_path / "in.mp4", ClipSpec(seconds=2, gop=12)))
    pts = np.sort(info.pts)
    segments = plan_segments(info, 0.4, lead_frames=5)
    assert segments[0].lead is None and len(segments) > 2
    for s in segments[1:]:
        assert list(pts).index(s.lead) == list(pts).index(s.start) - 5


def test_cli_evaluate_prints_json_and_a_render_flickers_more_than_its_input(tiny_style, tmp_path):
    import json

    import torch
    from PIL import Image

    from vidstyle.media.synth import ClipSpec, make_clip
    from vidstyle.pipeline.render import render_recipe
    from vidstyle.pipeline.segments import RenderOptions

    from .helpers import STRIPES, random_vgg_state, vidstyle

    clip = make_clip(tmp_path / "in.mp4", ClipSpec(seconds=1.0))
    out = tmp_path / "out.mp4"
    render_recipe(clip, out, tiny_style, RenderOptions())
    vgg, painting = tmp_path / "vgg.pth", tmp_path / "p.png"
    torch.save(random_vgg_state(upto="relu4_3"), vgg)
    Image.fromarray(STRIPES).save(painting)
    result = vidstyle("evaluate", clip, out, "--json", "--style-image", painting, "--vgg-weights", vgg, "--frames", 3)
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    assert scores["pairs"] == 24 and scores["frames_scored"] == 3 and scores["style_loss"] > 0
    itself = json.loads(vidstyle("evaluate", clip, clip, "--json").stdout)
    assert itself["warp_error"] < scores["warp_error"]  # re-encoding aside, the input agrees with its own flow
    assert itself["style_loss"] is None
