"""The perceptual loss shared by training and the Gatys baseline.

Johnson, Alahi & Fei-Fei, ECCV 2016, Sec. 3.3: feature reconstruction (content) loss,
style reconstruction loss on Gram matrices, and a total-variation regulariser, all
measured with a frozen VGG; Gatys, Ecker & Bethge, CVPR 2016 optimise an image against
the same objective.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fast_style.errors import InvalidValueError
from fast_style.loss.ops import feature_mse, gram_matrix, total_variation
from fast_style.loss.vgg import VGGEncoder

LOSS_TERMS = ("content", "style", "tv", "total")


@dataclass(frozen=True)
class PerceptualLossSettings:
    """Every setting of the perceptual loss, and the one place its defaults are stated.

    Johnson et al. 2016, Sec. 3.3: content (feature reconstruction) at ``content_layers``,
    style (Gram reconstruction) at ``style_layers``, total variation, weighted and summed. The
    defaults are a safe, mild start with the mirrored caffe-convention VGG16 and the Gram
    normalisation of :func:`~fast_style.loss.ops.gram_matrix`; a style config
    (``configs/style/``) sets only what differs for its painting (the image and its weight).

    Attributes:
        style_image: asset name or path of the style image; ``None`` when the image is given as a
            tensor to :func:`build_perceptual_loss`.
        style_size: shorter side the style image is resized to before its Grams are taken
            (``None``: as given).
        content_weight, style_weight, tv_weight: weights of the three terms (>= 0).
        vgg: keyword arguments of :class:`~fast_style.loss.vgg.VGGEncoder` but ``layers``
            (``arch``, ``weights``, ``pool``).
        content_layers: layers of the content loss.
        style_layers: layer → weight of the style loss (a sequence means weight 1 for each).
    """

    style_image: str | None = None
    style_size: int | None = 256
    content_weight: float = 3.0
    style_weight: float = 1.0
    tv_weight: float = 0.0
    vgg: Mapping[str, Any] = field(default_factory=lambda: {"arch": "vgg16", "weights": "default", "pool": "max"})
    content_layers: Sequence[str] = ("relu2_2",)
    style_layers: Mapping[str, float] = field(
        default_factory=lambda: {"relu1_2": 1.0, "relu2_2": 1.0, "relu3_3": 1.0, "relu4_3": 1.0}
    )

    def __post_init__(self) -> None:
        for name in ("content_weight", "style_weight", "tv_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise InvalidValueError(f"loss {name} must be a number >= 0, got {value!r}")
        if self.style_size is not None and (isinstance(self.style_size, bool) or not isinstance(self.style_size, int)
                                            or self.style_size < 1):
            raise InvalidValueError(f"loss style_size must be a positive number of pixels or null, got {self.style_size!r}")
        layers = self.style_layers
        if isinstance(layers, str) or not isinstance(layers, (Mapping, Sequence)):
            raise InvalidValueError(f"loss style_layers must be a list of layer names or a mapping layer -> weight, "
                                    f"got {layers!r}")
        # Plain containers, so that the settings save and load with weights_only checkpoints.
        object.__setattr__(self, "style_layers", {str(k): float(v) for k, v in layers.items()} if isinstance(
            layers, Mapping) else {str(name): 1.0 for name in layers})
        object.__setattr__(self, "content_layers", [str(name) for name in self.content_layers])
        object.__setattr__(self, "vgg", dict(self.vgg or {}))
        if self.style_image is not None:
            object.__setattr__(self, "style_image", str(self.style_image))

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> PerceptualLossSettings:
        """Settings from a plain mapping (a config's ``loss`` group); missing keys keep the defaults.

        Raises:
            InvalidValueError: for a key that is not a setting (the message lists the allowed ones)
                or a value out of range.
        """
        allowed = [item.name for item in dataclasses.fields(cls)]
        unknown = sorted(set(settings) - set(allowed))
        if unknown:
            raise InvalidValueError(f"unknown loss setting(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
        return cls(**dict(settings))

    def as_dict(self) -> dict[str, Any]:
        """Every setting as plain containers: what a checkpoint stores and ``build_perceptual_loss`` takes."""
        return {item.name: getattr(self, item.name) for item in dataclasses.fields(self)}


def resize_shorter_side(images: Tensor, size: int | None) -> Tensor:
    """Resize (B, C, H, W) images so that the shorter side is ``size`` (keeping aspect ratio).

    ``None`` returns the images unchanged.
    """
    if size is None:
        return images
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size}")
    h, w = images.shape[-2:]
    scale = size / min(h, w)
    new = (max(1, round(h * scale)), max(1, round(w * scale)))
    if new == (h, w):
        return images
    return F.interpolate(images, size=new, mode="bilinear", align_corners=False, antialias=scale < 1)


class PerceptualLoss(nn.Module):
    """Content + style + total-variation loss against one style image.

    The style image's Gram matrices are computed once and kept as non-persistent buffers
    (they move with ``.to(device)`` but are not saved in checkpoints: the style image and
    size in the config reproduce them). Each input runs through VGG only as deep as it
    must: the content photo to the deepest content layer, the stylised image to the
    deepest of both.

    Args:
        encoder: the frozen VGG; must have been built with every content and style layer.
        style_image: (1, 3, H, W) style image in [0, 1].
        settings: layers, weights and style size (:class:`PerceptualLossSettings`; its
            ``style_image`` and ``vgg`` are not used here: the image and the encoder are given).

    Shapes:
        forward: stylised (B, 3, H, W), content (B, 3, H, W) → dict of scalars.
    """

    def __init__(self, encoder: VGGEncoder, style_image: Tensor, settings: PerceptualLossSettings | None = None) -> None:
        super().__init__()
        settings = settings or PerceptualLossSettings()
        missing = [name for name in [*settings.content_layers, *settings.style_layers] if name not in encoder.layers]
        if missing:
            raise InvalidValueError(f"encoder was not built with layer(s) {missing}; it has {encoder.layers}")
        if style_image.dim() == 3:
            style_image = style_image.unsqueeze(0)
        if style_image.dim() != 4 or style_image.shape[:2] != (1, 3):
            raise InvalidValueError(f"style_image must be (1, 3, H, W), got shape {tuple(style_image.shape)}")
        self.encoder = encoder
        self.settings = settings
        self.content_layers = list(settings.content_layers)
        self.style_weights = dict(settings.style_layers)
        self.content_weight = float(settings.content_weight)
        self.style_weight = float(settings.style_weight)
        self.tv_weight = float(settings.tv_weight)
        self.set_style(style_image, settings.style_size)

    def set_style(self, style_image: Tensor, style_size: int | None = None) -> None:
        """(Re)compute the style Gram buffers from a (1, 3, H, W) image in [0, 1]."""
        device = next(iter(self.encoder.buffers())).device
        style_image = resize_shorter_side(style_image.to(device, torch.float32), style_size)
        with torch.no_grad():
            features = self.encoder(style_image, self.style_weights)
        for name, value in features.items():
            self.register_buffer(_gram_buffer(name), gram_matrix(value), persistent=False)

    def style_gram(self, layer: str) -> Tensor:
        """(1, C, C) Gram matrix of the style image at ``layer``."""
        return getattr(self, _gram_buffer(layer))

    def content_features(self, content: Tensor) -> dict[str, Tensor]:
        """Detached content-layer features of (B, 3, H, W) photos (only as deep as needed)."""
        with torch.no_grad():
            return self.encoder(content, self.content_layers)

    def forward(
        self,
        stylised: Tensor,
        content: Tensor | None = None,
        content_features: Mapping[str, Tensor] | None = None,
    ) -> dict[str, Tensor]:
        """Weighted loss terms.

        Args:
            stylised: (B, 3, H, W) images being judged (network output or Gatys image).
            content: (B, 3, H, W) photos they should keep the content of.
            content_features: precomputed ``content_features(content)``; saves a VGG pass
                when the same photo is judged many times (Gatys).

        Returns:
            ``{"content", "style", "tv", "total"}``: float32 scalars, already weighted;
            ``total`` is their sum.
        """
        if content_features is None:
            if content is None:
                raise ValueError("PerceptualLoss needs either content or content_features")
            content_features = self.content_features(content)
        needed = list(dict.fromkeys([*self.content_layers, *self.style_weights]))
        features = self.encoder(stylised, needed)
        content_loss = sum(feature_mse(features[name], content_features[name]) for name in self.content_layers)
        style_loss = sum(
            weight * feature_mse(gram_matrix(features[name]), self.style_gram(name))
            for name, weight in self.style_weights.items()
        )
        zero = stylised.new_zeros((), dtype=torch.float32)
        terms = {
            "content": self.content_weight * content_loss if self.content_layers else zero,
            "style": self.style_weight * style_loss if self.style_weights else zero,
            "tv": self.tv_weight * total_variation(stylised) if self.tv_weight > 0 else zero,
        }
        terms["total"] = terms["content"] + terms["style"] + terms["tv"]
        return terms


def _gram_buffer(layer: str) -> str:
    return f"style_gram_{layer}"


def build_perceptual_loss(style_image: str | os.PathLike | Tensor | None = None, **settings: Any) -> PerceptualLoss:
    """Build the VGG encoder and the loss from plain arguments (what configs and checkpoints hold).

    Args:
        style_image: a (1, 3, H, W) tensor, an image path, or an asset name such as
            ``"styles/starry_night.jpg"``; ``None`` takes ``settings["style_image"]``.
        **settings: fields of :class:`PerceptualLossSettings` (``style_size``, the weights, ``vgg``,
            the layers); those not given keep its defaults.

    Raises:
        InvalidValueError: for an unknown setting, a value out of range, no style image, or a style
            image that cannot be read.
    """
    if style_image is not None and not isinstance(style_image, Tensor):
        settings["style_image"] = str(style_image)
    config = PerceptualLossSettings.from_mapping(settings)
    if not isinstance(style_image, Tensor):
        style_image = read_style_image(config.style_image)
    layers = list(dict.fromkeys([*config.content_layers, *config.style_layers]))
    return PerceptualLoss(VGGEncoder(layers, **config.vgg), style_image, config)


def read_style_image(image: str | os.PathLike | None) -> Tensor:
    """The (1, 3, H, W) style image in [0, 1] from a path or an asset name (``"styles/candy.jpg"``).

    Raises:
        InvalidValueError: no image given, or a file that is not a readable image.
        AssetNotFoundError: a name found nowhere (the message lists where it looked).
    """
    from fast_style.assets import resolve_path_or_asset
    from fast_style.io import load_image

    if image is None:
        raise InvalidValueError("the loss needs a style image (a tensor, a path or an asset name)")
    path = resolve_path_or_asset(image)
    try:
        return load_image(path)
    except OSError as error:
        raise InvalidValueError(f"style image {str(path)!r} is not a readable image: {error}") from error


def loss_kwargs_from_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Every setting of the loss a training config describes (its ``loss`` group), as plain containers.

    The config stored in every inference checkpoint (under ``"config"``) is read with this, so
    that the Gatys baseline rebuilds exactly the loss a network was trained with; settings the
    group leaves out take :class:`PerceptualLossSettings`' defaults (training stores all of them).

    Raises:
        KeyError: if the config has no ``loss`` group.
        InvalidValueError: if the group holds an unknown setting or a value out of range.
    """
    return PerceptualLossSettings.from_mapping(config["loss"]).as_dict()
