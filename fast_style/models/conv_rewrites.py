"""Exact rewrites of two of TransformerNet's convolutions into cheaper ones.

Both give the same function (up to float rounding) with fewer multiply-adds or a faster
oneDNN/cuDNN kernel, and both are differentiable, so the training forward
(:class:`fast_style.models.transformer.TransformerNet` in train mode) and the inference engine
(:mod:`fast_style.infer.fast_forward`) share them:

- **Nearest ×2 upsampling + 3×3 conv = a sub-pixel 2×2 conv with 4 phases** (Shi et al.,
  "Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel CNN", CVPR
  2016). Output row ``2k`` of the 3×3 conv on the upsampled image reads input rows
  ``k-1, k, k`` and row ``2k+1`` reads ``k, k, k+1``; the kernel collapses to 2 taps per
  direction and output phase. Reflection padding of the upsampled image equals replicate
  padding of the small one, so borders are exact. 4/9 of the multiply-adds, and the
  upsampled tensor (and its gradient) never exist.
- **A k×k conv to few channels on the 2×2 space-to-depth input.** oneDNN runs the 9×9 conv
  32 → 3 (the head) at a fraction of its usual rate; on the pixel-unshuffled input it is a
  (k//2 + 1)-square conv 4·C_in → 4·C_out followed by pixel_shuffle: ~1.2× the multiply-adds
  at ~3× the rate.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Which of the three 3×3 kernel rows feed each of the two taps of the collapsed 2-tap kernel,
# for even and odd output rows (see the module docstring): even 2k ← (k-1 | k, k), odd 2k+1 ← (k, k | k+1).
_PHASE_TAPS = (((1.0, 0.0, 0.0), (0.0, 1.0, 1.0)), ((1.0, 1.0, 0.0), (0.0, 0.0, 1.0)))

# Output phases (row parity, column parity) in the order of the sub-pixel weights' blocks.
PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))


def subpixel_weights(conv: nn.Conv2d) -> tuple[Tensor, Tensor | None]:
    """Collapse a 3×3 convolution after nearest ×2 upsampling into a 2×2 convolution with 4 phases.

    Args:
        conv: the 3×3, stride-1 convolution that follows the upsampling; weight (C_out, C_in, 3, 3).

    Returns:
        ``(weight, bias)``: weight (4·C_out, C_in, 2, 2), phases ordered (even row, even col),
        (even, odd), (odd, even), (odd, odd); bias repeated per phase (or None).
    """
    if conv.kernel_size != (3, 3) or conv.stride != (1, 1) or conv.groups != 1 or conv.dilation != (1, 1):
        raise ValueError(f"sub-pixel rewrite needs a plain 3×3 stride-1 conv, got {conv}")
    taps = conv.weight.new_tensor(_PHASE_TAPS)  # (2 phases, 2 taps, 3 kernel rows)
    # weight[phase_r, phase_c, o, i, tap_r, tap_c] = Σ_rows,cols taps[r] · W[o, i, row, col] · taps[c]
    phased = torch.einsum("pak,oikl,qbl->pqoiab", taps, conv.weight, taps)
    weight = phased.reshape(4 * conv.out_channels, conv.in_channels, 2, 2).contiguous()
    bias = conv.bias.repeat(4) if conv.bias is not None else None
    return weight, bias


def subpixel_conv(padded: Tensor, weights: tuple[Tensor, Tensor | None], out: Tensor | None = None) -> Tensor:
    """The sub-pixel convolution on a replicate-padded small image, phases interleaved.

    Args:
        padded: (B, C_in, n + 2, w + 2): rows and columns of the small image with one
            replicated row/column on each side (replicate padding of the small image equals
            reflection padding of its ×2 nearest upsampling). A strip of rows works too.
        weights: ``subpixel_weights(conv)``.
        out: where to write, (B, C_out, n, 2, w, 2) (e.g. a strip of rows of a whole-image
            output viewed that way, so the inference engine copies nothing); new if ``None``.

    Returns:
        (B, C_out, 2n, 2w): the conv's output rows and columns for those input rows,
        differentiable with respect to ``padded`` and the weights.
    """
    weight, bias = weights
    batch, rows, cols = padded.shape[0], padded.shape[-2] - 2, padded.shape[-1] - 2
    channels = weight.shape[0] // 4
    phases = F.conv2d(padded, weight, bias)  # (B, 4·C_out, n + 1, w + 1)
    if out is None:
        out = phases.new_empty((batch, channels, rows, 2, cols, 2))
    # Phase (r, c) of output pixel (2k+r, 2l+c) sits at collapsed position (k+r, l+c).
    for index, (r, c) in enumerate(PHASES):
        out[:, :, :, r, :, c] = phases[:, index * channels:(index + 1) * channels, r:r + rows, c:c + cols]
    return out.flatten(4, 5).flatten(2, 3)


def upsample2x_conv(x: Tensor, conv: nn.Conv2d) -> Tensor:
    """``conv(reflection_pad(nearest_upsample(x, ×2), 1))`` through the sub-pixel rewrite.

    Args:
        x: (B, C_in, h, w).
        conv: 3×3 stride-1 convolution, weight (C_out, C_in, 3, 3).

    Returns:
        (B, C_out, 2h, 2w), differentiable with respect to ``x`` and ``conv``'s parameters.
    """
    return subpixel_conv(F.pad(x, (1, 1, 1, 1), mode="replicate"), subpixel_weights(conv))


def space_to_depth_weights(conv: nn.Conv2d) -> tuple[Tensor, Tensor | None]:
    """Rewrite a stride-1 k×k convolution as one on the 2×2 space-to-depth input (pixel_unshuffle).

    oneDNN runs a convolution with very few output channels (the 9×9 conv to RGB: 32 → 3) at a
    fraction of its usual rate. On the pixel-unshuffled input the same convolution is a
    ``(k//2 + 1)``-square one with 4·C_in inputs and 4·C_out outputs (one per output phase),
    followed by pixel_shuffle: ~1.2× the multiply-adds at ~3× the rate for the head.

    Args:
        conv: stride-1, odd k×k convolution, weight (C_out, C_in, k, k).

    Returns:
        ``(weight, bias)``: weight (4·C_out, 4·C_in, k//2 + 1, k//2 + 1) in pixel_unshuffle /
        pixel_shuffle channel order; bias repeated per phase (or None).
    """
    kernel = conv.kernel_size[0]
    if conv.kernel_size != (kernel, kernel) or kernel % 2 == 0 or conv.stride != (1, 1) or conv.groups != 1:
        raise ValueError(f"space-to-depth rewrite needs an odd square stride-1 conv, got {conv}")
    blocks = kernel // 2 + 1
    source = conv.weight
    # weight[out, phase_r, phase_c, in, sub_r, sub_c, block_r, block_c] = W[out, in, 2·block + sub - phase]
    weight = source.new_zeros(conv.out_channels, 2, 2, conv.in_channels, 2, 2, blocks, blocks)
    for phase_r in range(2):
        for sub_r in range(2):
            rows = [2 * b + sub_r - phase_r for b in range(blocks)]
            valid_r = [i for i, r in enumerate(rows) if 0 <= r < kernel]
            for phase_c in range(2):
                for sub_c in range(2):
                    cols = [2 * b + sub_c - phase_c for b in range(blocks)]
                    valid_c = [i for i, c in enumerate(cols) if 0 <= c < kernel]
                    picked = source[:, :, [rows[i] for i in valid_r]][:, :, :, [cols[i] for i in valid_c]]
                    weight[:, phase_r, phase_c, :, sub_r, sub_c, valid_r[0]:valid_r[-1] + 1,
                           valid_c[0]:valid_c[-1] + 1] = picked
    weight = weight.reshape(4 * conv.out_channels, 4 * conv.in_channels, blocks, blocks).contiguous()
    bias = conv.bias.repeat_interleave(4) if conv.bias is not None else None
    return weight, bias


def space_to_depth_conv(
    padded: Tensor, conv: nn.Conv2d, weights: tuple[Tensor, Tensor | None] | None = None
) -> Tensor:
    """``conv(padded)`` (no padding of its own) through the space-to-depth rewrite.

    Args:
        padded: (B, C_in, H + k - 1, W + k - 1), already padded as the layer wants.
        conv: odd k×k stride-1 convolution.
        weights: ``space_to_depth_weights(conv)`` if the caller keeps them (default: computed).

    Returns:
        (B, C_out, H, W), differentiable with respect to ``padded`` and ``conv``'s parameters.
    """
    kernel = conv.kernel_size[0]
    height, width = padded.shape[-2] - kernel + 1, padded.shape[-1] - kernel + 1
    weight, bias = weights if weights is not None else space_to_depth_weights(conv)
    # pixel_unshuffle needs even sides; the extra zero row/column only feeds outputs cropped below.
    padded = F.pad(padded, (0, padded.shape[-1] % 2, 0, padded.shape[-2] % 2))
    out = F.pixel_shuffle(F.conv2d(F.pixel_unshuffle(padded, 2), weight, bias), 2)
    return out[..., :height, :width]


__all__ = ["PHASES", "space_to_depth_conv", "space_to_depth_weights", "subpixel_conv", "subpixel_weights",
           "upsample2x_conv"]
