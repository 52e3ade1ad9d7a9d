import pytest
import torch

from vidstyle.models.transformer import EDGE_MARGIN, TransformerNet, stylize, work_size

from .helpers import tiny_network


def test_layer_shapes_match_the_paper():
    net = TransformerNet()
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items() if k.endswith("conv.weight")}
    assert shapes["conv1.conv.weight"] == (32, 3, 9, 9)
    assert shapes["conv2.conv.weight"] == (64, 32, 3, 3)
    assert shapes["conv3.conv.weight"] == (128, 64, 3, 3)
    assert len([k for k in shapes if k.startswith("res.")]) == 10
    assert shapes["up1.conv.weight"] == (128, 64, 3, 3)  # transposed: (in, out, kh, kw)
    assert shapes["up2.conv.weight"] == (64, 32, 3, 3)
    assert shapes["conv_out.conv.weight"] == (3, 32, 9, 9)
    assert sum(p.numel() for p in net.parameters()) == pytest.approx(1.68e6, rel=0.01)


@pytest.mark.parametrize("h,w", [(4, 4), (7, 9), (33, 50), (120, 161), (121, 160)])
def test_any_frame_size_comes_back_the_same_size(h, w):
    frames = torch.randint(0, 256, (2, h, w, 3), dtype=torch.uint8)
    with torch.inference_mode():
        out = stylize(tiny_network(), frames)
    assert out.shape == frames.shape and out.dtype == torch.uint8


def test_output_is_the_network_on_the_reflected_frame_cropped_back():
    """No off-by-one shift: the crop takes exactly the frame's own pixels."""
    net = tiny_network()
    frames = torch.randint(0, 256, (1, 40, 60, 3), dtype=torch.uint8)
    x = frames.permute(0, 3, 1, 2).float()
    m = EDGE_MARGIN
    padded = torch.nn.functional.pad(x, (m, m, m, m), mode="reflect")  # 104 x 124: already multiples of 4
    with torch.inference_mode():
        expected = net(padded)[..., m : m + 40, m : m + 60].clamp(0, 255).round().to(torch.uint8)
        got = stylize(net, frames)
    assert torch.equal(got.permute(0, 3, 1, 2), expected)


def test_output_is_the_last_layer_through_tanh_scaled_to_pixels():
    net, seen = tiny_network(), []
    net.conv_out.register_forward_hook(lambda module, inputs, output: seen.append(output))
    with torch.inference_mode():
        y = net(torch.rand(1, 3, 32, 32) * 255)
    torch.testing.assert_close(y, torch.tanh(seen[0]) * 150 + 127.5)  # pixels in [-22.5, 277.5], then clipped
    assert y.std() > 1  # not a constant


def test_work_size_keeps_aspect_and_never_upscales():
    assert work_size(1080, 1920, 360) == (202, 360)
    assert work_size(480, 640, 1000) is None
    assert work_size(1920, 1080, 360) == (360, 202)
