"""Tiled inference for images too big for memory, with whole-image instance-norm statistics.

Johnson et al.'s network (ECCV 2016) normalises every layer with instance normalisation
(Ulyanov et al. 2016), whose mean and variance are taken over the *whole* image. Running the
network on independent tiles gives each tile its own statistics and visible seams. Tiles here
are pieces of one layer at a time instead: :class:`fast_style.infer.fast_forward.FastTransformerNet`
computes each convolution in strips of output rows written into a whole-image activation, then
reduces the normalisation statistics over the whole activation (the "first pass") and applies
them in place (the "second pass"). The result equals the untiled forward up to float rounding.

A tile of side ``tile`` bounds each piece to about ``tile × tile`` pixels of the widest
full-resolution layer; the pieces are full-width strips (contiguous rows: one gather per
piece, no column halo). Peak memory is then about two whole-image activations of the widest
full-resolution layers plus a few tiles.
"""

from __future__ import annotations

from torch import Tensor

from fast_style.infer.fast_forward import FastTransformerNet
from fast_style.models.transformer import MIN_SIZE, TransformerNet

DEFAULT_TILE = 512
MIN_TILE = 16


def tile_elements(model: TransformerNet, tile: int) -> int:
    """Strip budget (elements) of a ``tile × tile`` piece of ``model``'s widest full-resolution layer."""
    if isinstance(tile, bool) or not isinstance(tile, int) or tile < MIN_TILE:
        raise ValueError(f"tile must be an integer of at least {MIN_TILE} pixels, got {tile!r}")
    return tile * tile * model.stem[1].out_channels


def tiled_forward(model: TransformerNet, images: Tensor, tile: int = DEFAULT_TILE) -> Tensor:
    """Run ``model`` layer by layer in pieces of about ``tile × tile`` pixels.

    Args:
        model: a :class:`TransformerNet` (eval mode for meaningful batch-norm/clamp behaviour).
        images: (B, 3, H, W) float tensor in [0, 1]; H, W ≥ 5. Never modified.
        tile: piece size in full-resolution pixels (≥ 16) along each side.

    Returns:
        (B, 3, H, W) stylised images on ``images``' device, equal to ``model(images)`` up to
        float rounding.

    Raises:
        TypeError: if ``model`` is not a TransformerNet.
        ValueError: on a bad shape or tile size.
    """
    if not isinstance(model, TransformerNet):
        raise TypeError(f"tiled inference needs a TransformerNet, got {type(model).__name__}")
    budget = tile_elements(model, tile)
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected (B, 3, H, W) images, got shape {tuple(images.shape)}")
    if min(images.shape[-2:]) < MIN_SIZE:
        raise ValueError(f"images must be at least {MIN_SIZE}×{MIN_SIZE} pixels, got {tuple(images.shape[-2:])}")
    return FastTransformerNet(model, strip_elements=budget)(images)
