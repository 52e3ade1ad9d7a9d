from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vidstyle.media.synth import ClipSpec, make_clip
from vidstyle.models.styles import StyleInfo, save_style
from vidstyle.models.transformer import TransformerNet

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "assets"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(),
    reason=f"real assets not found at {SHARED} (weights, reference networks, videos are not part of the repo)",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Each test gets an empty user style directory."""
    monkeypatch.setenv("VIDSTYLE_HOME", str(tmp_path_factory.mktemp("home")))


def tiny_network(seed: int = 0) -> TransformerNet:
    """A random 4-channel network that behaves like a trained one: it remaps colours and contrast with
    smooth kernels (random weights would paint pixel-level chroma noise that no 4:2:0 video can hold)."""
    torch.manual_seed(seed)
    net = TransformerNet(base=4, residual_blocks=1)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                k = module.kernel_size[0]
                if isinstance(module, torch.nn.ConvTranspose2d):
                    line = torch.tensor([0.5, 1.0, 0.5])  # stride-2 transposed: exact bilinear upsampling
                else:
                    line = torch.exp(-((torch.arange(k) - k // 2) ** 2) / (k / 2))
                spatial = torch.outer(line, line) / torch.outer(line, line).sum()
                mix = torch.randn(module.weight.shape[:2])
                module.weight.copy_(mix[:, :, None, None] * spatial)
            if isinstance(module, torch.nn.InstanceNorm2d):
                module.weight.uniform_(0.3, 1.0)
                module.bias.uniform_(-0.3, 0.3)
    return net.eval()


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
