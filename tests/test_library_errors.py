"""The library refuses what the CLI refuses, in the same words, before torch, OpenCV or FFmpeg can say it
in theirs (issue 27: a 2-D photo was torch's RuntimeError, a style's name as the choice an AttributeError)."""

import sys

import numpy as np
import pytest

from vidstyle import RenderOptions, StyleChoice, VidstyleError, preview_video, stylize_image
from vidstyle.media.synth import ClipSpec, make_clip

from .helpers import one_line_error, run_in_session, vidstyle_here

MUSE = StyleChoice(style="muse")


@pytest.mark.parametrize(
    "photo,error,words",
    [
        (np.zeros((40, 40), np.uint8), ValueError, "photo must be an RGB array of shape (height, width, 3)"),
        (np.zeros((40, 40, 4), np.uint8), ValueError, "not (40, 40, 4)"),
        (np.zeros((0, 0, 3), np.uint8), VidstyleError, "photo is 0x0 pixels; vidstyle paints pictures of at least"),
        (np.zeros((1, 1, 3), np.uint8), VidstyleError, "photo is 1x1 pixels"),
        (np.zeros((40, 2, 3), np.uint8), VidstyleError, "photo is 2x40 pixels"),
        (np.zeros((40, 40, 3), np.float32), TypeError, "photo must be a uint8 RGB array (0-255), not float32"),
        ([[0, 0, 0]], TypeError, "photo must be a path (str or Path) or a uint8 RGB array, not list"),
    ],
)
def test_stylize_image_names_what_is_wrong_with_the_photo(photo, error, words):
    with pytest.raises(error) as caught:
        stylize_image(photo, MUSE, device="cpu")
    assert words in str(caught.value)


@pytest.mark.parametrize("choice", ["muse", {"style": "muse"}])
def test_a_choice_that_is_not_a_style_choice_is_a_type_error_naming_it(choice):
    with pytest.raises(TypeError, match="choice must be a StyleChoice"):
        stylize_image(np.zeros((40, 40, 3), np.uint8), choice, device="cpu")
    with pytest.raises(TypeError, match="StyleChoice.strength must be a number, not str"):
        stylize_image(np.zeros((40, 40, 3), np.uint8), StyleChoice(style="muse", strength="0.5"), device="cpu")


@pytest.mark.parametrize(
    "fields,words",
    [
        ({"max_side": 0}, "--max-side must be a whole number >= 16, not 0."),
        ({"max_side": -5}, "--max-side must be a whole number >= 16, not -5."),
        ({"crf": 99}, "--crf must be a whole number from 0 to 63, not 99."),
        ({"batch_size": 0}, "--batch-size must be a whole number >= 1, not 0."),
        ({"preset": "turbo"}, "--preset must be one of ultrafast,"),
        ({"segment_seconds": float("nan")}, "segment_seconds must be a finite number of seconds above 0, not nan."),
        ({"segment_seconds": float("inf")}, "not inf."),
        ({"segment_seconds": 0}, "not 0."),
        ({"segment_seconds": -1.0}, "not -1.0."),
    ],
)
def test_render_options_refuse_what_the_cli_refuses_in_its_words(fields, words):
    with pytest.raises(VidstyleError) as caught:
        RenderOptions(**fields)
    assert words in str(caught.value)
    option = next(iter(fields))
    # the CLI says the same, in one line, exit 1 (a choice, --preset, Typer refuses before: exit 2, listing them)
    if option not in ("segment_seconds", "preset"):
        flag = "--" + option.replace("_", "-")
        result = vidstyle_here("render", "in.mp4", "--style", "muse", "-o", "out.mp4", flag, fields[option])
        one_line_error(result, words)


def test_render_options_name_a_value_of_the_wrong_kind():
    with pytest.raises(TypeError, match="RenderOptions.crf must be a whole number, not str"):
        RenderOptions(crf="16")
    with pytest.raises(TypeError, match="RenderOptions.batch_size must be a whole number, not float"):
        RenderOptions(batch_size=2.5)


def test_preview_video_takes_paths_as_str_like_render_video(clips, tiny_style, tmp_path):
    """It refused a str output ('str' object has no attribute 'with_suffix')."""
    out = tmp_path / "sheet.png"
    report = preview_video(str(clips["plain"]), str(out), [("tiny", StyleChoice(style=str(tiny_style.path)))], frames=1)
    assert out.is_file() and len(report.times) == 1
    with pytest.raises(TypeError, match="each choice must be a StyleChoice"):
        preview_video(str(clips["plain"]), str(tmp_path / "x.png"), [("muse", "muse")], frames=1)


