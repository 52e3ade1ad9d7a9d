"""Which torch device a command runs on. Apart from render so that training and evaluation, which never
touch video, import no video code (a GPU training node needs torch and Pillow, not PyAV)."""

from __future__ import annotations

import torch

from vidstyle.errors import VidstyleError


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise VidstyleError("--device cuda asked for, but PyTorch sees no CUDA GPU; use --device cpu or auto.")
    if device != "cpu" and not device.startswith("cuda"):
        raise VidstyleError(f"unknown device {device!r}; use auto, cpu or cuda.")
    return torch.device(device)
