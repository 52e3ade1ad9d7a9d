"""Training: losses go down, a resumed run is the same run, test photos stay out."""

import re

import numpy as np
import pytest
import torch
from PIL import Image

from vidstyle.errors import VidstyleError
from vidstyle.media.images import list_photos
from vidstyle.models.vgg import load_vgg
from vidstyle.nst.losses import JOHNSON
from vidstyle.train.network import TrainOptions, train

from .helpers import STRIPES, random_vgg_state
from .helpers import TRAIN_OPTIONS as OPTIONS


@pytest.fixture(scope="module")
def vgg():
    return load_vgg(JOHNSON.all, random_vgg_state(upto="relu4_3"))


def test_test_photos_are_kept_out(photos):
    names = [p.name for p in list_photos(photos, ["test_*"])]
    assert len(names) == 6 and not any(n.startswith("test_") for n in names)
    with pytest.raises(VidstyleError, match="no photos"):
        list_photos(photos, ["*"])


def test_losses_go_down_and_previews_are_written(photos, vgg, tmp_path):
    seen = []
    out = tmp_path / "s.vstyle"
    train(
        vgg,
        STRIPES,
        list_photos(photos, ["test_*"]),
        out,
        TrainOptions(steps=40, **OPTIONS),
        torch.device("cpu"),
        previews=[photos / "test_0.png"],
        on_step=seen.append,
    )
    first, last = np.mean([s.total for s in seen[:5]]), np.mean([s.total for s in seen[-5:]])
    assert last < 0.7 * first, (first, last)
    assert np.mean([s.style for s in seen[-5:]]) < np.mean([s.style for s in seen[:5]])
    assert sorted(p.name for p in (tmp_path / "s.previews").iterdir()) == [
        "step-000010.jpg",
        "step-000020.jpg",
        "step-000030.jpg",
        "step-000040.jpg",
    ]


def test_a_resumed_run_is_the_same_run(photos, vgg, tmp_path):
    train_photos = list_photos(photos, ["test_*"])
    straight = train(
        vgg, STRIPES, train_photos, tmp_path / "a.vstyle", TrainOptions(steps=10, **OPTIONS), torch.device("cpu")
    )
    train(vgg, STRIPES, train_photos, tmp_path / "b.vstyle", TrainOptions(steps=5, **OPTIONS), torch.device("cpu"))
    resumed = train(
        vgg,
        STRIPES,
        train_photos,
        tmp_path / "b.vstyle",
        TrainOptions(steps=10, **OPTIONS),
        torch.device("cpu"),
        resume=True,
    )
    for (k, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), k
    with pytest.raises(VidstyleError, match="other settings.*lr"):
        train(
            vgg,
            STRIPES,
            train_photos,
            tmp_path / "b.vstyle",
            TrainOptions(steps=12, **{**OPTIONS, "lr": 1e-2}),
            torch.device("cpu"),
            resume=True,
        )


