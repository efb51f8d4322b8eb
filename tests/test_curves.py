"""Stored Gatys curves: computed once per (loss, photo, size), reused by every later network, never stale."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from PIL import Image

from fast_style.baseline import curves as curves_module
from fast_style.baseline.compare import n_star_for_models
from fast_style.baseline.curves import GatysCurves, curve_key, loss_identity
from fast_style.baseline.gatys import GatysSettings
from fast_style.baseline.stats import first_reaching
from fast_style.checkpoint import read_checkpoint
from fast_style.io import load_image
from fast_style.loss.perceptual import build_perceptual_loss
from tests.helpers import load_script


@pytest.fixture
def setup(tmp_path, tiny_checkpoint, assets_dir):
    photo = tmp_path / "p.png"
    Image.fromarray((torch.rand(30, 40, 3, generator=torch.Generator().manual_seed(2)) * 255).byte().numpy()).save(photo)
    loss = dataclasses.replace(read_checkpoint(tiny_checkpoint).card.loss, vgg={"weights": "random"})
    return photo, loss, build_perceptual_loss(**loss.as_dict())


def _its(iterations: int) -> GatysSettings:
    return GatysSettings(iterations=iterations)


def _counting(monkeypatch):
    """Count the Gatys runs the curves module starts."""
    calls = []
    real = curves_module.optimize_image

    def counted(*args, **kwargs):
        calls.append(args[2].iterations)
        return real(*args, **kwargs)

    monkeypatch.setattr(curves_module, "optimize_image", counted)
    return calls


def test_a_curve_is_computed_once_and_then_read_back(setup, tmp_path, monkeypatch):
    photo, loss, loss_fn = setup
    calls = _counting(monkeypatch)
    store = GatysCurves(tmp_path / "curves", "tiny")
    first = store.curve(loss_fn, loss, photo, 24, _its(5))
    again = store.curve(loss_fn, loss, photo, 24, _its(5))
    shorter = store.curve(loss_fn, loss, photo, 24, _its(3))
    assert calls == [5]
    assert again == first and shorter.totals == first.totals[:3] and len(first.totals) == 5
    record = json.loads(store.path(photo, 24).read_text())
    assert record["photo"] == "p.png" and record["totals"] == list(first.totals)


@pytest.mark.parametrize("change", ["longer", "weight", "size", "damaged"])
def test_a_curve_that_does_not_fit_is_computed_again(setup, tmp_path, monkeypatch, change):
    photo, loss, loss_fn = setup
    store = GatysCurves(tmp_path / "curves", "tiny")
    store.curve(loss_fn, loss, photo, 24, _its(3))
    calls = _counting(monkeypatch)
    iterations, size = (5 if change == "longer" else 3), (28 if change == "size" else 24)
    if change == "weight":
        loss = dataclasses.replace(loss, style_weight=2 * loss.style_weight)
        loss_fn = build_perceptual_loss(**loss.as_dict())
    if change == "damaged":
        store.path(photo, 24).write_text("{not json")
    store.curve(loss_fn, loss, photo, size, _its(iterations))
    assert calls == [iterations]


def test_a_curve_runs_until_it_reaches_the_loss_asked_for_and_is_extended_for_a_lower_one(setup, tmp_path, monkeypatch):
    photo, loss, loss_fn = setup
    full = GatysCurves(tmp_path / "full", "tiny").curve(loss_fn, loss, photo, 24, _its(12)).totals
    store = GatysCurves(tmp_path / "curves", "tiny")
    calls = _counting(monkeypatch)
    short = store.curve(loss_fn, loss, photo, 24, _its(12), reach=full[3])
    assert len(short.totals) < 12 and short.totals == full[: len(short.totals)]
    assert min(short.totals) <= full[3]
    again = store.curve(loss_fn, loss, photo, 24, _its(12), reach=full[2])
    assert again == short and len(calls) == 1  # it already reaches a higher loss: no new run
    longer = store.curve(loss_fn, loss, photo, 24, _its(12), reach=min(full[:8]))
    assert len(calls) == 2 and longer.totals == full[: len(longer.totals)] and len(longer.totals) > len(short.totals)
    assert store.curve(loss_fn, loss, photo, 24, _its(12)).totals == full
    assert len(calls) == 2 + (len(longer.totals) < 12)


def test_the_key_follows_the_style_images_content_not_its_name(setup, tmp_path, assets_dir):
    photo, loss, _ = setup
    copy = tmp_path / "renamed.jpg"
    copy.write_bytes((assets_dir / loss.style_image).read_bytes())
    gatys = GatysSettings()
    same = dataclasses.replace
    assert curve_key(same(loss, style_image=str(copy)), photo, 24, gatys) == curve_key(loss, photo, 24, gatys)
    other = same(loss, style_image="styles/candy.jpg")
    assert curve_key(other, photo, 24, gatys) != curve_key(loss, photo, 24, gatys)
    # A weight stored as 5 by one training config and 5.0 by another is the same loss.
    whole, real = same(loss, style_weight=5), same(loss, style_weight=5.0)
    assert curve_key(whole, photo, 24, gatys) == curve_key(real, photo, 24, gatys)
    assert loss_identity(whole) == loss_identity(real)
    assert curve_key(same(loss, style_weight=6), photo, 24, gatys) != curve_key(whole, photo, 24, gatys)
    # Iterations never enter the key; another optimiser does.
    assert curve_key(loss, photo, 24, GatysSettings(iterations=3)) == curve_key(loss, photo, 24, gatys)
    assert curve_key(loss, photo, 24, GatysSettings(optimizer="adam")) != curve_key(loss, photo, 24, gatys)


def test_n_star_on_stored_curves_equals_a_fresh_run(setup, tmp_path, tiny_model):
    photo, loss, loss_fn = setup
    store = GatysCurves(tmp_path / "curves", "tiny")
    full = GatysCurves(tmp_path / "full", "tiny").curve(loss_fn, loss, photo, 24, _its(6))
    with torch.inference_mode():
        output = tiny_model.eval()(load_image(photo, 24)).clamp(0, 1)
        target = float(loss_fn(output, load_image(photo, 24))["total"])
    expected = first_reaching(full.totals, target, initial=full.initial)
    fresh = n_star_for_models({"a": tiny_model}, loss_fn, [photo], 24, _its(6))
    assert [bound.value for bound in fresh["a"]] == [6.0 if expected is None else float(expected)]
    stored = n_star_for_models({"a": tiny_model}, loss_fn, [photo], 24, _its(6), curves=store, loss=loss)
    again = n_star_for_models({"a": tiny_model}, loss_fn, [photo], 24, _its(6), curves=store, loss=loss)
    assert fresh == stored == again
    with pytest.raises(ValueError, match="loss settings"):
        n_star_for_models({"a": tiny_model}, loss_fn, [photo], 24, _its(6), curves=store)


def test_quality_table_script_writes_and_extends_a_table(tmp_path, tiny_checkpoint, assets_dir, capsys):
    script = load_script("quality_table")
    other = tmp_path / "other.pth"
    other.write_bytes(tiny_checkpoint.read_bytes())
    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in range(2):
        array = (torch.rand(30, 40, 3, generator=torch.Generator().manual_seed(seed)) * 255).byte().numpy()
        Image.fromarray(array).save(photos / f"p{seed}.png")
    common = ["--images", str(photos), "--size", "24", "--iters", "3", "--curves", str(tmp_path / "curves"),
              "--output", str(tmp_path / "table")]
    assert script.main([str(tiny_checkpoint), *common]) == 0
    assert script.main([str(other), *common]) == 0
    table = json.loads((tmp_path / "table" / "table.json").read_text())
    assert set(table["rows"]) == {str(tiny_checkpoint), str(other)}
    assert len(table["rows"][str(other)]["n_star"]) == 2
    # Stored by painting (the tiny network is trained on starry_night), whatever the network is called.
    assert len(list((tmp_path / "curves" / "starry_night").glob("*.json"))) == 2
    assert "median N*" in (tmp_path / "table" / "table.md").read_text()
    assert script.main(["candy:0.5,mosaic:0.5", *common]) == 2
    assert "blend" in capsys.readouterr().err
