"""batch: many videos through one pool; a bad one is reported, the rest finish; reruns skip what is done."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vidstyle.media.synth import ClipSpec, make_clip

from .helpers import (
    frame_times,
    leftovers,
    one_line_error,
    own_session,
    same_pictures,
    vidstyle,
    vidstyle_here,
    wait_until,
)


def make_folder(folder, n=2, seconds=1.0):
    folder.mkdir()
    for i in range(n):
        make_clip(folder / f"clip{i}.mp4", ClipSpec(seconds=seconds + 0.2 * i))
    return folder


@pytest.mark.slow
def test_folder_with_a_corrupt_file_reports_it_finishes_the_rest_and_reruns_skip(tiny_style, tmp_path):
    videos = make_folder(tmp_path / "videos")
    (videos / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(4000))
    out = tmp_path / "out"
    first = vidstyle("batch", videos, "--style", tiny_style.path, "-o", out, "--workers", 2)
    assert first.returncode == 1, first.stderr  # one video failed
    summary = {row["video"].rsplit("/", 1)[1]: row for row in json.loads((out / "batch-summary.json").read_text())}
    assert summary["broken.mp4"]["status"] == "failed" and "not a video" in summary["broken.mp4"]["error"]
    assert summary["clip0.mp4"]["status"] == "done" and summary["clip0.mp4"]["frames"] == 25
    assert summary["clip1.mp4"]["status"] == "done" and summary["clip1.mp4"]["frames"] == 30
    for name in ("clip0", "clip1"):
        assert frame_times(out / f"{name}.tiny.mp4") == frame_times(videos / f"{name}.mp4")
    assert "2 done, 0 skipped, 1 failed" in first.stdout
    assert "Token authentication" not in first.stderr and "dashboard" not in first.stderr  # embedded Ray is quiet
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")}

    second = vidstyle("batch", videos, "--style", tiny_style.path, "-o", out, "--workers", 2)
    assert "0 done, 2 skipped, 1 failed" in second.stdout, second.stdout
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")} == stamps
    assert (out / "batch-summary.csv").read_text().count("skipped") == 2

    # a changed input is redone, not skipped
    make_clip(videos / "clip0.mp4", ClipSpec(seconds=1.4))
    third = vidstyle("batch", videos, "--style", tiny_style.path, "-o", out, "--workers", 2)
    assert "1 done, 1 skipped, 1 failed" in third.stdout, third.stdout
    assert len(frame_times(out / "clip0.tiny.mp4")) == 35


@pytest.mark.slow
def test_killed_batch_leaves_no_partial_output_and_a_rerun_completes_it(tiny_style, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for i in range(3):
        make_clip(videos / f"clip{i}.mp4", ClipSpec(seconds=6, width=320, height=240))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "vidstyle", "batch", videos, "--style", tiny_style.path, "-o", out]
    with own_session([*command, "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        wait_until(lambda: list(out.glob("*.tiny.mp4")), proc, "a first output was finished", 240)
        proc.send_signal(signal.SIGKILL)  # no chance to clean up: the worst case
        proc.wait(timeout=30)
    # leaving the session killed its Ray processes too, after the command
    finished = sorted(p.name for p in out.glob("*.tiny.mp4"))
    assert 1 <= len(finished) < 3

    rerun = vidstyle("batch", videos, "--style", tiny_style.path, "-o", out, "--workers", 1)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{3 - len(finished)} done, {len(finished)} skipped, 0 failed" in rerun.stdout, rerun.stdout
    for i in range(3):
        assert frame_times(out / f"clip{i}.tiny.mp4") == frame_times(videos / f"clip{i}.mp4")
    assert leftovers(out) == []


@pytest.mark.slow
def test_manifest_rows_name_their_own_styles_and_outputs(tiny_style, tmp_path):
    make_folder(tmp_path / "videos")
    manifest = tmp_path / "jobs.jsonl"
    rows = [
        {"input": "videos/clip0.mp4", "style": str(tiny_style.path), "output": "first.mkv"},
        {"input": "videos/clip1.mp4", "style": "no-such-style"},
        {"input": "videos/clip1.mp4"},
    ]
    manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    result = vidstyle("batch", manifest, "--style", tiny_style.path, "-o", out)
    assert result.returncode == 1
    summary = json.loads((out / "batch-summary.json").read_text())
    assert [r["status"] for r in summary] == ["done", "failed", "done"]
    assert "unknown style 'no-such-style'" in summary[1]["error"], summary[1]["error"]
    assert len(frame_times(out / "first.mkv")) == 25 and len(frame_times(out / "clip1.tiny.mp4")) == 30


def summary_of(out) -> dict[str, dict]:
    return {
        f"{Path(r['video']).name} -> {Path(r['output']).name}": r
        for r in json.loads((out / "batch-summary.json").read_text())
    }


@pytest.mark.slow
def test_files_the_batch_did_not_make_are_kept_and_its_outputs_are_never_its_inputs(tiny_style, tmp_path):
    """The user's own a.tiny.mp4 beside a.mp4 was replaced without --overwrite, and rendered as an input."""
    folder = make_folder(tmp_path / "c")  # clip0.mp4, clip1.mp4
    mine = folder / "clip0.tiny.mp4"
    make_clip(mine, ClipSpec(seconds=0.6))  # a real video of the user's, at the path of clip0's output
    precious = mine.read_bytes()
    first = vidstyle("batch", folder, "--style", tiny_style.path, "-o", folder, "--workers", 1)
    assert first.returncode == 1, first.stderr
    rows = summary_of(folder)
    assert sorted(rows) == ["clip0.mp4 -> clip0.tiny.mp4", "clip1.mp4 -> clip1.tiny.mp4"]
    assert rows["clip0.mp4 -> clip0.tiny.mp4"]["status"] == "failed"
    assert (
        "clip0.tiny.mp4 already exists and is not this batch's output of clip0.mp4; pass --overwrite"
        in rows["clip0.mp4 -> clip0.tiny.mp4"]["error"]
    )
    assert rows["clip1.mp4 -> clip1.tiny.mp4"]["status"] == "done"
    assert mine.read_bytes() == precious
    assert frame_times(folder / "clip1.tiny.mp4") == frame_times(folder / "clip1.mp4")

    again = vidstyle("batch", folder, "--style", tiny_style.path, "-o", folder, "--workers", 1)
    assert "0 done, 1 skipped, 1 failed" in again.stdout, again.stdout  # clip1.tiny.mp4 is no input now
    assert mine.read_bytes() == precious

    forced = vidstyle("batch", folder, "--style", tiny_style.path, "-o", folder, "--workers", 1, "--overwrite")
    assert forced.returncode == 0, forced.stderr
    assert "1 done, 1 skipped, 0 failed" in forced.stdout, forced.stdout
    assert frame_times(mine) == frame_times(folder / "clip0.mp4")
    assert sorted(p.name for p in folder.glob("*.mp4")) == [
        "clip0.mp4",
        "clip0.tiny.mp4",
        "clip1.mp4",
        "clip1.tiny.mp4",
    ]
    assert leftovers(folder) == []


