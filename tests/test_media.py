"""Media edge cases from real files (issue 17): each builds its input with PyAV and asserts on the output."""

from __future__ import annotations

import io
import itertools
from fractions import Fraction

import av
import numpy as np
import pytest
import torch

from vidstyle import media
from vidstyle.media.synth import ClipSpec, make_clip
from vidstyle.models.styles import load_network
from vidstyle.models.transformer import stylize
from vidstyle.pipeline.render import render_recipe
from vidstyle.pipeline.segments import RenderOptions, plan_segments

from .helpers import (
    audio_packets,
    cut_with_edit_list,
    delay_frame,
    frame_times,
    frames_rgb,
    one_line_error,
    scramble_pts,
    vidstyle_here,
)


def run(source, target, style, **kw):
    """Unstabilised unless asked (the library's default stabilises): some compare frames with the network's."""
    return render_recipe(source, target, style, RenderOptions(segment_seconds=0.3, **{"stabilize": None, **kw}))


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


def test_an_edit_lists_hidden_lead_in_is_neither_counted_nor_rendered(tiny_style, tmp_path):
    """`ffmpeg -ss 1.3 -c copy` keeps the frames from the keyframe before 1.3 s, hidden by an edit list:
    they were counted as frames, and the render warned 'only 42 of 75 frames could be decoded'."""
    source = cut_with_edit_list(
        make_clip(tmp_path / "long.mp4", ClipSpec(seconds=2.0, gop=50)), tmp_path / "cut.mp4", 1.3
    )
    shown = frame_times(source)
    info = media.probe(source)
    assert info.frames == len(shown) == 17 and info.damage is None
    out = tmp_path / "out.mp4"
    report = run(source, out, tiny_style)
    assert report.warnings == [] and report.frames_out == 17
    assert frame_times(out) == shown
    span = io.BytesIO(media.copy_span(source, None, None, info.time_base))  # the Ray path: no discard flags
    presented = (int(info.pts[0]), int(info.pts[-1]))
    remote = [p for p, _, _ in media.decode_span(span, None, None, 0, info.time_base, presented)]
    assert remote == list(info.pts)


def test_a_one_frame_clip_is_not_called_damaged(tiny_style, tmp_path):
    source = make_clip(tmp_path / "one.mp4", ClipSpec(seconds=0.03))
    info = media.probe(source)
    assert info.frames == 1 and info.damage is None and info.duration == pytest.approx(0.04)
    report = run(source, tmp_path / "out.mp4", tiny_style)
    assert report.warnings == [] and report.frames_out == 1
    assert report.duration_out == pytest.approx(0.04)


