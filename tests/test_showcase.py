"""scripts/showcase.py: the README picture of a trained style."""

import importlib.util

from PIL import Image

from tests.helpers import REPO_ROOT


def load_script():
    spec = importlib.util.spec_from_file_location("showcase", REPO_ROOT / "scripts" / "showcase.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_showcase_writes_a_two_row_grid(tiny_checkpoint, photo_dir, tmp_path, assets_dir):
    out = tmp_path / "grid.png"
    assert load_script().main(["--ckpt", str(tiny_checkpoint), "--images", str(photo_dir), "--count", "3",
                               "--size", "32", "--output", str(out)]) == 0
    sheet = Image.open(out).convert("RGB")
    # Style + 3 photos across, two captioned rows (fast_style.sheets: gap 4, caption 18).
    assert sheet.size == (4 * (32 + 4) + 4, 2 * (18 + 32 + 4) + 4)
    assert sheet.getpixel((4 + 16, 4 + 54 + 18 + 16)) == (255, 255, 255)  # blank under the style image
    photo, stylised = sheet.getpixel((4 + 36 + 16, 4 + 18 + 16)), sheet.getpixel((4 + 36 + 16, 4 + 54 + 18 + 16))
    assert photo != stylised


def test_showcase_rejects_a_file_that_is_not_a_checkpoint(photo_dir, tmp_path, capsys):
    bogus = tmp_path / "bogus.pth"
    bogus.write_bytes(b"nope")
    assert load_script().main(["--ckpt", str(bogus), "--images", str(photo_dir), "--output", str(tmp_path / "x.png")]) == 2
    assert "bogus.pth" in capsys.readouterr().err


def test_showcase_refuses_to_hide_a_missing_style_image(tiny_model, photo_dir, tmp_path, capsys, assets_dir):
    from fast_style.checkpoint import save_inference_checkpoint

    config = {"style": {"image": str(tmp_path / "gone.jpg")}}
    ckpt = save_inference_checkpoint(tiny_model, tmp_path / "t.pth", style="t", config=config)
    out = tmp_path / "grid.png"
    assert load_script().main(["--ckpt", str(ckpt), "--images", str(photo_dir), "--output", str(out)]) == 2
    assert "gone.jpg" in capsys.readouterr().err and not out.exists()


def test_showcase_puts_several_networks_side_by_side_each_in_its_own_row(tiny_checkpoint, photo_dir, tmp_path,
                                                                         assets_dir):
    import torch

    from fast_style.checkpoint import read_checkpoint, save_inference_checkpoint
    from fast_style.models import TransformerNet
    from tests.helpers import TINY_MODEL_ARGS

    torch.manual_seed(1)
    other = save_inference_checkpoint(TransformerNet(**TINY_MODEL_ARGS).eval(), tmp_path / "other.pth", style="other",
                                      config=read_checkpoint(tiny_checkpoint).config)
    out = tmp_path / "pair.png"
    assert load_script().main(["--ckpt", str(tiny_checkpoint), str(other), str(tiny_checkpoint), "--images",
                               str(photo_dir), "--count", "2", "--size", "32", "--output", str(out)]) == 0
    sheet = Image.open(out).convert("RGB")
    assert sheet.size == (3 * (32 + 4) + 4, 4 * (18 + 32 + 4) + 4)

    def tile(row: int) -> list:
        top = 4 + row * 54 + 18
        return [sheet.getpixel((4 + 36 + x, top + y)) for x in range(0, 32, 4) for y in range(0, 32, 4)]

    assert tile(1) != tile(2) and tile(1) == tile(3)  # each row is its own network, in the order given
