"""A real Ray cluster started with `ray start`, as an operator runs one.

The test starts its own head on free ports with its own temp dir, in a process group of its own, and stops
only that group: Ray's stop command would end every Ray on the machine, a user's own jobs included."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vidstyle.cli import NOT_BEGUN
from vidstyle.cluster import free_port, free_ports
from vidstyle.pipeline.render import render_recipe
from vidstyle.pipeline.segments import RenderOptions
from vidstyle.temporal.stabilizer import StabilizeOptions

from .helpers import own_session, run_in_session, same_pictures, session_processes, wait_until

RAY = [sys.executable, "-c", "from ray.scripts.scripts import main; main()"]
# Ray's token auth reads ~/.ray/auth_token, which a developer's machine may hold from another cluster; the
# test's own throwaway cluster runs without it (a real cluster: RAY_AUTH_MODE=token, Ray's setting)
PLAIN = {**os.environ, "RAY_AUTH_MODE": "disabled"}
INTERRUPTED = "error: interrupted; no output was written."
#: The ports Ray takes unless told otherwise: GCS, dashboard, Ray Client (`ray start` with ray[client]),
#: dashboard agent. A test's cluster must leave them to the machine's own Ray.
RAY_DEFAULT_PORTS = {6379, 8265, 10001, 52365}


@contextlib.contextmanager
def own_ray_head() -> Iterator[tuple[str, int]]:
    """`ray start --head --block` in a session of its own, with a temp dir of its own and free ports for every
    port `ray start` would otherwise take at a fixed default: the GCS, the dashboard (not started, its port
    given all the same), the dashboard agent and, where ray[client] is installed, Ray Client (the others are
    port 0 to Ray, picked by the kernel). Yields (address, session). On the way out SIGKILL to that session's
    process group only (SIGTERM never ended it: `ray start` and the GCS were still up after 30 s), then the
    temp dir it made removed."""
    from ray._private.utils import get_ray_client_dependency_error

    port, dashboard, agent, client = free_ports(4)
    options = [f"--port={port}", f"--dashboard-port={dashboard}", f"--dashboard-agent-listen-port={agent}"]
    if get_ray_client_dependency_error() is None:  # else `ray start` starts no client server, and refuses a port
        options.append(f"--ray-client-server-port={client}")
    # a short temp dir: Ray's socket paths must fit in 107 characters
    temp = tempfile.mkdtemp(prefix="vs-ray-", dir="/tmp")
    command = [*RAY, "start", "--head", "--block", *options, "--num-cpus=2", "--include-dashboard=false"]
    command += ["--disable-usage-stats", f"--temp-dir={temp}"]
    try:
        with own_session(command, env=PLAIN, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as head:
            address = f"127.0.0.1:{port}"
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
            yield address, head.pid
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def listening_ports(pids: list[int]) -> set[int]:
    """The TCP ports that processes `pids` listen on (Linux's /proc: their sockets' inodes, looked up in the
    kernel's tables)."""
    inodes = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    link = os.readlink(fd)
                    if link.startswith("socket:["):
                        inodes.add(link[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@pytest.mark.slow
def test_cli_runs_the_same_job_on_a_ray_cluster_given_by_address(clips, tiny_style, tmp_path):
    """A real Ray head, reached through --address, as an operator would; crf 0 (lossless) so the frames can
    be compared exactly with the single-process render's (see `same_pictures`)."""
    with own_ray_head() as (address, session):
        out = tmp_path / "out.mp4"
        command = [sys.executable, "-m", "vidstyle", "render", clips["plain"], "--style", tiny_style.path]
        command += ["-o", out, "--address", address, "--workers", "2", "--crf", "0"]
        result = run_in_session(command, timeout=300, env=PLAIN)
        assert result.returncode == 0, result.stderr
        assert "50/50 frames" in result.stdout
        # the head and its agents, up for a render's time by now, hold none of Ray's default ports
        held = listening_ports(session_processes(session)) & RAY_DEFAULT_PORTS
        assert not held, held
        single = tmp_path / "single.mp4"  # the CLI stabilises by default
        render_recipe(clips["plain"], single, tiny_style, RenderOptions(stabilize=StabilizeOptions(), crf=0))
        assert same_pictures(out, single)
        # the `ray job submit` entry point, as the job's driver runs it (RAY_ADDRESS set by Ray)
        env = {**PLAIN, "RAY_ADDRESS": address}
        command = [sys.executable, "pipelines/batch.py", clips["plain"].parent, "--style", tiny_style.path]
        command += ["-o", tmp_path / "batch", "--crf", "0"]
        batch = run_in_session(command, timeout=300, env=env, cwd=Path(__file__).parents[1])
        assert batch.returncode == 0, batch.stderr
        assert f"{len(clips)} done, 0 skipped, 0 failed" in batch.stdout
        assert same_pictures(tmp_path / "batch" / "plain.tiny.mp4", single)  # only the comment tag differs


# Ray that is not there, or not ours (issue 27). Each command runs in a session of its own with its own
# RAY_TMPDIR (where Ray keeps `ray_current_cluster` and its sessions), and its process group is killed in a
# `finally`, so an assert that fires leaves nothing behind; /tmp/ray of other Ray users is never touched.


@contextlib.contextmanager
def own_ray_tmpdir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="vs-rt-", dir="/tmp"))  # short: Ray's socket paths
    try:
        yield folder
    finally:
        for pid in processes_mentioning(str(folder)):  # the run's Ray, if it outlived an assert
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def processes_mentioning(text: str) -> list[int]:
    """Processes of this machine whose command line or environment holds `text` (a run's RAY_TMPDIR):
    the raylet, GCS, agents and workers of that run, whoever their parent is now."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if text.encode() in blob:
            found.append(int(entry.name))
    return found


def run_cli(args: list, env: dict[str, str], timeout: float, signal_after: float | None = None):
    """(return code, stderr, seconds, outlived) of `python -m vidstyle ARGS` in a session of its own; with
    `signal_after`, SIGTERM then. `outlived`: the processes of its session still running 5 s after it ended
    (their titles), seen before `own_session` kills them all."""
    started = time.monotonic()
    with own_session(
        [sys.executable, "-m", "vidstyle", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        if signal_after is not None:
            time.sleep(signal_after)
            proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=timeout)
        seconds = time.monotonic() - started
        deadline = time.monotonic() + 5
        while session_processes(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        outlived = [title(pid) for pid in session_processes(proc.pid)]
    return proc.returncode, stderr, seconds, outlived


def title(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")[-60:]
    return f"{pid} (gone)"


@pytest.mark.parametrize("how", ["--address", "RAY_ADDRESS", "ray://"])
def test_an_address_where_nothing_listens_is_one_line_within_seconds(clips, tiny_style, tmp_path, how):
    """It hung: 300 s without an error, 24 lines of Ray's GCS warnings, then 30 s to stop on SIGTERM."""
    address = f"127.0.0.1:{free_port()}"
    args = ["render", clips["plain"], "--style", tiny_style.path, "-o", tmp_path / "out.mp4"]
    env = {**PLAIN}
    if how == "RAY_ADDRESS":
        env["RAY_ADDRESS"] = address
    else:
        address = "ray://" + address if how == "ray://" else address
        args += ["--address", address]
    with own_ray_tmpdir() as ray_tmp:
        code, stderr, seconds, _ = run_cli(args, {**env, "RAY_TMPDIR": str(ray_tmp)}, timeout=90)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 1 and lines == [lines[-1]], stderr
    assert lines[-1].startswith(f"error: no Ray cluster answers at {address} (connection refused)"), stderr
    assert seconds < 30, seconds
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.slow
def test_no_address_starts_a_ray_of_its_own_whatever_ray_current_cluster_names(clips, tiny_style, tmp_path):
    """A bare ray.init() joined the cluster `ray_current_cluster` (left by a `ray start`) names: a dead one
    hung the render with "Failed to connect to GCS" lines, a live one was someone else's cluster."""
    with own_ray_tmpdir() as ray_tmp:
        (ray_tmp / "ray").mkdir()
        (ray_tmp / "ray" / "ray_current_cluster").write_text(f"127.0.0.1:{free_port()}")  # nothing there
        env = {key: value for key, value in PLAIN.items() if key != "RAY_ADDRESS"}
        args = ["render", clips["plain"], "--style", tiny_style.path, "-o", tmp_path / "out.mp4", "--workers", "2"]
        code, stderr, seconds, _ = run_cli(args, {**env, "RAY_TMPDIR": str(ray_tmp)}, timeout=240)
    assert code == 0, stderr
    assert "Failed to connect to GCS" not in stderr and (tmp_path / "out.mp4").exists()


@pytest.mark.slow
@pytest.mark.parametrize("after", [0.5, 1.5, 3.0, 6.0])
def test_sigterm_at_any_moment_of_a_ray_render_is_130_and_leaves_nothing_running(clips, tiny_style, tmp_path, after):
    """Before the handlers were routed (importing torch) SIGTERM ended the command with -15 and no word;
    during ray.init, Ray's handler made it 15 (or its core worker's, 134 with a C++ stack), and the raylet's
    agents outlived the command by 48 s. From 0.5 s (importing) to 6 s (inside ray.init on 2 cores)."""
    out = tmp_path / "out.mp4"
    args = ["render", clips["plain"], "--style", tiny_style.path, "-o", out, "--workers", "2"]
    with own_ray_tmpdir() as ray_tmp:
        env = {**PLAIN, "RAY_TMPDIR": str(ray_tmp)}
        code, stderr, _, outlived = run_cli(args, env, timeout=120, signal_after=after)
        deadline = time.monotonic() + 5
        while processes_mentioning(str(ray_tmp)) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = processes_mentioning(str(ray_tmp))
    assert code == 130, stderr
    said = stderr.strip().splitlines()
    # before the command's own wrapper (parsing its arguments) nothing has begun; it says so
    assert said and said[-1] in (INTERRUPTED, NOT_BEGUN), stderr
    assert "Traceback" not in stderr and "SIGTERM received" not in stderr, stderr
    assert left == [], f"processes of the run still running: {left}"
    assert outlived == [], f"processes of its session still running 5 s after it ended: {outlived}"
    assert not out.exists()


@pytest.mark.slow
def test_a_batch_across_two_worker_nodes_survives_losing_one(tiny_style, tmp_path):
    """A head and two 1-CPU worker nodes; one worker node is removed once the first output is in. Every
    output must still be complete and exact: the lost node's units run again on the other node, and a video
    whose parts were lost with it starts again from its plan (before: ActorDiedError for the frame counter
    on that node, or a hang on the segment the node held)."""
    from vidstyle.cluster import _descendants, local_cluster
    from vidstyle.media.synth import ClipSpec, make_clip

    from .helpers import audio_packets, frame_times

    temp = Path(tempfile.mkdtemp(prefix="vs-rc-", dir="/tmp"))  # Ray's socket paths must stay short
    videos = tmp_path / "videos"
    videos.mkdir()
    for i in range(6):  # 11 s with a keyframe a second: two segments each (10 s + 1 s)
        make_clip(videos / f"clip{i}.mp4", ClipSpec(seconds=11, width=160, height=120, gop=25))
    out = tmp_path / "out"
    try:
        with local_cluster([1, 1], temp) as (cluster, nodes, address):
            command = [sys.executable, "-m", "vidstyle", "batch", videos, "--style", tiny_style.path]
            command += ["-o", out, "--address", address, "--workers", "2", "--crf", "0"]
            env = {**PLAIN, "RAY_TMPDIR": str(temp)}
            with own_session(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
                wait_until(lambda: list(out.glob("*.tiny.mp4")), proc, "a first output was finished", 400)
                first = sorted(p.name for p in out.glob("*.tiny.mp4"))
                # the cluster (processes below this one, as the command is) holds none of Ray's default ports
                held = listening_ports(sorted(_descendants())) & RAY_DEFAULT_PORTS
                assert not held, held
                cluster.remove_node(nodes[0], allow_graceful=False)  # a node lost mid-batch
                stdout, stderr = proc.communicate(timeout=600)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    assert proc.returncode == 0, stderr[-3000:]
    assert "6 done, 0 skipped, 0 failed" in stdout, stdout
    assert len(first) < 6  # the node went while work was left
    for i in range(6):
        source, made = videos / f"clip{i}.mp4", out / f"clip{i}.tiny.mp4"
        assert frame_times(made) == frame_times(source) and audio_packets(made) == audio_packets(source)
    single = tmp_path / "single.mp4"  # the frames handed to x264 are the same on every executor
    render_recipe(videos / "clip5.mp4", single, tiny_style, RenderOptions(stabilize=StabilizeOptions(), crf=0))
    assert same_pictures(out / "clip5.tiny.mp4", single)