def _packets(path) -> tuple[list[tuple[Fraction, Fraction]], float]:
    """(pts, duration) of each video packet in seconds, in pts order, and the container's duration."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        packets = sorted((p.pts * v.time_base, p.duration * v.time_base) for p in c.demux(v) if p.size)
        return packets, c.duration / 1e6


@pytest.mark.parametrize(
    "source_ext,target_ext", [(".mkv", ".mkv"), (".mp4", ".mkv"), (".mp4", ".mp4"), (".mp4", ".mov")]
)
def test_packet_and_container_durations_are_the_sources(tiny_style, tmp_path, source_ext, target_ext):
    """Frame times were right but durations were not: 2.666 s per packet and 5.6 s claimed for a 3 s clip
    (MKV), 0.167 s per frame (MP4 -> MKV), a video track 0.127 s too long (MP4/MOV)."""
    source = make_clip(tmp_path / f"in{source_ext}", ClipSpec(seconds=1.0, vfr=True))
    out = tmp_path / f"out{target_ext}"
    run(source, out, tiny_style)
    (got, got_length), (want, want_length) = _packets(out), _packets(source)
    assert [t for t, _ in got] == [t for t, _ in want]
    assert abs(got_length - want_length) <= 1 / 25
    if target_ext == ".mkv":  # Matroska stores each frame's display duration: until the next frame
        gaps = [b - a for (a, _), (b, _) in itertools.pairwise(want)]
        assert [d for _, d in got] == gaps + [Fraction(1, 25)]
    else:  # MP4 stores decode-order deltas, and the track's length: first frame to the end of the last
        with av.open(str(out)) as c:
            video = c.streams.video[0]
            assert video.duration * video.time_base == want[-1][0] + Fraction(1, 25) - want[0][0]


def test_a_still_image_named_like_a_video_is_refused_in_one_line(tiny_style, tmp_path):
    from vidstyle.media.images import write_rgb

    still = tmp_path / "still.png"
    write_rgb(still, np.full((48, 64, 3), 128, np.uint8))
    source = still.rename(tmp_path / "holiday.mp4")
    result = vidstyle_here("render", source, "--style", tiny_style.path, "-o", tmp_path / "out.mp4", "--no-ray")
    one_line_error(result, "holiday.mp4: is a still image (PNG), not a video.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["holiday.mp4"]  # nothing written


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_a_23_976_fps_avi_keeps_its_exact_frame_times(tiny_style, tmp_path, suffix):
    """MPEG-4 Part 2 with B-frames + AC-3 in AVI, 2997/125 fps: the first frame shows at 125/2997 s, and MP4's
    edit list wrote that in 1/1000 s, moving every frame by 0.7 ms; the render refused its own output."""
    source = make_clip(
        tmp_path / "in.avi", ClipSpec(seconds=1.0, codec="mpeg4", fps=Fraction(2997, 125), audio="ac3", bframes=2)
    )
    want = frame_times(source)
    assert want[0] == Fraction(125, 2997)
    out = tmp_path / f"out{suffix}"
    run(source, out, tiny_style)
    got = frame_times(out)
    if suffix == ".mkv":  # Matroska counts milliseconds: every time is the nearest one
        assert [round(t * 1000) for t in want] == [t * 1000 for t in got]
    else:
        assert got == want
    assert [d for _, d in audio_packets(out)] == [d for _, d in audio_packets(source)]


def _two_audio_tracks(source, target, tracks: list[tuple[dict[str, str], int]]):
    """`source` with its audio stream copied once per (tags, disposition) in `tracks`."""
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        video = out.add_stream_from_template(src.streams.video[0])
        copies = []
        for tags, disposition in tracks:
            copy = out.add_stream_from_template(src.streams.audio[0])
            copy.metadata.update(tags)
            copy.disposition = disposition
            copies.append(copy)
        for packet in src.demux():
            if not packet.size:
                continue
            if packet.stream.type == "video":
                packet.stream = video
                out.mux(packet)
                continue
            for copy in copies:
                packet.stream = copy
                out.mux(packet)
    return target


def _identities(path) -> list[tuple[str | None, str | None, int]]:
    with av.open(str(path)) as c:
        return [
            (s.metadata.get("language"), s.metadata.get("title", s.metadata.get("name")), int(s.disposition))
            for s in c.streams.audio
        ]  # MP4 reads a title back as "name"


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_audio_tracks_keep_their_language_title_and_dispositions(tiny_style, tmp_path, suffix):
    """Two audio streams tagged eng/fra came out und/und, though their packets were bit-exact."""
    d = av.stream.Disposition
    plain = make_clip(tmp_path / "plain.mkv", ClipSpec(seconds=0.5))
    source = _two_audio_tracks(
        plain,
        tmp_path / f"in{suffix}",
        [
            ({"language": "eng", "title": "English"}, d.default),
            ({"language": "fra", "title": "Français"}, d.forced if suffix == ".mkv" else 0),
        ],
    )
    want = _identities(source)
    assert [w[:2] for w in want] == [("eng", "English"), ("fra", "Français")]
    out = tmp_path / f"out{suffix}"
    run(source, out, tiny_style)
    assert _identities(out) == want


def _identity_render(source, target):
    """The render pipeline with an identity filter in place of the network: decode, encode, join, check."""
    from vidstyle.frames import Filter
    from vidstyle.pipeline.segments import join_parts, prepare, segment_to_part, staged_output

    job = prepare(source, target, RenderOptions(segment_seconds=0.3))
    with staged_output(target) as (tmp, scratch):
        parts = [
            segment_to_part(
                source, s, Filter(lambda frames: frames), job.info, job.settings, str(scratch / f"part-{s.index}.nut")
            )
            for s in job.segments
        ]
        return join_parts(job, tmp, parts)


def _bt709_patch(path, frame_index: int) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """(matrix, primaries, transfer, range) tags of the video, and the RGB of the bottom-left patch's middle in
    one frame, computed here from the stored Y'CbCr with the BT.709 limited-range equations."""
    with av.open(str(path)) as c:
        cc = c.streams.video[0].codec_context
        tags = (cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range)
        frame = list(c.decode(video=0))[frame_index]
    planes = [
        np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : p.width].astype(float) for p in frame.planes
    ]
    h = frame.height
    y = (planes[0][h - 24 : h - 8, 8:24].mean() - 16) * 255 / 219
    u = (planes[1][h // 2 - 12 : h // 2 - 4, 4:12].mean() - 128) * 255 / 224
    v = (planes[2][h // 2 - 12 : h // 2 - 4, 4:12].mean() - 128) * 255 / 224
    return tags, np.array([y + 1.5748 * v, y - 0.1873 * u - 0.4681 * v, y + 1.8556 * u])


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])  # VP9 holds only matrix and range: the container the rest
def test_a_bt709_clip_keeps_its_color_tags_and_its_colors(tmp_path, suffix):
    """A BT.709 input came out untagged and encoded with BT.601: (48,96,192) played as about (43,98,197)."""
    patch = (48, 96, 192)
    source = make_clip(tmp_path / "in.mp4", ClipSpec(seconds=0.4, bt709=True, patch=patch, audio=None))
    tags, color = _bt709_patch(source, 5)
    assert tags == (1, 1, 1, 1) and np.abs(color - patch).max() < 1.5  # the input is what it claims
    out = tmp_path / f"out{suffix}"
    _identity_render(source, out)
    tags, color = _bt709_patch(out, 5)
    assert tags == (1, 1, 1, 1)
    assert np.abs(color - patch).max() < 2


def test_an_untagged_clip_comes_out_tagged_with_the_matrix_it_was_read_with(tmp_path):
    """No tags: read as players read SD video (BT.601, limited range), and the output says so."""
    source = make_clip(tmp_path / "in.mp4", ClipSpec(seconds=0.2, audio=None))
    with av.open(str(source)) as c:
        assert c.streams.video[0].codec_context.colorspace == 2  # unspecified
    out = tmp_path / "out.mp4"
    _identity_render(source, out)
    with av.open(str(out)) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.colorspace, cc.color_range) == (6, 1)  # BT.601 (SMPTE 170M), limited range
    before, after = frames_rgb(source)[2].astype(int), frames_rgb(out)[2].astype(int)
    assert np.abs(before - after).mean() < 2


def test_a_frame_too_far_out_of_order_is_left_out_and_said_so_without_blaming_the_input(tiny_style, tmp_path):
    """Reordering is bounded (REORDER_WINDOW frames); what comes later than that cannot be shown in order.
    The render says so, and does not call an input damaged that a plain decode reads in full."""
    plain = make_clip(tmp_path / "plain.mp4", ClipSpec(seconds=1.2, gop=30, bframes=0, audio=None))
    source = delay_frame(plain, tmp_path / "late.mp4", frame=1, late_by=media.REORDER_WINDOW + 3)
    decoded = decoded_times(source)
    assert len(decoded) == 30 and decoded.index(Fraction(1, 25)) == media.REORDER_WINDOW + 4
    report = run(source, tmp_path / "out.mp4", tiny_style)
    assert frame_times(tmp_path / "out.mp4") == sorted(set(decoded) - {Fraction(1, 25)})
    assert len(report.warnings) == 1 and "left out 1 decoded frame that" in report.warnings[0]
    assert "damaged" not in report.warnings[0]


@pytest.mark.parametrize("kind", ["scrambled", "edit-list", "ntsc-avi", "vfr-mkv"])
def test_spans_sent_to_ray_actors_decode_to_the_frames_the_file_gives(tmp_path, kind):
    """Both drivers must write the same file, so a segment decoded from the span the Ray driver sends
    (`copy_span`, NUT) must give the encoder what the file gives it: the same times, durations and pixels.
    Each edge case is one the span could get wrong: reordering, a hidden lead-in (negative timestamps NUT
    must shift), a 125/2997 time base with B-frames, Matroska's millisecond VFR."""
    from vidstyle.pipeline.segments import shown_for

    if kind == "scrambled":
        source = scramble_pts(make_clip(tmp_path / "p.mp4", ClipSpec(seconds=1.0, bframes=0)), tmp_path / "in.mp4")
    elif kind == "edit-list":
        source = cut_with_edit_list(
            make_clip(tmp_path / "p.mp4", ClipSpec(seconds=3.0, gop=25)), tmp_path / "in.mp4", 1.3
        )
    elif kind == "ntsc-avi":
        source = make_clip(
            tmp_path / "in.avi", ClipSpec(seconds=1.0, codec="mpeg4", fps=Fraction(2997, 125), audio="ac3", bframes=2)
        )
    else:
        source = make_clip(tmp_path / "in.mkv", ClipSpec(seconds=1.0, vfr=True))
    info = media.probe(source)
    segments = plan_segments(info, 0.3)
    assert len(segments) > 1
    presented = (int(info.pts[0]), int(info.pts[-1]))
    everything = []
    for s in segments:
        local = list(media.decode_span(source, s.first, s.end, 0, info.time_base, presented))
        span = io.BytesIO(media.copy_span(source, s.first, s.end, info.time_base))
        remote = list(media.decode_span(span, s.first, s.end, 0, info.time_base, presented))
        assert [p for p, _, _ in remote] == [p for p, _, _ in local] and len(local) == s.frames
        assert all(np.array_equal(a, b) for (_, _, a), (_, _, b) in zip(local, remote))
        everything += [p for p, _, _ in local]
    assert everything == list(info.pts)
    assert [p * info.time_base for p in everything] == sorted(frame_times(source))  # what a plain decode shows
    gaps = [shown_for(info, p) for p in everything]
    assert gaps[:-1] == np.diff(everything).tolist() and gaps[-1] == info.last_duration > 0


# Stills: every picture Pillow or OpenCV reads becomes the 8-bit RGB it shows


def _grey() -> np.ndarray:
    from vidstyle.media.synth import scene

    return scene(1.0, 64, 48).mean(2).round().astype(np.uint8)


def _save_still(kind: str, path, grey: np.ndarray) -> None:
    """`grey` saved as a picture of `kind` that shows it (transparent ones fully opaque)."""
    import cv2
    from PIL import Image

    wide = grey.astype(np.uint16) * 257
    if kind == "png16":
        Image.fromarray(wide).save(path)  # Pillow's I;16
    elif kind == "tif16be":
        Image.fromarray(wide.astype(">u2")).save(path)  # I;16B
    elif kind == "pgm16":
        path.write_bytes(b"P5\n64 48\n65535\n" + wide.astype(">u2").tobytes())  # Pillow's I
    elif kind == "png16-opencv-rgb":
        cv2.imwrite(str(path), np.repeat(wide[..., None], 3, axis=2))
    elif kind == "float-tif":
        Image.fromarray(grey.astype(np.float32) / 255).save(path)  # F
    elif kind == "pfm":  # OpenCV only
        cv2.imwrite(str(path), np.repeat(grey[..., None], 3, axis=2).astype(np.float32) / 255)
    elif kind in ("L", "LA", "RGBA", "P", "CMYK"):
        Image.fromarray(grey).convert(kind).save(path)
    elif kind == "P-transparent":
        image = Image.fromarray(grey).convert("P")
        image.save(path, transparency=255)  # an index no pixel of `grey` uses
    elif kind == "exif-rotated":
        image = Image.fromarray(np.rot90(grey, -1))  # stored turned, EXIF says turn it back
        exif = image.getexif()
        exif[0x0112] = 8
        image.save(path, exif=exif)


@pytest.mark.parametrize(
    "kind, suffix",
    [
        ("png16", ".png"),
        ("tif16be", ".tif"),
        ("pgm16", ".pgm"),
        ("png16-opencv-rgb", ".png"),
        ("float-tif", ".tif"),
        ("pfm", ".pfm"),
        ("L", ".png"),
        ("LA", ".png"),
        ("RGBA", ".png"),
        ("P", ".png"),
        ("P-transparent", ".png"),
        ("CMYK", ".tif"),
        ("exif-rotated", ".jpg"),
    ],
)
def test_every_still_reads_as_the_8_bit_rgb_it_shows(kind, suffix, tmp_path):
    """A 16-bit grey PNG read as pure white: Pillow's convert('RGB') clips I;16 values at 255."""
    from vidstyle.media.images import read_rgb

    grey = _grey()
    path = tmp_path / f"{kind}{suffix}"
    _save_still(kind, path, grey)
    rgb = read_rgb(path)
    assert rgb.dtype == np.uint8 and rgb.shape == (*grey.shape, 3)
    error = np.abs(rgb.astype(int) - grey[..., None])
    assert error.mean() < 2 if suffix == ".jpg" else error.max() == 0, kind  # JPEG: lossy near edges


def test_transparent_pixels_show_over_white_and_16_bit_values_round(tmp_path):
    from PIL import Image

    from vidstyle.media.images import read_rgb

    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[:4, :, 3] = 255  # top half opaque black, bottom half transparent black
    Image.fromarray(rgba).save(tmp_path / "cut-out.png")
    out = read_rgb(tmp_path / "cut-out.png")
    assert (out[:4] == 0).all() and (out[4:] == 255).all()
    Image.fromarray(np.array([[0, 128, 385, 65535]], np.uint16)).save(tmp_path / "g.png")
    assert read_rgb(tmp_path / "g.png")[0, :, 0].tolist() == [0, 0, 1, 255]  # 128/257 -> 0, 385/257 -> 1 (1.498)


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda p: p.write_bytes(b"not a picture"), "not an image Pillow or OpenCV can read"),
        (
            lambda p: __import__("PIL.Image").Image.fromarray(np.array([[0.0, 2.5]], np.float32)).save(p),
            "values from 0 (black) to 1 (white)",
        ),
        (
            lambda p: __import__("PIL.Image").Image.fromarray(np.array([[0, 70000]], np.int32)).save(p),
            "not an 8 or 16-bit picture",
        ),
    ],
    ids=["garbage", "float-above-1", "32-bit-int"],
)
def test_a_still_that_has_no_8_bit_rgb_is_refused_in_one_line(make, fragment, tmp_path):
    from vidstyle.errors import VidstyleError
    from vidstyle.media.images import read_rgb

    path = tmp_path / "x.tif"
    make(path)
    with pytest.raises(VidstyleError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        read_rgb(path)


def test_a_16_bit_grey_photo_paints_as_its_8_bit_self(tmp_path):
    """`vidstyle image g16.png --style muse` painted white; as --style-image the style became white."""
    from PIL import Image

    from .helpers import vidstyle_here

    grey = _grey()
    Image.fromarray(grey).save(tmp_path / "g8.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "g16.png")
    for photo, painting in (("g8", "g8"), ("g16", "g8"), ("g8-by-16", "g16")):
        source = tmp_path / f"{photo.split('-')[0]}.png"
        for args in (["--style", "muse"], ["--style-image", tmp_path / f"{painting}.png"]):
            out = tmp_path / f"{photo}-{painting}-{args[0][2:]}.png"
            assert vidstyle_here("image", source, *args, "-o", out).returncode == 0
    for kind in ("style", "style-image"):
        eight = np.asarray(Image.open(tmp_path / f"g8-g8-{kind}.png"))
        assert np.array_equal(np.asarray(Image.open(tmp_path / f"g16-g8-{kind}.png")), eight), kind
    assert np.array_equal(
        np.asarray(Image.open(tmp_path / "g8-by-16-g16-style-image.png")),
        np.asarray(Image.open(tmp_path / "g8-g8-style-image.png")),
    )
