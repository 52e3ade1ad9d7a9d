"""The six built-in styles and their lite networks: in the package, trained by vidstyle (the
file says how), and each one paints its own painting rather than a generic filter."""

import numpy as np
import pytest
import torch

from vidstyle.styles import BUILTIN_DIR, installed_styles, load_network, read_info
from vidstyle.synth import scene
from vidstyle.transformer import stylize

from .conftest import SHARED, needs_shared

BUILTINS = {"muse": "la_muse", "udnie": "udnie", "wave": "wave", "rain-princess": "rain_princess",
            "scream": "the_scream", "wreck": "the_shipwreck_of_the_minotaur"}
LITE = {f"{name}-lite": painting for name, painting in BUILTINS.items()}  # half the channels; CPU's default


def test_every_builtin_is_in_the_package_with_its_provenance():
    styles = installed_styles()
    for name in {**BUILTINS, **LITE}:
        info = styles[name]
        assert info.base == (16 if name in LITE else 32)
        assert info.path.parent == BUILTIN_DIR
        assert info.painting and info.artist and info.licence.startswith("MIT")
        # trained by vidstyle itself, on the training photos only, and the command says so
        assert info.trained.startswith("vidstyle train --style-image ") and "--exclude 'test_*'" in info.trained
        blob = torch.load(info.path, weights_only=True)
        assert {v.dtype for v in blob["state_dict"].values() if v.is_floating_point()} == {torch.float16}


def test_each_builtin_paints_a_photo_its_own_way():
    photo = torch.from_numpy(scene(1.0, 160, 120))[None]
    outputs = {}
    with torch.inference_mode():
        for name in BUILTINS:
            out = stylize(load_network(read_info(BUILTIN_DIR / f"{name}.vstyle")), photo)[0].numpy().astype(float)
            assert out.shape == (120, 160, 3)
            assert np.abs(out - photo[0].numpy()).mean() > 15, name  # it changed the photo
            assert out.std() > 20, name  # and did not wash it out
            outputs[name] = out
    names = list(outputs)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.abs(outputs[a] - outputs[b]).mean() > 8, (a, b)  # six different styles


@needs_shared
def test_each_builtin_is_closest_to_its_own_painting():
    """On held-out photos, each network's output has a lower style loss to its own painting than to the
    other five: it learnt that painting."""
    from vidstyle.imagefile import read_rgb, to_tensor
    from vidstyle.losses import JOHNSON, resize_long_side, style_loss, style_targets
    from vidstyle.vgg import load_state, load_vgg

    vgg = load_vgg(JOHNSON.all, load_state(SHARED / "weights" / "vgg16-imagenet-features-to-relu4_3.pth"))
    targets = {name: style_targets(vgg, resize_long_side(to_tensor(read_rgb(SHARED / "styles" / f"{file}.jpg")), 256),
                                   JOHNSON) for name, file in BUILTINS.items()}
    photos = [SHARED / "photos" / "bsds500" / f for f in ("test_100007.jpg", "test_100039.jpg")]
    with torch.inference_mode():
        for name, painting in {**BUILTINS, **LITE}.items():
            net = load_network(read_info(BUILTIN_DIR / f"{name}.vstyle"))
            losses = {other: 0.0 for other in BUILTINS}
            for path in photos:
                photo = resize_long_side(to_tensor(read_rgb(path)) * 255, 256).round()
                out = stylize(net, photo.to(torch.uint8).permute(0, 2, 3, 1)).permute(0, 3, 1, 2).float() / 255
                feats = vgg(out)
                for other, target in targets.items():
                    losses[other] += style_loss(feats, target).item()
            assert BUILTINS[min(losses, key=losses.get)] == painting, (name, losses)


@pytest.mark.parametrize("arch", ["auto", "full"])
def test_builtin_renders_with_the_cli(arch, clips, tmp_path):
    from .helpers import frame_times
    from .test_cli import vidstyle

    out = tmp_path / "out.mp4"
    result = vidstyle("render", clips["plain"], "--style", "muse", "-o", out, "--no-ray", "--device", "cpu",
                      "--arch", arch)
    assert result.returncode == 0, result.stderr
    assert ("using muse-lite, the lite network of muse" in result.stderr) == (arch == "auto")
    assert frame_times(out) == frame_times(clips["plain"])
