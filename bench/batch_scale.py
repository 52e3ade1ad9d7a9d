"""How `vidstyle batch` scales with the size of the batch and the number of nodes, measured from outside.

    python bench/batch_scale.py --rows 10 1000 10000 100000 --old ../old-checkout
    python bench/batch_scale.py --io-rows 12 --nodes          # driver I/O per byte of video; 1 vs 2 nodes

Three measurements, each printed as a table:
1. **First output**: a manifest of N rows (small generated clips, each row its own output) is started as a
   user would (`vidstyle batch jobs.jsonl --style S -o out`); the time from the command's start to the
   first finished output, and the driver's peak memory (VmHWM of the CLI process, read at that moment), then
   the batch is stopped. With `--old DIR`, the same for the vidstyle checked out in DIR (another worktree),
   alternated in the same run. Goal: the first output within 1.5x the 10-row time at every size, memory flat.
2. **Driver I/O**: whole batches of `--io-rows` and 3x as many rows (640x360 clips); the bytes the driver
   process read and wrote (`/proc/PID/io` rchar/wchar: every read/write system call, Ray's RPC sockets
   included), and what the extra rows cost it per byte of video they read and made (the fixed cost of
   imports and Ray's start cancels out). Goal: at most 1%.
3. **Nodes** (`--nodes`): the same batch on a simulated cluster (`ray.cluster_utils.Cluster`, every node on
   this machine, free ports, its own temp dir) with one 2-CPU worker node, then two 1-CPU worker nodes;
   outputs per minute, and the driver's CPU seconds per unit of work (plan, segment, join), from which the
   closing line projects how many GPU nodes one driver can feed.

Never a test: timings on a shared 2-core machine are noisy; read the ratios, which come from one run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vidstyle.cluster import local_cluster

ROOT = Path(__file__).resolve().parents[1]


def make_inputs(folder: Path, clips: int, seconds: float, size: tuple[int, int] = (160, 120)) -> list[Path]:
    from vidstyle.media.synth import ClipSpec, make_clip

    folder.mkdir(parents=True, exist_ok=True)
    spec = ClipSpec(seconds=seconds, width=size[0], height=size[1])
    return [make_clip(folder / f"clip{i}.mp4", spec) for i in range(clips)]


def write_manifest(path: Path, clips: list[Path], rows: int, style: str) -> Path:
    """`rows` rows cycling through `clips`, each with its own output (row00000042.mp4)."""
    with path.open("w") as f:
        for n in range(rows):
            f.write(json.dumps({"input": str(clips[n % len(clips)]), "style": style, "output": f"row{n:08d}.mp4"}))
            f.write("\n")
    return path


def proc_field(pid: int, name: str, field: str) -> int:
    with open(f"/proc/{pid}/{name}") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "vidstyle", *args]


def using(checkout: Path, env: dict[str, str]) -> dict[str, str]:
    """The environment that runs `checkout`'s vidstyle (its folder first on the path, for Ray's workers too;
    the commands run in a folder of their own, since `python -m` puts the working folder first)."""
    return {**env, "PYTHONPATH": str(checkout)}


def first_output(checkout: Path, manifest: Path, out: Path, env: dict[str, str], limit: float) -> tuple[float, float]:
    """(seconds to the first output, driver peak memory in MB); inf when none came within `limit` seconds."""
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    proc = subprocess.Popen(
        command("batch", str(manifest), "-o", str(out), "--workers", "1"),
        env=using(checkout, env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd=tempfile.gettempdir(),
    )
    try:
        while time.perf_counter() - started < limit and proc.poll() is None:
            if out.is_dir() and any(p.suffix == ".mp4" and ".tmp-" not in p.name for p in out.iterdir()):
                return time.perf_counter() - started, proc_field(proc.pid, "status", "VmHWM") / 1024
            time.sleep(0.05)
        return float("inf"), proc_field(proc.pid, "status", "VmHWM") / 1024 if proc.poll() is None else 0.0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        shutil.rmtree(out, ignore_errors=True)


def whole_batch(
    checkout: Path, manifest: Path, out: Path, env: dict[str, str], extra: tuple[str, ...] = ()
) -> dict[str, float]:
    """Run a whole batch; the driver's I/O (rchar, wchar) and CPU seconds, sampled until it exits."""
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    proc = subprocess.Popen(
        command("batch", str(manifest), "-o", str(out), *extra),
        env=using(checkout, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=tempfile.gettempdir(),
    )
    sample = {"rchar": 0, "wchar": 0, "cpu": 0.0}
    try:
        while proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                sample = {
                    "rchar": proc_field(proc.pid, "io", "rchar"),
                    "wchar": proc_field(proc.pid, "io", "wchar"),
                    "cpu": cpu_seconds(proc.pid),
                }
            time.sleep(0.05)
        stdout, stderr = proc.communicate()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    if proc.returncode != 0:
        raise SystemExit(f"the batch failed:\n{stderr[-2000:]}")
    wall = time.perf_counter() - started
    made = sum(p.stat().st_size for p in out.glob("*.mp4"))
    return {**sample, "wall": wall, "made": made, "outputs": len(list(out.glob("*.mp4"))), "stdout": stdout}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="*", default=[10, 1000, 10000, 100000])
    parser.add_argument("--old", type=Path, help="another checkout of vidstyle to time beside this one")
    parser.add_argument("--old-limit", type=float, default=300.0, help="give the old driver this long per size")
    parser.add_argument("--io-rows", type=int, default=0, help="rows of the whole batch for the driver's I/O")
    parser.add_argument("--nodes", action="store_true", help="throughput on one 2-CPU node vs two 1-CPU nodes")
    parser.add_argument("--style", default="muse")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vs-scale-"))
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "COLUMNS": "200"}
    try:
        clips = make_inputs(work / "clips", 10, 1.0)
        if args.rows:
            print("| rows | first output: this checkout (s) | driver peak MB | old (s) | old peak MB |")
            print("|---|---|---|---|---|")
            for rows in args.rows:
                manifest = write_manifest(work / f"jobs{rows}.jsonl", clips, rows, args.style)
                new_s, new_mb = first_output(ROOT, manifest, work / "out", env, 600.0)
                old = "", ""
                if args.old:
                    old_s, old_mb = first_output(args.old, manifest, work / "out", env, args.old_limit)
                    old = (f"{old_s:.1f}" if old_s != float("inf") else f"> {args.old_limit:.0f}", f"{old_mb:.0f}")
                print(f"| {rows:,} | {new_s:.1f} | {new_mb:.0f} | {old[0]} | {old[1]} |", flush=True)
        if args.io_rows:
            # Marginal I/O: a batch of R rows and one of 3R rows; what the extra 2R videos cost the driver, per
            # byte of video they made and read. The fixed part (imports, Ray's start) cancels out.
            big = make_inputs(work / "big", 4, 4.0, (640, 360))
            size = sum(c.stat().st_size for c in big) / len(big)
            print("\n| checkout | rows | video in + out (MB) | driver read (MB) | driver wrote (MB) | marginal |")
            print("|---|---|---|---|---|---|")
            for name, checkout in [("this", ROOT)] + ([("old", args.old)] if args.old else []):
                runs = []
                for rows in (args.io_rows, 3 * args.io_rows):
                    manifest = write_manifest(work / f"io{rows}.jsonl", big, rows, args.style)
                    run = whole_batch(checkout, manifest, work / "out", env, ("--workers", "1"))
                    run["video"] = size * rows + run["made"]
                    runs.append(run)
                    print(
                        f"| {name} | {rows} | {run['video'] / 1e6:.2f} | {run['rchar'] / 1e6:.2f} | "
                        f"{run['wchar'] / 1e6:.2f} | |",
                        flush=True,
                    )
                io = (runs[1]["rchar"] + runs[1]["wchar"]) - (runs[0]["rchar"] + runs[0]["wchar"])
                video = runs[1]["video"] - runs[0]["video"]
                print(
                    f"| {name} | marginal | {video / 1e6:.2f} | | | **{100 * io / video:.2f}% of the video's bytes** |"
                )
        if args.nodes:
            rows = max(args.io_rows, 12)
            manifest = write_manifest(work / "nodes.jsonl", make_inputs(work / "long", 4, 6.0), rows, args.style)
            print(
                "\n| worker nodes | CPUs | outputs | wall (s) | outputs/min | driver CPU s | driver CPU ms per unit |"
            )
            print("|---|---|---|---|---|---|---|")
            for shape in ([2], [1, 1]):
                temp = Path(tempfile.mkdtemp(prefix="vs-bc-", dir="/tmp"))
                try:
                    with local_cluster(shape, temp) as (_, _, address):
                        extra = ("--workers", "2", "--address", address)
                        run = whole_batch(ROOT, manifest, work / "out", {**env, "RAY_TMPDIR": str(temp)}, extra)
                finally:
                    shutil.rmtree(temp, ignore_errors=True)
                units = run["outputs"] * 3  # plan, one segment (6 s clips), join
                print(
                    f"| {len(shape)} | {sum(shape)} | {run['outputs']} | {run['wall']:.1f} | "
                    f"{60 * run['outputs'] / run['wall']:.1f} | {run['cpu']:.1f} | {1000 * run['cpu'] / units:.0f} |",
                    flush=True,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
