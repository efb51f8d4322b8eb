"""The one place that reads and writes images: orientation, odd modes, alpha, bombs, extensions.

Every path of the project (training photos, style images, photos to stylise, results, sheets)
goes through here. The rules, stated once:

- **Decoding**: EXIF orientation is applied; grayscale, palette, CMYK and 16/32-bit images
  become 8-bit RGB (16-bit is rescaled, not clipped). The decompression-bomb guard (Pillow's
  default limit, :data:`DEFAULT_MAX_PIXELS`, or the caller's ``max_pixels``, above or below it) is
  a clear :class:`ImageReadError`, as is any file that is missing, truncated or not an image. An
  animated image is used by its first frame, with a :class:`FirstFrameOnlyWarning`.
- **Alpha**: :func:`read_photo` (photos to stylise) keeps it aside to reattach after
  stylisation; :func:`open_rgb`/:func:`load_image` (training photos, style images) composite it
  onto white.
- **Sizes**: training photos and style images are sized by their *shorter* side (Johnson et al.
  train on 256-px crops, the style image's Grams are taken at a given shorter side:
  :func:`resize_shorter`); photos to stylise are capped by their *longest* side (``--max-size``:
  :func:`fit_longest`). Both resample with :data:`RESAMPLE` (Lanczos: the sharpest of Pillow's
  filters when shrinking, which is nearly always the case here).
- **Writing**: the format follows the extension (:func:`output_format`); JPEG and WebP at
  quality 95; always to a temporary name first, then renamed (:func:`fast_style.atomic.atomic_path`).

Images are float tensors in [0, 1] at every public boundary. Pure Pillow + torch; no Lightning.
"""

from __future__ import annotations

import glob
import os
import stat
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from fast_style.atomic import atomic_path
from fast_style.errors import FastStyleError, FastStyleWarning, InputFileError, InvalidValueError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")
RESAMPLE = Image.Resampling.LANCZOS
# Formats whose files Pillow writes with an alpha channel.
ALPHA_FORMATS = {"PNG", "WEBP", "TIFF", "GIF"}
# Pillow's own default (about 89 MP), taken once: the limit when the caller sets none.
DEFAULT_MAX_PIXELS: int = Image.MAX_IMAGE_PIXELS or 89_478_485
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


class ImageReadError(FastStyleError, OSError):
    """An image could not be used; the message names the file and the reason."""


class NoImagesError(FastStyleError, ValueError):
    """A folder holds no usable image."""


@dataclass
class Photo:
    """A decoded photo: (3, H, W) RGB in [0, 1] plus its alpha (a Pillow "L" image) if it had one."""

    rgb: Tensor
    alpha: Image.Image | None
    size: tuple[int, int]  # (width, height) as decoded, after EXIF orientation and any resizing