@pytest.mark.slow
def test_cli_trains_a_style_that_renders_and_evaluates(photos, tmp_path):
    from vidstyle.media.synth import ClipSpec, make_clip

    from .helpers import frame_times, vidstyle

    vgg_file = tmp_path / "vgg.pth"
    torch.save(random_vgg_state(upto="relu4_3"), vgg_file)
    painting = tmp_path / "painting.png"
    Image.fromarray(STRIPES).save(painting)
    style = tmp_path / "stripes.vstyle"
    common = ["--vgg-weights", vgg_file]
    trained = vidstyle(
        "train",
        "--style-image",
        painting,
        "--photos",
        photos,
        "--exclude",
        "test_*",
        "--name",
        "stripes",
        "-o",
        style,
        "--steps",
        6,
        "--crop",
        32,
        "--batch-size",
        2,
        "--base",
        4,
        "--checkpoint-every",
        3,
        "--painting",
        "Stripes",
        *common,
    )
    assert trained.returncode == 0, trained.stderr
    assert "step      3:" in trained.stderr and "step      6:" in trained.stderr
    from vidstyle.models.styles import read_info

    info = read_info(style)
    assert info.name == "stripes" and info.base == 4 and "vidstyle train --style-image" in info.trained
    clip = make_clip(tmp_path / "in.mp4", ClipSpec(seconds=0.4))
    rendered = vidstyle("render", clip, "--style", style, "-o", tmp_path / "out.mp4", "--no-ray")
    assert rendered.returncode == 0, rendered.stderr
    assert frame_times(tmp_path / "out.mp4") == frame_times(clip)
    # the lite network: trained with --arch lite under NAME-lite, rendered by that name
    from vidstyle.models.styles import user_dir

    lite = vidstyle(
        "train",
        "--style-image",
        painting,
        "--photos",
        photos,
        "--exclude",
        "test_*",
        "--name",
        "stripes-lite",
        "-o",
        user_dir() / "stripes-lite.vstyle",
        "--steps",
        1,
        "--crop",
        32,
        "--batch-size",
        1,
        "--arch",
        "lite",
        *common,
    )
    assert lite.returncode == 0, lite.stderr
    assert read_info(user_dir() / "stripes-lite.vstyle").base == 16
    (user_dir() / "stripes.vstyle").write_bytes(style.read_bytes())
    rendered = vidstyle(
        "render", clip, "--style", "stripes-lite", "-o", tmp_path / "lite.mp4", "--no-ray", "--device", "cpu"
    )
    assert rendered.returncode == 0, rendered.stderr
    assert frame_times(tmp_path / "lite.mp4") == frame_times(clip)
    scored = vidstyle(
        "evaluate-style",
        style,
        style,
        "--style-image",
        painting,
        "--photos",
        photos,
        "--include",
        "test_*",
        "--size",
        48,
        "--sheet",
        tmp_path / "sheet.png",
        *common,
    )
    assert scored.returncode == 0, scored.stderr
    assert "1 photos at 48 px" in scored.stdout
    # a style against itself: two rows of the same positive losses, each 1.00x the first's
    rows = [re.findall(r"\d+\.\d+", line) for line in scored.stdout.splitlines()]
    rows = [r[-4:] for r in rows if len(r) >= 4]
    assert len(rows) == 2 and rows[0] == rows[1] and rows[0][2:] == ["1.00", "1.00"], scored.stdout
    assert float(rows[0][0]) > 0 and float(rows[0][1]) > 0
    assert (tmp_path / "sheet.png").is_file()


def test_content_layer_must_be_one_vgg_computes(photos, vgg, tmp_path):
    with pytest.raises(VidstyleError, match="--content-layer must be one of relu1_2, relu2_2, relu3_3, relu4_3"):
        train(
            vgg,
            STRIPES,
            list_photos(photos, ["test_*"]),
            tmp_path / "x.vstyle",
            TrainOptions(steps=1, **{**OPTIONS, "content_layer": "relu5_1"}),
            torch.device("cpu"),
        )


