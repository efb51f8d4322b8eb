"""Johnson's residual image transformation network.

Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution", ECCV 2016, Sec. 3.1 and supplementary Table 1, with instance
normalisation (Ulyanov, Vedaldi & Lempitsky, 2016) in place of batch normalisation and
nearest-neighbour upsampling + convolution in place of transposed convolutions
(Odena, Dumoulin & Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016).

Pure torch: no Lightning, no Hydra.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fast_style.deprecated import warn_renamed
from fast_style.errors import InvalidValueError
from fast_style.models.conditional_norm import (
    ConditionalInstanceNorm2d,
    EmbeddingInstanceNorm2d,
    StyleChoice,
    style_weight_vector,
)
from fast_style.models.conv_rewrites import space_to_depth_conv, upsample2x_conv

NORMS = ("instance", "batch")
OUTPUT_ACTIVATIONS = ("sigmoid", "tanh", "clamp", "none")
MIN_SIZE = 5


def _norm_layer(kind: str, channels: int, num_styles: int = 1, embedding_dim: int | None = None) -> nn.Module:
    if kind == "instance" and embedding_dim is not None:
        return EmbeddingInstanceNorm2d(channels, embedding_dim)
    if kind == "instance":
        # One style: the plain norm, so one-style files and their outputs stay exactly as they were.
        return nn.InstanceNorm2d(channels, affine=True) if num_styles == 1 else ConditionalInstanceNorm2d(channels, num_styles)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    raise InvalidValueError(f"unknown norm {kind!r}; allowed: {', '.join(NORMS)}")


class SeparableConv2d(nn.Module):
    """A depthwise k×k convolution then a pointwise 1×1 one (Howard et al., MobileNets, 2017).

    About ``k² / C_out + 1 / k²`` of a full convolution's multiply-adds: the residual blocks of a
    small network keep their receptive field for a fraction of the compute. Exposes the
    ``kernel_size``, ``stride`` and channel attributes of an ``nn.Conv2d`` so that the blocks
    built on it (and the fast engine's row strips) treat it like one.

    Shapes: (B, C_in, H, W) → (B, C_out, (H - k) // stride + 1, (W - k) // stride + 1) (no padding).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, stride=stride, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = self.depthwise.kernel_size, self.depthwise.stride

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise(self.depthwise(x))


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
        num_styles: int = 1,
        separable: bool = False,
        embedding_dim: int | None = None,
    ) -> None:
        conv_class = SeparableConv2d if separable else nn.Conv2d
        layers: list[nn.Module] = [
            # Reflection padding avoids the dark borders zero padding teaches the net.
            nn.ReflectionPad2d(kernel_size // 2),
            conv_class(in_channels, out_channels, kernel_size, stride=stride),
        ]
        if norm is not None:
            layers.append(_norm_layer(norm, out_channels, num_styles, embedding_dim))
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)

    @property
    def padding(self) -> int:
        """Reflection padding on each side (kernel_size // 2)."""
        return int(self[0].padding[0])

    @property
    def conv(self) -> nn.Conv2d | SeparableConv2d:
        """The convolution."""
        return self[1]

    @property
    def norm(self) -> nn.Module | None:
        """The normalisation layer, or ``None`` (the head has none unless ``head_norm``)."""
        kinds = (nn.InstanceNorm2d, nn.BatchNorm2d, ConditionalInstanceNorm2d, EmbeddingInstanceNorm2d)
        return next((m for m in self if isinstance(m, kinds)), None)

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
    ``separable=True`` makes both convolutions depthwise-separable (:class:`SeparableConv2d`).

    Shapes: (B, C, H, W) → (B, C, H, W).
    """

    def __init__(self, channels: int, norm: str = "instance", num_styles: int = 1, separable: bool = False,
                 embedding_dim: int | None = None) -> None:
        super().__init__()
        self.body = nn.Sequential(*[
            ConvNormAct(channels, channels, 3, norm=norm, relu=relu, num_styles=num_styles, separable=separable,
                        embedding_dim=embedding_dim)
            for relu in (True, False)
        ])

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class UpsampleConv(nn.Module):
    """Nearest-neighbour upsampling to an exact size, then conv-norm-ReLU.

    Upsampling to the size of the matching encoder stage (not a fixed ×2) is what lets
    any H×W come out at exactly H×W.

    Shapes: (B, C_in, h, w) → (B, C_out, *size).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, norm: str = "instance",
                 num_styles: int = 1, embedding_dim: int | None = None) -> None:
        super().__init__()
        self.conv = ConvNormAct(in_channels, out_channels, kernel_size, norm=norm, num_styles=num_styles,
                                embedding_dim=embedding_dim)

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
    """Feed-forward style network of Johnson et al. 2016, for one style or several.

    9×9 conv (width) → 3×3 stride-2 conv (2·width) → 3×3 stride-2 conv (4·width) →
    ``num_residual_blocks`` residual blocks → 2 × (nearest upsample + 3×3 conv) → 9×9 conv to RGB.
    The default (width 32, 5 blocks) is the paper's network, about 1.7 M parameters.

    With ``styles`` the instance norms are conditional (Dumoulin, Shlens & Kudlur, ICLR 2017):
    the convolutions are shared and every norm layer holds one γ, β row per style;
    :func:`~fast_style.models.surgery.fold_style` folds a style or a blend into an ordinary one-style
    network, which every inference path (fast engine, export, video, web page) runs unchanged; the
    weight surgery (folding, new styles, the distillation's phase fix) lives in
    :mod:`fast_style.models.surgery`.

    Args:
        width: channels of the first layer; the network uses width, 2·width and 4·width.
        num_residual_blocks: residual blocks at the lowest resolution.
        norm: ``"instance"`` (default, Ulyanov et al.) or ``"batch"`` (the paper's original).
        output_activation: how the last conv's output is mapped to images:
            ``"sigmoid"`` (default, always in (0, 1)), ``"tanh"`` ((tanh + 1) / 2),
            ``"clamp"`` (identity while training, clamped to [0, 1] at eval),
            ``"none"`` (raw output).
        styles: names of the styles of a multi-style network (two or more, distinct), in row
            order; ``None`` (default) for a one-style network.
        stem_kernel, head_kernel: odd kernel sizes of the first and the last convolution, the two
            at full resolution (9, the paper's, by default; smaller ones for a fast small network).
        separable_residuals: depthwise-separable convolutions in the residual blocks
            (:class:`SeparableConv2d`), for a fast small network.
        space_to_depth: run the stem and the head at half resolution on 2×2 blocks of pixels
            (pixel_unshuffle in, pixel_shuffle out, as ESPCN: Shi et al., CVPR 2016), so that no
            feature map is at full resolution and the network works at 1/2, 1/4 and 1/8 of it:
            the layout of the fast small networks. The input is padded (replicate, 5 rows and
            columns, :func:`pad_for_space_to_depth`) and the output cropped back to (H, W).
        encoder_norm: normalise the stem and the two stride-2 layers (default). ``False``: those
            three are conv (with bias) + ReLU, as in Magenta's arbitrary-style network, whose batch
            norms there were folded into the biases (Ghiasi et al., BMVC 2017).
        head_norm: a norm on the head's output, before ``output_activation`` (Ghiasi et al.'s
            network: a conditional norm on the 3 channels, then the sigmoid). Not with
            ``space_to_depth`` (the norm would see the 12 sub-pixel channels, not the 3 colours).
        embedding_dim: condition every norm on a style embedding of this length
            (:class:`EmbeddingInstanceNorm2d`: γ, β are linear maps of the embedding, Ghiasi et al.
            Sec. 3); ``forward`` then takes ``embedding=`` and
            :func:`~fast_style.models.surgery.fold_embedding` folds one embedding into an ordinary
            one-style network. ``None`` (default): no embedding.

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
        styles: Sequence[str] | None = None,
        stem_kernel: int = 9,
        head_kernel: int = 9,
        separable_residuals: bool = False,
        space_to_depth: bool = False,
        encoder_norm: bool = True,
        head_norm: bool = False,
        embedding_dim: int | None = None,
    ) -> None:
        super().__init__()
        _check_layout(width, num_residual_blocks, norm, output_activation,
                      {"stem_kernel": stem_kernel, "head_kernel": head_kernel},
                      {"separable_residuals": separable_residuals, "space_to_depth": space_to_depth,
                       "encoder_norm": encoder_norm, "head_norm": head_norm})
        _check_embedding(embedding_dim, norm, styles)
        self.model_args: dict[str, Any] = {
            "width": width,
            "num_residual_blocks": num_residual_blocks,
            "norm": norm,
            "output_activation": output_activation,
        }
        # Only where they differ from the paper's network: the shipped files' model_args stay as they are.
        for key, value, default in (("stem_kernel", stem_kernel, 9), ("head_kernel", head_kernel, 9),
                                    ("separable_residuals", separable_residuals, False),
                                    ("space_to_depth", space_to_depth, False), ("encoder_norm", encoder_norm, True),
                                    ("head_norm", head_norm, False), ("embedding_dim", embedding_dim, None)):
            if value != default:
                self.model_args[key] = value
        self.style_names: tuple[str, ...] = _check_styles(styles, norm)
        if styles is not None:
            # Only for a multi-style network: one-style model_args stay exactly what the shipped files hold.
            self.model_args["styles"] = list(self.style_names)
        self.output_activation = output_activation
        self.embedding_dim = embedding_dim
        count, embed = self.num_styles, embedding_dim
        w1, w2, w3 = width, 2 * width, 4 * width
        self.space_to_depth = space_to_depth
        pixels = 12 if space_to_depth else 3  # RGB of a 2×2 block, or of one pixel
        contract = norm if encoder_norm else None
        self.stem = ConvNormAct(pixels, w1, stem_kernel, norm=contract, num_styles=count, embedding_dim=embed)
        self.down1 = ConvNormAct(w1, w2, 3, stride=2, norm=contract, num_styles=count, embedding_dim=embed)
        self.down2 = ConvNormAct(w2, w3, 3, stride=2, norm=contract, num_styles=count, embedding_dim=embed)
        self.residuals = nn.Sequential(*[ResidualBlock(w3, norm=norm, num_styles=count, separable=separable_residuals,
                                                       embedding_dim=embed)
                                         for _ in range(num_residual_blocks)])
        self.up1 = UpsampleConv(w3, w2, norm=norm, num_styles=count, embedding_dim=embed)
        self.up2 = UpsampleConv(w2, w1, norm=norm, num_styles=count, embedding_dim=embed)
        self.head = ConvNormAct(w1, pixels, head_kernel, norm=norm if head_norm else None, relu=False,
                                num_styles=count, embedding_dim=embed)

    @property
    def architecture_args(self) -> dict[str, Any]:
        """``model_args`` without the styles: what networks must share to exchange weights."""
        return {key: value for key, value in self.model_args.items() if key != "styles"}

    @property
    def num_styles(self) -> int:
        """Styles held: 1 for a one-style network."""
        return max(1, len(self.style_names))

    def conditional_norms(self) -> list[ConditionalInstanceNorm2d]:
        """The style-conditioned norm layers (none in a one-style network)."""
        return [module for module in self.modules() if isinstance(module, ConditionalInstanceNorm2d)]

    def embedding_norms(self) -> list[EmbeddingInstanceNorm2d]:
        """The embedding-conditioned norm layers (none unless ``embedding_dim`` is set)."""
        return [module for module in self.modules() if isinstance(module, EmbeddingInstanceNorm2d)]

    def style_vector(self, style: StyleChoice, batch: int | None = None) -> Tensor:
        """Weights over this network's styles for ``style`` (see :func:`style_weight_vector`): (S,) or (B, S)."""
        if not self.style_names:
            raise InvalidValueError("this is a one-style network: it takes no style= argument")
        return style_weight_vector(style, self.style_names, batch)

    def forward(self, images: Tensor, style: StyleChoice | None = None, embedding: Tensor | None = None) -> Tensor:
        """Stylise a batch.

        Args:
            images: (B, 3, H, W) float tensor in [0, 1].
            style: for a multi-style network, the style: an index, a name, a mapping
                name → weight (a blend) or weights (S,) or per image (B, S). ``None`` for a
                one-style network.
            embedding: for an embedding-conditioned network (``embedding_dim``), the style
                embedding: (E,) for every image or (B, E) per image. ``None`` otherwise.

        Returns:
            (B, 3, H, W) stylised images (in [0, 1] unless ``output_activation="none"``).
        """
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"TransformerNet expects (B, 3, H, W) images, got shape {tuple(images.shape)}")
        if min(images.shape[-2:]) < MIN_SIZE:
            raise ValueError(
                f"TransformerNet needs images of at least {MIN_SIZE}×{MIN_SIZE} pixels, got {tuple(images.shape[-2:])}"
            )
        if self.embedding_dim is not None or embedding is not None:
            return self._embedded_forward(images, style, embedding)
        if style is None and not self.style_names:
            return self.forward_layers(images)
        if style is None:
            raise InvalidValueError(f"this network holds {self.num_styles} styles ({', '.join(self.style_names)}): "
                                    "pass style= (a name, an index or weights)")
        weights = self.style_vector(style, images.shape[0]).to(images.device)
        norms = self.conditional_norms()
        for norm in norms:
            norm.style_weights = weights if weights.dim() == 2 else weights.unsqueeze(0)
        try:
            return self.forward_layers(images)
        finally:
            for norm in norms:
                norm.style_weights = None

    def _embedded_forward(self, images: Tensor, style: StyleChoice | None, embedding: Tensor | None) -> Tensor:
        if self.embedding_dim is None:
            raise InvalidValueError("this network is not conditioned on a style embedding: it takes no embedding=")
        if style is not None:
            raise InvalidValueError("an embedding-conditioned network takes embedding=, not style=")
        embedding = self.checked_embedding(embedding, images.shape[0]).to(images.device)
        norms = self.embedding_norms()
        for norm in norms:
            norm.embedding = embedding
        try:
            return self.forward_layers(images)
        finally:
            for norm in norms:
                norm.embedding = None

    def checked_embedding(self, embedding: Tensor | None, batch: int | None = None) -> Tensor:
        """``embedding`` as (B, E) or (1, E); raises for a missing one or a wrong shape."""
        size = self.embedding_dim
        if not isinstance(embedding, Tensor):
            raise InvalidValueError(f"this network is conditioned on a style embedding: pass embedding= (a ({size},) "
                                    f"or (batch, {size}) tensor), got {type(embedding).__name__}")
        if embedding.dim() == 1:
            embedding = embedding.unsqueeze(0)
        if embedding.dim() != 2 or embedding.shape[1] != size or embedding.shape[0] not in (1, batch or 1):
            raise InvalidValueError(f"an embedding of shape {tuple(embedding.shape)} does not fit: expected ({size},) "
                                    f"or (batch, {size})")
        if not torch.isfinite(embedding).all():
            raise InvalidValueError("the style embedding holds NaN or inf values")
        return embedding

    def forward_layers(self, images: Tensor) -> Tensor:
        """Stem to activation with the norms as they are set: no checks, no style or embedding chosen.

        Shapes: (B, 3, H, W) → (B, 3, H, W), as :meth:`forward`.
        """
        if self.space_to_depth:
            height, width = images.shape[-2:]
            blocks = F.pixel_unshuffle(pad_for_space_to_depth(images), 2)
            return self.activate(F.pixel_shuffle(self.head(self._body(blocks)), 2)[..., :height, :width])
        x = self._body(images)
        if self.training and self.head.is_plain_conv:
            # The 9×9 conv to RGB on the space-to-depth input: same function, ~3× faster on
            # oneDNN, forward and backward (conv_rewrites). Training only, as in UpsampleConv.
            pad = self.head.padding
            return self.activate(space_to_depth_conv(F.pad(x, (pad,) * 4, mode="reflect"), self.head.conv))
        return self.activate(self.head(x))

    def _body(self, x: Tensor) -> Tensor:
        """Stem to the last upsampling layer: (B, C_in, H, W) → (B, width, H, W)."""
        full = self.stem(x)
        half = self.down1(full)
        quarter = self.residuals(self.down2(half))
        x = self.up1(quarter, half.shape[-2:])
        return self.up2(x, full.shape[-2:])

    def for_style(self, style: StyleChoice) -> TransformerNet:
        """Deprecated name of :func:`fast_style.models.surgery.fold_style` (``fold_style(self, style)``)."""
        from fast_style.models import surgery  # surgery builds TransformerNets: imported when used

        warn_renamed("TransformerNet.for_style(style)", "fast_style.models.surgery.fold_style(net, style)")
        return surgery.fold_style(self, style)

    def for_embedding(self, embedding: Tensor) -> TransformerNet:
        """Deprecated name of :func:`fast_style.models.surgery.fold_embedding` (``fold_embedding(self, embedding)``)."""
        from fast_style.models import surgery

        warn_renamed("TransformerNet.for_embedding(embedding)",
                     "fast_style.models.surgery.fold_embedding(net, embedding)")
        return surgery.fold_embedding(self, embedding)

    def activate(self, x: Tensor) -> Tensor:
        """Map the head's raw output (B, 3, H, W) to images, as ``output_activation`` says."""
        if self.output_activation == "sigmoid":
            return torch.sigmoid(x)
        if self.output_activation == "tanh":
            return torch.tanh(x).add(1.0).mul(0.5)
        if self.output_activation == "clamp" and not self.training:
            return x.clamp(0.0, 1.0)
        return x