def list_images(root: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Image files under ``root`` (extensions of :data:`IMAGE_EXTENSIONS`, any case), sorted.

    Raises:
        FileNotFoundError: if ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {str(root)!r} does not exist or is not a folder")
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in root.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def glob_files(pattern: str) -> list[Path]:
    """Files matching a shell pattern (``photos/**/*.jpg``: ``**`` is any depth), sorted.

    Matched with :meth:`pathlib.Path.glob` from the pattern's longest folder without wildcards,
    which does not follow symbolic links into folders under ``**``: a link loop costs nothing
    (``glob.glob(recursive=True)`` follows them and grows exponentially).
    """
    parts = Path(pattern).expanduser().parts
    fixed = next((index for index, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    base, rest = Path(*parts[:fixed]) if fixed else Path("."), parts[fixed:]
    if not rest:
        return [base] if base.is_file() else []
    return sorted(path for path in base.glob(str(Path(*rest))) if path.is_file())


def describe_special_file(path: Path) -> str:
    """What a path that exists but is neither a regular file nor a folder is (``'a FIFO (named pipe)'``)."""
    mode = path.stat().st_mode
    kinds = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    return next((text for test, text in kinds if test(mode)), "not a regular file")


def require_file(path: str | os.PathLike, what: str = "input") -> Path:
    """``path`` if it is a regular file (or a link to one), checked before any work is done.

    Raises:
        InputFileError: it does not exist, is a folder, or is a FIFO, socket or device (named as such).
    """
    path = Path(path)
    if path.is_file():
        return path
    if path.is_dir():
        reason = "is a folder, not a file"
    elif path.exists():
        reason = f"is {describe_special_file(path)}, not a regular file"
    else:
        reason = "does not exist"
    raise InputFileError(f"{what} {str(path)!r} {reason}")


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
    if image.mode in _ALPHA_MODES:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        image = Image.alpha_composite(canvas, rgba)
    return image.convert("RGB") if image.mode != "RGB" else image


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


class FirstFrameOnlyWarning(FastStyleWarning):
    """An animated image (GIF, APNG, WebP, multi-page TIFF) is used by its first frame only."""


# Pillow's own decompression-bomb guard reads a process-wide limit at Image.open; ours takes the
# caller's limit (``--max-pixels``), so Pillow's is switched off around the open, one open at a time.
_PILLOW_LIMIT_LOCK = threading.Lock()


def _open_with_our_limit(path: Path) -> Image.Image:
    with _PILLOW_LIMIT_LOCK:
        pillow_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = pillow_limit


def _decode(path: Path, max_pixels: int | None) -> Image.Image:
    """The fully decoded, EXIF-oriented Pillow image of ``path`` (any mode); first frame of an animation."""
    limit = DEFAULT_MAX_PIXELS if max_pixels is None else int(max_pixels)
    try:
        with _open_with_our_limit(path) as handle:
            pixels = handle.size[0] * handle.size[1]
            if pixels > limit:
                raise ImageReadError(
                    f"{str(path)!r} is {handle.size[0]}×{handle.size[1]} = {pixels:,} pixels, above the "
                    f"decompression-bomb limit of {limit:,} pixels; if you trust the file, raise the limit "
                    f"with --max-pixels {pixels} (and consider --max-size or --strip-size)"
                )
            frames = getattr(handle, "n_frames", 1)
            if frames > 1:
                warnings.warn(f"{str(path)!r} has {frames} frames; only the first is used", FirstFrameOnlyWarning,
                              stacklevel=3)
            handle.load()
            return ImageOps.exif_transpose(handle)
    except ImageReadError:
        raise
    except FileNotFoundError as error:
        raise ImageReadError(f"{str(path)!r} does not exist") from error
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, EOFError) as error:
        raise ImageReadError(f"cannot read image {str(path)!r}: {error}") from error


def open_rgb(path: str | os.PathLike, max_pixels: int | None = None) -> Image.Image:
    """Open an image file as an RGB Pillow image, alpha composited onto white.

    Args:
        path: image file.
        max_pixels: decompression-bomb limit (``None``: :data:`DEFAULT_MAX_PIXELS`, Pillow's).

    Raises:
        ImageReadError: unreadable, truncated, not an image, or over the pixel limit.
    """
    return to_rgb(_decode(Path(path), max_pixels))


def resize_shorter(image: Image.Image, size: int) -> Image.Image:
    """Resize a Pillow image so its shorter side is ``size`` (aspect kept, :data:`RESAMPLE`)."""
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size}")
    w, h = image.size
    scale = size / min(w, h)
    new = (max(size, round(w * scale)), max(size, round(h * scale)))
    return image if new == (w, h) else image.resize(new, RESAMPLE)


def fit_longest(image: Image.Image, max_size: int) -> Image.Image:
    """Shrink a Pillow image so its longest side is at most ``max_size`` (never enlarged)."""
    if max_size < 1:
        raise ValueError(f"max_size must be a positive number of pixels, got {max_size}")
    width, height = image.size
    scale = max_size / max(width, height)
    if scale >= 1.0:
        return image
    return image.resize((max(1, round(width * scale)), max(1, round(height * scale))), RESAMPLE)


def load_image(path: str | os.PathLike, size: int | None = None) -> Tensor:
    """Load an image file as a (1, 3, H, W) float tensor in [0, 1] (alpha onto white).

    Args:
        path: image file.
        size: if given, resize so the shorter side is ``size`` pixels.

    Raises:
        ImageReadError: if the file cannot be read.
    """
    image = open_rgb(path)
    if size is not None:
        image = resize_shorter(image, size)
    return pil_to_tensor(image).unsqueeze(0)


def read_photo(path: str | os.PathLike, max_size: int | None = None, max_pixels: int | None = None) -> Photo:
    """Decode a photo for stylisation, its alpha kept aside.

    Args:
        path: image file.
        max_size: longest side in pixels after resizing, or ``None`` for the native size.
        max_pixels: decompression-bomb limit (``None``: :data:`DEFAULT_MAX_PIXELS`, Pillow's);
            larger images are refused.

    Raises:
        ImageReadError: unreadable, truncated, not an image, or over the pixel limit.
    """
    image = _decode(Path(path), max_pixels)
    alpha = None
    if image.mode in _ALPHA_MODES or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        # The raw colours under the alpha (not composited onto a background): the network sees the
        # photo as drawn, and compositing afterwards with the original alpha avoids halos.
        rgb, alpha = rgba.convert("RGB"), rgba.getchannel("A")
    else:
        rgb = to_rgb(image)
    if max_size is not None:
        rgb = fit_longest(rgb, max_size)
        alpha = alpha.resize(rgb.size, RESAMPLE) if alpha is not None and alpha.size != rgb.size else alpha
    return Photo(rgb=pil_to_tensor(rgb), alpha=alpha, size=rgb.size)


def output_format(path: str | os.PathLike) -> str:
    """Pillow format name for a file name's extension.

    Raises:
        ValueError: for an extension Pillow cannot write.
    """
    suffix = Path(path).suffix.lower()
    known = Image.registered_extensions()
    if suffix not in known or known[suffix] not in Image.SAVE:
        allowed = ", ".join(IMAGE_EXTENSIONS)
        raise InvalidValueError(
            f"cannot write images with extension {suffix or '(none)'!r} ({str(path)!r}); use one of {allowed}")
    return known[suffix]


def save_image(image: Tensor, path: str | os.PathLike, alpha: Image.Image | None = None) -> Path:
    """Save a (1, 3, H, W) or (3, H, W) [0, 1] image, reattaching ``alpha``; the format follows the extension.

    The parent folder is created. Written to a temporary name first and renamed, so an
    interrupted run never leaves a half-written file. Formats without alpha (JPEG, BMP) get the
    image composited onto white. JPEG and WebP are written at quality 95.

    Raises:
        ValueError: for an extension Pillow cannot write.
    """
    path = Path(path)
    fmt = output_format(path)
    picture = tensor_to_pil(image)
    if alpha is not None:
        picture.putalpha(alpha)
        if fmt not in ALPHA_FORMATS:
            canvas = Image.new("RGBA", picture.size, (255, 255, 255, 255))
            picture = Image.alpha_composite(canvas, picture).convert("RGB")
    options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    with atomic_path(path) as partial:
        picture.save(partial, format=fmt, **options)
    return path


__all__ = [
    "IMAGE_EXTENSIONS",
    "RESAMPLE",
    "ImageReadError",
    "NoImagesError",
    "Photo",
    "describe_special_file",
    "fit_longest",
    "list_images",
    "load_image",
    "open_rgb",
    "output_format",
    "pil_to_tensor",
    "read_photo",
    "require_file",
    "resize_shorter",
    "save_image",
    "tensor_to_pil",
    "to_rgb",
]
