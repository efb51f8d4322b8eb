"""The zoo gallery: a header row with the photos, then per shipped style its painting and the stylised photos.

It stylises (the inference path), so it lives here and not in :mod:`fast_style.sheets`, the base
module that lays out any rows of images and imports no path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from PIL import Image

from fast_style.assets import resolve_path_or_asset
from fast_style.errors import InvalidValueError
from fast_style.infer.stylize import load_model, stylize
from fast_style.io import load_image
from fast_style.sheets import contact_sheet, square_crop
from fast_style.zoo import ZOO_DIR, describe, resolve, served_styles


def gallery_sheet(
    photos: Sequence[str | os.PathLike],
    styles: Sequence[str] | None = None,
    tile: int = 256,
    zoo_dir: str | os.PathLike | None = None,
) -> Image.Image:
    """The zoo gallery: a header row with the photos, then per shipped style its image and the stylised photos.

    Each photo is centre-cropped to a ``tile``² square and stylised at that size, the scale the
    networks were trained at (Johnson et al. 2016 train on 256-px crops).

    Args:
        photos: photo files.
        styles: served style specs, e.g. ``candy`` beside ``candy@styles15`` (default: every served style).
        tile: side of each square in pixels.
        zoo_dir: where the networks are (default: the shipped zoo).

    Raises:
        ValueError: for no photos or no shipped style; UnknownStyleError for an unknown one.
    """
    zoo_dir = ZOO_DIR if zoo_dir is None else zoo_dir
    if not photos:
        raise InvalidValueError("the gallery needs at least one photo")
    names = list(styles) if styles else list(served_styles(zoo_dir))
    if not names:
        raise InvalidValueError(f"no shipped style in {str(zoo_dir)!r}")
    squares = torch.cat([square_crop(load_image(photo, tile), tile) for photo in photos])
    rows = [("photos", [torch.ones(1, 3, tile, tile), *squares.split(1)])]
    for name in names:
        model = load_model(resolve(name, allow_path=False, zoo_dir=zoo_dir), device="cpu")
        style = load_image(resolve_path_or_asset(describe(name, zoo_dir)["style_image"]), tile)
        rows.append((name, [style, *stylize(model, squares).split(1)]))
    return contact_sheet(rows, tile=tile)


__all__ = ["gallery_sheet"]