# Rows and columns a space-to-depth network adds at the bottom and right (replicate) before cropping
# to even sides: the smallest input (5 px) then reaches 10, 2 pixels at the network's 1/8 resolution,
# the least its 3×3 reflection padding takes. A fixed amount keeps the traced and exported graphs free
# of size-dependent branches; the output is cropped back, so the extra pixels only feed dropped ones.
SPACE_TO_DEPTH_PAD = 5


def pad_for_space_to_depth(images: Tensor) -> Tensor:
    """(B, C, H, W) padded (replicate) at the bottom and right, then cropped to even sides ≥ 10.

    Returns:
        (B, C, 2·⌊(H + 5) / 2⌋, 2·⌊(W + 5) / 2⌋), whose top-left (H, W) block is ``images``.
    """
    height, width = images.shape[-2:]
    pad = SPACE_TO_DEPTH_PAD
    padded = F.pad(images, (0, pad, 0, pad), mode="replicate")
    return padded[..., : (height + pad) // 2 * 2, : (width + pad) // 2 * 2]


def _check_layout(width: int, num_residual_blocks: int, norm: str, output_activation: str,
                  kernels: Mapping[str, int], flags: Mapping[str, bool]) -> None:
    """Raise InvalidValueError, naming the value, for a layout TransformerNet cannot build."""
    if not isinstance(width, int) or width < 1:
        raise InvalidValueError(f"width must be a positive integer, got {width!r}")
    if not isinstance(num_residual_blocks, int) or num_residual_blocks < 0:
        raise InvalidValueError(f"num_residual_blocks must be a non-negative integer, got {num_residual_blocks!r}")
    if norm not in NORMS:
        raise InvalidValueError(f"unknown norm {norm!r}; allowed: {', '.join(NORMS)}")
    if output_activation not in OUTPUT_ACTIVATIONS:
        raise InvalidValueError(
            f"unknown output_activation {output_activation!r}; allowed: {', '.join(OUTPUT_ACTIVATIONS)}"
        )
    for label, kernel in kernels.items():
        if isinstance(kernel, bool) or not isinstance(kernel, int) or kernel < 1 or kernel % 2 == 0:
            raise InvalidValueError(f"{label} must be a positive odd integer, got {kernel!r}")
    for label, flag in flags.items():
        if not isinstance(flag, bool):
            raise InvalidValueError(f"{label} must be true or false, got {flag!r}")
    if flags["head_norm"] and flags["space_to_depth"]:
        raise InvalidValueError("head_norm cannot be combined with space_to_depth: the head's norm would normalise "
                                "the 12 sub-pixel channels, not the 3 colours")


def _check_embedding(embedding_dim: int | None, norm: str, styles: Sequence[str] | None) -> None:
    if embedding_dim is None:
        return
    if isinstance(embedding_dim, bool) or not isinstance(embedding_dim, int) or embedding_dim < 1:
        raise InvalidValueError(f"embedding_dim must be a positive integer or None, got {embedding_dim!r}")
    if norm != "instance":
        raise InvalidValueError(f"an embedding-conditioned network needs norm='instance', got {norm!r}")
    if styles is not None:
        raise InvalidValueError("a network is conditioned on a style embedding (embedding_dim) or holds named styles "
                                "(styles), not both")


def _check_styles(styles: Sequence[str] | None, norm: str) -> tuple[str, ...]:
    if styles is None:
        return ()
    if isinstance(styles, str) or not all(isinstance(name, str) and name for name in styles):
        raise InvalidValueError(f"styles must be a list of style names, got {styles!r}")
    names = tuple(styles)
    if len(names) < 2 or len(set(names)) != len(names):
        raise InvalidValueError(f"a multi-style network needs two or more distinct style names, got {list(names)}")
    if norm != "instance":
        raise InvalidValueError(f"several styles need norm='instance' (conditional instance norm), got {norm!r}")
    return names
