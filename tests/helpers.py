"""Reading outputs back: what the tests assert on."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from vidstyle.models.transformer import TransformerNet
from vidstyle.models.vgg import VGGFeatures

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "assets"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(),
    reason=f"real assets not found at {SHARED} (weights, reference networks, videos are not part of the repo)",
)


def frame_times(path: Path) -> list[Fraction]:
    """Presentation time of every decoded frame, exact."""
    with av.open(str(path)) as c:
        return [f.pts * f.time_base for f in c.decode(video=0)]


def frames_rgb(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def audio_packets(path: Path) -> list[tuple[Fraction, bytes]]:
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return []
        s = c.streams.audio[0]
        return [(p.pts * p.time_base, bytes(p)) for p in c.demux(s) if p.size]


def stream_info(path: Path) -> dict:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return {
            "width": v.codec_context.width,
            "height": v.codec_context.height,
            "codec": v.codec_context.name,
            "audio": [a.codec_context.name for a in c.streams.audio],
            "pix_fmt": v.codec_context.pix_fmt,
        }


def same_pictures(a: Path, b: Path) -> bool:
    """Both files decode to exactly the same frames, at the same times.

    What the single-process and Ray drivers are compared on. Their encoded bytes are not: the x264 in PyAV's
    wheels does not reproduce its own output run to run on some CPUs (measured on a 2-core AMD EPYC with
    AVX-512: the same frames encoded 12 times in one process gave 12 different bitstreams, at 1 and at 4
    threads; restricting x264 to AVX2 made them identical). So tests render with crf 0, x264's lossless
    mode, where the decoded frames are exactly what the pipeline handed the encoder whatever x264 decides.
    """
    if frame_times(a) != frame_times(b):
        return False
    return all(np.array_equal(x, y) for x, y in zip(frames_rgb(a), frames_rgb(b), strict=True))


def remux_with_pts(source: Path, target: Path, order: Callable[[list[av.Packet]], list[int]], lag: int) -> Path:
    """Remux the video of a clip without B-frames, giving the packet at decode position i the pts of frame
    order(packets)[i]. Its decoder knows of no reordering and emits frames in decode order, so a plain decode
    yields every frame, at the pts given here. DTS trail by `lag` frame periods, so that no pts precedes its dts.
    """
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        stream = src.streams.video[0]
        copy = out.add_stream_from_template(stream)
        packets = [p for p in src.demux(stream) if p.size]
        step = packets[1].pts - packets[0].pts
        for i, (packet, frame) in enumerate(zip(packets, order(packets), strict=True)):
            packet.pts, packet.dts = frame * step, (i - lag) * step
            packet.stream = copy
            out.mux(packet)
    return target


def scramble_pts(source: Path, target: Path) -> Path:
    """A stream whose decoder emits frames a few places out of pts order, as a real MP4's did: in every run of
    four frames after a keyframe, decode order 0 1 2 3 gets pts 2 1 3 0 (keyframes keep theirs, so every GOP
    still covers the same span of time), and a plain decode yields 0, 3, 2, 4, 1, ... frame periods."""

    def order(packets: list[av.Packet]) -> list[int]:
        frames = list(range(len(packets)))
        i = 0
        while i < len(packets):
            if packets[i].is_keyframe:
                i += 1
                continue
            run = list(range(i, min(i + 4, len(packets))))
            if len(run) == 4 and not any(packets[j].is_keyframe for j in run):
                for j, k in zip(run, (2, 1, 3, 0)):
                    frames[j] = run[k]
            i += len(run)
        return frames

    return remux_with_pts(source, target, order, lag=3)


def delay_frame(source: Path, target: Path, frame: int, late_by: int) -> Path:
    """A stream whose decoder emits frame `frame` `late_by` places after its turn (the frames between move up)."""

    def order(packets: list[av.Packet]) -> list[int]:
        frames = list(range(len(packets)))
        frames.remove(frame)
        frames.insert(frame + late_by, frame)
        return frames

    return remux_with_pts(source, target, order, lag=late_by)


def cut_with_edit_list(source: Path, target: Path, seconds: float) -> Path:
    """What `ffmpeg -ss SECONDS -i SOURCE -c copy TARGET` writes: packets from the keyframe before the cut,
    timestamps moved so the cut is at 0, and an edit list (MP4) that hides the frames before it. Those are
    decoded for reference and never shown; a plain decode yields only the frames after the cut."""
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in src.streams if s.type in ("video", "audio")}
        video = src.streams.video[0]
        keyframes = [p.pts * video.time_base for p in src.demux(video) if p.size and p.is_keyframe]
        start = max(k for k in keyframes if k <= seconds)
        src.seek(0)
        for packet in src.demux(*[src.streams[i] for i in streams]):
            if not packet.size or packet.dts is None or packet.pts * packet.time_base < start:
                continue
            shift = int(Fraction(seconds) / packet.time_base)
            packet.pts, packet.dts = packet.pts - shift, packet.dts - shift
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return target


# The command as a user runs it, and what it must leave behind


@contextlib.contextmanager
def own_session(command: Sequence, **popen) -> Iterator[subprocess.Popen]:
    """`command` (text mode) started in a session of its own, which whatever it starts joins (an embedded
    Ray's GCS, raylet, agents and workers; a shell's children; Inductor's compile workers). On the way out,
    whatever happened (an assert that fired, a timeout, pytest interrupted), SIGKILL to that whole session
    (`kill_session`), then the command reaped and its pipes closed: nothing it started outlives the test.
    (subprocess.run kills the command alone, and only on a timeout.)"""
    with subprocess.Popen([str(a) for a in command], text=True, start_new_session=True, **popen) as proc:
        try:
            yield proc
        finally:
            kill_session(proc.pid)
            proc.wait()


def session_processes(session: int) -> list[int]:
    """The processes of `session` (a command started in a session of its own) that are alive: not the
    zombies of killed ones that their new parent has yet to reap."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
            if os.getsid(int(entry.name)) == session and state != "Z":
                found.append(int(entry.name))
    return found


def kill_session(session: int) -> None:
    """SIGKILL to every process of `session`: first the process group its leader heads (the command, and an
    embedded Ray's GCS, raylet and agents), so that no more are started, then the rest of the session (Ray's
    raylet puts each worker in a process group of its own: killing the group alone left them painting on
    for about 2 s, until they found the raylet gone)."""
    with contextlib.suppress(ProcessLookupError):  # the group is already empty
        os.killpg(session, signal.SIGKILL)
    for pid in session_processes(session):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def run_in_session(command: Sequence, timeout: float, check: bool = False, **popen) -> subprocess.CompletedProcess:
    """subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=check), the command in
    a session of its own (`own_session`)."""
    with own_session(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen) as proc:
        stdout, stderr = proc.communicate(timeout=timeout)
    if check and proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, proc.args, stdout, stderr)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def wait_until(happened: Callable[[], object], proc: subprocess.Popen, what: str, seconds: float) -> None:
    """Poll until `happened()` (something the test can see: a file, a process) is true. Fails, with the
    command's stderr, if the command ends first, and after `seconds` (a deadline for a loaded machine, not
    a measure of time)."""
    deadline = time.monotonic() + seconds
    while not happened():
        if proc.poll() is not None:
            _, stderr = proc.communicate(timeout=60)
            raise AssertionError(f"the command ended ({proc.returncode}) before {what}: {(stderr or '')[-3000:]}")
        assert time.monotonic() < deadline, f"not within {seconds:.0f} s: {what}"
        time.sleep(0.05)


