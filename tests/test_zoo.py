"""The shipped networks: float16 files that load as float32, ``--style``, ``--list-styles``, ``load_model(name)``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import CONFIG_DIR
from PIL import Image

from fast_style.checkpoint import read_checkpoint
from fast_style.infer.stylize import load_model, stylize
from fast_style.infer.stylize_cli import main
from fast_style.io import load_image
from fast_style.zoo import MAX_ZOO_BYTES, ZOO_DIR, UnknownStyleError, add_to_zoo, available_styles, describe, zoo_path

SHIPPED = available_styles()


def test_the_package_ships_a_network_for_every_style_config():
    configs = sorted(path.stem for path in (CONFIG_DIR / "style").glob("*.yaml"))
    assert SHIPPED == configs, f"{ZOO_DIR} ships {SHIPPED}; configs/style/ has {configs}"


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_network_was_trained_with_its_style_configs_weights(name: str):
    from omegaconf import OmegaConf

    config, info = OmegaConf.load(CONFIG_DIR / "style" / f"{name}.yaml"), describe(name)
    assert (info["style_weight"], info["content_weight"], info["tv_weight"]) == (
        config.style_weight, config.content_weight, config.tv_weight)


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_network_was_trained_with_the_loss_its_config_composes(name: str):
    # The stored config (the layout before the loss group took the style's settings) and today's
    # composed config with style=<name> give the same loss: what gatys.py/compare.py rebuild is what trained it.
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from fast_style.loss.perceptual import loss_kwargs_from_config

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        loss = OmegaConf.to_container(compose("train", overrides=[f"style={name}"]).loss, resolve=True)
    assert read_checkpoint(zoo_path(name)).loss_args == loss_kwargs_from_config({"loss": loss})


def test_add_to_zoo_stores_float16_and_loading_restores_float32(tiny_checkpoint: Path, tiny_model, tmp_path: Path):
    zoo = tmp_path / "zoo"
    path = add_to_zoo(tiny_checkpoint, zoo, note="test")
    assert path == zoo / "tiny.pth" and available_styles(zoo) == ["tiny"]
    stored = read_checkpoint(path)
    assert {value.dtype for value in stored.state_dict.values() if value.is_floating_point()} == {torch.float16}
    assert stored.meta["zoo"] == {"dtype": "float16", "note": "test"}
    loaded = load_model(path, device="cpu")
    assert {p.dtype for p in loaded.parameters()} == {torch.float32}
    photo = torch.rand(1, 3, 24, 20, generator=torch.Generator().manual_seed(1))
    # float16 weights change the output by rounding only.
    expected = stylize(tiny_model, photo)
    assert torch.allclose(stylize(loaded, photo), expected, atol=2e-2)


def test_add_to_zoo_refuses_non_finite_weights(tiny_checkpoint: Path, tmp_path: Path):
    payload = torch.load(tiny_checkpoint, weights_only=True)
    payload["style"] = "broken"
    next(iter(payload["state_dict"].values())).view(-1)[0] = float("nan")
    broken = tmp_path / "broken.pth"
    torch.save(payload, broken)  # written by hand: the project's own writer refuses NaN weights
    with pytest.raises(ValueError, match="non-finite"):
        add_to_zoo(broken, tmp_path / "zoo")
    assert not (tmp_path / "zoo" / "broken.pth").exists()


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_network_is_small_float16_and_stylises(name: str):
    path = zoo_path(name)
    assert path.stat().st_size <= MAX_ZOO_BYTES
    stored = read_checkpoint(path)
    assert stored.style == name and stored.source == "inference"
    assert all(v.dtype == torch.float16 for v in stored.state_dict.values() if v.is_floating_point())
    info = describe(name)
    assert info["steps"] > 0 and info["style_weight"] > 0 and info["crop"] > 0 and info["machine"]
    model = load_model(name, device="cpu")
    assert model.style_name == name
    photo = torch.rand(1, 3, 40, 52, generator=torch.Generator().manual_seed(0))
    out = stylize(model, photo)
    assert out.shape == photo.shape and torch.isfinite(out).all()
    # A trained network changes the photo (a broken or untrained one would give grey or the input).
    assert (out - photo).abs().mean() > 0.05 and out.std() > 0.05


def test_load_model_by_name_unknown_name_lists_the_shipped_styles():
    with pytest.raises(FileNotFoundError, match=f"shipped: {', '.join(SHIPPED)}"):
        load_model("no_such_style")
    with pytest.raises(UnknownStyleError, match="shipped styles"):
        zoo_path("../checkpoint")


def test_a_file_wins_over_a_zoo_name(tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    Path(SHIPPED[0]).write_bytes(tiny_checkpoint.read_bytes())
    assert load_model(SHIPPED[0]).style_name == "tiny"


def test_cli_style_stylises_with_the_shipped_network(tmp_path: Path):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (48, 36), (200, 120, 40)).save(photo)
    out = tmp_path / "out.png"
    assert main(["--style", SHIPPED[0], "--input", str(photo), "--output", str(out), "--quiet"]) == 0
    with Image.open(out) as image:
        assert image.size == (48, 36)
    expected = stylize(load_model(SHIPPED[0]), load_image(photo))
    assert (load_image(out) - expected).abs().max() <= 1 / 255 + 1e-6


def test_cli_unknown_style_and_missing_network_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (32, 32)).save(photo)
    assert main(["--style", "nope", "--input", str(photo), "--output", str(tmp_path / "o.png")]) == 2
    assert f"unknown style 'nope'; shipped styles: {', '.join(SHIPPED)}" in capsys.readouterr().err
    assert main(["--input", str(photo), "--output", str(tmp_path / "o.png")]) == 2
    assert "--style NAME" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--style", SHIPPED[0], "--ckpt", "x.pth", "--input", str(photo), "--output", "o.png"])


def test_cli_list_styles_names_each_network_and_its_settings(capsys: pytest.CaptureFixture):
    assert main(["--list-styles"]) == 0
    out = capsys.readouterr().out
    for name in SHIPPED:
        line = next(line for line in out.splitlines() if line.strip().startswith(name))
        info = describe(name)
        assert f"{info['steps']} steps" in line and f"style weight {info['style_weight']:g}" in line
