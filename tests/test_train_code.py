"""vidstyle train-code: a style code tuned for a painting, with losses that go down and an exact resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vidstyle.errors import VidstyleError
from vidstyle.media.synth import scene
from vidstyle.models import arbitrary
from vidstyle.models.styles import load_code, read_info
from vidstyle.models.vgg import load_vgg
from vidstyle.nst.losses import JOHNSON
from vidstyle.pipeline.choice import painting_code
from vidstyle.train.code import CodeTrainOptions, checkpoint_path, train_code

from .helpers import STRIPES, random_vgg_state, vidstyle

OPTIONS = dict(batch_size=2, crop=48, photo_side=64, lr=0.05, checkpoint_every=2)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for i in range(4):
        Image.fromarray(scene(0.4 * i, 80, 60)).save(folder / f"train_{i}.png")
    return sorted(folder.iterdir())


@pytest.fixture(scope="module")
def vgg():
    return load_vgg(JOHNSON.all, random_vgg_state(upto="relu4_3"))


def test_the_style_loss_goes_down(vgg, photos, tmp_path):
    net = arbitrary.load()
    steps = []
    train_code(
        vgg,
        net,
        STRIPES,
        photos,
        painting_code(net, STRIPES),
        tmp_path / "s.vstyle",
        CodeTrainOptions(steps=12, style_weight=50.0, **OPTIONS),
        on_step=steps.append,
    )
    first, last = np.mean([s.style for s in steps[:3]]), np.mean([s.style for s in steps[-3:]])
    assert last < 0.8 * first, (first, last)


def test_the_laplacian_weight_keeps_the_subjects_edges(vgg, photos, tmp_path):
    """The same run with and without `laplacian_weight`: with it, the Laplacian loss it reports ends lower."""
    net = arbitrary.load()
    init = painting_code(net, STRIPES)
    runs = {}
    for weight in (0.0, 5.0):
        steps = runs[weight] = []
        options = CodeTrainOptions(steps=8, style_weight=50.0, laplacian_weight=weight, **OPTIONS)
        train_code(vgg, net, STRIPES, photos, init, tmp_path / f"{weight}.vstyle", options, on_step=steps.append)
    without, with_ = (np.mean([s.laplacian for s in runs[w][-3:]]) for w in (0.0, 5.0))
    assert with_ < 0.8 * without, (without, with_)


def test_resume_continues_exactly_and_refuses_planted_checkpoints(vgg, photos, tmp_path):
    net = arbitrary.load()
    init = painting_code(net, STRIPES)
    straight = train_code(vgg, net, STRIPES, photos, init, tmp_path / "a.vstyle", CodeTrainOptions(steps=4, **OPTIONS))
    train_code(vgg, net, STRIPES, photos, init, tmp_path / "b.vstyle", CodeTrainOptions(steps=2, **OPTIONS))
    resumed = train_code(
        vgg, net, STRIPES, photos, init, tmp_path / "b.vstyle", CodeTrainOptions(steps=4, **OPTIONS), resume=True
    )
    np.testing.assert_array_equal(resumed, straight)
    assert not np.allclose(straight, init)

    class Boom:
        def __reduce__(self):
            return (print, ("planted code ran",))

    torch.save({"format": "x", "boom": Boom()}, checkpoint_path(tmp_path / "c.vstyle"))
    with pytest.raises(VidstyleError, match="not a readable code checkpoint"):
        train_code(
            vgg, net, STRIPES, photos, init, tmp_path / "c.vstyle", CodeTrainOptions(steps=4, **OPTIONS), resume=True
        )


def test_cli_writes_a_code_style_that_renders_and_says_how_it_was_made(tmp_path, photos):
    Image.fromarray(STRIPES).save(tmp_path / "painting.png")
    state = tmp_path / "vgg.pth"
    torch.save(random_vgg_state(upto="relu4_3"), state)
    out = tmp_path / "stripes.vstyle"
    result = vidstyle(
        "train-code",
        "--style-image",
        tmp_path / "painting.png",
        "--photos",
        photos[0].parent,
        "--name",
        "stripes",
        "-o",
        out,
        "--steps",
        2,
        "--crop",
        48,
        "--photo-side",
        64,
        "--vgg-weights",
        state,
    )
    assert result.returncode == 0, result.stderr
    info = read_info(out)
    assert info.kind == "code" and "vidstyle train-code --style-image" in info.trained
    assert load_code(info).shape == (arbitrary.CODE_SIZE,)
    image = vidstyle("image", photos[0], "--style", out, "-o", tmp_path / "o.png")
    assert image.returncode == 0, image.stderr
    assert np.abs(np.asarray(Image.open(tmp_path / "o.png"), int) - np.asarray(Image.open(photos[0]))).mean() > 5


@pytest.fixture(scope="module")
def checkpoint(vgg, photos, tmp_path_factory):
    """A good checkpoint of a 1-step run with the CLI test's settings below, to damage."""
    folder = tmp_path_factory.mktemp("ckpt")
    net = arbitrary.load()
    options = CodeTrainOptions(steps=1, crop=48, photo_side=64, checkpoint_every=1)
    train_code(vgg, net, STRIPES, photos, painting_code(net, STRIPES), folder / "a.vstyle", options)
    return torch.load(checkpoint_path(folder / "a.vstyle"), weights_only=True)


