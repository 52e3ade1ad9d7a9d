"""vidstyle train-code: a style code tuned for a painting, with losses that go down and an exact resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vidstyle import arbitrary
from vidstyle.choice import painting_code
from vidstyle.errors import VidstyleError
from vidstyle.losses import JOHNSON
from vidstyle.choice import StyleChoice, make_recipe
from vidstyle.styles import StyleInfo, load_code, load_code_style, read_info, save_code_style
from vidstyle.stylizers import CodeRecipe, Finish, stylize_still
from vidstyle.synth import scene
from vidstyle.train_code import CodeTrainOptions, checkpoint_path, train_code
from vidstyle.vgg import load_vgg

from .test_cli import vidstyle
from .test_keyframes import STRIPES
from .test_nst import random_vgg_state

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
    train_code(vgg, net, STRIPES, photos, painting_code(net, STRIPES), tmp_path / "s.vstyle",
               CodeTrainOptions(steps=12, style_weight=50.0, **OPTIONS), on_step=steps.append)
    first, last = np.mean([s.style for s in steps[:3]]), np.mean([s.style for s in steps[-3:]])
    assert last < 0.8 * first, (first, last)


@pytest.mark.parametrize("network_lr", [0.0, 0.01])
def test_resume_continues_exactly_and_refuses_planted_checkpoints(vgg, photos, tmp_path, network_lr):
    init = painting_code(arbitrary.load(), STRIPES)
    options = lambda steps: CodeTrainOptions(steps=steps, network_lr=network_lr, **OPTIONS)  # noqa: E731
    straight_net, resumed_net = arbitrary.load(), arbitrary.load()
    straight = train_code(vgg, straight_net, STRIPES, photos, init, tmp_path / "a.vstyle", options(4))
    train_code(vgg, arbitrary.load(), STRIPES, photos, init, tmp_path / "b.vstyle", options(2))
    resumed = train_code(vgg, resumed_net, STRIPES, photos, init, tmp_path / "b.vstyle", options(4), resume=True)
    np.testing.assert_array_equal(resumed, straight)
    assert not np.allclose(straight, init)
    weights = [(n, a, b, c) for (n, a), b, c in zip(straight_net.transfer.state_dict().items(),
                                                  resumed_net.transfer.state_dict().values(),
                                                  arbitrary.load().transfer.state_dict().values())]
    assert all(torch.equal(a, b) for _, a, b, _ in weights)  # the tuned weights resume exactly too
    tuned = [n for n, a, _, shipped in weights if not torch.equal(a, shipped)]
    assert (len(tuned) > 20) if network_lr else not tuned  # every conv, and never the code projection
    assert not any(n.startswith("project.") for n in tuned)
    net = arbitrary.load()

    class Boom:
        def __reduce__(self):
            return (print, ("planted code ran",))

    torch.save({"format": "x", "boom": Boom()}, checkpoint_path(tmp_path / "c.vstyle"))
    with pytest.raises(VidstyleError, match="not a readable code checkpoint"):
        train_code(vgg, net, STRIPES, photos, init, tmp_path / "c.vstyle", CodeTrainOptions(steps=4, **OPTIONS),
                   resume=True)


def test_cli_writes_a_code_style_that_renders_and_says_how_it_was_made(tmp_path, photos):
    Image.fromarray(STRIPES).save(tmp_path / "painting.png")
    state = tmp_path / "vgg.pth"
    torch.save(random_vgg_state(upto="relu4_3"), state)
    out = tmp_path / "stripes.vstyle"
    result = vidstyle("train-code", "--style-image", tmp_path / "painting.png", "--photos", photos[0].parent,
                      "--name", "stripes", "-o", out, "--steps", 2, "--crop", 48, "--photo-side", 64,
                      "--vgg-weights", state)
    assert result.returncode == 0, result.stderr
    info = read_info(out)
    assert info.kind == "code" and "vidstyle train-code --style-image" in info.trained
    assert load_code(info).shape == (arbitrary.CODE_SIZE,)
    image = vidstyle("image", photos[0], "--style", out, "-o", tmp_path / "o.png")
    assert image.returncode == 0, image.stderr
    assert np.abs(np.asarray(Image.open(tmp_path / "o.png"), int) - np.asarray(Image.open(photos[0]))).mean() > 5


def test_a_tuned_network_travels_with_its_style_and_paints(vgg, photos, tmp_path):
    net = arbitrary.load()
    code = train_code(vgg, net, STRIPES, photos, painting_code(net, STRIPES), tmp_path / "t.vstyle",
                      CodeTrainOptions(steps=3, network_lr=0.01, **OPTIONS))
    path = save_code_style(StyleInfo(name="tuned"), code, tmp_path / "t.vstyle", net.transfer.state_dict())
    saved_code, network = load_code_style(read_info(path))
    np.testing.assert_array_equal(saved_code, code)
    assert network is not None and set(network) == set(net.transfer.state_dict())
    frame = scene(0.3, 96, 64)
    recipe, _ = make_recipe(StyleChoice(style=str(path)), content=list)
    tuned = stylize_still(recipe, Finish(), frame, torch.device("cpu")).astype(int)
    shipped = stylize_still(CodeRecipe.of(code, "shipped net"), Finish(), frame, torch.device("cpu")).astype(int)
    with torch.inference_mode():  # the tuned network itself (fp32; the style stores fp16 weights)
        direct = arbitrary.stylize(net.transfer, torch.from_numpy(frame)[None], code=torch.from_numpy(code)[None])
    assert np.abs(tuned - direct[0].numpy()).mean() < 2.0
    assert np.abs(tuned - shipped).mean() > 2 * np.abs(tuned - direct[0].numpy()).mean()
    assert load_code(read_info(path)).shape == (arbitrary.CODE_SIZE,)
