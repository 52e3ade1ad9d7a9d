"""Still images in and out: upright RGB arrays, and writes that never leave half a file behind."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from vidstyle.errors import VidstyleError
from vidstyle.files import write_atomic

WRITABLE = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


def read_rgb(path: str | Path) -> np.ndarray:
    """HxWx3 uint8, turned upright by its EXIF orientation (phone photos).

    Every picture Pillow reads, else OpenCV (Radiance .hdr, .pfm): 16-bit values are scaled by 1/257 (not
    clipped, which made a 16-bit grey photo white), floats are 0 (black) to 1 (white), transparent pixels are
    shown over white as image viewers show them. A picture that cannot be made 8-bit RGB so, e.g. a float
    image with values outside 0..1, is refused in one line."""
    path = Path(path)
    if not path.is_file():
        raise VidstyleError(f"{path} not found." if not path.exists() else f"{path} is not a regular file.")
    try:
        with Image.open(path) as image:
            return _pillow_rgb(ImageOps.exif_transpose(image), path)
    except UnidentifiedImageError:
        return _opencv_rgb(path)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise VidstyleError(f"{path} is not an image Pillow can read ({exc}).") from None


def _pillow_rgb(image: Image.Image, path: Path) -> np.ndarray:
    if image.mode.startswith("I") or image.mode == "F":  # one channel of 16 or 32 bits
        return _eight_bit(np.asarray(image), path)
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"))
        return _over_white(rgba[..., :3], rgba[..., 3])
    return np.asarray(image.convert("RGB"))


def _opencv_rgb(path: Path) -> np.ndarray:
    """What Pillow does not read and OpenCV does: BGR(A) arrays of 8, 16 or 32 bits."""
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise VidstyleError(f"{path} is not an image Pillow or OpenCV can read.")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim == 2:
        return _eight_bit(pixels, path)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise VidstyleError(f"{path}: a picture with {pixels.shape[-1]} channels is not RGB; save it as RGB.")
    rgb = _eight_bit(pixels[..., 2::-1], path, grey=False)
    if pixels.shape[2] == 4:
        return _over_white(rgb, _eight_bit(pixels[..., 3], path, grey=False))
    return rgb


def _eight_bit(pixels: np.ndarray, path: Path, grey: bool = True) -> np.ndarray:
    """Pixels of any depth as uint8 (HxWx3 when `grey`): 8 bits as they are, integers up to 16 bits / 257
    rounded, floats 0..1 x 255 rounded."""
    if pixels.dtype.kind == "f":
        if not np.isfinite(pixels).all() or pixels.size and (pixels.min() < 0 or pixels.max() > 1):
            raise VidstyleError(
                f"{path}: a floating-point picture must hold values from 0 (black) to 1 (white); "
                "save it as an 8 or 16-bit image."
            )
        out = np.rint(pixels.astype(np.float64) * 255).astype(np.uint8)
    elif pixels.dtype == np.uint8:
        out = pixels
    elif pixels.dtype.kind in "iu" and (not pixels.size or (pixels.min() >= 0 and pixels.max() <= 65535)):
        out = ((pixels.astype(np.int64) * 2 + 257) // 514).astype(np.uint8)  # round(x / 257)
    else:
        raise VidstyleError(f"{path}: pixels of type {pixels.dtype} are not an 8 or 16-bit picture.")
    return np.repeat(out[..., None], 3, axis=2) if grey else np.ascontiguousarray(out)


def _over_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.uint32)[..., None]
    return ((rgb.astype(np.uint32) * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)


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
