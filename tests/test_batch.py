"""batch: many videos through one pool; a bad one is reported, the rest finish; reruns skip what is done."""

import json
import signal
import subprocess
import sys
import time

from vidstyle.synth import ClipSpec, make_clip

from .helpers import frame_times
from .test_cli import leftovers, vidstyle


def make_folder(folder, n=2, seconds=1.0):
    folder.mkdir()
    for i in range(n):
        make_clip(folder / f"clip{i}.mp4", ClipSpec(seconds=seconds + 0.2 * i))
    return folder


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


def test_killed_batch_leaves_no_partial_output_and_a_rerun_completes_it(tiny_style, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for i in range(3):
        make_clip(videos / f"clip{i}.mp4", ClipSpec(seconds=6, width=320, height=240))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "vidstyle", "batch", str(videos), "--style", str(tiny_style.path),
                             "-o", str(out), "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.time() + 240
    while not list(out.glob("*.tiny.mp4")):
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read().decode()[-2000:]
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)  # no chance to clean up: the worst case
    proc.wait(timeout=30)
    subprocess.run(["pkill", "-KILL", "-s", str(proc.pid)], check=False)  # and its Ray processes
    finished = sorted(p.name for p in out.glob("*.tiny.mp4"))
    assert 1 <= len(finished) < 3

    rerun = vidstyle("batch", videos, "--style", tiny_style.path, "-o", out, "--workers", 1)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{3 - len(finished)} done, {len(finished)} skipped, 0 failed" in rerun.stdout, rerun.stdout
    for i in range(3):
        assert frame_times(out / f"clip{i}.tiny.mp4") == frame_times(videos / f"clip{i}.mp4")
    assert leftovers(out) == []


def test_manifest_rows_name_their_own_styles_and_outputs(tiny_style, tmp_path):
    make_folder(tmp_path / "videos")
    manifest = tmp_path / "jobs.jsonl"
    rows = [{"input": "videos/clip0.mp4", "style": str(tiny_style.path), "output": "first.mkv"},
            {"input": "videos/clip1.mp4", "style": "no-such-style"},
            {"input": "videos/clip1.mp4"}]
    manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    result = vidstyle("batch", manifest, "--style", tiny_style.path, "-o", out)
    assert result.returncode == 1
    summary = json.loads((out / "batch-summary.json").read_text())
    assert [r["status"] for r in summary] == ["done", "failed", "done"]
    assert "unknown style" in summary[1]["error"] or "no-such-style" in summary[1]["error"]
    assert len(frame_times(out / "first.mkv")) == 25 and len(frame_times(out / "clip1.tiny.mp4")) == 30
