"""The one grid maker (fast_style.sheets): contact sheets, and the zoo gallery built on them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from fast_style.infer.gallery import gallery_sheet
from fast_style.sheets import contact_sheet
from fast_style.zoo import UnknownStyleError, available_styles


def test_contact_sheet_lays_out_rows_of_tiles():
    red, blue = torch.zeros(1, 3, 30, 50), torch.zeros(1, 3, 20, 20)
    red[:, 0] = 1
    blue[:, 2] = 1
    sheet = contact_sheet([("a", [red, blue]), ("b", [blue])], tile=16)
    assert sheet.size == (2 * 20 + 4, 2 * (18 + 16 + 4) + 4)
    assert sheet.getpixel((4 + 8, 4 + 18 + 8)) == (255, 0, 0)       # row a, first tile
    assert sheet.getpixel((4 + 20 + 8, 4 + 18 + 8)) == (0, 0, 255)  # row a, second tile
    assert sheet.getpixel((4 + 20 + 8, 4 + 38 + 18 + 8)) == (255, 255, 255)  # row b has one tile
    with pytest.raises(ValueError, match="at least 16"):
        contact_sheet([("a", [red])], tile=8)


def test_gallery_has_a_header_row_and_a_row_per_style(tmp_path: Path, assets_dir: Path):
    photos = []
    for index in range(2):
        path = tmp_path / f"p{index}.png"
        Image.new("RGB", (60, 40), (40 * index, 90, 200)).save(path)
        photos.append(path)
    styles = available_styles()[:2]
    sheet = gallery_sheet(photos, styles=styles, tile=32)
    # Columns: the style image, then one per photo; rows: the photos, then one per style.
    assert sheet.size == (3 * (32 + 4) + 4, 3 * (18 + 32 + 4) + 4)
    header, first_style = 4 + 18 + 16, 4 + 54 + 18 + 16  # the middle of each row's tiles
    assert sheet.getpixel((4 + 36 + 16, header)) == (0, 90, 200)  # the first photo, as it is
    assert sum(abs(a - b) for a, b in zip(sheet.getpixel((4 + 36 + 16, first_style)), (0, 90, 200))) > 30  # stylised
    with pytest.raises(UnknownStyleError):
        gallery_sheet(photos, styles=["nope"], tile=32)
    with pytest.raises(ValueError, match="at least one photo"):
        gallery_sheet([], styles=styles, tile=32)