class _RunsCode:
    """Unpickled, this calls os.system: what a planted checkpoint can do to a full unpickle."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"echo ran > {self.marker}",)


@pytest.mark.parametrize("planted", ["code", "garbage", "list"])
def test_resume_never_runs_code_from_a_planted_checkpoint(planted, photos, tmp_path):
    """`train --resume` loaded OUTPUT.ckpt with weights_only=False: a pickle in it ran os.system."""
    from .helpers import one_line_error, vidstyle

    vgg_file = tmp_path / "vgg.pth"
    torch.save(random_vgg_state(upto="relu4_3"), vgg_file)
    painting = tmp_path / "painting.png"
    Image.fromarray(STRIPES).save(painting)
    style, marker = tmp_path / "s.vstyle", tmp_path / "code-ran"
    ckpt = tmp_path / "s.vstyle.ckpt"
    if planted == "code":
        torch.save({"step": 1, "net": {}, "optimizer": {}, "options": _RunsCode(marker)}, ckpt)
    elif planted == "garbage":
        ckpt.write_bytes(b"PK\x03\x04" + bytes(100))
    else:
        torch.save([1, 2, 3], ckpt)
    result = vidstyle(
        "train",
        "--style-image",
        painting,
        "--photos",
        photos,
        "--name",
        "s",
        "-o",
        style,
        "--steps",
        2,
        "--crop",
        32,
        "--batch-size",
        2,
        "--base",
        4,
        "--vgg-weights",
        vgg_file,
        "--resume",
    )
    assert not marker.exists(), "the planted checkpoint ran code"
    one_line_error(result, f"{ckpt} is not a")
    assert not style.exists()


@pytest.fixture(scope="module")
def good_checkpoint(photos, vgg, tmp_path_factory):
    folder = tmp_path_factory.mktemp("good")
    options = TrainOptions(steps=1, **{**OPTIONS, "checkpoint_every": 1})
    train(vgg, STRIPES, list_photos(photos, ["test_*"]), folder / "s.vstyle", options, torch.device("cpu"))
    return torch.load(folder / "s.vstyle.ckpt", weights_only=True)


@pytest.mark.parametrize(
    "how, fragment",
    [
        ("negative-step", "damaged (its step, -5)"),  # numpy's "expected non-negative integer" traceback
        ("empty-options", "other settings (batch_size, crop"),  # resumed under any settings
        ("nan-network", "conv1.conv.weight holds NaN"),  # trained on and saved a NaN style, exit 0
    ],
)
def test_resume_from_a_damaged_checkpoint_is_one_line(how, fragment, good_checkpoint, photos, vgg, tmp_path):
    state = {**good_checkpoint, "net": {k: v.clone() for k, v in good_checkpoint["net"].items()}}
    if how == "negative-step":
        state["step"] = -5
    elif how == "empty-options":
        state["options"] = {}
    else:
        for value in state["net"].values():
            value.fill_(float("nan"))
    torch.save(state, tmp_path / "s.vstyle.ckpt")
    options = TrainOptions(steps=3, **{**OPTIONS, "checkpoint_every": 1})
    with pytest.raises(VidstyleError, match=re.escape(fragment)):
        train(vgg, STRIPES, list_photos(photos, ["test_*"]), tmp_path / "s.vstyle", options, torch.device("cpu"), True)


def test_a_run_that_diverges_stops_before_writing_a_non_finite_checkpoint(photos, vgg, tmp_path):
    options = TrainOptions(steps=4, **{**OPTIONS, "checkpoint_every": 1, "lr": 1e30})
    with pytest.raises(VidstyleError, match="training diverged at step"):
        train(vgg, STRIPES, list_photos(photos, ["test_*"]), tmp_path / "s.vstyle", options, torch.device("cpu"))
    if (tmp_path / "s.vstyle.ckpt").exists():
        state = torch.load(tmp_path / "s.vstyle.ckpt", weights_only=True)
        assert all(torch.isfinite(v).all() for v in state["net"].values() if v.is_floating_point())


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--seed", -1], "--seed must be a whole number from 0"),  # numpy's ValueError traceback
        (["--lr", "inf"], "--lr must be a finite number > 0, not inf"),
        (["--tv-weight", "nan"], "--tv-weight must be a finite number >= 0, not nan"),
        (["--name", ".hidden"], "--name '.hidden' starts with a dot"),
    ],
)
def test_train_refuses_bad_numbers_and_names_in_one_line(extra, fragment, photos, tmp_path):
    from .helpers import one_line_error, vidstyle_here

    Image.fromarray(STRIPES).save(tmp_path / "painting.png")
    result = vidstyle_here(
        "train", "--style-image", tmp_path / "painting.png", "--photos", photos, "--name", "s",
        "-o", tmp_path / "s.vstyle", "--steps", 1, "--crop", 32, "--base", 4, "--vgg-weights", tmp_path / "none.pth",
        *extra,
    )  # fmt: skip
    one_line_error(result, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["painting.png"]
