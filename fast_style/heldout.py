"""The paintings and photos that no training run may see: what "a painting it never saw" is measured on.

Fixed once (2026-12-06) and never tuned: for each of the eight collections of the mirror's Art
Institute of Chicago paintings (``paintings/paintings.csv``), the three files whose names come first
in SHA-256 order (24 of the 237), plus two of the mirror's style images that no network was trained
on. Every run that samples paintings (the arbitrary network's training, the new-painting path's
meta-training) leaves these out through :func:`training_paintings`; the photos that N* is measured on
are COCO val2017, which no run trains on (training reads train2017). ``HELD_OUT_PHOTOS``, the photos
that blobs and the serving choice are checked on by eye, are val2017's files 64–95 in sorted order
(fixed 2026-12-06): after the first 8, which N* is measured on, so the two never share a photo.
"""

from __future__ import annotations

import os
from pathlib import Path

from fast_style.errors import InvalidValueError

HELD_OUT_PAINTINGS: tuple[str, ...] = (
    # eighteenth_century
    "paintings/59858.jpg", "paintings/59907.jpg", "paintings/227532.jpg",
    # golden_age_1850s
    "paintings/14569.jpg", "paintings/896.jpg", "paintings/90064.jpg",
    # golden_age_1860s
    "paintings/81516.jpg", "paintings/81539.jpg", "paintings/887.jpg",
    # golden_age_1870s
    "paintings/14650.jpg", "paintings/86298.jpg", "paintings/21165.jpg",
    # golden_age_1880s
    "paintings/81568.jpg", "paintings/16622.jpg", "paintings/59927.jpg",
    # golden_age_1890s
    "paintings/20556.jpg", "paintings/16496.jpg", "paintings/81576.jpg",
    # medieval_early_renaissance
    "paintings/25749.jpg", "paintings/59940.jpg", "paintings/183006.jpg",
    # renaissance_baroque
    "paintings/181702.jpg", "paintings/28874.jpg", "paintings/4092.jpg",
    # style images with no network of their own
    "styles/woman_with_hat_matisse.jpg", "styles/brushstrokes.jpg",
)

HELD_OUT_PHOTOS: tuple[str, ...] = (
    "coco/val2017/000000006763.jpg", "coco/val2017/000000006771.jpg", "coco/val2017/000000006818.jpg",
    "coco/val2017/000000006894.jpg", "coco/val2017/000000006954.jpg", "coco/val2017/000000007088.jpg",
    "coco/val2017/000000007108.jpg", "coco/val2017/000000007278.jpg", "coco/val2017/000000007281.jpg",
    "coco/val2017/000000007386.jpg", "coco/val2017/000000007511.jpg", "coco/val2017/000000007574.jpg",
    "coco/val2017/000000007784.jpg", "coco/val2017/000000007795.jpg", "coco/val2017/000000007816.jpg",
    "coco/val2017/000000007818.jpg", "coco/val2017/000000007888.jpg", "coco/val2017/000000007977.jpg",
    "coco/val2017/000000007991.jpg", "coco/val2017/000000008021.jpg", "coco/val2017/000000008211.jpg",
    "coco/val2017/000000008277.jpg", "coco/val2017/000000008532.jpg", "coco/val2017/000000008629.jpg",
    "coco/val2017/000000008690.jpg", "coco/val2017/000000008762.jpg", "coco/val2017/000000008844.jpg",
    "coco/val2017/000000008899.jpg", "coco/val2017/000000009378.jpg", "coco/val2017/000000009400.jpg",
    "coco/val2017/000000009448.jpg", "coco/val2017/000000009483.jpg",
)

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def is_held_out(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a held-out painting (compared by its last two path parts, so a copy
    of the mirror elsewhere is recognised too)."""
    parts = Path(path).parts[-2:]
    return "/".join(parts) in HELD_OUT_PAINTINGS


def training_paintings(folders: list[str | os.PathLike]) -> list[Path]:
    """Every image file in ``folders`` (sorted, not recursive) that is not held out.

    Raises:
        InvalidValueError: a folder that does not exist, or no painting left after the hold-out.
    """
    found: list[Path] = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise InvalidValueError(f"painting folder {str(folder)!r} does not exist")
        found += [p for p in sorted(folder.iterdir()) if p.suffix.lower() in _IMAGE_SUFFIXES and not is_held_out(p)]
    if not found:
        raise InvalidValueError(f"no training painting left in {', '.join(map(str, folders))} after the hold-out")
    return found


__all__ = ["HELD_OUT_PAINTINGS", "HELD_OUT_PHOTOS", "is_held_out", "training_paintings"]
