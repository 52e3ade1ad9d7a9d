from __future__ import annotations

import shutil
import subprocess

import pytest
from PIL import Image

from vidstyle.media.synth import ClipSpec, make_clip, scene
from vidstyle.models.styles import StyleInfo, save_style

from .helpers import tiny_network


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Each test gets an empty user style directory."""
    monkeypatch.setenv("VIDSTYLE_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="session")
def private_tmpfs() -> None:
    """Skips the test unless an unprivileged user may mount a small tmpfs in namespaces of its own
    (`unshare -rm`), as the full-disk tests do. Probed once a session, when the first such test runs (done
    at import, it started an `unshare` whenever the tests were merely collected)."""
    if not shutil.which("unshare"):
        pytest.skip("needs unshare (util-linux)")
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=40k none /tmp"],
        capture_output=True,
        check=False,
        timeout=60,
    )  # in a namespace of its own: /tmp is untouched
    if probe.returncode != 0:
        pytest.skip("needs unprivileged user and mount namespaces")


@pytest.fixture(scope="session")
def tiny_style(tmp_path_factory) -> StyleInfo:
    path = tmp_path_factory.mktemp("styles") / "tiny.vstyle"
    save_style(StyleInfo(name="tiny", painting="noise", base=4, residual_blocks=1), tiny_network(), path)
    from vidstyle.models.styles import read_info

    return read_info(path)


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    """Generated clips by name, made once per session."""
    folder = tmp_path_factory.mktemp("clips")
    specs = {
        "plain": ClipSpec(),
        "vfr": ClipSpec(vfr=True),
        "rotated": ClipSpec(rotation=90, width=128, height=96),
        "odd": ClipSpec(width=161, height=121, pix_fmt="yuv444p"),
        "silent": ClipSpec(audio=None),
        "tenbit": ClipSpec(pix_fmt="yuv420p10le"),
    }
    return {name: make_clip(folder / f"{name}.mp4", spec) for name, spec in specs.items()}


@pytest.fixture(scope="session")
def photos(tmp_path_factory):
    """Six training photos and one held-out `test_` photo, made of the generated scene."""
    folder = tmp_path_factory.mktemp("photos")
    for i in range(6):
        Image.fromarray(scene(0.3 * i, 64, 48)).save(folder / f"train_{i}.png")
    Image.fromarray(scene(9.0, 64, 48)).save(folder / "test_0.png")
    return folder


@pytest.fixture(scope="session")
def embedded_ray():
    """One embedded Ray (2 CPUs) for the tests that drive actors in-process, started on first use and
    stopped at the end of the session; the CLI tests start their own in their subprocesses."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()
