"""VGG feature layers for the perceptual losses, defined here so torchvision is never imported.

Layer indices and state-dict keys (`features.N.weight`) match torchvision's `vgg16`/`vgg19`, so their
published ImageNet checkpoints load unchanged, and so does any partial checkpoint with the same keys (the
shared Caffe VGG16, conv1_1 to conv4_3). The network is cut after the deepest layer a loss asks for.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from vidstyle.errors import VidstyleError
from vidstyle.options import VGG_WEIGHTS_ENV

# torchvision's `cfgs["D"]` and `cfgs["E"]`: channels per 3x3 conv, "M" a 2x2 max-pool
CONFIGS: dict[str, list[int | Literal["M"]]] = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
#: torchvision's published ImageNet checkpoints, tried in this order in the torch.hub cache.
CHECKPOINTS = {
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
}
ENV = VGG_WEIGHTS_ENV
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def layer_names(arch: str) -> list[str]:
    """Names by torchvision index: conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, ..."""
    names, block, n = [], 1, 0
    for item in CONFIGS[arch]:
        if item == "M":
            names.append(f"pool{block}")
            block, n = block + 1, 0
        else:
            n += 1
            names += [f"conv{block}_{n}", f"relu{block}_{n}"]
    return names


class VGGFeatures(nn.Module):
    """RGB in [0, 1] (NCHW) -> {layer name: activation} for the requested layers.

    ImageNet normalisation happens inside, so callers never repeat it. Parameters are frozen: the losses
    optimise images or a style network, never VGG.
    """

    mean: torch.Tensor  # buffers, registered in __init__
    std: torch.Tensor

    def __init__(self, arch: str, layers: list[str]):
        super().__init__()
        names = layer_names(arch)
        unknown = [name for name in layers if name not in names]
        if unknown:
            raise VidstyleError(f"{arch} has no layer {', '.join(unknown)}; layers are named like relu3_1.")
        last = max(names.index(name) for name in layers)
        modules: list[nn.Module] = []
        channels = 3
        for item in CONFIGS[arch]:
            if item == "M":
                modules.append(nn.MaxPool2d(2, 2))
            else:
                modules += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU(inplace=False)]
                channels = item
        self.arch = arch
        self.features = nn.Sequential(*modules[: last + 1])
        self.names = names[: last + 1]
        self.wanted = set(layers)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {}
        x = (x - self.mean) / self.std
        for name, module in zip(self.names, self.features):
            x = module(x)
            if name in self.wanted:
                out[name] = x
        return out


def infer_arch(state: dict[str, torch.Tensor]) -> str:
    """vgg16 or vgg19 from which conv indices a checkpoint holds (conv3_4 is index 16 only in vgg19)."""
    convs = {int(k.split(".")[1]) for k in state if k.startswith("features.") and k.endswith(".weight")}
    if not convs:
        raise VidstyleError(
            "the VGG weights hold no `features.N.weight` tensors; use torchvision's vgg16 or vgg19 ImageNet checkpoint."
        )
    return "vgg19" if 16 in convs else "vgg16"


def find_weights(explicit: str | Path | None = None, download: bool = True) -> Path:
    """The checkpoint to use: an explicit file, else $VIDSTYLE_VGG_WEIGHTS, else torchvision's VGG19 (then
    VGG16) in the torch.hub cache ($TORCH_HOME), else a download into that cache when online."""
    chosen = explicit or os.environ.get(ENV)
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise VidstyleError(
                f"VGG weights {path} not found; download {CHECKPOINTS['vgg19']} there "
                f"(or pass another file with --vgg-weights / {ENV})."
            )
        return path
    cache = Path(torch.hub.get_dir()) / "checkpoints"
    for url in CHECKPOINTS.values():
        path = cache / url.rsplit("/", 1)[1]
        if path.is_file():
            return path
    url = CHECKPOINTS["vgg19"]
    if download:
        try:
            torch.hub.load_state_dict_from_url(url, progress=True, check_hash=True, map_location="cpu")
            return cache / url.rsplit("/", 1)[1]
        except Exception:  # offline, proxy, disk full: the message below says what to do by hand
            pass
    raise VidstyleError(
        f"VGG weights not found: download {url} into {cache}/ (torch.hub does this on a "
        f"connected machine), or pass a torchvision-layout VGG16/VGG19 file with --vgg-weights "
        f"or {ENV}."
    )


def load_state(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise VidstyleError(
            f"cannot read VGG weights {path} ({type(exc).__name__}); download a fresh copy of {CHECKPOINTS['vgg19']}."
        ) from None
    if not isinstance(state, dict):
        raise VidstyleError(f"{path} is not a state dict; use torchvision's VGG ImageNet checkpoint.")
    return state


def load_vgg(layers: list[str], state: dict[str, torch.Tensor]) -> VGGFeatures:
    """Build the layers up to the deepest one asked for and load them from a torchvision-layout state dict."""
    arch = infer_arch(state)
    net = VGGFeatures(arch, layers)
    needed = {k for k in net.state_dict()}
    feature_state = {k: v for k, v in state.items() if k in needed}
    missing = sorted(needed - feature_state.keys(), key=lambda k: int(k.split(".")[1]))
    if missing:
        have = max((int(k.split(".")[1]) for k in feature_state), default=-1)
        reached = net.names[have + 1] if have >= 0 else "nothing"
        raise VidstyleError(
            f"these {arch} weights stop at {reached}, but the losses need "
            f"{net.names[-1]}; choose shallower layers or full ImageNet weights."
        )
    try:
        net.load_state_dict(feature_state)
    except RuntimeError as exc:
        raise VidstyleError(f"VGG weights do not fit {arch}: {str(exc).splitlines()[1].strip()}") from None
    return net.eval()


def perceptual_vgg(layers: list[str], weights: str | Path | None = None) -> VGGFeatures:
    """The VGG the losses need, from `weights`, else `$VIDSTYLE_VGG_WEIGHTS` or torchvision's cache
    (`find_weights`): the one chain every command that measures or optimises style goes through."""
    return load_vgg(layers, load_state(find_weights(weights)))
