"""Still images in and out: upright RGB arrays, and writes that never leave half a file behind."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from vidstyle.errors import VidstyleError
from vidstyle.files import write_atomic

WRITABLE = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


def read_rgb(path: str | Path) -> np.ndarray:
    """HxWx3 uint8, turned upright by its EXIF orientation (phone photos)."""
    path = Path(path)
    if not path.is_file():
        raise VidstyleError(f"{path} not found.")
    try:
        with Image.open(path) as image:
            return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise VidstyleError(f"{path} is not an image Pillow can read ({exc}).") from None


def check_writable(path: Path) -> None:
    if path.suffix.lower() not in WRITABLE:
        raise VidstyleError(
            f"cannot write {path.suffix or 'extensionless'} images; use one of {', '.join(sorted(WRITABLE))}."
        )
    if not path.parent.is_dir():
        raise VidstyleError(f"output folder {path.parent} does not exist.")


def write_rgb(path: Path, image: np.ndarray) -> None:
    """Write via a temporary file in the same folder, renamed into place when complete."""
    check_writable(path)
    write_atomic(path, lambda tmp: Image.fromarray(image).save(tmp))


def to_tensor(image: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """HxWx3 uint8 -> 1x3xHxW float in [0, 1]."""
    return torch.tensor(image, device=device).permute(2, 0, 1)[None].float() / 255


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """1x3xHxW float in [0, 1] -> HxWx3 uint8."""
    return (image[0].detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def list_photos(folder: Path, exclude: list[str]) -> list[Path]:
    """Photos in `folder`, sorted, without names matching any `exclude` pattern (keep test photos out)."""
    if not folder.is_dir():
        raise VidstyleError(f"{folder} is not a folder of photos.")
    photos = sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in PHOTO_SUFFIXES and not any(fnmatch.fnmatch(p.name, pattern) for pattern in exclude)
    )
    if not photos:
        raise VidstyleError(f"{folder} holds no photos ({', '.join(sorted(PHOTO_SUFFIXES))}) to train on.")
    return photos
