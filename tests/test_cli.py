"""The command as a user runs it: exit codes, one-line errors, nothing half-written left behind."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from vidstyle.media.synth import ClipSpec, make_clip

from .helpers import (
    frame_times,
    leftovers,
    one_line_error,
    own_session,
    painting,
    run_in_session,
    running,
    vidstyle,
    vidstyle_here,
    wait_until,
)


def test_render_prints_a_summary_and_writes_the_video(clips, tiny_style, tmp_path):
    out = tmp_path / "out.mp4"
    result = vidstyle("render", clips["plain"], "--style", tiny_style.path, "-o", out)
    assert result.returncode == 0, result.stderr
    assert "50/50 frames, 2.00 s of video (source 2.00 s), audio packets out/in 95/95" in result.stdout
    assert "fps" in result.stdout and len(frame_times(out)) == 50
    assert leftovers(tmp_path) == []


def test_styles_lists_imported_style_with_its_painting(tiny_style):
    from vidstyle.models.styles import user_dir

    user_dir().mkdir(parents=True)
    (user_dir() / "tiny.vstyle").write_bytes(tiny_style.path.read_bytes())
    result = vidstyle("styles")
    assert result.returncode == 0 and "tiny" in result.stdout and "noise" in result.stdout


@pytest.mark.parametrize(
    "kind,fragment",
    [
        ("text", "not a video file"),
        ("audio-only", "has no video stream"),
        ("missing", "no such file"),
        ("directory", "in.mp4 is a directory, not a video file."),  # said "no such file"
    ],
)
def test_bad_inputs_get_one_clear_line(kind, fragment, tiny_style, tmp_path):
    source = tmp_path / "in.mp4"
    if kind == "text":
        source.write_text("hello, I am not a video\n" * 100)
    elif kind == "audio-only":
        source = _audio_only(tmp_path / "in.m4a")
    elif kind == "directory":
        source.mkdir()
    result = vidstyle_here("render", source, "--style", tiny_style.path, "-o", tmp_path / "out.mp4")
    one_line_error(result, fragment)
    assert not (tmp_path / "out.mp4").exists() and leftovers(tmp_path) == []


def _audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=48000, layout="stereo")
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(np.zeros((2, 1024), np.float32), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = 48000, i * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.mark.parametrize(
    "option,value,allowed",
    [("--precision", "half", "'auto', 'fp32', 'fp16', 'bf16'"), ("--compile", "fast", "'auto', 'on', 'off'")],
)
def test_bad_option_values_are_refused_before_any_work(option, value, allowed, clips, tiny_style, tmp_path):
    """Choices are Enums: Typer refuses a bad value as it refuses any bad option (a usage error, exit 2),
    naming the option and what it takes, before a network or Ray is started."""
    result = vidstyle_here(
        "render",
        clips["plain"],
        "--style",
        tiny_style.path,
        "-o",
        tmp_path / "out.mp4",
        option,
        value,
        env={"COLUMNS": "200"},
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"Invalid value for '{option}'" in result.stderr and allowed in result.stderr, result.stderr
    assert not (tmp_path / "out.mp4").exists() and leftovers(tmp_path) == []


def test_unknown_style_lists_the_known_ones(clips, tiny_style, tmp_path):
    from vidstyle.models.styles import user_dir

    user_dir().mkdir(parents=True)
    (user_dir() / "mine.vstyle").write_bytes(tiny_style.path.read_bytes())
    result = vidstyle_here("render", clips["plain"], "--style", "nope", "-o", tmp_path / "o.mp4")
    one_line_error(result, "unknown style 'nope'; known styles: mine, muse, rain-princess, scream, udnie, wave, wreck")


def test_missing_and_damaged_style_files(clips, tmp_path):
    one_line_error(
        vidstyle_here("render", clips["plain"], "--style", tmp_path / "gone.vstyle", "-o", tmp_path / "o.mp4"),
        "does not exist",
    )
    bad = tmp_path / "bad.vstyle"
    bad.write_bytes(b"\x00" * 100)
    one_line_error(
        vidstyle_here("render", clips["plain"], "--style", bad, "-o", tmp_path / "o.mp4"),
        "not a readable vidstyle style file",
    )


def test_existing_output_is_refused_unless_overwrite(clips, tiny_style, tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    one_line_error(vidstyle("render", clips["plain"], "--style", tiny_style.path, "-o", out), "--overwrite")
    assert out.read_bytes() == b"precious"
    assert vidstyle("render", clips["plain"], "--style", tiny_style.path, "-o", out, "--overwrite").returncode == 0
    assert len(frame_times(out)) == 50


def test_an_existing_directory_as_output_is_named_a_directory(clips, tiny_style, tmp_path):
    """It advised --overwrite, which cannot replace a directory."""
    (tmp_path / "out.mp4").mkdir()
    result = vidstyle_here("render", clips["plain"], "--style", tiny_style.path, "-o", tmp_path / "out.mp4", "--no-ray")
    one_line_error(result, f"{tmp_path / 'out.mp4'} is a directory; give a file name such as")
    assert "--overwrite" not in result.stderr and list((tmp_path / "out.mp4").iterdir()) == []


@pytest.mark.parametrize(
    "target,fragment",
    [
        ("/proc/vidstyle-out.mp4", "cannot write to /proc"),
        ("{tmp}/no/such/dir/out.mp4", "does not exist"),
        ("{tmp}/out.avi", "use one of .mp4"),
    ],
)
def test_unwritable_or_unsupported_output(clips, tiny_style, tmp_path, target, fragment):
    result = vidstyle_here("render", clips["plain"], "--style", tiny_style.path, "-o", target.format(tmp=tmp_path))
    one_line_error(result, fragment)


def test_truncated_input_is_stylized_as_far_as_it_decodes_with_a_warning(tiny_style, tmp_path):
    clip = make_clip(tmp_path / "whole.mkv", ClipSpec(seconds=2))
    data = clip.read_bytes()
    broken = tmp_path / "broken.mkv"
    broken.write_bytes(data[: len(data) * 6 // 10])
    out = tmp_path / "out.mp4"
    result = vidstyle("render", broken, "--style", tiny_style.path, "-o", out)
    assert result.returncode == 0, result.stderr
    written = len(frame_times(out))
    assert 10 < written < 50
    assert "warning:" in result.stderr and "damaged" in result.stderr


@pytest.mark.slow
def test_ctrl_c_leaves_neither_output_nor_temporaries(tiny_style, tmp_path):
    clip = make_clip(tmp_path / "long.mp4", ClipSpec(seconds=20, width=320, height=240))
    out = tmp_path / "out.mp4"
    command = [sys.executable, "-m", "vidstyle", "render", clip, "--style", tiny_style.path, "-o", out]
    # on Ray (a 2-core machine renders this clip in one process without --workers): interrupted mid-segment
    with own_session([*command, "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        wait_until(lambda: painting(proc.pid), proc, "its workers were painting (to be interrupted)", 120)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted; no output was written" in stderr and "Traceback" not in stderr
    assert not out.exists() and leftovers(tmp_path) == []


@pytest.mark.slow
@pytest.mark.parametrize("signals", [[signal.SIGTERM], [signal.SIGINT] * 3], ids=["sigterm", "three-ctrl-c"])
def test_ray_render_stops_once_with_130_on_sigterm_or_repeated_ctrl_c(signals, tiny_style, tmp_path):
    """ray.init replaced the SIGTERM handler (exit 134 with Ray's C++ dump, or 1), and a second and third
    Ctrl-C broke into the cleanup and Ray's atexit shutdown (a traceback). Each signal goes when the command
    has visibly reached its moment, whatever the machine's speed: the first while Ray's workers paint, the
    second once the cleanup has begun (no worker paints any more), the third once Ray is shutting down (its
    raylet is gone); one that finds the command already ended is not sent."""
    clip = make_clip(tmp_path / "long.mp4", ClipSpec(seconds=20, width=320, height=240))
    out = tmp_path / "out.mp4"
    command = [sys.executable, "-m", "vidstyle", "render", clip, "--style", tiny_style.path, "-o", out]
    with own_session([*command, "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        moments = [
            ("Ray's workers were painting", lambda: painting(proc.pid)),
            ("the cleanup began", lambda: proc.poll() is not None or not painting(proc.pid)),
            ("Ray was shutting down", lambda: proc.poll() is not None or not running(proc.pid, b"/raylet/raylet")),
        ]
        for sig, (what, moment) in zip(signals, moments):
            wait_until(moment, proc, what, 120)
            proc.send_signal(sig)  # nothing if the command has ended
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted; no output was written" in stderr, stderr
    assert "Traceback" not in stderr and "SIGTERM received" not in stderr, stderr
    assert not out.exists() and leftovers(tmp_path) == []


HOLD_SCRIPT = """
import sys, time
from vidstyle import interrupts
interrupts.install()
try:
    import {module}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the held interrupt is raised here, once the import is over
        pass
    print("never raised", flush=True)
except KeyboardInterrupt:
    print("finished" if getattr(sys.modules.get("{module}"), "FINISHED", False) else "cut short", flush=True)
"""


def test_a_signal_while_a_library_imports_is_raised_once_the_import_is_over(tmp_path):
    """A SIGTERM while torch imported aborted `vidstyle render` (-6, "terminate called after throwing an
    instance of 'pybind11::error_already_set'"): torch's C++ module setup calls back into Python, and the
    KeyboardInterrupt raised there cannot cross pybind11 (CI 1 run in ~50; here 2 in 100). A library that
    signals itself halfway through its import now finishes importing, and the interrupt comes right after."""
    (tmp_path / "slowlib.py").write_text(
        "import os, signal, time\nos.kill(os.getpid(), signal.SIGTERM)\ntime.sleep(0.3)\nFINISHED = True\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", HOLD_SCRIPT.format(module="slowlib")],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "finished", result.stderr


def _peak_rss_mb(clip: Path, style: Path, out: Path) -> float:
    code = (
        "import resource, sys; from pathlib import Path; from vidstyle.pipeline.render import render_recipe;"
        "from vidstyle.pipeline.segments import RenderOptions;"
        "from vidstyle.models.styles import read_info;"
        "render_recipe(Path(sys.argv[1]), Path(sys.argv[3]), read_info(Path(sys.argv[2])), RenderOptions());"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    result = run_in_session([sys.executable, "-c", code, clip, style, out], timeout=300, check=True)
    return float(result.stdout.strip())


@pytest.mark.slow
def test_memory_does_not_grow_with_video_length(tiny_style, tmp_path):
    """A 4x longer video (8x its raw frames in RAM would be ~90 MB more) peaks at the same RSS."""
    short = make_clip(tmp_path / "short.mp4", ClipSpec(seconds=4, width=320, height=240))
    long = make_clip(tmp_path / "long.mp4", ClipSpec(seconds=16, width=320, height=240))
    a = _peak_rss_mb(short, tiny_style.path, tmp_path / "a.mp4")
    b = _peak_rss_mb(long, tiny_style.path, tmp_path / "b.mp4")
    raw_long = 16 * 25 * 320 * 240 * 3 / 2**20
    assert b - a < raw_long / 4, (a, b, raw_long)


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory) -> Path:
    import torch

    from .helpers import random_vgg_state

    path = tmp_path_factory.mktemp("vgg") / "vgg16-random.pth"
    torch.save(random_vgg_state(), path)
    return path


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> tuple[Path, Path]:
    from PIL import Image

    from vidstyle.media.synth import scene

    from .helpers import STRIPES

    folder = tmp_path_factory.mktemp("pictures")
    Image.fromarray(scene(0.5, 96, 64)).save(folder / "photo.jpg")
    Image.fromarray(STRIPES).save(folder / "painting.png")
    return folder / "photo.jpg", folder / "painting.png"


def test_image_reports_losses_and_saves_checkpoints_as_it_goes(vgg_file, pictures, tmp_path):
    photo, painting = pictures
    out = tmp_path / "out.png"
    result = vidstyle(
        "image",
        photo,
        "--style-image",
        painting,
        "--method",
        "nst",
        "-o",
        out,
        "--size",
        64,
        "--iterations",
        20,
        "--checkpoint-every",
        5,
        "--vgg-weights",
        vgg_file,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png", "out_10.png", "out_15.png", "out_5.png"]
    totals = [float(line.split("total ")[1].split()[0]) for line in result.stdout.splitlines() if "total" in line]
    assert len(totals) == 5 and totals[-1] < totals[0]  # iterations 1, 5, 10, 15, 20
    from PIL import Image

    assert Image.open(out).size == (64, 43) and Image.open(tmp_path / "out_5.png").size == (64, 43)


def test_image_without_weights_says_what_to_download(pictures, tmp_path):
    photo, painting = pictures
    result = vidstyle(
        "image",
        photo,
        "--style-image",
        painting,
        "--method",
        "nst",
        "-o",
        tmp_path / "out.png",
        "--vgg-weights",
        tmp_path / "missing.pth",
    )
    one_line_error(result, "download https://download.pytorch.org/models/vgg19-dcbb9e9d.pth")
    assert list(tmp_path.iterdir()) == []


def test_render_needs_exactly_one_of_style_style_image_and_blend(clips, tiny_style, pictures, tmp_path):
    one_line_error(vidstyle_here("render", clips["plain"], "-o", tmp_path / "o.mp4"), "exactly one of --style")
    one_line_error(
        vidstyle_here(
            "render", clips["plain"], "-o", tmp_path / "o.mp4", "--style", tiny_style.path, "--style-image", pictures[1]
        ),
        "exactly one of --style",
    )


def test_render_style_image_reports_its_keyframes(vgg_file, pictures, tmp_path):
    source = make_clip(tmp_path / "in.mp4", ClipSpec(seconds=1.0, audio=None))
    out = tmp_path / "out.mp4"
    result = vidstyle(
        "render",
        source,
        "--style-image",
        pictures[1],
        "--method",
        "nst",
        "-o",
        out,
        "--max-side",
        64,
        "--iterations",
        6,
        "--keyframe-every",
        10,
        "--vgg-weights",
        vgg_file,
        "--no-ray",
    )
    assert result.returncode == 0, result.stderr
    assert "4 keyframes optimised at 0.00, 0.40, 0.80, 0.96 s" in result.stdout, result.stdout
    assert len(frame_times(out)) == 25 and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--style", "muse", "--strength", "inf"], "--strength must be between 0 and 1, not inf"),
        (["--style", "muse", "--strength", "nan"], "--strength must be between 0 and 1, not nan"),
    ],
)
def test_non_finite_numbers_are_refused_before_any_work(args, fragment, clips, tmp_path):
    out = tmp_path / "o.mp4"
    one_line_error(vidstyle_here("render", clips["plain"], *args, "-o", out), fragment)
    assert not out.exists()


def test_the_library_refuses_a_stabilisation_weight_the_cli_would():
    """RenderOptions(stabilize=StabilizeOptions(strength=nan)) blended every frame with NaN."""
    from vidstyle.errors import VidstyleError
    from vidstyle.temporal.stabilizer import StabilizeOptions

    for strength in (float("nan"), float("inf"), -0.1, 0.96):
        with pytest.raises(VidstyleError, match="--stabilize must be between 0 and 0.95"):
            StabilizeOptions(strength=strength)


@pytest.mark.parametrize("option", ["--content-weight", "--style-weight", "--tv-weight"])
def test_nst_weights_must_be_finite_and_not_negative(option, tmp_path):
    from PIL import Image

    from vidstyle.media.synth import scene

    Image.fromarray(scene(1.0, 64, 48)).save(tmp_path / "photo.png")
    for value in ("inf", "nan", "-1"):
        out = tmp_path / "o.png"
        result = vidstyle_here(
            "image",
            tmp_path / "photo.png",
            "--style-image",
            tmp_path / "photo.png",
            "--method",
            "nst",
            option,
            value,
            "-o",
            out,
            "--vgg-weights",
            tmp_path / "none.pth",
        )
        one_line_error(result, f"{option} must be a finite number >= 0, not {value}")
        assert not out.exists()


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (3, 5)])
def test_a_photo_too_small_to_paint_is_one_line(size, tmp_path):
    """A 1x1, 2x2 or 3x5 photo was torch's "Padding size should be less than ..." traceback."""
    from PIL import Image

    photo = tmp_path / "tiny.png"
    Image.fromarray(np.full((size[1], size[0], 3), 120, np.uint8)).save(photo)
    out = tmp_path / "o.png"
    one_line_error(
        vidstyle_here("image", photo, "--style", "muse", "-o", out),
        f"tiny.png is {size[0]}x{size[1]} pixels; vidstyle paints",
    )
    assert not out.exists()
