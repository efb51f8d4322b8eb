"""The Gatys optimisation baseline (fast_style.baseline.gatys) and scripts/gatys.py."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from fast_style.baseline.gatys import GatysSettings, initial_image, optimize_image
from fast_style.io import load_image
from fast_style.loss.perceptual import LOSS_TERMS, build_perceptual_loss

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def real_loss(assets_dir: Path):
    """The training loss with the real (mirrored) VGG, on a small style image."""
    return build_perceptual_loss(assets_dir / "styles" / "starry_night.jpg", style_size=64)


@pytest.fixture(scope="module")
def photo(assets_dir: Path) -> torch.Tensor:
    """A real COCO photo, 32 px on its shorter side: (1, 3, 32, 48)."""
    return load_image(sorted((assets_dir / "coco" / "val2017").glob("*.jpg"))[0], 32)


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"script_{name}", REPO_ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_lowers_loss_and_keeps_pixels_in_range(real_loss, photo, optimizer):
    result = optimize_image(real_loss, photo, GatysSettings(iterations=12, optimizer=optimizer, init="noise"))
    assert len(result.history) == 12
    assert [entry["iteration"] for entry in result.history] == list(range(1, 13))
    assert result.history[-1]["total"] < 0.6 * result.initial["total"]
    assert result.image.shape == photo.shape
    assert 0.0 <= float(result.image.min()) and float(result.image.max()) <= 1.0
    seconds = [entry["seconds"] for entry in result.history]
    assert seconds == sorted(seconds) and seconds[0] > 0
    # No line search: one VGG pass per iteration, counted up to the end of the step that made the image.
    assert [entry["evaluations"] for entry in result.history] == list(range(1, 13))
    assert all(set(LOSS_TERMS) <= set(entry) for entry in result.history)


def test_history_is_the_loss_of_the_image_at_that_iteration(real_loss, photo):
    """Losses are recorded one step late internally; each must still belong to its image."""
    images = {}
    result = optimize_image(
        real_loss, photo, GatysSettings(iterations=6), callback=lambda i, terms, image: images.__setitem__(i, (terms, image))
    )
    assert sorted(images) == list(range(1, 7))
    for iteration in (1, 3, 6):
        terms, image = images[iteration]
        assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
        with torch.no_grad():
            again = float(real_loss(image, photo)["total"])
        assert again == pytest.approx(result.history[iteration - 1]["total"], rel=1e-4)
        assert terms["total"] == result.history[iteration - 1]["total"]
    assert torch.equal(images[6][1], result.image)


def test_a_run_stopped_at_a_loss_is_the_start_of_the_full_run(real_loss, photo):
    """N* only needs the curve until it reaches a loss; the stopped run must be the full run's start."""
    full = optimize_image(real_loss, photo, GatysSettings(iterations=10)).totals()
    target = full[4]
    reached = next(index for index, total in enumerate(full) if total <= target) + 1
    stopped = optimize_image(real_loss, photo, GatysSettings(iterations=10), stop_below=target)
    # Iterate ``reached`` is the first at the target; the step after it is taken before its loss is known.
    assert stopped.totals() == full[: reached + 1]
    assert [entry["iteration"] for entry in stopped.history] == list(range(1, reached + 2))
    at_start = optimize_image(real_loss, photo, GatysSettings(iterations=10), stop_below=float("inf"))
    assert at_start.totals() == full[:1]


def test_lbfgs_steps_are_capped(real_loss, photo):
    images = [initial_image(photo, "noise")]
    optimize_image(real_loss, photo, GatysSettings(iterations=8, max_step=0.02),
                   callback=lambda i, t, image: images.append(image))
    # The clamp can only shrink a step, so the RMS change of the images is within the cap.
    steps = [float((b - a).pow(2).mean().sqrt()) for a, b in zip(images, images[1:])]
    assert max(steps) <= 0.02 + 1e-5
    assert max(steps) > 0.0