def vidstyle(*args, **kw) -> subprocess.CompletedProcess:
    """The command in a fresh process of its own session (`run_in_session`: a render's Ray goes with it)."""
    return run_in_session([sys.executable, "-m", "vidstyle", *args], timeout=300, **kw)


def vidstyle_here(*args, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The command run in this process by Typer's CliRunner, for checks of messages and exit codes that need
    no signals, no Ray and no fresh process (a subprocess spends ~3 s importing torch). An exception the
    command did not turn into an exit is raised here, so a traceback can never pass for a message."""
    from typer.testing import CliRunner

    from vidstyle.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error:") and fragment in result.stderr, result.stderr


def running(session: int, fragment: bytes) -> bool:
    """Whether a process of `session` (a command started in a session of its own) has `fragment` in its
    command line (a Ray process's title, or a program's path)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) == session and fragment in (entry / "cmdline").read_bytes():
                return True
        except (OSError, ProcessLookupError):
            continue
    return False


def painting(session: int) -> bool:
    """Whether a Ray actor of the command started as `session` (its own session) is painting a segment: the
    moment to interrupt it (its temporaries appear only at the join, at the very end)."""
    return running(session, b"StyleWorker.segment")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or ".parts-" in p.name)


# Stand-ins for the real assets: a random VGG, a striped painting, tiny training settings


def random_vgg_state(arch: str = "vgg16", upto: str = "relu4_2", seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return {f"features.{k}": v for k, v in VGGFeatures(arch, [upto]).features.state_dict().items()}


STRIPES = np.where(
    ((np.add.outer(np.arange(48), np.arange(48)) // 4) % 2 == 0)[..., None], [230, 80, 20], [20, 40, 160]
).astype(np.uint8)

TRAIN_OPTIONS = dict(
    batch_size=2, crop=32, base=4, residual_blocks=1, style_size=48, lr=5e-3, checkpoint_every=5, preview_every=10
)


def tiny_network(seed: int = 0) -> TransformerNet:
    """A random 4-channel network that behaves like a trained one: it remaps colours and contrast with
    smooth kernels (random weights would paint pixel-level chroma noise that no 4:2:0 video can hold)."""
    torch.manual_seed(seed)
    net = TransformerNet(base=4, residual_blocks=1)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                k = module.kernel_size[0]
                if isinstance(module, torch.nn.ConvTranspose2d):
                    line = torch.tensor([0.5, 1.0, 0.5])  # stride-2 transposed: exact bilinear upsampling
                else:
                    line = torch.exp(-((torch.arange(k) - k // 2) ** 2) / (k / 2))
                spatial = torch.outer(line, line) / torch.outer(line, line).sum()
                mix = torch.randn(module.weight.shape[:2])
                module.weight.copy_(mix[:, :, None, None] * spatial)
            if isinstance(module, torch.nn.InstanceNorm2d):
                module.weight.uniform_(0.3, 1.0)
                module.bias.uniform_(-0.3, 0.3)
    return net.eval()


def on_ray(source, target, style, options, shard, **kwargs):
    """`render` on a pool of Ray actors whatever the video's length: the sharded path the tests compare with
    the in-process one (`render` itself picks Ray only where it helps)."""
    from vidstyle.pipeline.render import render_recipe

    return render_recipe(source, target, style, options, shard=shard, always_ray=True, **kwargs)
