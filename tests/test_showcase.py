"""scripts/showcase.py: the README picture of a trained style."""

import importlib.util

from PIL import Image

from conftest import REPO_ROOT


def load_script():
    spec = importlib.util.spec_from_file_location("showcase", REPO_ROOT / "scripts" / "showcase.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_showcase_writes_a_two_row_grid(tiny_checkpoint, photo_dir, tmp_path, assets_dir):
    out = tmp_path / "grid.png"
    assert load_script().main(["--ckpt", str(tiny_checkpoint), "--images", str(photo_dir), "--count", "3",
                               "--size", "32", "--output", str(out)]) == 0
    width, height = Image.open(out).size
    assert (width, height) == (4 * 32 + 5 * 4, 2 * 32 + 3 * 4)  # style + 3 photos, two rows, padding 4


def test_showcase_rejects_a_file_that_is_not_a_checkpoint(photo_dir, tmp_path, capsys):
    bogus = tmp_path / "bogus.pth"
    bogus.write_bytes(b"nope")
    assert load_script().main(["--ckpt", str(bogus), "--images", str(photo_dir), "--output", str(tmp_path / "x.png")]) == 2
    assert "bogus.pth" in capsys.readouterr().err
