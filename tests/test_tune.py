"""The weight sweep (scripts/tune_style.py), contact sheets, and the zoo training recipe's pieces."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from fast_style.baseline.gatys import GatysSettings
from fast_style.baseline.tune import run_sweep, sweep_settings, sweep_table, write_sweep
from fast_style.io import load_image
from fast_style.loss.perceptual import PerceptualLossSettings, build_perceptual_loss
from fast_style.train.module import cosine_factor
from fast_style.train.run import resolve_precision
from tests.helpers import REPO_ROOT


def test_sweep_settings_cover_every_pair_and_reject_bad_values():
    settings = sweep_settings([1, 10], [128, 256], content_weight=3, tv_weight=0)
    assert [(s.style_size, s.style_weight) for s in settings] == [(128, 1), (128, 10), (256, 1), (256, 10)]
    with pytest.raises(ValueError, match="at least one"):
        sweep_settings([], [256], 3, 0)
    with pytest.raises(ValueError, match=">= 0"):
        sweep_settings([-1], [256], 3, 0)
    with pytest.raises(ValueError, match="at least 16"):
        sweep_settings([1], [8], 3, 0)


def test_a_higher_style_weight_moves_the_result_towards_the_style(tmp_path: Path, assets_dir: Path):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (48, 40), (120, 160, 90)).save(photo)
    settings = sweep_settings([0.1, 100.0], [64], content_weight=3, tv_weight=0)
    # The real VGG: under random weights the losses are ~1e-7 and the comparison would be float noise.
    loss = PerceptualLossSettings(style_layers=["relu1_2", "relu2_2"])
    rows = run_sweep("styles/candy.jpg", [photo], settings, loss, size=32, gatys=GatysSettings(iterations=8, init="content"))
    assert len(rows) == 2 and all(len(row.images) == 1 and len(row.terms) == 1 for row in rows)
    # Scored by one unweighted loss: the strongly weighted run got closer to the style's Grams
    # and further from the photo.
    judge = build_perceptual_loss("styles/candy.jpg", style_layers=["relu1_2", "relu2_2"], content_weight=1.0,
                                  style_weight=1.0, style_size=64)
    content = load_image(photo, 32)
    with torch.no_grad():
        raw = [judge(row.images[0], content) for row in rows]
    assert raw[1]["style"] < 0.5 * raw[0]["style"] and raw[1]["content"] > 2 * raw[0]["content"]
    sheet, table = write_sweep(tmp_path / "out", "styles/candy.jpg", [photo], rows, tile=32)
    with Image.open(sheet) as image:
        assert image.size[1] == 3 * (18 + 32 + 4) + 4  # header row + one row per setting
    assert table.read_text() == sweep_table(rows) and table.read_text().count("\n") == 4
    _, captioned = write_sweep(tmp_path / "out2", "styles/candy.jpg", [photo], rows, tile=32, how="32 px")
    assert captioned.read_text() == "32 px\n\n" + sweep_table(rows)


def test_tune_style_cli_rejects_an_unknown_style(capsys: pytest.CaptureFixture):
    import importlib.util

    spec = importlib.util.spec_from_file_location("tune_style", REPO_ROOT / "scripts" / "tune_style.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--style-config", "no_such_style"]) == 2
    assert "neither a style config" in capsys.readouterr().err


def test_cosine_schedule_runs_from_the_peak_to_the_floor():
    assert cosine_factor(0, 100, 0.05) == pytest.approx(1.0)
    assert cosine_factor(50, 100, 0.05) == pytest.approx(0.525)
    assert cosine_factor(100, 100, 0.05) == pytest.approx(0.05)
    assert cosine_factor(150, 100, 0.05) == pytest.approx(0.05)
    values = [cosine_factor(step, 100, 0.0) for step in range(101)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_auto_precision_is_bf16_only_where_the_cpu_has_it(monkeypatch: pytest.MonkeyPatch):
    import fast_style.train.run as training

    monkeypatch.setattr(training.torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(training, "native_bf16", lambda: True)
    assert resolve_precision("auto", "cpu") == "bf16-mixed"
    monkeypatch.setattr(training, "native_bf16", lambda: False)
    assert resolve_precision("auto", "cpu") == "32-true"
    assert resolve_precision("auto", "gpu") == "16-mixed"
    assert resolve_precision("32-true", "cpu") == "32-true"


def test_tune_style_starts_from_the_composed_training_loss():
    import importlib.util

    from omegaconf import OmegaConf

    spec = importlib.util.spec_from_file_location("tune_style", REPO_ROOT / "scripts" / "tune_style.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    style = OmegaConf.load(REPO_ROOT / "configs" / "style" / "udnie.yaml")
    name, loss = module._style_loss("udnie")
    assert name == "udnie"
    assert loss == PerceptualLossSettings(style_image=style.image, style_weight=style.style_weight)
