"""preview: only the sampled frames are decoded, they are the right frames, and the sheet has every row."""

import numpy as np
from PIL import Image

from vidstyle import media
from vidstyle.media.synth import ClipSpec, make_clip
from vidstyle.pipeline.preview import pick, sample

from .helpers import frames_rgb, vidstyle


def test_sampled_frames_are_exact_and_only_their_gops_are_decoded(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", ClipSpec(seconds=4, gop=12))  # 100 frames
    info, picked, frames, decoded = sample(clip, 4, "even")
    everything = frames_rgb(clip)
    indices = [int(np.searchsorted(np.sort(info.pts), p)) for p in picked]
    assert indices == [12, 37, 62, 87]
    for i, frame in zip(indices, frames):
        assert np.array_equal(frame, everything[i])
    assert decoded <= 4 * 12 and decoded < len(everything) / 2


def test_keyframe_sampling_decodes_one_frame_per_pick(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", ClipSpec(seconds=4, gop=12))
    info, picked, frames, decoded = sample(clip, 5, "keyframes")
    assert set(picked) <= set(info.keyframes) and len(picked) == 5
    assert decoded == 5


def test_pick_spreads_over_the_whole_video(tmp_path):
    info = media.probe(make_clip(tmp_path / "in.mp4", ClipSpec(seconds=2)))
    picks = pick(info, 50, "even")
    assert len(picks) == 50 and picks == sorted(np.sort(info.pts).tolist())


def test_cli_sheet_has_an_original_row_and_one_per_style(tiny_style, tmp_path):
    clip = make_clip(tmp_path / "in.mp4", ClipSpec(seconds=2, width=160, height=120))
    out = tmp_path / "sheet.png"
    result = vidstyle(
        "preview",
        clip,
        "--style",
        tiny_style.path,
        "--style",
        tiny_style.path,
        "--frames",
        3,
        "--thumb",
        100,
        "-o",
        out,
        "--html",
    )
    assert result.returncode == 0, result.stderr
    assert "3 frames x 2 styles" in result.stdout
    sheet = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert sheet.shape == (26 + 3 * (75 + 4), 130 + 3 * 104, 3)
    original = sheet[26 : 26 + 75, 130:230]
    styled = sheet[26 + 79 : 26 + 79 + 75, 130:230]
    assert np.abs(original - styled).mean() > 10  # the style row is painted, not a copy
    page = out.with_suffix(".html").read_text()
    assert page.count("<tr>") == 4 and page.count("<img") == 9
