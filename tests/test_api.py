"""The library API and the package layout: what `import vidstyle` offers, and imports that point downwards."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np

import vidstyle

from .helpers import frame_times

PACKAGE = Path(vidstyle.__file__).parent

#: The layers of the package, lowest first. A module may import from its own layer or any lower one, never
#: from a higher one: the layout draws the data path (media in, models, optimisation, time, the pipeline
#: that wires them, training, the command line on top).
LAYERS = [
    {
        "errors",
        "checks",
        "version",
        "lazy",
        "files",
        "storage",
        "threads",
        "interrupts",
        "pixels",
        "frames",
        "cluster",
        "allocator",
        "options",
        "vgg_layers",
    },
    {"media"},
    {"models"},
    {"nst"},
    {"temporal"},
    {"pipeline"},
    {"train"},
    {"cli"},
    {"__init__", "__main__"},
]


def layer_of(module: str) -> int:
    """`vidstyle.pipeline.render` -> the index of `pipeline` in LAYERS."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    return next(i for i, names in enumerate(LAYERS) if top in names)


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vidstyle"):
            assert node.level == 0, f"{path}: relative import"
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("vidstyle")}
    return found


def test_every_import_inside_the_package_points_to_its_own_layer_or_below():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(relative.parts)
        here = layer_of(module) if path.name != "__init__.py" or path.parent != PACKAGE else len(LAYERS) - 1
        for target in imports_of(path):
            if target != "vidstyle" and layer_of(target) > here:
                upward.append(f"{module} -> {target}")
    assert upward == [], "imports pointing up the layers:\n" + "\n".join(upward)


def test_the_layer_check_catches_an_upward_import():
    assert layer_of("vidstyle.pipeline.render") > layer_of("vidstyle.models.styles")
    assert layer_of("vidstyle.cli.render") > layer_of("vidstyle.train.jobs") > layer_of("vidstyle.media.probing")


def test_every_name_in_the_api_resolves_and_nothing_else_is_offered():
    assert sorted(vidstyle._API) == sorted(set(vidstyle.__all__) - {"__version__"})
    for name in vidstyle.__all__:
        assert getattr(vidstyle, name) is not None, name
    assert vidstyle.render_video.__module__ == "vidstyle.pipeline.api"


def test_training_and_the_bare_package_import_no_video_or_ray_code():
    """A GPU training node needs torch and Pillow, not PyAV; `import vidstyle` loads nothing heavy."""
    probe = (
        "import sys, vidstyle; bare = {m for m in ('torch', 'av', 'ray') if m in sys.modules}; "
        "import vidstyle.train.jobs; print(sorted(bare), 'av' in sys.modules, 'ray' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "False", "False"], out


def test_a_render_in_this_process_never_imports_ray():
    """Ray costs 0.3 s to import; a clip of one segment renders without it (`executors.executor_for`)."""
    probe = (
        "import sys, vidstyle.cli.app, vidstyle.pipeline.render, vidstyle.pipeline.batch; "
        "print('ray' in sys.modules); import vidstyle.pipeline.ray_pool; print('ray' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"], out


def test_the_library_paints_a_video_and_a_photo_without_the_cli(clips, tiny_style, tmp_path):
    source = clips["plain"]
    out = tmp_path / "out.mp4"
    report = vidstyle.render_video(
        source, out, vidstyle.StyleChoice(style=str(tiny_style.path)), vidstyle.RenderOptions(), no_ray=True
    )
    assert report.frames_out == report.frames_in == len(frame_times(out)) == len(frame_times(source))
    photo = np.full((60, 80, 3), 128, np.uint8)
    photo[20:40, 30:50] = (250, 40, 40)
    painted = vidstyle.stylize_image(photo, vidstyle.StyleChoice(style=str(tiny_style.path)), device="cpu")
    assert painted.shape == photo.shape and painted.dtype == np.uint8
    assert np.abs(painted.astype(int) - photo).mean() > 5  # the network changed the picture


def test_importing_the_cli_loads_no_torch_pyav_opencv_or_ray():
    """`vidstyle --help` took 2.8 s: the CLI imported torch (for one constant), PyAV and OpenCV at the top."""
    code = "import sys, vidstyle.cli; print(sorted(m for m in ('torch', 'av', 'cv2', 'ray') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_the_library_and_the_cli_render_the_same_frames_with_their_defaults(clips, tiny_style, tmp_path):
    """Before, `render_video` was not stabilised (RenderOptions().stabilize was None) and the CLI was, at 0.4:
    the same words gave two videos. Both now take the defaults of `vidstyle.options`."""
    from .helpers import frames_rgb
    from .helpers import vidstyle as vidstyle_program

    library, cli = tmp_path / "library.mkv", tmp_path / "cli.mkv"
    # each a program of its own, as users run them (earlier tests change this process's torch threads, and the
    # bf16 sums with them)
    # --crf 0 on both sides: x264's lossy encode is not repeatable from run to run (its threads), the frames
    # handed to it are; every other option is the default of each door
    code = (
        "import sys, vidstyle as v; "
        "v.render_video(sys.argv[1], sys.argv[2], v.StyleChoice(style=sys.argv[3]), v.RenderOptions(crf=0))"
    )
    script = [sys.executable, "-c", code, str(clips["plain"]), str(library), str(tiny_style.path)]
    subprocess.run(script, capture_output=True, text=True, check=True)
    result = vidstyle_program("render", clips["plain"], "--style", tiny_style.path, "-o", cli, "--crf", 0)
    assert result.returncode == 0, result.stderr
    a, b = frames_rgb(library), frames_rgb(cli)
    assert len(a) == len(b) == len(frames_rgb(clips["plain"]))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert vidstyle.RenderOptions().stabilize is not None  # the default users notice most, on both doors
