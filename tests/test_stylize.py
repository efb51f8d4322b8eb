"""The inference API: load_model (slim and Lightning checkpoints) and stylize, without Lightning/Hydra."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from fast_style.checkpoint import CheckpointError, read_checkpoint
from fast_style.errors import InputFileError
from fast_style.infer.stylize import load_model, luminance, stylize
from fast_style.models import TransformerNet
from tests.helpers import REPO_ROOT, TINY_MODEL_ARGS


def _lightning_like(tmp_path: Path, model: TransformerNet) -> Path:
    """A checkpoint shaped like StyleTransferModule's: ``model.*`` weights, hyper_parameters."""
    path = tmp_path / "epoch=0-step=10.ckpt"
    payload = {
        "epoch": 0,
        "global_step": 10,
        "pytorch-lightning_version": "2.6.0",
        "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
        "hyper_parameters": {
            "style_name": "tiny",
            "style_image": Path("styles/starry_night.jpg"),  # Lightning may keep a Path here
            "model": dict(TINY_MODEL_ARGS),
            "lr": 1e-3,
        },
        "optimizer_states": [],
    }
    torch.save(payload, path)
    return path


def test_round_trip_slim_checkpoint(tiny_checkpoint: Path, tiny_model: TransformerNet) -> None:
    model = load_model(tiny_checkpoint, device="cpu")
    assert not model.training
    assert model.style_name == "tiny"
    images = torch.rand(2, 3, 23, 31)
    with torch.no_grad():
        expected = tiny_model(images)
    assert torch.allclose(stylize(model, images), expected, atol=1e-6)


def test_round_trip_lightning_checkpoint(tmp_path: Path, tiny_model: TransformerNet) -> None:
    model = load_model(_lightning_like(tmp_path, tiny_model))
    assert model.style_name == "tiny"
    images = torch.rand(1, 3, 17, 19)
    with torch.no_grad():
        assert torch.allclose(model.cpu()(images), tiny_model(images), atol=1e-6)


def test_not_a_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.pth"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable style checkpoint"):
        load_model(text)
    other = tmp_path / "other.pth"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(CheckpointError, match="found \\['weights'\\]"):
        load_model(other)
    with pytest.raises(InputFileError, match="does not exist"):
        load_model(tmp_path / "missing.pth")


def test_checkpoint_with_code_is_refused(tmp_path: Path, tiny_model: TransformerNet) -> None:
    """weights_only=True: a pickled nn.Module (arbitrary code) is not loaded."""
    path = tmp_path / "module.pth"
    torch.save({"model_args": dict(TINY_MODEL_ARGS), "state_dict": tiny_model}, path)
    with pytest.raises(CheckpointError, match="not a readable style checkpoint"):
        read_checkpoint(path)


def test_mismatched_weights_are_a_clear_error(tmp_path: Path, tiny_model: TransformerNet) -> None:
    path = tmp_path / "bad.pth"
    torch.save({"model_args": {**TINY_MODEL_ARGS, "width": 8}, "state_dict": tiny_model.state_dict()}, path)
    with pytest.raises(CheckpointError, match="does not hold a network matching"):
        load_model(path)


def test_stylize_shapes_range_and_no_mutation(tiny_model: TransformerNet) -> None:
    images = torch.rand(2, 3, 21, 34)
    before = images.clone()
    out = stylize(tiny_model, images)
    assert out.shape == images.shape and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1
    assert torch.equal(images, before)
    single = stylize(tiny_model, images[0])
    assert single.shape == (3, 21, 34)
    assert torch.allclose(single, out[0], atol=1e-6)


def test_strength_blends_with_the_photo(tiny_model: TransformerNet) -> None:
    images = torch.rand(1, 3, 16, 16)
    full = stylize(tiny_model, images)
    assert torch.equal(stylize(tiny_model, images, strength=0.0), images)
    half = stylize(tiny_model, images, strength=0.5)
    assert torch.allclose(half, 0.5 * images + 0.5 * full, atol=1e-6)


