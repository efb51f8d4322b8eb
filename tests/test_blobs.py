"""The blob measure (fast_style.baseline.blobs) and scripts/blob_check.py, on tiny synthetic images."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from fast_style.baseline.blobs import blob_shares, saturated_shares
from fast_style.errors import InvalidValueError
from fast_style.heldout import HELD_OUT_PHOTOS
from tests.helpers import load_script


def _grey(height: int = 10, width: int = 10, level: float = 0.5) -> torch.Tensor:
    return torch.full((3, height, width), level)


def test_counts_exactly_the_planted_white_and_black_pixels():
    photo = _grey()
    output = _grey(level=0.6)
    output[:, 0, :3] = 1.0  # 3 white pixels
    output[:, 5, 5] = 0.0  # 1 black pixel
    output[:2, 7, 7] = 1.0  # two channels only: not saturated white
    output[:, 8, 8] = 250 / 255  # not above the threshold
    shares = blob_shares(photo, output)
    assert shares.white == pytest.approx(3 / 100)
    assert shares.black == pytest.approx(1 / 100)


def test_ignores_pixels_that_are_white_or_black_in_the_photo_too():
    photo = _grey()
    photo[:, 0, :] = 1.0  # a white wall: row 0
    photo[:, 9, :] = 0.0  # a black shadow: row 9
    output = _grey(level=0.6)
    output[:, 0, :] = 1.0  # white where the photo is white: no blob
    output[:, 1, :2] = 1.0  # 2 white blobs
    output[:, 9, :] = 0.0  # black where the photo is black: no blob
    output[:, 8, :4] = 0.0  # 4 black blobs
    output[:, 9, 0] = 1.0  # white in the black shadow: a blob
    shares = blob_shares(photo, output)
    assert shares.white == pytest.approx(3 / 100)
    assert shares.black == pytest.approx(4 / 100)


def test_photo_thresholds_are_on_luminance():
    # Half-bright blue has luminance 0.057 (< 20/255) though its blue channel is 0.5: black painted there
    # is the photo's own dark, white is a blob.
    photo = torch.zeros(3, 4, 4)
    photo[2] = 0.5
    assert blob_shares(photo, torch.ones(3, 4, 4)).white == 1.0
    assert blob_shares(photo, torch.zeros(3, 4, 4)).black == 0.0


def test_batches_pool_every_pixel_and_bad_shapes_are_refused():
    photos = torch.stack([_grey(), _grey()])
    outputs = photos.clone()
    outputs[1, :, :5, :] = 1.0  # half of the second image
    assert blob_shares(photos, outputs).white == pytest.approx(50 / 200)
    with pytest.raises(InvalidValueError, match="one shape"):
        blob_shares(_grey(), _grey(8, 10))
    with pytest.raises(InvalidValueError, match="one shape"):
        blob_shares(torch.zeros(1, 10, 10), torch.zeros(1, 10, 10))


def test_held_out_photos_are_32_val_photos_after_n_stars_8():
    assert len(HELD_OUT_PHOTOS) == len(set(HELD_OUT_PHOTOS)) == 32
    assert list(HELD_OUT_PHOTOS) == sorted(HELD_OUT_PHOTOS)
    assert all(name.startswith("coco/val2017/") for name in HELD_OUT_PHOTOS)
    assert "coco/val2017/000000000872.jpg" not in HELD_OUT_PHOTOS  # the 8th: an N* photo


def test_blob_check_pools_over_photos_and_keeps_other_rows(tmp_path, monkeypatch):
    import fast_style.infer.stylize as stylize_module

    # A "network" that paints everything white: its blobs are exactly the photo's non-white pixels.
    monkeypatch.setattr(stylize_module, "load_model", lambda *args, **kwargs: lambda images: torch.ones_like(images))
    grey = tmp_path / "grey.png"
    Image.new("RGB", (8, 8), (128, 128, 128)).save(grey)
    half = Image.new("RGB", (8, 16), (255, 255, 255))
    half.paste((128, 128, 128), (0, 0, 8, 8))  # the top half grey, the bottom half white
    half.save(tmp_path / "half.png")
    script = load_script("blob_check")
    common = ["--photos", str(grey), str(tmp_path / "half.png"), "--output", str(tmp_path / "out")]
    assert script.main(["--style-image", "white.png", *common, "--sheet", "sheet.jpg", "--sheet-photos", "1"]) == 0
    assert script.main(["--style-image", "other.png", *common]) == 0
    rows = json.loads((tmp_path / "out" / "blobs.json").read_text())["rows"]
    assert set(rows) == {"painting:white.png", "painting:other.png"}
    row = rows["painting:white.png"]
    assert row["white"] == pytest.approx((64 + 64) / (64 + 128))
    assert (row["white_max"], row["black"], row["photos"]) == (1.0, 0.0, 2)
    assert "66.667" in (tmp_path / "out" / "blobs.md").read_text()
    with Image.open(tmp_path / "out" / "sheet.jpg") as sheet:
        assert sheet.width > 16 and sheet.height > sheet.width  # a row of photos, then one per spec


def test_a_paintings_own_saturated_shares_count_every_pixel_and_blob_check_writes_them(tmp_path):
    painting = _grey()
    painting[:, :3, :] = 1.0  # white paper: 3 rows
    painting[:, 9, :2] = 0.0  # 2 black pixels
    painting[:2, 5, :] = 1.0  # two channels only: not saturated white
    shares = saturated_shares(painting)
    assert (shares.white, shares.black) == (pytest.approx(30 / 100), pytest.approx(2 / 100))
    assert saturated_shares(painting.unsqueeze(0)) == shares
    with pytest.raises(InvalidValueError, match="got \\(1, 10, 10\\)"):
        saturated_shares(torch.zeros(1, 10, 10))
    Image.new("RGB", (4, 2), (255, 255, 255)).save(tmp_path / "paper.png")
    assert load_script("blob_check").main(["--paintings", str(tmp_path / "paper.png"), "--output", str(tmp_path)]) == 0
    row = json.loads((tmp_path / "paintings.json").read_text())["rows"][str(tmp_path / "paper.png")]
    assert (row["white"], row["black"], row["width"], row["height"]) == (1.0, 0.0, 4, 2)
    assert "| 4×2 | 100.000 | 0.000 |" in (tmp_path / "paintings.md").read_text()
