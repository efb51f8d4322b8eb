"""The feed-forward vs Gatys comparison: statistics, report, figures, scripts/compare.py."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from PIL import Image, ImageChops

from fast_style.baseline.compare import ComparisonRun
from fast_style.baseline.compare_cli import main as compare_main
from fast_style.baseline.report import PER_PHOTO_COLUMNS, plot_loss_curves, render_markdown, summary_columns
from fast_style.baseline.stats import Bound, censored_median, first_reaching
from fast_style.checkpoint import model_from_checkpoint, read_checkpoint
from fast_style.io import load_image
from fast_style.loss.perceptual import build_perceptual_loss, loss_kwargs_from_config
from fast_style.zoo import zoo_path


def _run(photo: str, ff: float, totals: list[float], seconds_per_iter: float = 0.5) -> ComparisonRun:
    """A synthetic comparison run (no images) with the given Gatys loss curve."""
    terms = lambda total: {"content": total / 2, "style": total / 2, "tv": 0.0, "total": total}
    history = [
        {"iteration": i + 1, **terms(total), "seconds": (i + 1) * seconds_per_iter, "evaluations": i + 1}
        for i, total in enumerate(totals)
    ]
    return ComparisonRun(
        photo=photo,
        size=64,
        shape=(64, 80),
        photo_loss=terms(1e6),
        ff_loss=terms(ff),
        ff_seconds=0.01,
        gatys_initial=terms(2e6),
        gatys_history=history,
        n_star=first_reaching(totals, ff, initial=2e6),
    )


def test_first_reaching():
    assert first_reaching([5.0, 4.0, 3.0, 2.0], 3.0) == 3  # "at or below"
    assert first_reaching([5.0, 4.0], 3.0) is None
    assert first_reaching([5.0, 4.0], 3.0, initial=2.5) == 0


def test_censored_median():
    assert censored_median([Bound(3), Bound(1), Bound(2)]) == Bound(2)
    assert censored_median([Bound(1), Bound(3)]) == Bound(2)
    # Two of three never reached: the median is one of them, known only as a bound.
    assert censored_median([Bound(10), Bound(300, True), Bound(300, True)]) == Bound(300, True)
    # A censored value sorts above every exact one, even a larger exact number.
    assert censored_median([Bound(250), Bound(200, True), Bound(100)]) == Bound(250)
    assert censored_median([Bound(10), Bound(20), Bound(200, True), Bound(200, True)]) == Bound(110, True)
    with pytest.raises(ValueError):
        censored_median([])


def test_report_states_unreached_n_star_honestly():
    reached = _run("a.jpg", ff=1.5e6, totals=[1.9e6, 1.6e6, 1.4e6, 1.2e6, 1.0e6])
    missed = _run("b.jpg", ff=5e5, totals=[1.9e6, 1.6e6, 1.4e6, 1.2e6, 1.0e6])
    missed2 = _run("c.jpg", ff=4e5, totals=[1.9e6, 1.6e6, 1.4e6, 1.2e6, 1.0e6])
    assert (reached.n_star, missed.n_star) == (3, None)
    assert reached.gatys_seconds_bound() == Bound(1.5)
    assert reached.speedup_bound().value == pytest.approx(150.0)
    text = render_markdown([reached, missed, missed2], {"style": "test", "iterations": 5})
    summary = next(line for line in text.splitlines() if line.startswith("| 64 | 3 |"))
    # Losses in 3-significant-digit scientific notation; the median N* is a lower bound.
    assert "1.00e+06 ± 0.00e+00" in summary
    assert "| > 5 |" in summary
    per_photo = [line for line in text.splitlines() if "b.jpg" in line][0]
    assert "| > 5 |" in per_photo and "> 2.5 s" in per_photo
    assert "| 3 |" in [line for line in text.splitlines() if "a.jpg" in line][0]


def test_loss_plot_is_written(tmp_path):
    runs = [_run("a.jpg", 1.5e6, [1.9e6, 1.2e6, 1.0e6]), _run("b.jpg", 1.1e6, [1.8e6, 1.3e6, 9e5])]
    path = plot_loss_curves(runs, tmp_path / "curves.png")
    with Image.open(path) as image:
        assert image.width > 200 and image.height > 200
        picture = image.convert("RGB")
    # The curves come from the data: other losses draw another picture.
    other = [_run("a.jpg", 1.5e6, [1.9e6, 9e5, 4e5]), _run("b.jpg", 1.1e6, [1.8e6, 1.3e6, 9e5])]
    with Image.open(plot_loss_curves(other, tmp_path / "other.png")) as image:
        assert ImageChops.difference(picture, image.convert("RGB")).getbbox() is not None
    # One panel per photo size (Johnson et al., Fig. 5).
    two_sizes = runs + [dataclasses.replace(run, size=128) for run in runs]
    with Image.open(plot_loss_curves(two_sizes, tmp_path / "two.png")) as image:
        assert image.width > 1.8 * picture.width


def test_compare_script_end_to_end(assets_dir, tmp_path):
    # A shipped network on real photos: it beats Gatys' noise start, so N* is a real crossing (an
    # untrained network's loss is above the start image's, which makes every N* 0 and the check empty).
    photos = tmp_path / "photos"
    photos.mkdir()
    for index, (name, size) in enumerate([("000000000139.jpg", (40, 32)), ("000000000632.jpg", (32, 36))]):
        with Image.open(assets_dir / "coco" / "val2017" / name) as image:
            image.convert("RGB").resize(size).save(photos / f"p{index}.png")
    out = tmp_path / "out"
    iterations = 8
    rc = compare_main(
        ["--style", "candy", "--images", str(photos), "--sizes", "24", "32", "--iters", str(iterations),
         "--timing-repeats", "1", "--output", str(out)]
    )
    assert rc == 0
    for name in ("report.md", "loss_vs_iterations.png", "side_by_side.png", "history.json"):
        assert (out / name).is_file(), name
    report = (out / "report.md").read_text()
    header = "| " + " | ".join(summary_columns(iterations)) + " |"
    assert header in report
    assert "| " + " | ".join(PER_PHOTO_COLUMNS) + " |" in report
    for column in ("photo loss", "feed-forward loss", "N* (median)", "feed-forward s (median)"):
        assert column in header
    rows = [line for line in report.splitlines() if line.startswith(("| 24 | 2 |", "| 32 | 2 |"))]
    assert len(rows) == 2 and all(line.count("|") == header.count("|") for line in rows)
    history = json.loads((out / "history.json").read_text())
    assert len(history["runs"]) == 4 and all(len(run["gatys_total"]) == iterations for run in history["runs"])
    for run in history["runs"]:
        # N* by hand: the first iteration (0 = the start image) whose loss is at or below the network's.
        curve = [run["gatys_initial"]["total"], *run["gatys_total"]]
        reached = [i for i, total in enumerate(curve) if total <= run["ff_loss"]["total"]]
        assert run["n_star"] == (reached[0] if reached else None)
    assert any(run["n_star"] for run in history["runs"]), "no run crossed after the start: the N* check is empty"
    # The feed-forward output is scored by the loss the network was trained with (from its checkpoint).
    checkpoint = read_checkpoint(zoo_path("candy"))
    loss_fn = build_perceptual_loss(**loss_kwargs_from_config(checkpoint.config))
    photo = load_image(photos / "p0.png", 24)
    with torch.no_grad():
        expected_ff = float(loss_fn(model_from_checkpoint(checkpoint)(photo), photo)["total"])
    run = next(r for r in history["runs"] if r["photo"] == "p0.png" and r["size"] == 24)
    assert run["ff_loss"]["total"] == pytest.approx(expected_ff, rel=1e-4)


def test_compare_script_reports_bad_checkpoint(tmp_path, capsys):
    rc = compare_main(
        ["--ckpt", str(tmp_path / "missing.pth"), "--images", str(tmp_path), "--output", str(tmp_path / "o")]
    )
    assert rc == 2
    assert "missing.pth" in capsys.readouterr().err


def test_n_star_for_models_places_each_network_on_the_one_gatys_curve(tiny_checkpoint, tiny_model, assets_dir,
                                                                     tmp_path):
    from fast_style.baseline.compare import compare_photo, n_star_for_models
    from fast_style.baseline.gatys import GatysSettings

    photo = tmp_path / "p.png"
    Image.fromarray((torch.rand(30, 40, 3, generator=torch.Generator().manual_seed(2)) * 255).byte().numpy()).save(photo)
    checkpoint = read_checkpoint(tiny_checkpoint)
    loss_fn = build_perceptual_loss(**{**checkpoint.card.loss.as_dict(), "vgg": {"weights": "random"}})
    other = model_from_checkpoint(checkpoint)
    with torch.no_grad():
        for parameter in other.parameters():
            parameter.mul_(0.5)
    six = GatysSettings(iterations=6)
    results = n_star_for_models({"a": tiny_model, "b": other}, loss_fn, [photo], 24, six)
    for label, model in (("a", tiny_model), ("b", other)):
        expected = compare_photo(model, loss_fn, photo, 24, six, timing_repeats=1).n_star_bound()
        assert results[label] == [expected]
    with pytest.raises(ValueError, match="at least one"):
        n_star_for_models({}, loss_fn, [photo], 24, GatysSettings(iterations=2))


def test_compare_script_takes_a_shipped_style_by_name(tmp_path, capsys):
    rc = compare_main(["--style", "no_such_style", "--output", str(tmp_path / "o")])
    assert rc == 2
    assert "unknown style 'no_such_style'; shipped styles:" in capsys.readouterr().err


def test_report_settings_say_what_was_compared_and_when_the_loss_is_not_the_training_one(tiny_checkpoint, tmp_path):
    from fast_style.baseline.gatys import GatysSettings
    from fast_style.baseline.report import comparison_settings

    checkpoint = read_checkpoint(tiny_checkpoint)
    loss = dataclasses.replace(checkpoint.card.loss, vgg={**checkpoint.card.loss.vgg, "weights": "random"})
    photos = [tmp_path / "a.png", tmp_path / "b.png"]
    lbfgs, adam_settings = GatysSettings(iterations=7), GatysSettings(iterations=7, optimizer="adam")
    plain = comparison_settings(checkpoint, "t.pth", loss, lbfgs, photos, "folder", [24, 32], device="cpu")
    overridden = comparison_settings(checkpoint, "t.pth", loss, lbfgs, photos, "folder", [24, 32], device="cpu",
                                     vgg_overridden=True)
    adam = comparison_settings(checkpoint, "t.pth", loss, adam_settings, photos, "folder", [24], device="cpu")
    assert plain["style"] == "tiny" and plain["iterations"] == 7 and "`t.pth`" in plain["checkpoint"]
    assert plain["photos"] == "2 from `folder`: a.png, b.png" and plain["sizes"].startswith("[24, 32]")
    assert "weights=random" in plain["loss"] and "OVERRIDDEN" not in plain["loss"] and "OVERRIDDEN" in overridden["loss"]
    assert "capped" in plain["Gatys"] and "no line search" in plain["Gatys"]
    assert adam["Gatys"].startswith("adam, 7 iterations") and "capped" not in adam["Gatys"]
    assert render_markdown([_run("p.png", 5e5, [1.5e6] * 6 + [4e5])], plain).count("- **") == len(plain)
