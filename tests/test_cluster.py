"""A real Ray cluster started with `ray start`, as an operator runs one.

The test starts its own head on a free port with its own temp dir, in a process group of its own, and stops
only that group: Ray's stop command would end every Ray on the machine, a user's own jobs included."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vidstyle.pipeline.render import render
from vidstyle.pipeline.segments import RenderOptions
from vidstyle.temporal.stabilizer import StabilizeOptions

from .helpers import same_pictures

RAY = [sys.executable, "-c", "from ray.scripts.scripts import main; main()"]
# Ray's token auth reads ~/.ray/auth_token, which a developer's machine may hold from another cluster; the
# test's own throwaway cluster runs without it (a real cluster: RAY_AUTH_MODE=token, Ray's setting)
PLAIN = {**os.environ, "RAY_AUTH_MODE": "disabled"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def own_ray_head() -> Iterator[str]:
    """`ray start --head --block` in a new session; yields its address; SIGTERM (then SIGKILL) to that
    session's process group only."""
    port = free_port()
    # a short temp dir: Ray's socket paths must fit in 107 characters
    temp = tempfile.mkdtemp(prefix="vs-ray-", dir="/tmp")
    head = subprocess.Popen(
        [
            *RAY,
            "start",
            "--head",
            "--block",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temp}",
        ],
        env=PLAIN,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while (
            subprocess.run(
                [*RAY, "status", f"--address={address}"], env=PLAIN, capture_output=True, timeout=120
            ).returncode
            != 0
        ):
            assert head.poll() is None, "ray start --head exited"
            assert time.monotonic() < deadline, "the Ray head did not come up in 180 s"
            time.sleep(1)
        yield address
    finally:
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(head.pid, sig)
            try:
                head.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue


@pytest.mark.slow
def test_cli_runs_the_same_job_on_a_ray_cluster_given_by_address(clips, tiny_style, tmp_path):
    """A real Ray head, reached through --address, as an operator would; crf 0 (lossless) so the frames can
    be compared exactly with the single-process render's (see `same_pictures`)."""
    with own_ray_head() as address:
        out = tmp_path / "out.mp4"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "vidstyle",
                "render",
                str(clips["plain"]),
                "--style",
                str(tiny_style.path),
                "-o",
                str(out),
                "--address",
                address,
                "--workers",
                "2",
                "--crf",
                "0",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env=PLAIN,
        )
        assert result.returncode == 0, result.stderr
        assert "50/50 frames" in result.stdout
        single = tmp_path / "single.mp4"  # the CLI stabilises by default
        render(clips["plain"], single, tiny_style, RenderOptions(stabilize=StabilizeOptions(), crf=0))
        assert same_pictures(out, single)
        # the `ray job submit` entry point, as the job's driver runs it (RAY_ADDRESS set by Ray)
        env = {**PLAIN, "RAY_ADDRESS": address}
        batch = subprocess.run(
            [
                sys.executable,
                "pipelines/batch.py",
                str(clips["plain"].parent),
                "--style",
                str(tiny_style.path),
                "-o",
                str(tmp_path / "batch"),
                "--crf",
                "0",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            cwd=Path(__file__).parents[1],
        )
        assert batch.returncode == 0, batch.stderr
        assert f"{len(clips)} done, 0 skipped, 0 failed" in batch.stdout
        assert same_pictures(tmp_path / "batch" / "plain.tiny.mp4", single)  # only the comment tag differs
