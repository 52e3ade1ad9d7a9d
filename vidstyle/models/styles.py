"""Styles as files: a network checkpoint plus the metadata a user needs to pick and credit it.

A `.vstyle` file is a `torch.save`d dict of plain types and tensors, so it loads with
`torch.load(weights_only=True)`: opening a style someone sent you never runs code from it.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import cast

import numpy as np
import platformdirs
import torch

from vidstyle.checks import check_finite, check_name
from vidstyle.errors import VidstyleError
from vidstyle.files import refuse_existing, write_atomic
from vidstyle.models.transformer import ConvLayer, ResidualBlock, TransformerNet, UpLayer

FORMAT = "vidstyle-style/1"
SUFFIX = ".vstyle"
BUILTIN_DIR = Path(__file__).parent / "builtin_styles"
#: Network widths by name. The lite network has half the channels (a quarter of the work); a style's lite
#: network is the style named NAME-lite.
LITE_SUFFIX = "-lite"


@dataclass
class StyleInfo:
    name: str
    painting: str = ""
    artist: str = ""
    licence: str = ""
    trained: str = ""  # how it was trained: the command, or where it was imported from
    base: int = 32  # first-layer width of the network
    residual_blocks: int = 5
    #: "network": a trained Johnson network; "code": a style code for the arbitrary-style network
    #: (`arbitrary.py`), which needs no network of its own and blends with paintings and other codes
    kind: str = "network"
    path: Path | None = field(default=None, compare=False)


def user_dir() -> Path:
    """Where user styles are written: `$VIDSTYLE_HOME/styles`, else the user's data folder
    (`platformdirs`: ~/.local/share/vidstyle/styles on Linux), which cache cleaners leave alone."""
    home = os.environ.get("VIDSTYLE_HOME")
    if home:
        return Path(home).expanduser() / "styles"
    return Path(platformdirs.user_data_dir("vidstyle", appauthor=False)) / "styles"


def old_user_dir() -> Path | None:
    """Where user styles were kept before they moved to the data folder (the cache folder): still read,
    never written, so styles made then stay installed."""
    if os.environ.get("VIDSTYLE_HOME"):
        return None
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "vidstyle" / "styles"


def save_style(info: StyleInfo, net: TransformerNet, path: Path, half: bool = False) -> Path:
    meta = {k: v for k, v in asdict(info).items() if k != "path"}
    state = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in net.state_dict().items()}
    check_finite(state.items(), f"the network for {path}")  # fp16 too: a weight beyond 65504 becomes infinite
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: torch.save({"format": FORMAT, "meta": meta, "state_dict": state}, tmp))
    return path


def save_code_style(info: StyleInfo, code: np.ndarray, path: Path) -> Path:
    """A code style: the style code (float32, a few hundred numbers) and the same metadata as a network."""
    info.kind = "code"
    meta = {k: v for k, v in asdict(info).items() if k != "path"}
    code = np.asarray(code, np.float32)
    check_finite([("the code", code)], f"the style code for {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {"format": FORMAT, "meta": meta, "state_dict": {"code": torch.from_numpy(code)}}
    write_atomic(path, lambda tmp: torch.save(blob, tmp))
    return path


def load_code(info: StyleInfo, data: bytes | None = None) -> np.ndarray:
    """A code style's code (`arbitrary.CODE_SIZE` floats)."""
    from vidstyle.models.arbitrary import CODE_SIZE

    assert info.path is not None  # a style to load comes from a file (read_info)
    code = _read(info.path, data)["state_dict"].get("code")
    if info.kind != "code" or not isinstance(code, torch.Tensor) or tuple(code.shape) != (CODE_SIZE,):
        raise VidstyleError(f"{info.path}: not a style code for the arbitrary-style network.")
    check_finite([("its code", code)], str(info.path))
    return code.float().numpy()


