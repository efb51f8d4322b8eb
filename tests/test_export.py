"""Export to ONNX / TorchScript with dynamic sizes, parity with eager, and the alternative backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fast_style.errors import InvalidValueError
from fast_style.infer.export import export_model, format_from_path, load_exported, parity
from fast_style.infer.stylize import stylize
from fast_style.infer.stylize_cli import main as stylize_main
from fast_style.models import ArbitraryStyleNet, TransformerNet
from scripts.export import main as export_main
from tests.helpers import export_once, make_tiny_model


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[TransformerNet, Path]:
    """The tiny test network (``tiny_model``'s) exported, always by the exporter (the tests below are about the
    export); tests that export it again through a backend reuse it."""
    model = make_tiny_model()
    return model, export_once(model, tmp_path_factory.mktemp("onnx") / "tiny.onnx", "onnx", reuse=False)


def test_onnx_is_one_self_contained_file(onnx_file: tuple[TransformerNet, Path]) -> None:
    # A .data file of weights beside it would be named after the temporary file of an atomic
    # export (export_checked) and lost at the rename.
    _, path = onnx_file
    assert [p.name for p in path.parent.iterdir()] == ["tiny.onnx"]


@pytest.mark.parametrize("shape", [(1, 3, 37, 45), (3, 3, 64, 33), (1, 3, 5, 9), (1, 3, 120, 81)])
def test_onnx_reproduces_eager_at_any_size(onnx_file: tuple[TransformerNet, Path], shape: tuple[int, ...]) -> None:
    model, path = onnx_file
    images = torch.rand(*shape, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        expected = model(images)
    got = load_exported(path)(images)
    assert got.shape == expected.shape
    assert (got - expected).abs().max() <= 1e-4


def test_torchscript_reproduces_eager_at_any_size(tmp_path: Path, tiny_model: TransformerNet) -> None:
    path = export_model(tiny_model, tmp_path / "tiny.pt", "torchscript")
    assert parity(tiny_model, path) <= 1e-4
    scripted = load_exported(path)
    for shape in [(2, 3, 51, 23), (1, 3, 6, 5)]:
        images = torch.rand(*shape)
        with torch.no_grad():
            assert (scripted(images) - tiny_model(images)).abs().max() <= 1e-4


def test_parity_detects_a_different_model(onnx_file: tuple[TransformerNet, Path]) -> None:
    _, path = onnx_file
    torch.manual_seed(99)
    other = TransformerNet(width=4, num_residual_blocks=1).eval()
    assert parity(other, path) > 1e-3


def test_export_script(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "m.pt"
    assert export_main(["--ckpt", str(tiny_checkpoint), "--format", "torchscript", "--output", str(out)]) == 0
    assert "ok" in capsys.readouterr().out and out.is_file()
    assert export_main(["--ckpt", str(tiny_checkpoint), "--format", "torchscript", "--output", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_format_from_path() -> None:
    assert format_from_path("a.onnx") == "onnx" and format_from_path("a.pt") == "torchscript"
    with pytest.raises(ValueError, match="'a.zip'"):
        format_from_path("a.zip")
    with pytest.raises(ValueError, match="unknown export format 'tflite'"):
        export_model(TransformerNet(width=2, num_residual_blocks=0), "x.tflite", "tflite")


def _photo(tmp_path: Path) -> Path:
    source = tmp_path / "in" / "photo.png"
    source.parent.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (27, 35, 3), dtype=np.uint8)).save(source)
    return source


def _backend_vs_torch(checkpoint: Path, source: Path, tmp_path: Path, backend: str) -> int:
    """Stylise ``source`` with the default torch backend and with ``backend``; the largest 8-bit difference."""
    outputs = {name: tmp_path / f"{name}.png" for name in ("torch", backend)}
    base = ["--ckpt", str(checkpoint), "--input", str(source), "--output"]
    assert stylize_main([*base, str(outputs["torch"])]) == 0
    assert stylize_main([*base, str(outputs[backend]), "--backend", backend]) == 0
    torch_out, other = (np.asarray(Image.open(outputs[name]), dtype=np.int16) for name in ("torch", backend))
    return int(np.abs(other - torch_out).max())


def test_cli_onnxruntime_backend_matches_torch(tiny_checkpoint: Path, tmp_path: Path,
                                               onnx_file: tuple[TransformerNet, Path], reused_exports: None) -> None:
    source = _photo(tmp_path)
    assert _backend_vs_torch(tiny_checkpoint, source, tmp_path, "onnxruntime") <= 1
    # An exported .onnx file can be used directly.
    model, path = onnx_file
    assert stylize_main(["--ckpt", str(path), "--input", str(source), "--output", str(tmp_path / "direct.png"),
                         "--backend", "onnxruntime"]) == 0


def test_compiled_backend_matches_eager(tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Dynamo's graph capture with dynamic shapes, without inductor's C++ build
    # (the slow test below has it).
    compiled, compile_ = [], torch.compile
    monkeypatch.setattr(torch, "compile", lambda model, **kw: compiled.append(kw) or compile_(model, backend="eager", **kw))
    assert _backend_vs_torch(tiny_checkpoint, _photo(tmp_path), tmp_path, "compiled") <= 1
    assert compiled == [{"dynamic": True}]


@pytest.mark.slow  # torch.compile builds C++ kernels: about a minute on 2 cores
def test_compiled_backend_with_inductor_matches_eager(tiny_checkpoint: Path, tmp_path: Path) -> None:
    assert _backend_vs_torch(tiny_checkpoint, _photo(tmp_path), tmp_path, "compiled") <= 1


def test_stylize_accepts_an_exported_runner(onnx_file: tuple[TransformerNet, Path]) -> None:
    model, path = onnx_file
    images = torch.rand(2, 3, 19, 22)
    assert (stylize(load_exported(path), images) - stylize(model, images)).abs().max() <= 1e-4
    with pytest.raises(ValueError, match="needs a TransformerNet"):
        stylize(load_exported(path), images, tile=32)


@pytest.fixture(scope="module")
def folded_arbitrary() -> TransformerNet:
    """A tiny arbitrary-style network folded for one embedding: norm-free contract layers, a head with a norm."""
    torch.manual_seed(3)
    net = ArbitraryStyleNet(width=4, num_residual_blocks=1, embedding_dim=5).eval()
    for norm in net.transformer.embedding_norms():
        for linear in (norm.gamma, norm.beta):
            torch.nn.init.normal_(linear.weight, std=0.3)
            torch.nn.init.normal_(linear.bias, mean=1.0, std=0.3)
    return net.fold(torch.randn(5)).eval()


@pytest.mark.parametrize("fmt,suffix", [("onnx", ".onnx"), ("torchscript", ".pt")])
def test_a_folded_arbitrary_network_exports_with_parity(tmp_path: Path, folded_arbitrary: TransformerNet, fmt: str,
                                                        suffix: str) -> None:
    path = export_model(folded_arbitrary, tmp_path / f"folded{suffix}", fmt)
    assert parity(folded_arbitrary, path) <= 1e-4
    torch.manual_seed(98)
    other = ArbitraryStyleNet(width=4, num_residual_blocks=1, embedding_dim=5).fold(torch.randn(5)).eval()
    assert parity(other, path) > 1e-3  # the check can fail


def test_an_unfolded_network_is_refused_with_the_way_out(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match="fold it first"):
        export_model(ArbitraryStyleNet(width=4, num_residual_blocks=1, embedding_dim=5), tmp_path / "a.onnx", "onnx")


def test_the_onnx_output_is_named_stylized_and_files_with_the_old_name_still_run(
        onnx_file: tuple[TransformerNet, Path], tmp_path: Path) -> None:
    import onnx

    from fast_style.infer.export import OnnxRuntimeModel

    model, path = onnx_file
    graph = onnx.load(str(path))
    assert [output.name for output in graph.graph.output] == ["stylized"]
    # A file exported before the rename: its output is called "stylised".
    for node in graph.graph.node:
        node.output[:] = ["stylised" if name == "stylized" else name for name in node.output]
    graph.graph.output[0].name = "stylised"
    old = tmp_path / "old.onnx"
    onnx.save(graph, str(old))
    images = torch.rand(1, 3, 21, 26)
    assert torch.allclose(OnnxRuntimeModel(old)(images), OnnxRuntimeModel(path)(images))
