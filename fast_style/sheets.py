"""Labelled contact sheets: rows of square image tiles with a caption over each row.

The one grid maker for every picture the project composes from many images: the style-weight
sweep of :mod:`fast_style.baseline.tune` (rows: settings), the zoo gallery
(:func:`fast_style.infer.gallery.gallery_sheet`, rows: styles), ``scripts/showcase.py`` (one trained
style) and ``scripts/bench_video.py``'s frames. Pure Pillow + torch, no plotting library, so it also
runs where matplotlib is not installed; a base module, it stylises nothing and imports no path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from fast_style.atomic import atomic_path
from fast_style.errors import InvalidValueError
from fast_style.io import output_format, tensor_to_pil

_CAPTION_HEIGHT = 18
_GAP = 4


def square_crop(image: Tensor, size: int) -> Tensor:
    """Centre square crop of (1, 3, H, W) or (3, H, W) ``image``, resized to ``size``² → (1, 3, size, size)."""
    if image.dim() == 3:
        image = image.unsqueeze(0)
    height, width = image.shape[-2:]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = image[..., top : top + side, left : left + side].float()
    return F.interpolate(crop, size=(size, size), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def contact_sheet(rows: Sequence[tuple[str, Sequence[Tensor]]], tile: int = 192) -> Image.Image:
    """Lay out rows of images as square tiles, each row under its caption.

    Args:
        rows: ``(caption, images)`` per row; each image a (1, 3, H, W) or (3, H, W) tensor in
            [0, 1], centre-cropped to a square. Rows may have different lengths.
        tile: side of each tile in pixels (at least 16).

    Returns:
        An RGB PIL image on a white background.

    Raises:
        ValueError: for no rows, an empty row or ``tile < 16``.
    """
    if tile < 16:
        raise InvalidValueError(f"tile must be at least 16 pixels, got {tile}")
    if not rows or any(len(images) == 0 for _, images in rows):
        raise InvalidValueError("contact_sheet needs at least one row, and every row at least one image")
    columns = max(len(images) for _, images in rows)
    row_height = _CAPTION_HEIGHT + tile + _GAP
    sheet = Image.new("RGB", (columns * (tile + _GAP) + _GAP, len(rows) * row_height + _GAP), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for row_index, (caption, images) in enumerate(rows):
        y = _GAP + row_index * row_height
        draw.text((_GAP, y + 3), caption, fill=(0, 0, 0), font=font)
        for column, image in enumerate(images):
            picture = tensor_to_pil(square_crop(image.detach().cpu(), tile)[0])
            sheet.paste(picture, (_GAP + column * (tile + _GAP), y + _CAPTION_HEIGHT))
    return sheet


def save_sheet(sheet: Image.Image, path: str | os.PathLike, quality: int = 85) -> Path:
    """Write ``sheet`` (JPEG at ``quality``, else by extension) atomically; parents are created.

    Sheets are committed to the docs, hence a lower JPEG quality than :func:`fast_style.io.save_image`'s.
    """
    path = Path(path)
    fmt = output_format(path)
    options = {"quality": quality, "optimize": True} if fmt == "JPEG" else {}
    with atomic_path(path) as partial:
        sheet.save(partial, format=fmt, **options)
    return path
