"""The zoo gallery: one row per shipped style (its image, then photos stylised by its network).

Pure torch + Pillow: no Lightning, no Hydra.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from PIL import Image

from fast_style.assets import resolve_path_or_asset
from fast_style.infer.stylize import load_model, stylize
from fast_style.io import load_image
from fast_style.sheets import contact_sheet, square_crop
from fast_style.zoo import ZOO_DIR, available_styles, describe, zoo_path


def gallery_sheet(
    photos: Sequence[str | os.PathLike],
    styles: Sequence[str] | None = None,
    tile: int = 256,
    zoo_dir: str | os.PathLike = ZOO_DIR,
) -> Image.Image:
    """Contact sheet: a header row with the photos, then per style its image and the stylised photos.

    Each photo is centre-cropped to a ``tile``² square and stylised at that size, the scale the
    networks were trained at (Johnson et al. 2016 train on 256-px crops).

    Args:
        photos: photo files.
        styles: shipped style names (default: all of them).
        tile: side of each square in pixels.
        zoo_dir: where the networks are.

    Raises:
        ValueError: for no photos or an unknown style.
    """
    if not photos:
        raise ValueError("the gallery needs at least one photo")
    names = list(styles) if styles else available_styles(zoo_dir)
    if not names:
        raise ValueError(f"no shipped style in {str(zoo_dir)!r}")
    squares = torch.cat([square_crop(load_image(photo, tile), tile) for photo in photos])
    rows = [("photos", [torch.ones(1, 3, tile, tile), *squares.split(1)])]
    for name in names:
        model = load_model(zoo_path(name, zoo_dir), device="cpu")
        style = load_image(resolve_path_or_asset(describe(name, zoo_dir)["style_image"]), tile)
        stylised = stylize(model, squares)
        rows.append((name, [style, *stylised.split(1)]))
    return contact_sheet(rows, tile=tile)