def test_preserve_color_keeps_chroma_and_takes_style_luma(tiny_model: TransformerNet) -> None:
    images = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 0.2 + 0.4
    styled = stylize(tiny_model, images)
    kept = stylize(tiny_model, images, preserve_color=True)
    inside = ((kept > 0) & (kept < 1)).all(dim=1, keepdim=True)  # pixels the [0, 1] clamp left alone
    assert inside.float().mean() > 0.9
    # Colour differences (chroma) are the photo's; brightness is the stylised one's.
    chroma_error = (kept - luminance(kept)) - (images - luminance(images))
    assert chroma_error.abs().mul(inside).max() < 1e-5
    assert (luminance(kept) - luminance(styled)).abs().mul(inside).max() < 1e-5
    assert not torch.allclose(kept, styled, atol=1e-3)


def test_every_tile_setting_gives_the_module_output(tiny_model: TransformerNet) -> None:
    """Default (fast engine on CPU), explicit tiles and tile=0 (the module's forward) agree."""
    images = torch.rand(1, 3, 45, 38)
    with torch.no_grad():
        expected = tiny_model(images)
    for strip_size in (None, 0, 16, 40):
        assert torch.allclose(stylize(tiny_model, images, strip_size=strip_size), expected, atol=1e-5), strip_size


@pytest.mark.parametrize("strip_size", [8, -1, 2.5])
def test_bad_strip_size_is_rejected_before_any_work(tiny_model: TransformerNet, strip_size: object) -> None:
    with pytest.raises(ValueError, match="strip_size must be an integer of at least 16 pixels"):
        stylize(tiny_model, torch.rand(1, 3, 20, 20), strip_size=strip_size)  # type: ignore[arg-type]


def test_tile_is_the_deprecated_name_of_strip_size(tiny_model: TransformerNet) -> None:
    from fast_style.deprecated import DeprecatedNameWarning

    images = torch.rand(1, 3, 24, 20)
    with pytest.warns(DeprecatedNameWarning, match="tile= is deprecated .*use strip_size="):
        old = stylize(tiny_model, images, tile=16)
    assert torch.equal(old, stylize(tiny_model, images, strip_size=16))
    with pytest.warns(DeprecatedNameWarning), pytest.raises(ValueError, match="strip_size must be"):
        stylize(tiny_model, images, tile=8)
    with pytest.raises(ValueError, match="give strip_size= only"):
        stylize(tiny_model, images, tile=16, strip_size=16)


def test_bf16_on_cpu_runs_and_fp16_is_refused(tiny_model: TransformerNet) -> None:
    images = torch.rand(1, 3, 16, 16)
    out = stylize(tiny_model, images, precision="bf16")
    assert out.dtype == torch.float32
    assert (out - stylize(tiny_model, images)).abs().max() < 0.1
    with pytest.raises(ValueError, match="fp16"):
        stylize(tiny_model, images, precision="fp16")
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        stylize(tiny_model, images, precision="fp8")


@pytest.mark.parametrize(
    ("kwargs", "shape", "match"),
    [
        ({"strength": 1.5}, (1, 3, 8, 8), "strength"),
        ({}, (1, 4, 8, 8), "expected \\(B, 3, H, W\\)"),
        ({}, (1, 3, 4, 8), "at least 5"),
    ],
)
def test_bad_arguments(tiny_model: TransformerNet, kwargs: dict, shape: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        stylize(tiny_model, torch.rand(*shape), **kwargs)


def test_inference_and_baseline_paths_never_import_lightning_or_hydra(tiny_checkpoint: Path) -> None:
    code = textwrap.dedent(
        f"""
        import importlib, pkgutil, sys, torch
        import fast_style.baseline, fast_style.infer
        from fast_style.infer.stylize import load_model, stylize
        # Every module under infer/ and baseline/ (the web app's Gradio and PyAV included).
        for package in (fast_style.infer, fast_style.baseline):
            for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
                importlib.import_module(module.name)
        model = load_model({str(tiny_checkpoint)!r})
        out = stylize(model, torch.rand(1, 3, 12, 12), tile=16, preserve_color=True, strength=0.5)
        assert out.shape == (1, 3, 12, 12)
        bad = sorted(m for m in sys.modules if m.split(".")[0] in ("lightning", "pytorch_lightning", "hydra", "omegaconf"))
        print("IMPORTED:", bad)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "IMPORTED: []" in result.stdout
