"""Johnson's residual image transformation network.

Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution", ECCV 2016, Sec. 3.1 and supplementary Table 1, with instance
normalisation (Ulyanov, Vedaldi & Lempitsky, 2016) in place of batch normalisation and
nearest-neighbour upsampling + convolution in place of transposed convolutions
(Odena, Dumoulin & Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016).

Pure torch: no Lightning, no Hydra.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fast_style.models.conv_rewrites import space_to_depth_conv, upsample2x_conv

NORMS = ("instance", "batch")
OUTPUT_ACTIVATIONS = ("sigmoid", "tanh", "clamp", "none")
MIN_SIZE = 5


def _norm_layer(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    raise ValueError(f"unknown norm {kind!r}; allowed: {', '.join(NORMS)}")


class ConvNormAct(nn.Sequential):
    """Reflection pad → conv → norm → ReLU (norm and ReLU optional).

    Shapes: (B, C_in, H, W) → (B, C_out, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        norm: str | None = "instance",
        relu: bool = True,
    ) -> None:
        layers: list[nn.Module] = [
            # Reflection padding avoids the dark borders zero padding teaches the net.
            nn.ReflectionPad2d(kernel_size // 2),
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride),
        ]
        if norm is not None:
            layers.append(_norm_layer(norm, out_channels))
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)

    @property
    def padding(self) -> int:
        """Reflection padding on each side (kernel_size // 2)."""
        return int(self[0].padding[0])

    @property
    def conv(self) -> nn.Conv2d:
        """The convolution."""
        return self[1]

    @property
    def norm(self) -> nn.Module | None:
        """The normalisation layer, or ``None`` (the head has none)."""
        return next((m for m in self if isinstance(m, (nn.InstanceNorm2d, nn.BatchNorm2d))), None)

    @property
    def relu(self) -> bool:
        """Whether a ReLU follows."""
        return any(isinstance(m, nn.ReLU) for m in self)

    @property
    def is_plain_conv(self) -> bool:
        """Pad + conv only (no norm, no ReLU): the head, which the space-to-depth rewrite may take."""
        return len(self) == 2