def _read(path: Path, data: bytes | None = None) -> dict:
    try:
        blob = torch.load(io.BytesIO(data) if data is not None else path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unreadable, truncated, or a pickle that wants to run code
        raise VidstyleError(f"{path} is not a readable vidstyle style file ({type(exc).__name__}).") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT or not isinstance(blob.get("state_dict"), dict):
        raise VidstyleError(f"{path} is not a vidstyle style file (expected format {FORMAT}).")
    return blob


#: What a style file's metadata may hold, and the type of each.
META_TYPES = {
    f.name: (int if f.name in ("base", "residual_blocks") else str) for f in fields(StyleInfo) if f.name != "path"
}


def read_info(path: Path) -> StyleInfo:
    meta = _read(path).get("meta")
    wrong = (
        [k for k in meta if k not in META_TYPES or type(meta[k]) is not META_TYPES[k]]
        if isinstance(meta, dict)
        else ["meta"]
    )
    if wrong or not isinstance(meta, dict) or "name" not in meta:  # (not a dict: wrong is ["meta"])
        raise VidstyleError(f"{path}: the style's metadata is damaged ({', '.join(map(str, wrong)) or 'name'}).")
    info = StyleInfo(**{**meta, "path": path})
    if info.kind not in ("network", "code") or info.base < 1 or info.residual_blocks < 0:
        raise VidstyleError(f"{path}: the style's metadata is damaged (kind, base or residual_blocks).")
    return info


def load_network(info: StyleInfo, data: bytes | None = None) -> TransformerNet:
    """The style's network, from its file, or from the file's bytes (a worker on another node)."""
    if info.kind != "network":
        raise VidstyleError(f"{info.path}: style {info.name!r} is a style code, not a network of its own.")
    assert info.path is not None  # a style to load comes from a file (read_info)
    blob = _read(info.path, data)
    net = TransformerNet(base=info.base, residual_blocks=info.residual_blocks)
    if not all(isinstance(v, torch.Tensor) for v in blob["state_dict"].values()):
        raise VidstyleError(f"{info.path}: the network's weights are not all tensors.")
    check_finite(blob["state_dict"].items(), str(info.path))
    state = {k: v.float() for k, v in blob["state_dict"].items()}
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise VidstyleError(f"{info.path}: weights do not fit the network its metadata describes ({exc}).") from None
    return net.eval()


def installed_styles() -> dict[str, StyleInfo]:
    """Built-ins first, then the user's styles (the old cache folder, then the data folder); a user style of
    the same name wins."""
    found: dict[str, StyleInfo] = {}
    for folder in (BUILTIN_DIR, old_user_dir(), user_dir()):
        for path in sorted(folder.glob(f"*{SUFFIX}")) if folder and folder.is_dir() else []:
            try:
                found[path.stem] = read_info(path)
            except VidstyleError:
                continue  # a broken file in the user's dir must not hide the others
    return found


def resolve_style(name_or_path: str) -> StyleInfo:
    """A style name from the registry, or a path to a .vstyle file."""
    path = Path(name_or_path).expanduser()
    if path.suffix == SUFFIX or path.is_file():
        if not path.is_file():
            raise VidstyleError(f"style file {path} does not exist.")
        return read_info(path)
    styles = installed_styles()
    if name_or_path in styles:
        return styles[name_or_path]
    paintings = [n for n in sorted(styles) if not (n.endswith(LITE_SUFFIX) and n.removesuffix(LITE_SUFFIX) in styles)]
    known = ", ".join(paintings) or "none installed - see `vidstyle styles import --help`"
    raise VidstyleError(f"unknown style {name_or_path!r}; known styles: {known}.")


# --- import of TensorFlow fast-style-transfer networks (deeplearn.js export) -------------------------------


def _tf_layers(net: TransformerNet) -> list[ConvLayer | UpLayer]:
    """The network's conv layers in TensorFlow creation order (the order of Variable, Variable_1, ...)."""
    # nn.Sequential types its items as plain Modules; net.res holds ResidualBlocks
    res = [layer for block in cast("list[ResidualBlock]", net.res) for layer in (block.conv1, block.conv2)]
    return [net.conv1, net.conv2, net.conv3, *res, net.up1, net.up2, net.conv_out]


def import_deeplearnjs(folder: Path, info: StyleInfo) -> TransformerNet:
    """Build a network from `manifest.json` + raw little-endian float32 variables.

    Each layer owns three variables in order: kernel (HWIO; [kh, kw, out, in] for transposed convs),
    instance-norm shift (beta), scale (gamma). Both kernel layouts become PyTorch's by the same transpose.
    """
    manifest_path = folder / "manifest.json"
    if manifest_path.exists() and not manifest_path.is_file():
        raise VidstyleError(f"{manifest_path} is not a regular file.")
    if not manifest_path.is_file():
        raise VidstyleError(
            f"{folder} has no manifest.json: expected a deeplearn.js export of a fast-style-transfer network."
        )
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise VidstyleError(f"{manifest_path} is not JSON ({exc.msg}, line {exc.lineno}).") from None
    except UnicodeDecodeError:
        raise VidstyleError(f"{manifest_path} is not UTF-8 text.") from None
    if not isinstance(manifest, dict):
        raise VidstyleError(f"{manifest_path} is not a deeplearn.js manifest (an object of variables).")

    def variable(i: int) -> np.ndarray:
        key = "Variable" if i == 0 else f"Variable_{i}"
        if key not in manifest:
            raise VidstyleError(
                f"{manifest_path} lacks {key}: not a fast-style-transfer network of the expected layout."
            )
        entry = manifest[key]
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("filename"), str)
            and isinstance(entry.get("shape"), list)
            and all(isinstance(n, int) and not isinstance(n, bool) for n in entry["shape"])
        ):
            raise VidstyleError(f"{manifest_path}: {key} needs a 'filename' and a 'shape' (a list of sizes).")
        if not entry["shape"] or min(entry["shape"]) < 1:
            raise VidstyleError(f"{manifest_path}: {key} has shape {entry['shape']}; sizes must be 1 or more.")
        file = folder / entry["filename"]
        if file.exists() and not file.is_file():  # a FIFO or a device would block or never end
            raise VidstyleError(f"{file} is not a regular file.")
        try:
            data = np.fromfile(file, dtype="<f4")
        except OSError as exc:
            raise VidstyleError(f"cannot read {file} ({exc.strerror}).") from None
        if data.size != int(np.prod(entry["shape"])):
            raise VidstyleError(f"{file} holds {data.size} floats, manifest says {entry['shape']}.")
        check_finite([(key, data)], str(file))
        return data.reshape(entry["shape"])

    first = variable(0)
    if first.ndim != 4:
        raise VidstyleError(
            f"{manifest_path}: Variable has shape {list(first.shape)}; the first layer's is [9, 9, 3, N]."
        )
    base = first.shape[-1]
    net = TransformerNet(base=base, residual_blocks=5)
    layers = _tf_layers(net)
    if len(manifest) != 3 * len(layers):
        raise VidstyleError(f"{manifest_path} has {len(manifest)} variables; the network needs {3 * len(layers)}.")
    with torch.no_grad():
        for n, layer in enumerate(layers):
            kernel, shift, scale = (torch.from_numpy(variable(3 * n + j).copy()) for j in range(3))
            weight = kernel.permute(3, 2, 0, 1)
            if weight.shape != layer.conv.weight.shape:
                raise VidstyleError(f"variable {3 * n} has shape {list(kernel.shape)}, which does not fit layer {n}.")
            layer.conv.weight.copy_(weight)
            layer.norm.bias.copy_(shift)
            layer.norm.weight.copy_(scale)
    info.base = base
    return net.eval()


def describe_style(name: str) -> dict[str, object]:
    """Everything a style file says about itself (`vidstyle styles show`); "arbitrary" is the shipped
    arbitrary-style network unless a user style took that name."""
    from dataclasses import asdict

    from vidstyle.models import arbitrary

    if name == arbitrary.ArbitraryInfo.name and name not in installed_styles():
        notice = arbitrary.WEIGHTS.parent / "NOTICE"
        return {**asdict(arbitrary.read_info()), "file": arbitrary.WEIGHTS, "notice": notice}
    return asdict(resolve_style(name))


def import_style(folder: Path, info: StyleInfo, output: Path | None = None, overwrite: bool = False) -> Path:
    """Convert a TensorFlow fast-style-transfer export into a style file: `output`, else the user style
    folder under the style's name; an existing file is kept unless `overwrite`."""
    check_name(info.name)
    target = output or user_dir() / f"{info.name}{SUFFIX}"
    refuse_existing(target, overwrite)
    info.trained = info.trained or f"imported from TensorFlow fast-style-transfer export {Path(folder).resolve()}"
    net = import_deeplearnjs(folder, info)
    return save_style(info, net, target)
