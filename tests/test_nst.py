"""VGG loading, the perceptual losses and Gatys optimisation: losses go down, and the style gets there."""

import numpy as np
import pytest
import torch

from vidstyle.errors import VidstyleError
from vidstyle.media.images import read_rgb, to_tensor
from vidstyle.media.synth import scene
from vidstyle.models.vgg import find_weights, infer_arch, layer_names, load_state, load_vgg
from vidstyle.nst.gatys import NSTOptions, keep_colors, transfer
from vidstyle.nst.losses import GATYS, JOHNSON, content_loss, gram, laplacian_loss, style_loss, style_targets

from .helpers import SHARED, needs_shared, random_vgg_state


def painting(size: int = 64) -> torch.Tensor:
    """A stand-in painting: diagonal stripes in two colours, nothing like the scene's smooth sky and hills."""
    y, x = np.mgrid[0:size, 0:size]
    stripes = ((x + y) // 4) % 2 == 0
    img = np.where(stripes[..., None], [230, 80, 20], [20, 40, 160]).astype(np.uint8)
    return to_tensor(img)


def photo(width: int = 96, height: int = 64) -> torch.Tensor:
    return to_tensor(scene(0.5, width, height))


def test_layer_names_follow_torchvision_indices():
    names = layer_names("vgg16")
    assert names[3] == "relu1_2" and names[8] == "relu2_2" and names[15] == "relu3_3" and names[22] == "relu4_3"
    assert layer_names("vgg19")[16] == "conv3_4" and layer_names("vgg19")[36] == "pool5"


def test_architecture_is_read_from_the_checkpoint_keys():
    assert infer_arch(random_vgg_state("vgg16")) == "vgg16"
    assert infer_arch(random_vgg_state("vgg19")) == "vgg19"


def test_weights_that_stop_too_early_are_refused_with_the_layer_they_reach():
    state = random_vgg_state("vgg16", upto="relu2_2")
    with pytest.raises(VidstyleError, match="stop at relu2_2.*need relu4_2"):
        load_vgg(GATYS.all, state)


def test_missing_weights_say_what_to_download_and_where(tmp_path, monkeypatch):
    monkeypatch.delenv("VIDSTYLE_VGG_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(VidstyleError) as caught:
        find_weights(None, download=False)
    message = str(caught.value)
    assert "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth" in message
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in message and "--vgg-weights" in message
    with pytest.raises(VidstyleError, match="nope.pth not found"):
        find_weights(tmp_path / "nope.pth")


def test_cached_torchvision_checkpoint_is_found_offline(tmp_path, monkeypatch):
    monkeypatch.delenv("VIDSTYLE_VGG_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth"
    cached.parent.mkdir(parents=True)
    torch.save(random_vgg_state(), cached)
    assert find_weights(None, download=False) == cached
    assert load_vgg(GATYS.all, load_state(cached)).arch == "vgg16"


def test_relative_losses_do_not_depend_on_the_checkpoints_activation_scale():
    """The shared Caffe VGG16's activations are ~100x torchvision's; the losses must not notice."""
    state = random_vgg_state("vgg16", upto="relu4_3")
    scaled = dict(state)
    scaled["features.0.weight"] = state["features.0.weight"] * 150  # every activation x150 ...
    for key in state:
        if key.endswith(".bias"):
            scaled[key] = state[key] * 150  # ... since each layer's input is x150 too
    a, b = photo(), photo() * 0.5 + 0.25
    results = []
    for weights in (state, scaled):
        vgg = load_vgg(JOHNSON.all, weights)
        feats, targets = vgg(a), style_targets(vgg, b, JOHNSON)
        results.append((style_loss(feats, targets).item(), content_loss(feats["relu2_2"], vgg(b)["relu2_2"]).item()))
    assert results[0] == pytest.approx(results[1], rel=1e-4)
    assert results[0][0] > 0.01 and results[0][1] > 0.01


def test_gram_is_independent_of_image_size_for_a_uniform_texture():
    features = torch.rand(1, 8, 4, 4).repeat(1, 1, 8, 8)
    assert torch.allclose(gram(features), gram(features[..., :16, :16]), atol=1e-6)


def test_laplacian_loss_counts_lost_edges_and_lets_strokes_finer_than_its_blocks_pass():
    """What it is for: a texture finer than the pooling (a 2-px checkerboard) costs nothing, a blur that
    smears the subject's edges costs, and so does an edge moved by a few pixels."""
    x = photo(96, 64)
    y, xx = np.mgrid[0:64, 0:96]
    checker = torch.from_numpy(((y + xx) % 2 * 0.2 - 0.1).astype(np.float32))
    blurred = torch.nn.functional.avg_pool2d(x, 9, stride=1, padding=4, count_include_pad=False)
    assert laplacian_loss(x, x).item() == 0
    assert laplacian_loss(x + checker, x).item() < 1e-6
    assert laplacian_loss(blurred, x).item() > 0.1
    assert laplacian_loss(x.roll(4, -1), x).item() > 0.1


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_losses_decrease_and_the_result_takes_the_paintings_statistics(optimizer):
    vgg = load_vgg(GATYS.all, random_vgg_state())
    content, style = photo(), painting()
    seen = []
    options = NSTOptions(size=96, iterations=30, levels=2, optimizer=optimizer, lr=0.05)
    result = transfer(vgg, content, style, options, on_step=lambda losses, _: seen.append(losses))
    assert [s.step for s in seen] == list(range(1, 31))
    assert seen[-1].total < 0.5 * seen[0].total
    assert seen[14].total > seen[-1].total  # the fine level keeps improving on the coarse one
    targets = style_targets(vgg, style, GATYS)
    before = style_loss(vgg(content), targets).item()
    after = style_loss(vgg(result), targets).item()
    assert after < 0.4 * before, (before, after)
    assert result.shape == content.shape and 0 <= result.min() and result.max() <= 1


def test_noise_init_is_reproducible_with_a_seed():
    vgg = load_vgg(GATYS.all, random_vgg_state())
    options = NSTOptions(size=48, iterations=4, levels=1, init="noise", seed=3)
    a = transfer(vgg, photo(), painting(), options)
    b = transfer(vgg, photo(), painting(), options)
    c = transfer(vgg, photo(), painting(), NSTOptions(size=48, iterations=4, levels=1, init="noise", seed=4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_color_preservation_keeps_the_photos_chroma_and_the_results_luminance():
    photo_, styled = photo(), painting(64)[..., :64, :96].expand(1, 3, 64, 64)
    styled = torch.nn.functional.interpolate(styled, size=(64, 96))
    kept = keep_colors(styled, photo_)
    luma = lambda x: 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]  # noqa: E731
    assert (luma(kept) - luma(styled)).abs().mean() < 0.03  # only out-of-gamut pixels move
    chroma = lambda x: x - luma(x)[:, None]  # noqa: E731
    assert (chroma(kept) - chroma(photo_)).abs().mean() < 0.3 * (chroma(styled) - chroma(photo_)).abs().mean()


@needs_shared
def test_shared_vgg16_paints_chicago_in_la_muses_manner():
    vgg = load_vgg(GATYS.all, load_state(SHARED / "weights" / "vgg16-imagenet-features-to-relu4_3.pth"))
    content = to_tensor(read_rgb(SHARED / "photos" / "chicago.jpg"))
    style = to_tensor(read_rgb(SHARED / "styles" / "la_muse.jpg"))
    seen = []
    options = NSTOptions(size=128, iterations=40, levels=1)
    result = transfer(vgg, content, style, options, on_step=lambda losses, _: seen.append(losses))
    assert seen[-1].total < 0.3 * seen[0].total
    small = torch.nn.functional.interpolate(content, size=result.shape[-2:], mode="area")
    targets = style_targets(vgg, torch.nn.functional.interpolate(style, size=(128, 128), mode="area"), GATYS)
    before, after = style_loss(vgg(small), targets).item(), style_loss(vgg(result), targets).item()
    assert after < 0.2 * before, (before, after)
    # still the same skyline: content loss stays well below that of the painting itself
    painted = content_loss(vgg(result)[GATYS.content], vgg(small)[GATYS.content]).item()
    assert painted < 0.9