class ResidualBlock(nn.Module):
    """Two 3×3 conv-norm layers with an identity shortcut (He et al. 2016; Johnson's variant
    without the final ReLU, as in Gross & Wilber's "Training and investigating residual nets").

    Shapes: (B, C, H, W) → (B, C, H, W).
    """

    def __init__(self, channels: int, norm: str = "instance") -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvNormAct(channels, channels, 3, norm=norm, relu=True),
            ConvNormAct(channels, channels, 3, norm=norm, relu=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class UpsampleConv(nn.Module):
    """Nearest-neighbour upsampling to an exact size, then conv-norm-ReLU.

    Upsampling to the size of the matching encoder stage (not a fixed ×2) is what lets
    any H×W come out at exactly H×W.

    Shapes: (B, C_in, h, w) → (B, C_out, *size).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, norm: str = "instance") -> None:
        super().__init__()
        self.conv = ConvNormAct(in_channels, out_channels, kernel_size, norm=norm)

    def forward(self, x: Tensor, size: tuple[int, int] | list[int]) -> Tensor:
        conv = self.conv.conv
        exact_double = tuple(size) == (2 * x.shape[-2], 2 * x.shape[-1])
        if self.training and exact_double and conv.kernel_size == (3, 3) and self.conv.padding == 1:
            # Same function, 4/9 of the multiply-adds and no upsampled tensor or gradient
            # (conv_rewrites). Training only: eval and export keep the textbook graph, whose
            # shapes do not branch on the input size.
            x = upsample2x_conv(x, conv)
            for layer in list(self.conv)[2:]:
                x = layer(x)
            return x
        return self.conv(F.interpolate(x, size=size, mode="nearest"))


class TransformerNet(nn.Module):
    """Feed-forward style network of Johnson et al. 2016.

    9×9 conv (width) → 3×3 stride-2 conv (2·width) → 3×3 stride-2 conv (4·width) →
    ``num_residual_blocks`` residual blocks → 2 × (nearest upsample + 3×3 conv) → 9×9 conv to RGB.
    The default (width 32, 5 blocks) is the paper's network, about 1.7 M parameters.

    Args:
        width: channels of the first layer; the network uses width, 2·width and 4·width.
        num_residual_blocks: residual blocks at the lowest resolution.
        norm: ``"instance"`` (default, Ulyanov et al.) or ``"batch"`` (the paper's original).
        output_activation: how the last conv's output is mapped to images:
            ``"sigmoid"`` (default, always in (0, 1)), ``"tanh"`` ((tanh + 1) / 2),
            ``"clamp"`` (identity while training, clamped to [0, 1] at eval),
            ``"none"`` (raw output).

    Shapes:
        forward: (B, 3, H, W) in [0, 1] → (B, 3, H, W); any H, W ≥ 5 (the 9×9
        reflection padding needs at least 5 pixels), not only multiples of 4.
    """

    def __init__(
        self,
        width: int = 32,
        num_residual_blocks: int = 5,
        norm: str = "instance",
        output_activation: str = "sigmoid",
    ) -> None:
        super().__init__()
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive integer, got {width!r}")
        if not isinstance(num_residual_blocks, int) or num_residual_blocks < 0:
            raise ValueError(f"num_residual_blocks must be a non-negative integer, got {num_residual_blocks!r}")
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; allowed: {', '.join(NORMS)}")
        if output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(
                f"unknown output_activation {output_activation!r}; allowed: {', '.join(OUTPUT_ACTIVATIONS)}"
            )
        self.model_args: dict[str, Any] = {
            "width": width,
            "num_residual_blocks": num_residual_blocks,
            "norm": norm,
            "output_activation": output_activation,
        }
        self.output_activation = output_activation
        w1, w2, w3 = width, 2 * width, 4 * width
        self.stem = ConvNormAct(3, w1, 9, norm=norm)
        self.down1 = ConvNormAct(w1, w2, 3, stride=2, norm=norm)
        self.down2 = ConvNormAct(w2, w3, 3, stride=2, norm=norm)
        self.residuals = nn.Sequential(*[ResidualBlock(w3, norm=norm) for _ in range(num_residual_blocks)])
        self.up1 = UpsampleConv(w3, w2, norm=norm)
        self.up2 = UpsampleConv(w2, w1, norm=norm)
        self.head = ConvNormAct(w1, 3, 9, norm=None, relu=False)

    def forward(self, images: Tensor) -> Tensor:
        """Stylise a batch.

        Args:
            images: (B, 3, H, W) float tensor in [0, 1].

        Returns:
            (B, 3, H, W) stylised images (in [0, 1] unless ``output_activation="none"``).
        """
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"TransformerNet expects (B, 3, H, W) images, got shape {tuple(images.shape)}")
        if min(images.shape[-2:]) < MIN_SIZE:
            raise ValueError(
                f"TransformerNet needs images of at least {MIN_SIZE}×{MIN_SIZE} pixels, got {tuple(images.shape[-2:])}"
            )
        full = self.stem(images)
        half = self.down1(full)
        quarter = self.residuals(self.down2(half))
        x = self.up1(quarter, half.shape[-2:])
        x = self.up2(x, full.shape[-2:])
        if self.training and self.head.is_plain_conv:
            # The 9×9 conv to RGB on the space-to-depth input: same function, ~3× faster on
            # oneDNN, forward and backward (conv_rewrites). Training only, as in UpsampleConv.
            pad = self.head.padding
            return self.activate(space_to_depth_conv(F.pad(x, (pad,) * 4, mode="reflect"), self.head.conv))
        return self.activate(self.head(x))

    def activate(self, x: Tensor) -> Tensor:
        """Map the head's raw output (B, 3, H, W) to images, as ``output_activation`` says."""
        if self.output_activation == "sigmoid":
            return torch.sigmoid(x)
        if self.output_activation == "tanh":
            return torch.tanh(x).add(1.0).mul(0.5)
        if self.output_activation == "clamp" and not self.training:
            return x.clamp(0.0, 1.0)
        return x