def _resume(tmp_path, photos, *extra):
    from .helpers import vidstyle_here

    Image.fromarray(STRIPES).save(tmp_path / "painting.png")
    torch.save(random_vgg_state(upto="relu4_3"), tmp_path / "vgg.pth")
    return vidstyle_here(
        "train-code", "--style-image", tmp_path / "painting.png", "--photos", photos[0].parent, "--name", "s",
        "-o", tmp_path / "s.vstyle", "--steps", 2, "--crop", 48, "--photo-side", 64, "--checkpoint-every", 1,
        "--vgg-weights", tmp_path / "vgg.pth", *extra,
    )  # fmt: skip


def _damaged(blob: dict, how: str) -> dict:
    blob = {**blob, "adam": {**blob["adam"]}}
    if how == "nan-code":
        blob["code"] = torch.full_like(blob["code"], float("nan"))
    elif how == "short-code":
        blob["code"] = blob["code"][:10]
    elif how == "no-adam":
        del blob["adam"]
    elif how == "options-a-list":
        blob["options"] = [1, 2]
    elif how == "step-a-word":
        blob["step"] = "abc"
    elif how == "negative-step":
        blob["step"] = -5
    elif how == "no-param-groups":
        del blob["adam"]["param_groups"]
    elif how == "empty-options":
        blob["options"] = {}
    elif how == "other-lr":
        blob["options"] = {**blob["options"], "lr": 0.5}
    return blob


@pytest.mark.parametrize(
    "how, fragment",
    [
        ("nan-code", "its code holds NaN"),  # wrote a NaN .vstyle that painted black, exit 0
        ("short-code", "damaged (its code)"),
        ("no-adam", "damaged (its Adam's state)"),
        ("options-a-list", "damaged (its options)"),
        ("step-a-word", "damaged (its step)"),
        ("negative-step", "damaged (its step)"),
        ("no-param-groups", "damaged (its Adam's state)"),
        ("empty-options", "other options (batch_size, crop"),  # a KeyError; with only 'steps' it resumed anything
        ("other-lr", "other options (lr)"),
    ],
)
def test_resume_from_a_damaged_checkpoint_is_one_line_and_writes_nothing(how, fragment, checkpoint, photos, tmp_path):
    from .helpers import one_line_error

    torch.save(_damaged(checkpoint, how), tmp_path / "s.vstyle.ckpt")
    one_line_error(_resume(tmp_path, photos, "--resume"), fragment)
    assert not (tmp_path / "s.vstyle").exists()


def test_settings_a_checkpoint_lacks_count_as_changed(checkpoint, photos, tmp_path):
    """Only 'steps' saved: every setting was taken as the same and the run resumed."""
    from .helpers import one_line_error

    torch.save({**checkpoint, "options": {"steps": 1}}, tmp_path / "s.vstyle.ckpt")
    one_line_error(_resume(tmp_path, photos, "--resume"), "other options (batch_size")


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--seed", -1], "--seed must be a whole number from 0"),  # numpy's ValueError traceback
        (["--lr", "nan"], "--lr must be a finite number > 0, not nan"),
        (["--style-weight", "inf"], "--style-weight must be a finite number >= 0, not inf"),
        (["--laplacian-weight", -1], "--laplacian-weight must be a finite number >= 0"),
        (["--name", "../up"], "--name '../up' holds a path separator"),
    ],
)
def test_bad_numbers_and_names_are_refused_before_training(extra, fragment, photos, tmp_path):
    from .helpers import one_line_error

    one_line_error(_resume(tmp_path, photos, *extra), fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["painting.png", "vgg.pth"]


def test_a_run_that_diverges_stops_with_one_line_and_saves_nothing(photos, tmp_path):
    from .helpers import one_line_error

    one_line_error(_resume(tmp_path, photos, "--lr", "1e30"), "training diverged at step")
    assert not (tmp_path / "s.vstyle").exists()
    if (tmp_path / "s.vstyle.ckpt").exists():  # a checkpoint from before it diverged is finite
        blob = torch.load(tmp_path / "s.vstyle.ckpt", weights_only=True)
        assert torch.isfinite(blob["code"]).all()


def test_init_starts_from_a_code_style_not_the_painting(tmp_path, photos):
    from vidstyle.models.styles import resolve_style
    from vidstyle.train.jobs import Credits, train_code_style

    Image.fromarray(STRIPES).save(tmp_path / "painting.png")
    state = tmp_path / "vgg.pth"
    torch.save(random_vgg_state(upto="relu4_3"), state)
    options = CodeTrainOptions(steps=1, **OPTIONS | {"lr": 1e-9})  # a step too small to move it: where it began
    out = train_code_style(
        tmp_path / "painting.png",
        photos[0].parent,
        tmp_path / "s.vstyle",
        Credits("s", "", "", "", "test"),
        options,
        vgg_weights=state,
        init="muse",
    )
    muse = load_code(resolve_style("muse"))
    np.testing.assert_allclose(load_code(read_info(out)), muse, atol=1e-6)
    plain = train_code_style(
        tmp_path / "painting.png",
        photos[0].parent,
        tmp_path / "p.vstyle",
        Credits("p", "", "", "", "test"),
        options,
        vgg_weights=state,
    )
    assert np.abs(load_code(read_info(plain)) - muse).max() > 0.1