def test_a_video_too_small_to_paint_is_one_line(tiny_style, tmp_path):
    """A 2x2 video failed its segment with OpenCV's internal message about DIS optical flow."""
    clip = make_clip(tmp_path / "tiny.mp4", ClipSpec(seconds=1, width=2, height=2, audio=None))
    result = vidstyle_here("render", clip, "--style", tiny_style.path, "-o", tmp_path / "out.mp4")
    one_line_error(result, "the video is 2x2 pixels; vidstyle paints pictures of at least 16 pixels a side")
    result = vidstyle_here("preview", clip, "--style", tiny_style.path, "-o", tmp_path / "sheet.png")
    one_line_error(result, "the video is 2x2 pixels")


@pytest.mark.slow
@pytest.mark.usefixtures("private_tmpfs")
@pytest.mark.parametrize("command", ["image", "preview"])
def test_image_and_preview_onto_a_full_disk_say_so_in_one_line(clips, tiny_style, tmp_path, command):
    """They ended in a traceback (OSError: No space left on device); render and batch said it in one line."""
    from PIL import Image

    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (120, 160, 3), np.uint8)).save(photo)
    full = tmp_path / "full"
    full.mkdir()
    source = photo if command == "image" else clips["plain"]
    line = f"{sys.executable} -m vidstyle {command} {source} --style {tiny_style.path} -o {full}/out.png"
    script = (
        f"mount -t tmpfs -o size=64k none {full} && (head -c 1M /dev/zero > {full}/filler ; true) && "
        f"{line} ; status=$? ; rm {full}/filler ; ls -A {full} ; exit $status"
    )
    result = run_in_session(["unshare", "-rm", "sh", "-c", script], timeout=300)  # the shell's children too
    one_line_error(result, f"no space left in {full} (")
    assert result.stdout.strip() == ""  # nothing half-written left in the full folder


def test_options_of_the_wrong_kind_or_changed_out_of_range_are_refused_by_the_library(tmp_path):
    """A dict as options was an AttributeError; a field set out of range after construction went through."""
    from vidstyle import render_video

    with pytest.raises(TypeError, match="options must be a vidstyle RenderOptions, not dict"):
        render_video(tmp_path / "in.mp4", tmp_path / "out.mp4", StyleChoice(style="muse"), {"crf": 18})  # type: ignore[arg-type]
    options = RenderOptions()
    options.crf = 99
    with pytest.raises(VidstyleError, match="--crf"):
        render_video(tmp_path / "in.mp4", tmp_path / "out.mp4", StyleChoice(style="muse"), options)
    assert not (tmp_path / "out.mp4").exists()


def test_train_options_hold_plain_strings_that_a_checkpoint_loads_back_with_weights_only(tmp_path):
    """The CLI passed --content-layer as its Enum member; checkpoints saved asdict(options) with it, and
    `--resume` could not load them (torch.load(weights_only=True) refuses any class)."""
    import dataclasses

    import torch

    from vidstyle.options import ContentLayer, TrainOptions

    options = TrainOptions(content_layer=ContentLayer.relu3_3)
    assert type(options.content_layer) is str
    torch.save({"options": dataclasses.asdict(options)}, tmp_path / "x.ckpt")
    assert torch.load(tmp_path / "x.ckpt", weights_only=True)["options"]["content_layer"] == "relu3_3"


def test_the_library_refuses_what_the_cli_refused_on_its_own():
    """Ranges the CLI declared alone (Typer's min=) and a stabiliser flow preset that failed only mid-render."""
    from vidstyle.options import CodeTrainOptions, StabilizeOptions, TrainOptions

    with pytest.raises(VidstyleError, match="--crop must be a whole number >= 16, not 8"):
        TrainOptions(crop=8).check()
    with pytest.raises(VidstyleError, match="--photo-side must be a whole number >= 64, not 32"):
        CodeTrainOptions(photo_side=32).check()
    with pytest.raises(VidstyleError, match="StabilizeOptions.flow must be one of ultrafast, fast, medium"):
        StabilizeOptions(flow="bogus")
