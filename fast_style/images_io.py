"""Reading and writing user photos for the inference path: orientation, alpha, odd modes, bombs.

Complements :mod:`fast_style.data` (training-side loading, which flattens alpha onto white):
here the alpha channel is kept aside and reattached after stylisation, and Pillow's
decompression-bomb guard becomes a clear per-file error.

Pure Pillow + torch; no Lightning.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from fast_style.atomic import atomic_path
from fast_style.data import pil_to_tensor, tensor_to_pil, to_rgb

# Formats whose files Pillow writes with an alpha channel.
ALPHA_FORMATS = {"PNG", "WEBP", "TIFF", "GIF"}
INPUT_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")


class ImageReadError(OSError):
    """An input image could not be used; the message names the file and the reason."""


@dataclass
class Photo:
    """A decoded photo: (3, H, W) RGB in [0, 1] plus its alpha (a Pillow "L" image) if it had one."""

    rgb: Tensor
    alpha: Image.Image | None
    size: tuple[int, int]  # (width, height) as decoded, after EXIF orientation


def _split_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if not has_alpha:
        return to_rgb(image), None
    rgba = image.convert("RGBA")
    # The raw colours under the alpha (not composited onto a background): the network sees the
    # photo as drawn, and compositing afterwards with the original alpha avoids halos.
    return rgba.convert("RGB"), rgba.getchannel("A")


def read_photo(path: str | os.PathLike, max_size: int | None = None, max_pixels: int | None = None) -> Photo:
    """Decode an image file for stylisation.

    EXIF orientation is applied; grayscale, palette, CMYK and 16-bit images become RGB; alpha is
    kept separately; ``max_size`` downsizes (Lanczos) so the longest side is at most that.

    Args:
        path: image file.
        max_size: longest side in pixels after resizing, or ``None`` for the native size.
        max_pixels: Pillow's decompression-bomb limit (``None``: Pillow's default,
            ``Image.MAX_IMAGE_PIXELS``); larger images are refused.

    Raises:
        ImageReadError: unreadable, truncated, not an image, or over the pixel limit.
    """
    path = Path(path)
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else int(max_pixels)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1× and 2× its limit; treat both as "too big".
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as handle:
                pixels = handle.size[0] * handle.size[1]
                if limit is not None and pixels > limit:
                    raise ImageReadError(
                        f"{str(path)!r} is {handle.size[0]}×{handle.size[1]} = {pixels:,} pixels, above the "
                        f"decompression-bomb limit of {limit:,} pixels; if you trust the file, raise the limit "
                        f"with --max-pixels {pixels} (and consider --max-size or --tile)"
                    )
                handle.load()
                image = ImageOps.exif_transpose(handle)
                rgb, alpha = _split_alpha(image)
    except ImageReadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageReadError(f"{str(path)!r} refused by the decompression-bomb guard: {error}") from error
    except FileNotFoundError as error:
        raise ImageReadError(f"{str(path)!r} does not exist") from error
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, EOFError) as error:
        raise ImageReadError(f"cannot read image {str(path)!r}: {error}") from error
    if max_size is not None:
        width, height = rgb.size
        scale = max_size / max(width, height)
        if scale < 1.0:
            new = (max(1, round(width * scale)), max(1, round(height * scale)))
            rgb = rgb.resize(new, Image.LANCZOS)
            alpha = alpha.resize(new, Image.LANCZOS) if alpha is not None else None
    return Photo(rgb=pil_to_tensor(rgb), alpha=alpha, size=rgb.size)


def output_format(path: str | os.PathLike) -> str:
    """Pillow format name for a file name's extension.

    Raises:
        ValueError: for an extension Pillow cannot write.
    """
    suffix = Path(path).suffix.lower()
    known = Image.registered_extensions()
    if suffix not in known or known[suffix] not in Image.SAVE:
        allowed = ", ".join(INPUT_EXTENSIONS)
        raise ValueError(f"cannot write images with extension {suffix or '(none)'!r} ({str(path)!r}); use one of {allowed}")
    return known[suffix]


def write_photo(image: Tensor, path: str | os.PathLike, alpha: Image.Image | None = None) -> Path:
    """Save a (3, H, W) [0, 1] image, reattaching ``alpha``; the format follows the extension.

    Written to a temporary name first and renamed, so an interrupted run never leaves a
    half-written output. Formats without alpha (JPEG, BMP) get the image composited onto white.
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
