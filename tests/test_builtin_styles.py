"""The six built-in styles: in the package, made by vidstyle (the file says how), and each one paints its own
painting rather than a generic filter. Each is a style code for the shipped arbitrary-style network."""

import numpy as np
import pytest
import torch

from vidstyle.media.synth import scene
from vidstyle.models.styles import BUILTIN_DIR, installed_styles, load_code
from vidstyle.pipeline.choice import StyleChoice, make_recipe
from vidstyle.pipeline.stylizers import stylize_still

from .helpers import SHARED, needs_shared

BUILTINS = {
    "muse": "la_muse",
    "udnie": "udnie",
    "wave": "wave",
    "rain-princess": "rain_princess",
    "scream": "the_scream",
    "wreck": "the_shipwreck_of_the_minotaur",
}


def paint(name: str, photo: np.ndarray) -> np.ndarray:
    """What `render --style NAME` does to one frame on a CPU."""
    return stylize_still(make_recipe(StyleChoice(style=name), lambda: [photo]), photo, torch.device("cpu"))


def test_every_builtin_is_in_the_package_with_its_provenance():
    styles = installed_styles()
    assert {name for name in styles if styles[name].path.parent == BUILTIN_DIR} == set(BUILTINS)
    for name in BUILTINS:
        info = styles[name]
        assert info.kind == "code" and load_code(info).dtype == np.float32
        assert info.painting and info.artist and info.licence.startswith("Apache-2.0")
        # tuned by vidstyle itself, on the training photos only, and the command says so
        assert info.trained.startswith("vidstyle train-code --style-image ") and "--exclude 'test_*'" in info.trained


def test_each_builtin_paints_a_photo_its_own_way():
    photo = scene(1.0, 160, 120)
    outputs = {}
    for name in BUILTINS:
        out = paint(name, photo).astype(float)
        assert out.shape == (120, 160, 3)
        assert np.abs(out - photo).mean() > 15, name  # it changed the photo
        assert out.std() > 20, name  # and did not wash it out
        outputs[name] = out
    names = list(outputs)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert np.abs(outputs[a] - outputs[b]).mean() > 8, (a, b)  # six different styles


@pytest.mark.slow
@needs_shared
def test_each_builtin_is_closest_to_its_own_painting():
    """On held-out photos at 480 px, the size the codes were tuned at, each built-in's output has a lower
    style loss to its own painting than to the other five."""
    from vidstyle.media.images import read_rgb, to_tensor
    from vidstyle.models.vgg import load_state, load_vgg
    from vidstyle.nst.losses import JOHNSON, resize_long_side, style_loss, style_targets

    vgg = load_vgg(JOHNSON.all, load_state(SHARED / "weights" / "vgg16-imagenet-features-to-relu4_3.pth"))
    targets = {
        name: style_targets(vgg, resize_long_side(to_tensor(read_rgb(SHARED / "styles" / f"{file}.jpg")), 480), JOHNSON)
        for name, file in BUILTINS.items()
    }
    photos = []
    for file in ("test_100007.jpg", "test_100039.jpg"):
        photo = resize_long_side(to_tensor(read_rgb(SHARED / "photos" / "bsds500" / file)) * 255, 480).round()
        photos.append(photo[0].permute(1, 2, 0).to(torch.uint8).numpy())
    with torch.inference_mode():
        for name, painting in BUILTINS.items():
            losses = {other: 0.0 for other in BUILTINS}
            for photo in photos:
                feats = vgg(torch.from_numpy(paint(name, photo)).permute(2, 0, 1)[None].float() / 255)
                for other, target in targets.items():
                    losses[other] += style_loss(feats, target).item()
            assert BUILTINS[min(losses, key=losses.get)] == painting, (name, losses)


def test_builtin_renders_with_the_cli(clips, tmp_path):
    from .helpers import audio_packets, frame_times, vidstyle

    out = tmp_path / "out.mp4"
    result = vidstyle("render", clips["plain"], "--style", "muse", "-o", out, "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert frame_times(out) == frame_times(clips["plain"]) and audio_packets(out) == audio_packets(clips["plain"])
