"""An independent NumPy rendering of TensorFlow's ops as fast-style-transfer used them.

Written from TensorFlow's documented semantics, sharing no code with vidstyle, so that agreement between
the two proves the importer and the PyTorch layers (padding, transposed-conv alignment, norm) are right.
"""

import json
from pathlib import Path

import numpy as np


def load_variables(folder: Path) -> list[np.ndarray]:
    manifest = json.loads((folder / "manifest.json").read_text())
    keys = ["Variable"] + [f"Variable_{i}" for i in range(1, len(manifest))]
    return [np.fromfile(folder / manifest[k]["filename"], "<f4").reshape(manifest[k]["shape"]) for k in keys]


def conv_same(x: np.ndarray, w: np.ndarray, stride: int) -> np.ndarray:
    """x: HWC, w: HWIO. TF SAME: out = ceil(in/stride), extra padding goes bottom/right."""
    h, wd, _ = x.shape
    k = w.shape[0]
    oh, ow = -(-h // stride), -(-wd // stride)
    ph, pw = max((oh - 1) * stride + k - h, 0), max((ow - 1) * stride + k - wd, 0)
    xp = np.pad(x, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    out = np.zeros((oh, ow, w.shape[3]), np.float64)
    for dy in range(k):
        for dx in range(k):
            patch = xp[dy : dy + stride * oh : stride, dx : dx + stride * ow : stride]
            out += patch @ w[dy, dx]
    return out


def conv_transpose_same(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x: HWC, w: [kh, kw, out, in]; stride 2, output 2H x 2W: the gradient of conv_same (pad top 0)."""
    h, wd, _ = x.shape
    k = w.shape[0]
    full = np.zeros((2 * h + k, 2 * wd + k, w.shape[2]), np.float64)
    for dy in range(k):
        for dx in range(k):
            full[dy : dy + 2 * h : 2, dx : dx + 2 * wd : 2] += x @ w[dy, dx].T
    return full[: 2 * h, : 2 * wd]


def instance_norm(x: np.ndarray, shift: np.ndarray, scale: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=(0, 1))
    var = x.var(axis=(0, 1))
    return scale * (x - mean) / np.sqrt(var + 1e-3) + shift


def network(image: np.ndarray, v: list[np.ndarray]) -> np.ndarray:
    """image: HWC float RGB 0-255 -> stylised, clipped to 0-255."""
    relu = lambda a: np.maximum(a, 0)  # noqa: E731
    i = 0

    def layer(x, stride=1, transpose=False, act=True):
        nonlocal i
        kernel, shift, scale = v[i], v[i + 1], v[i + 2]
        i += 3
        y = conv_transpose_same(x, kernel) if transpose else conv_same(x, kernel, stride)
        y = instance_norm(y, shift, scale)
        return relu(y) if act else y

    x = layer(image.astype(np.float64))
    x = layer(x, 2)
    x = layer(x, 2)
    for _ in range(5):
        x = x + layer(layer(x), act=False)
    x = layer(x, transpose=True)
    x = layer(x, transpose=True)
    x = layer(x, act=False)
    return np.clip(np.tanh(x) * 150 + 127.5, 0, 255)