def test_manifest_outputs_stay_inside_the_output_folder(tiny_style, tmp_path):
    """Rows with output ../../x.mp4, /abs/x.mp4 or ../in/victim.mp4 were written there (the last replaced
    the input); a symlink inside the output folder leads out of it just the same."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    victim = make_clip(inputs / "victim.mp4", ClipSpec(seconds=0.6))
    before = victim.read_bytes()
    out = tmp_path / "work" / "out"
    out.mkdir(parents=True)
    (out / "link").symlink_to(inputs)
    escapes = ["../../x.mp4", str(tmp_path / "abs.mp4"), "../../in/victim.mp4", "link/made.mp4"]
    manifest = tmp_path / "jobs.jsonl"
    manifest.write_text(
        "".join(json.dumps({"input": str(victim), "style": str(tiny_style.path), "output": o}) + "\n" for o in escapes)
    )
    result = vidstyle("batch", manifest, "-o", out)
    assert result.returncode == 1, result.stderr
    rows = json.loads((out / "batch-summary.json").read_text())
    assert [r["status"] for r in rows] == ["failed"] * 4
    assert all("is outside the output folder" in r["error"] for r in rows), rows
    assert victim.read_bytes() == before
    assert sorted(p.name for p in inputs.iterdir()) == ["victim.mp4"]
    assert not (tmp_path / "x.mp4").exists() and not (tmp_path / "abs.mp4").exists()
    assert "Traceback" not in result.stderr


def test_inputs_that_would_share_an_output_fail_their_rows_before_any_work(tiny_style, tmp_path):
    """dup.mp4 and dup.mov both make dup.tiny.mp4: the second's cleanup deleted the first's working files and
    the whole batch died with a traceback."""
    folder = tmp_path / "videos"
    folder.mkdir()
    make_clip(folder / "dup [x].mp4", ClipSpec(seconds=0.6))  # [x] is also rich markup, which ate it
    make_clip(folder / "dup [x].mov", ClipSpec(seconds=0.6))
    out = tmp_path / "out"
    result = vidstyle("batch", folder, "--style", tiny_style.path, "-o", out, env={**os.environ, "COLUMNS": "400"})
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    rows = summary_of(out)
    assert sorted(rows) == ["dup [x].mov -> dup [x].tiny.mp4", "dup [x].mp4 -> dup [x].tiny.mp4"]
    error = (
        "dup [x].mov (tiny) and dup [x].mp4 (tiny) would both write dup [x].tiny.mp4; rename one of the "
        "inputs or use a manifest."
    )
    for row in rows.values():
        assert row["status"] == "failed" and row["error"] == error
    assert f"failed  dup [x].tiny.mp4  ({error})" in result.stderr, result.stderr  # the log line
    assert result.stdout.count(error) == 2, result.stdout  # the table
    assert sorted(p.name for p in out.iterdir()) == ["batch-summary.csv", "batch-summary.json"]

    # a manifest's rows likewise, each reported (the whole manifest was refused), and an input that is
    # an output of the same batch
    manifest = tmp_path / "jobs.jsonl"
    rows = [
        {"input": "videos/dup [x].mp4", "style": str(tiny_style.path), "output": "same.mp4"},
        {"input": "videos/dup [x].mov", "style": str(tiny_style.path), "output": "same.mp4"},
        {"input": "out/same.mp4", "style": str(tiny_style.path), "output": "again.mp4"},
    ]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = vidstyle("batch", manifest, "-o", out)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    errors = [r["error"] for r in json.loads((out / "batch-summary.json").read_text())]
    shared = "dup [x].mp4 (tiny) and dup [x].mov (tiny) would both write same.mp4; give each row its own 'output'."
    assert errors[:2] == [shared, shared]
    assert errors[2] == f"input {out / 'same.mp4'} is an output of this same batch."


@pytest.mark.parametrize(
    "manifest,text,fragment",
    [
        ("jobs.jsonl", '{"input": 5, "style": "muse"}\n', "row 1: 'input' must be text (a path or a name), not 5."),
        ("jobs.jsonl", '["clip.mp4", "muse"]\n', "row 1 is not an object with 'input' and 'style'."),
        ("jobs.csv", "input,style\nclip.mp4,muse,extra\n", "row 1 has more fields than the header."),
        ("jobs.jsonl", '{"input": "clip.mp4", "style": "muse", "output": ["a.mp4"]}\n', "'output' must be text"),
    ],
)
def test_a_malformed_manifest_is_one_line_and_creates_nothing(manifest, text, fragment, tmp_path):
    """A number as input was a TypeError traceback, and -o was created even for a rejected manifest."""
    (tmp_path / manifest).write_text(text)
    result = vidstyle_here("batch", tmp_path / manifest, "-o", tmp_path / "out")
    one_line_error(result, fragment)
    assert not (tmp_path / "out").exists()


def test_batch_output_folder_that_is_a_file_is_one_line(tmp_path):
    make_folder(tmp_path / "videos")
    (tmp_path / "out").write_bytes(b"a file")
    one_line_error(
        vidstyle_here("batch", tmp_path / "videos", "--style", "muse", "-o", tmp_path / "out"),
        "is a file; -o names the folder",
    )
    assert (tmp_path / "out").read_bytes() == b"a file"


@pytest.mark.slow
def test_a_blend_paints_each_video_as_render_paints_it(tmp_path):
    videos = make_folder(tmp_path / "videos", n=1)
    out = tmp_path / "out"
    result = vidstyle("batch", videos, "--blend", "muse=0.7,wave=0.3", "-o", out, "--crf", 0)
    assert result.returncode == 0, result.stderr
    alone = tmp_path / "alone.mp4"
    single = vidstyle("render", videos / "clip0.mp4", "--blend", "muse=0.7,wave=0.3", "-o", alone, "--crf", 0)
    assert single.returncode == 0, single.stderr
    assert same_pictures(out / "clip0.muse70+wave30.mp4", alone)
    one_line_error(vidstyle("batch", videos, "--blend", "muse=-1", "-o", tmp_path / "refused"), "is negative")
    assert not (tmp_path / "refused").exists()
