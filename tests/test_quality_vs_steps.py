"""quality_vs_steps.py on a painting file (issue 33's measurement): its style weight, the preview point, the sheet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from fast_style.loss import perceptual
from fast_style.train.run import train
from tests.helpers import load_script


@pytest.fixture
def painting(tmp_path: Path) -> Path:
    path = tmp_path / "my_painting.png"
    array = (torch.rand(48, 40, 3, generator=torch.Generator().manual_seed(5)) * 255).byte().numpy()
    Image.fromarray(array).save(path)
    return path


@pytest.fixture
def random_vgg(monkeypatch):
    """The judging loss with a random VGG: the command's path is the real one, minus the weights' load."""
    real = perceptual.build_perceptual_loss
    monkeypatch.setattr(perceptual, "build_perceptual_loss",
                        lambda **settings: real(**{**settings, "vgg": {**settings["vgg"], "weights": "random"}}))


def _common(tmp_path: Path, photo_dir: Path) -> list[str]:
    return ["--images", str(photo_dir), "--limit", "1", "--size", "24", "--iters", "2",
            "--curves", str(tmp_path / "curves")]  # never the repository's stored curves


def test_a_painting_run_is_judged_at_its_style_weight_with_the_preview_and_the_runs_end(
        tmp_path, photo_dir, painting, train_config, random_vgg, assets_dir):
    run = tmp_path / "run"
    # Checkpoints at step 2, and last.ckpt at step 3: the end of a run that stops between checkpoints.
    train(train_config("style.name=mine", f"style.image={painting}", "trainer.max_steps=3"), run)
    (run / "command_started").write_text(str((run / "lightning_checkpoints" / "last.ckpt").stat().st_mtime - 90))
    script = load_script("quality_vs_steps")
    sheet = tmp_path / "sheet.jpg"
    assert script.main(["--style-image", str(painting), "--style-weight", "10", "--minutes", "--preview", "0.4",
                        "--run", f"trained={run}", "--sheet", str(sheet), "--sheet-photos", "2",
                        "--output", str(tmp_path / "out"), *_common(tmp_path, photo_dir)]) == 0
    raw = json.loads((tmp_path / "out" / "n_star.json").read_text())
    assert list(raw) == ["preview", "trained"]
    assert [(row["steps"], row["minutes"]) for row in raw["preview"]] == [(0, 0.4)]
    assert [row["steps"] for row in raw["trained"]] == [2, 3]
    assert abs(raw["trained"][-1]["minutes"] - 1.5) < 0.01
    # The curves of the painting, stored under its file's stem, are those of its loss at weight 10.
    stored = [json.loads(path.read_text()) for path in (tmp_path / "curves" / "my_painting").glob("*.json")]
    assert [record["loss"]["style_weight"] for record in stored] == [10.0]
    with Image.open(sheet) as picture:  # painting + 2 photos wide; painting row, preview, the run's end
        assert picture.width > 3 * 256 and picture.height > 3 * 256
    # Without --style-weight the painting is judged by the library's default weight: another loss, another curve.
    assert script.main(["--style-image", str(painting), "--run", f"trained={run}", "--output", str(tmp_path / "out1"),
                        *_common(tmp_path, photo_dir)]) == 0
    stored = [json.loads(path.read_text()) for path in (tmp_path / "curves" / "my_painting").glob("*.json")]
    assert [record["loss"]["style_weight"] for record in stored] == [1.0]


@pytest.mark.parametrize("arguments, message", [
    (["--style-config", "starry_night", "--style-weight", "10"], "--style-weight 10 is for --style-image FILE only"),
    (["--style-image", "{painting}", "--style-weight", "0"], "--style-weight must be a positive number, got 0"),
    (["--style-image", "{painting}", "--style-weight", "nan"], "--style-weight must be a positive number, got nan"),
    (["--style-config", "starry_night", "--preview", "0.5"], "--preview takes the minutes"),
    (["--style-image", "{painting}", "--preview", "-1"], "got --preview -1"),
])
def test_bad_painting_options_are_one_line_and_exit_2(tmp_path, photo_dir, painting, capsys, arguments, message):
    run = tmp_path / "run"
    run.mkdir()
    argv = [item.format(painting=painting) for item in arguments]
    assert load_script("quality_vs_steps").main([*argv, "--run", f"a={run}", "--output", str(tmp_path / "out"),
                                                 *_common(tmp_path, photo_dir)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
