"""Output files: temporaries of killed runs are cleaned, a live run's never; a file that appears meanwhile is
kept; a full disk is one line. Temporaries here are made by real processes through `render.stage`."""

import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from vidstyle import media
from vidstyle.errors import VidstyleError
from vidstyle.media.synth import ClipSpec, make_clip
from vidstyle.pipeline.render import render_recipe
from vidstyle.pipeline.segments import RenderOptions, remove_stale_temporaries, staged_output

from .helpers import frame_times, leftovers, one_line_error, run_in_session, vidstyle

STAGER = """
import sys, time
from pathlib import Path
from vidstyle.pipeline.segments import stage
tmp, scratch = stage(Path(sys.argv[1]))
tmp.write_bytes(b"half a video")
(scratch / "part-00000.nut").write_bytes(b"a part")
print(tmp, flush=True)
print(scratch, flush=True)
time.sleep(600)
"""


class Stager:
    """A process that has staged `target` (as a render does before its first frame) and stays alive until
    `kill`ed: its temporaries are then a killed run's."""

    def __init__(self, target: Path):
        self.proc = subprocess.Popen([sys.executable, "-c", STAGER, str(target)], stdout=subprocess.PIPE, text=True)
        try:
            self.tmp = Path(self.proc.stdout.readline().strip())
            self.scratch = Path(self.proc.stdout.readline().strip())
            assert self.tmp.is_file() and self.scratch.is_dir(), (self.tmp, self.scratch)
        except BaseException:  # not yet the fixture's to kill: it would sleep on for 10 minutes
            self.kill()
            raise

    def kill(self) -> "Stager":
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)  # no chance to clean up
            self.proc.wait()
        self.proc.stdout.close()
        return self

    def intact(self) -> bool:
        return self.tmp.read_bytes() == b"half a video" and (self.scratch / "part-00000.nut").read_bytes() == b"a part"


@pytest.fixture
def stagers():
    started: list[Stager] = []

    def start(target: Path) -> Stager:
        started.append(Stager(target))
        return started[-1]

    yield start
    for stager in started:
        stager.kill()


def test_render_removes_what_a_killed_run_left_but_not_a_live_runs_files(clips, tiny_style, tmp_path, stagers):
    """Only batch cleaned stale temporaries; a killed `render` left NAME.tmp-*.EXT and .NAME.parts-*/ for good."""
    out = tmp_path / "out.mp4"
    dead, alive = stagers(out).kill(), stagers(out)
    result = vidstyle("render", clips["plain"], "--style", tiny_style.path, "-o", out, "--no-ray")
    assert result.returncode == 0, result.stderr
    assert len(frame_times(out)) == 50
    assert not dead.tmp.exists() and not dead.scratch.exists()
    assert alive.intact()  # another process still rendering the same target keeps its working files
    alive.kill()
    assert sorted(leftovers(tmp_path)) == sorted([alive.tmp.name, alive.scratch.name])


def test_cleanup_never_globs_user_names_nor_touches_a_live_runs_files(tmp_path, stagers):
    """`clip [1]`'s cleanup globbed `clip 1`'s temporaries, and any run's cleanup removed a live run's."""
    other_target, live_target = stagers(tmp_path / "clip 1.mp4").kill(), stagers(tmp_path / "out.mp4")
    remove_stale_temporaries(tmp_path / "clip [1].mp4")
    remove_stale_temporaries(tmp_path / "out.mp4")
    assert other_target.intact() and live_target.intact()
    remove_stale_temporaries(tmp_path / "clip 1.mp4")  # its own target, its owner dead: removed
    assert not other_target.tmp.exists() and not other_target.scratch.exists()


def test_a_file_that_appears_while_rendering_is_kept_unless_overwrite(clips, tiny_style, tmp_path):
    """Two renders to one new output both succeeded, the later silently replacing the earlier."""
    out = tmp_path / "out.mp4"

    def another_render_finishes_first(info, segments) -> None:
        out.write_bytes(b"the other render's video")

    with pytest.raises(VidstyleError, match="appeared while this render ran.*--overwrite"):
        render_recipe(clips["plain"], out, tiny_style, RenderOptions(), on_start=another_render_finishes_first)
    assert out.read_bytes() == b"the other render's video"
    assert leftovers(tmp_path) == []

    out.unlink()
    render_recipe(
        clips["plain"], out, tiny_style, RenderOptions(), on_start=another_render_finishes_first, overwrite=True
    )
    assert len(frame_times(out)) == 50 and leftovers(tmp_path) == []


def test_a_full_disk_is_one_line_naming_the_folder_and_the_space_needed(tmp_path):
    """FFmpeg's ENOSPC (a real one: /dev/full) was an av.error.OSError traceback."""
    target = tmp_path / "out.mp4"
    settings = media.EncodeSettings(codec="libx264", crf=None, preset="ultrafast")
    with pytest.raises(VidstyleError) as caught, staged_output(target, needed=3_000_000):
        writer = media.PartWriter("/dev/full", (160, 120), Fraction(1, 25), settings)
        for i in range(50):
            writer.write(i, 1, np.zeros((120, 160, 3), np.uint8))
        writer.close()
    assert isinstance(caught.value.__context__, av.error.OSError)  # what FFmpeg raised, translated
    message = str(caught.value)
    assert message.startswith(f"no space left in {tmp_path} (") and "needs about 3.0 MB there" in message, message
    assert "\n" not in message and not target.exists() and leftovers(tmp_path) == []


@pytest.mark.slow
@pytest.mark.usefixtures("private_tmpfs")
@pytest.mark.parametrize("command", ["render --no-ray", "render --workers=1", "batch --workers=1"])
def test_a_render_into_a_full_filesystem_says_so_in_one_line(tiny_style, tmp_path, command):
    """The whole command on a real 40 kB filesystem (a private mount, gone with the namespace)."""
    videos = tmp_path / "videos"
    videos.mkdir()
    clip = make_clip(videos / "in.mp4", ClipSpec(seconds=2))
    small = tmp_path / "small"
    small.mkdir()
    name, option = command.split()
    where = small / "out.mp4" if name == "render" else small
    line = " ".join(
        map(
            str,
            [
                sys.executable,
                "-m",
                "vidstyle",
                name,
                clip if name == "render" else videos,
                "--style",
                tiny_style.path,
                "-o",
                where,
                option,
            ],
        )
    )
    script = f"mount -t tmpfs -o size=40k none {small} && {line} ; status=$? ; ls -A {small} ; exit $status"
    result = run_in_session(["unshare", "-rm", "sh", "-c", script], timeout=300)  # the shell's children too
    one_line_error(result, f"no space left in {small} (")
    assert f"needs about {2 * clip.stat().st_size / 1e3:.0f} kB there" in result.stderr, result.stderr
    assert result.stdout.strip() == ""  # nothing left in the full folder
