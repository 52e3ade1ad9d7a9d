"""A real Ray cluster started with `ray start`, as an operator runs one; in its own module so that no test
with an embedded Ray is alive when `ray stop --force` (which stops every Ray on the machine) runs."""

import os
import subprocess
import sys
from pathlib import Path

from vidstyle.render import RenderOptions, render
from vidstyle.temporal import StabilizeOptions

from .helpers import frames_rgb


def test_cli_runs_the_same_job_on_a_ray_cluster_given_by_address(clips, tiny_style, tmp_path):
    """A real Ray head started with `ray start`, reached through --address, as an operator would."""
    ray_bin = [sys.executable, "-c", "from ray.scripts.scripts import main; main()"]
    port = "6391"
    # Ray's token auth reads ~/.ray/auth_token, which a developer's machine may hold from another cluster;
    # the test's own throwaway cluster runs without it (a real cluster: RAY_AUTH_MODE=token, Ray's setting)
    plain = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    subprocess.run([*ray_bin, "start", "--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
                    "--disable-usage-stats"], check=True, capture_output=True, timeout=180, env=plain)
    try:
        out = tmp_path / "out.mp4"
        result = subprocess.run([sys.executable, "-m", "vidstyle", "render", str(clips["plain"]), "--style",
                                 str(tiny_style.path), "-o", str(out), "--address", f"127.0.0.1:{port}",
                                 "--workers", "2"], capture_output=True, text=True, timeout=300, env=plain)
        assert result.returncode == 0, result.stderr
        assert "50/50 frames" in result.stdout
        single = tmp_path / "single.mp4"  # the CLI stabilises by default
        render(clips["plain"], single, tiny_style, RenderOptions(stabilize=StabilizeOptions()))
        assert out.read_bytes() == single.read_bytes()
        # the `ray job submit` entry point, as the job's driver runs it (RAY_ADDRESS set by Ray)
        env = {**plain, "RAY_ADDRESS": f"127.0.0.1:{port}"}
        batch = subprocess.run([sys.executable, "pipelines/batch.py", str(clips["plain"].parent), "--style",
                                str(tiny_style.path), "-o", str(tmp_path / "batch")], capture_output=True, text=True,
                               timeout=300, env=env, cwd=Path(__file__).parents[1])
        assert batch.returncode == 0, batch.stderr
        assert f"{len(clips)} done, 0 skipped, 0 failed" in batch.stdout
        made = frames_rgb(tmp_path / "batch" / "plain.tiny.mp4")  # same pictures; only the comment tag differs
        assert all((a == b).all() for a, b in zip(made, frames_rgb(single), strict=True))
    finally:
        subprocess.run([*ray_bin, "stop", "--force"], capture_output=True, timeout=120, env=plain)