def test_content_start_has_no_content_loss(real_loss, photo):
    result = optimize_image(real_loss, photo, GatysSettings(iterations=3, init="content"))
    assert result.initial["content"] == pytest.approx(0.0, abs=1e-3)
    assert result.history[-1]["total"] < result.initial["total"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"optimizer": "sgd"}, "unknown optimizer 'sgd'; allowed: lbfgs, adam"),
        ({"init": "zeros"}, "unknown init 'zeros'; allowed: content, noise"),
        ({"iterations": 0}, "iterations must be an integer of at least 1, got 0"),
        ({"lr": -1.0}, "lr must be a finite number > 0 or None (the default), got -1.0"),
        ({"lr": float("nan")}, "lr must be a finite number > 0 or None (the default), got nan"),
        ({"max_step": 0.0}, "max_step must be a finite number > 0 or None (the default), got 0.0"),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        GatysSettings(**kwargs)


def test_settings_are_one_frozen_value_with_the_overrides_that_key_curves():
    import dataclasses

    settings = GatysSettings(iterations=20, optimizer="adam")
    assert settings.step_size == 0.02 and GatysSettings().step_size == 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.iterations = 3  # type: ignore[misc]
    # Only what differs from the defaults keys a stored curve (the stored curves were keyed by what callers passed).
    assert GatysSettings(iterations=200).overrides() == {}
    assert settings.overrides() == {"optimizer": "adam"}


def test_script_writes_image_and_history(assets_dir, tmp_path, capsys):
    script = _load_script("gatys")
    photo = sorted((assets_dir / "coco" / "val2017").glob("*.jpg"))[1]
    rc = script.main(
        ["--content", str(photo), "--style-config", "starry_night", "--size", "32", "--iters", "3",
         "--style-size", "64", "--output", str(tmp_path), "--history", str(tmp_path / "h.json")]
    )
    assert rc == 0
    written = tmp_path / f"{photo.stem}_starry_night_gatys.png"
    assert min(load_image(written).shape[-2:]) == 32
    history = json.loads((tmp_path / "h.json").read_text())
    assert len(history["history"]) == 3
    assert "wrote" in capsys.readouterr().out


def test_script_unknown_style_lists_available(tmp_path, capsys):
    script = _load_script("gatys")
    rc = script.main(["--content", "x.jpg", "--style-config", "starry", "--output", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "unknown style 'starry'" in err and "starry_night" in err and "candy" in err


def test_script_loss_is_the_training_loss_for_a_name_and_library_defaults_for_an_image(assets_dir):
    from omegaconf import OmegaConf

    from fast_style.loss.perceptual import PerceptualLossSettings

    script = _load_script("gatys")
    style = OmegaConf.load(REPO_ROOT / "configs" / "style" / "mosaic.yaml")
    name, loss = script.training_loss("mosaic")
    assert style.style_weight != PerceptualLossSettings().style_weight  # so the check below can fail
    assert name == "mosaic"
    assert loss == PerceptualLossSettings(style_image=style.image, style_weight=style.style_weight)
    image = assets_dir / "styles" / "candy.jpg"
    name, loss = script.training_loss(str(image))
    assert name == "candy" and loss == PerceptualLossSettings(style_image=str(image))


def test_style_config_style_image_and_the_deprecated_style(assets_dir, tmp_path, monkeypatch, capsys):
    from fast_style.baseline.gatys_cli import main as gatys_main

    image = assets_dir / "styles" / "candy.jpg"
    seen = []

    def resolve(style):
        seen.append(style)
        raise KeyboardInterrupt  # stop once the painting is known: the Gatys run itself is tested above

    base = ["--content", "x.jpg", "--output", str(tmp_path)]
    assert gatys_main([*base, "--style-config", "mosaic"], resolve) == 130
    assert gatys_main([*base, "--style-image", str(image)], resolve) == 130
    assert seen == ["mosaic", str(image.resolve())] and "warning" not in capsys.readouterr().err
    assert gatys_main([*base, "--style", "mosaic"], resolve) == 130
    assert seen[-1] == "mosaic"
    assert "warning: --style is deprecated and will be removed in the next release; use --style-config NAME" in (
        capsys.readouterr().err)
    # A file given as a config, a config given as a file: one line, exit 2, naming the right flag.
    assert gatys_main([*base, "--style-config", str(image)], resolve) == 2
    assert "for a painting file use --style-image" in capsys.readouterr().err
    assert gatys_main([*base, "--style-image", "mosaic"], resolve) == 2
    assert "--style-image 'mosaic' does not exist" in capsys.readouterr().err
    assert gatys_main([*base, "--style-config", "mosaic", "--lr", "nan"], resolve) == 2
    assert "lr must be a finite number > 0" in capsys.readouterr().err and len(seen) == 3
