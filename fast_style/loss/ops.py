"""Pure tensor functions used by the perceptual loss.

References: Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural
Networks", CVPR 2016 (Gram matrices); Johnson, Alahi & Fei-Fei, ECCV 2016, Sec. 3
(total variation regulariser).
"""

from __future__ import annotations

import torch
from torch import Tensor


def gram_matrix(features: Tensor) -> Tensor:
    """Gram matrix of feature maps, normalised by C·H·W.

    ``G[b, i, j] = sum_{h,w} F[b, i, h, w] * F[b, j, h, w] / (C * H * W)``: the one Gram
    normalisation of the project (Johnson et al. 2016, Eq. 3). Default loss weights in
    ``configs/`` are tuned for it.

    Always computed in float32, also under autocast: fp16 Grams of VGG activations in
    the caffe convention (values in the hundreds) overflow.

    Args:
        features: (B, C, H, W) feature maps.

    Returns:
        (B, C, C) float32 Gram matrices.

    Raises:
        ValueError: if ``features`` is not 4-dimensional.
    """
    if features.dim() != 4:
        raise ValueError(f"gram_matrix expects (B, C, H, W) features, got shape {tuple(features.shape)}")
    b, c, h, w = features.shape
    with torch.autocast(device_type=features.device.type, enabled=False):
        flat = features.reshape(b, c, h * w).float()
        # Scaling before the product keeps intermediate sums in a safe range.
        return torch.bmm(flat, flat.transpose(1, 2)).div_(c * h * w)


def total_variation(images: Tensor) -> Tensor:
    """Total-variation regulariser: mean squared difference of neighbouring pixels.

    ``tv = mean((x[..., :, 1:] - x[..., :, :-1])**2) + mean((x[..., 1:, :] - x[..., :-1, :])**2)``
    (the squared, "beta = 2" form of Johnson et al. 2016, Sec. 3.3, taken as a mean so
    the weight does not depend on image size).

    Args:
        images: (B, C, H, W) images; H and W at least 2.

    Returns:
        Scalar float32 tensor.

    Raises:
        ValueError: if ``images`` is not 4-dimensional or smaller than 2×2.
    """
    if images.dim() != 4 or images.shape[-1] < 2 or images.shape[-2] < 2:
        raise ValueError(f"total_variation expects (B, C, H>=2, W>=2) images, got shape {tuple(images.shape)}")
    x = images.float()
    dx = x[..., :, 1:] - x[..., :, :-1]
    dy = x[..., 1:, :] - x[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()


def feature_mse(prediction: Tensor, target: Tensor) -> Tensor:
    """Mean squared error computed in float32, broadcasting ``target`` over the batch.

    Args:
        prediction: (B, ...) tensor.
        target: tensor broadcastable to ``prediction`` (e.g. (1, C, C) style Grams).

    Returns:
        Scalar float32 tensor.
    """
    with torch.autocast(device_type=prediction.device.type, enabled=False):
        return (prediction.float() - target.float()).pow(2).mean()
