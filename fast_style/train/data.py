"""The training photos: every image under a folder as square crops.

Any folder tree of photos works as a training set (Johnson et al. trained on COCO
train2014's 82,783 images; the mirror holds 128 of train2017). Unreadable files are
skipped with one warning each; decoding and mode conversion are :mod:`fast_style.io`'s.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset
from torchvision.transforms import v2

from fast_style.errors import InvalidValueError
from fast_style.io import IMAGE_EXTENSIONS, NoImagesError, list_images, open_rgb, pil_to_tensor

# Smaller crops leave VGG's relu4_3 (1/8 resolution) with no pixels to compare.
MIN_IMAGE_SIZE = 8


class ImageFolderDataset(Dataset):
    """Every image under a folder, resized (shorter side) and cropped to a square.

    Files are checked when the dataset is built (header only: fast even for COCO); a file
    that still fails to decode later is replaced by the next good one, with one warning per
    file. ``skipped`` lists the files skipped so far in this process.

    Args:
        root: folder (searched recursively).
        image_size: side of the square crops.
        random_crop: random crops and horizontal flips (training) or centre crops.
        limit: use only the first ``limit`` images (sorted by path).

    Shapes:
        item: (3, image_size, image_size) float32 in [0, 1].

    Raises:
        NoImagesError: if the folder holds no readable image.
    """

    def __init__(
        self, root: str | os.PathLike, image_size: int = 256, random_crop: bool = True, limit: int | None = None
    ) -> None:
        if int(image_size) < MIN_IMAGE_SIZE:
            raise InvalidValueError(f"image_size must be at least {MIN_IMAGE_SIZE} pixels, got {image_size}")
        self.root = Path(root)
        self.image_size = int(image_size)
        self.random_crop = random_crop
        # Lanczos, as everywhere in fast_style.io: the sharpest of Pillow's filters when shrinking.
        resize = v2.Resize((self.image_size, self.image_size), interpolation=v2.InterpolationMode.LANCZOS)
        self._resize_and_flip = v2.Compose([resize, v2.RandomHorizontalFlip()]) if random_crop else resize
        self.skipped: list[Path] = []
        candidates = list_images(self.root)
        self.files: list[Path] = []
        for path in candidates:
            if limit is not None and len(self.files) >= limit:
                break
            if self._header_ok(path):
                self.files.append(path)
        if not self.files:
            raise NoImagesError(
                f"no usable image in {str(self.root)!r} ({len(candidates)} file(s) with extensions "
                f"{', '.join(IMAGE_EXTENSIONS)}; {len(self.skipped)} unreadable)"
            )
        if self.skipped:
            warnings.warn(
                f"{len(self.skipped)} of {len(candidates)} image file(s) in {str(self.root)!r} were skipped", stacklevel=2
            )

    def _header_ok(self, path: Path) -> bool:
        try:
            with Image.open(path) as handle:
                handle.verify()
            return True
        except Exception as error:  # noqa: BLE001 - any decoder failure means "skip this file"
            self._skip(path, error)
            return False

    def _skip(self, path: Path, error: BaseException) -> None:
        if path not in self.skipped:
            self.skipped.append(path)
            warnings.warn(f"skipping unreadable image {str(path)!r}: {error}", stacklevel=3)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Tensor:
        for offset in range(len(self.files)):
            path = self.files[(index + offset) % len(self.files)]
            try:
                image = open_rgb(path)
            except OSError as error:
                self._skip(path, error)
                continue
            return self._crop(image)
        raise NoImagesError(f"no image in {str(self.root)!r} could be decoded")

    def _crop(self, image: Image.Image) -> Tensor:
        # Crop the square first, then resize it: the same picture as resizing the shorter side
        # and cropping, but memory stays bounded for any aspect ratio (a 65535×1 strip would
        # otherwise be resized to 8 million pixels wide).
        side = min(image.size)
        crop = v2.RandomCrop(side) if self.random_crop else v2.CenterCrop(side)
        return pil_to_tensor(self._resize_and_flip(crop(image)))


def preview_batch(root: str | os.PathLike, count: int, image_size: int) -> Tensor:
    """The first ``count`` images of a folder, centre-cropped: (count, 3, S, S) in [0, 1]."""
    dataset = ImageFolderDataset(root, image_size, random_crop=False, limit=count)
    return torch.stack([dataset[i] for i in range(len(dataset))])


__all__: Sequence[str] = ("ImageFolderDataset", "preview_batch")
