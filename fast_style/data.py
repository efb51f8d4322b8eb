"""Images in and out: robust loading and an image-folder dataset.

Any folder tree of photos works as a training set (Johnson et al. trained on COCO
train2014's 82,783 images; the mirror holds 128 of train2017). Unreadable files are
skipped with one warning each; unusual modes (grayscale, palette, RGBA, CMYK, 16-bit)
are converted to RGB.

Plain torch and Pillow: the inference path imports this module without Lightning; the
LightningDataModule lives in ``fast_style.datamodule``.
"""

from __future__ import annotations

import os
import random
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor
from torch.utils.data import Dataset

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


class NoImagesError(ValueError):
    """A folder holds no usable image."""


def list_images(root: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Image files under ``root`` (extensions matched case-insensitively), sorted.

    Raises:
        FileNotFoundError: if ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {str(root)!r} does not exist or is not a folder")
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in root.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def to_rgb(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Convert any Pillow image to 8-bit RGB.

    16-bit and 32-bit grayscale are rescaled (Pillow's own conversion would clip them);
    transparency is composited onto ``background``; CMYK, palette and grayscale are converted.
    """
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        if image.mode == "F":
            top = max(1.0, float(array.max()))
        image = Image.fromarray(np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        image = Image.alpha_composite(canvas, rgba)
    return image.convert("RGB") if image.mode != "RGB" else image


def open_rgb(path: str | os.PathLike) -> Image.Image:
    """Open an image file fully decoded as RGB, honouring its EXIF orientation.

    Raises:
        OSError: if the file cannot be read or decoded (Pillow's UnidentifiedImageError,
            truncated data, …); the message names the file.
    """
    try:
        with Image.open(path) as handle:
            handle.load()
            image = ImageOps.exif_transpose(handle)
            return to_rgb(image)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as error:
        raise OSError(f"cannot read image {str(path)!r}: {error}") from error


def pil_to_tensor(image: Image.Image) -> Tensor:
    """RGB Pillow image → (3, H, W) float32 in [0, 1]."""
    array = np.array(image, dtype=np.uint8, copy=True)
    return torch.from_numpy(array).permute(2, 0, 1).float().div_(255.0)


def tensor_to_pil(image: Tensor) -> Image.Image:
    """(3, H, W) or (1, 3, H, W) float in [0, 1] → RGB Pillow image (clamped, rounded)."""
    if image.dim() == 4:
        if image.shape[0] != 1:
            raise ValueError(f"expected a single image, got a batch of {image.shape[0]}")
        image = image[0]
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"expected (3, H, W) image, got shape {tuple(image.shape)}")
    array = image.detach().float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(array, mode="RGB")


def load_image(path: str | os.PathLike, size: int | None = None) -> Tensor:
    """Load an image file as a (1, 3, H, W) float tensor in [0, 1].

    Args:
        path: image file.
        size: if given, resize so the shorter side is ``size`` pixels.

    Raises:
        OSError: if the file cannot be read.
    """
    image = open_rgb(path)
    if size is not None:
        image = resize_shorter(image, size)
    return pil_to_tensor(image).unsqueeze(0)


def save_image(image: Tensor, path: str | os.PathLike, **save_kwargs) -> Path:
    """Save a (1, 3, H, W) or (3, H, W) [0, 1] tensor; the format follows the extension.

    Creates the parent folder. JPEG is written at quality 95 unless ``quality`` is given.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        save_kwargs.setdefault("quality", 95)
    tensor_to_pil(image).save(path, **save_kwargs)
    return path


def resize_shorter(image: Image.Image, size: int) -> Image.Image:
    """Resize a Pillow image so its shorter side is ``size`` (bicubic, aspect kept)."""
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size}")
    w, h = image.size
    scale = size / min(w, h)
    new = (max(size, round(w * scale)), max(size, round(h * scale)))
    return image if new == (w, h) else image.resize(new, Image.BICUBIC)


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
        if int(image_size) < 8:
            raise ValueError(f"image_size must be at least 8 pixels, got {image_size}")
        self.root = Path(root)
        self.image_size = int(image_size)
        self.random_crop = random_crop
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
        size = self.image_size
        w, h = image.size
        side = min(w, h)
        if self.random_crop:
            left, top = random.randint(0, w - side), random.randint(0, h - side)
        else:
            left, top = (w - side) // 2, (h - side) // 2
        image = image.crop((left, top, left + side, top + side))
        if side != size:
            image = image.resize((size, size), Image.BICUBIC)
        if self.random_crop and random.random() < 0.5:
            image = ImageOps.mirror(image)
        return pil_to_tensor(image)


def preview_batch(root: str | os.PathLike, count: int, image_size: int) -> Tensor:
    """The first ``count`` images of a folder, centre-cropped: (count, 3, S, S) in [0, 1]."""
    dataset = ImageFolderDataset(root, image_size, random_crop=False, limit=count)
    return torch.stack([dataset[i] for i in range(len(dataset))])


__all__: Sequence[str] = (
    "IMAGE_EXTENSIONS",
    "ImageFolderDataset",
    "NoImagesError",
    "list_images",
    "load_image",
    "open_rgb",
    "preview_batch",
    "save_image",
    "tensor_to_pil",
    "to_rgb",
)
