"""Blobs: saturated white or black patches that a network paints where the photo has none.

A feed-forward network whose instance-norm statistics are pushed out of range (a blend of a
multi-style network's γ, β that no style was trained at, a style cut short) fills patches of its
output with pure white or pure black (Johnson et al. 2016's networks end in a squashing layer, so
such a patch is a saturated plateau, not a painted one). The measure: the share of output pixels
whose every channel is above 250/255 (white) or below 5/255 (black), counted only where the
photo itself is not white (BT.601 luminance < 235/255) or not black (luminance > 20/255): a white
wall stays white in any style, and does not count. White and black are reported apart, since a
painting that is mostly white paper (a sketch, feathers) paints white areas of its own.

Pure torch: no Lightning, no Hydra.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from fast_style.errors import InvalidValueError
from fast_style.infer.stylize import luminance

# Saturation thresholds on the output (every channel) and on the photo's luminance, in [0, 1].
WHITE_OUTPUT = 250 / 255
BLACK_OUTPUT = 5 / 255
WHITE_PHOTO = 235 / 255
BLACK_PHOTO = 20 / 255


@dataclass(frozen=True)
class BlobShares:
    """Shares of a stylised image's pixels that are saturated where the photo is not.

    Attributes:
        white: pixels with every channel > 250/255 where the photo's luminance is < 235/255, over all pixels.
        black: pixels with every channel < 5/255 where the photo's luminance is > 20/255, over all pixels.
    """

    white: float
    black: float


def blob_shares(photo: Tensor, output: Tensor) -> BlobShares:
    """The blob shares of ``output``, the stylised ``photo``.

    Args:
        photo: (3, H, W) or (B, 3, H, W) in [0, 1].
        output: the network's result for it, same shape, in [0, 1].

    Returns:
        The white and black shares (fractions in [0, 1]) over every pixel of the batch.

    Raises:
        InvalidValueError: shapes that differ, or that are not (B, 3, H, W) / (3, H, W).
    """
    if photo.shape != output.shape or photo.dim() not in (3, 4) or photo.shape[-3] != 3:
        raise InvalidValueError(f"photo and output must be (B, 3, H, W) or (3, H, W) of one shape; got "
                                f"{tuple(photo.shape)} and {tuple(output.shape)}")
    batch = photo.reshape(-1, *photo.shape[-3:]).float()
    luma = luminance(batch)[:, 0].reshape(photo.shape[:-3] + photo.shape[-2:])
    white, black = _saturated(output)
    white, black = white & (luma < WHITE_PHOTO), black & (luma > BLACK_PHOTO)
    pixels = luma.numel()
    return BlobShares(white.sum().item() / pixels, black.sum().item() / pixels)


def saturated_shares(image: Tensor) -> BlobShares:
    """The shares of ``image``'s pixels that are saturated white or black by the blob thresholds, unmasked.

    A painting's own: a network that paints as much pure white as its painting holds (feathers' white paper)
    reproduces the painting, so a painting's share is what its blob limit may be raised to (docs/serving.md).

    Args:
        image: (3, H, W) or (B, 3, H, W) in [0, 1].

    Raises:
        InvalidValueError: a shape that is not (B, 3, H, W) / (3, H, W).
    """
    if image.dim() not in (3, 4) or image.shape[-3] != 3:
        raise InvalidValueError(f"image must be (B, 3, H, W) or (3, H, W); got {tuple(image.shape)}")
    white, black = _saturated(image)
    pixels = white.numel()
    return BlobShares(white.sum().item() / pixels, black.sum().item() / pixels)


def _saturated(image: Tensor) -> tuple[Tensor, Tensor]:
    """The masks, (..., H, W), of pixels whose every channel is above 250/255 and below 5/255."""
    return (image > WHITE_OUTPUT).all(dim=-3), (image < BLACK_OUTPUT).all(dim=-3)


__all__ = ["BLACK_OUTPUT", "BLACK_PHOTO", "WHITE_OUTPUT", "WHITE_PHOTO", "BlobShares", "blob_shares", "saturated_shares"]
