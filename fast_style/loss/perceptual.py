"""The perceptual loss shared by training and the Gatys baseline.

Johnson, Alahi & Fei-Fei, ECCV 2016, Sec. 3.3: feature reconstruction (content) loss,
style reconstruction loss on Gram matrices, and a total-variation regulariser, all
measured with a frozen VGG; Gatys, Ecker & Bethge, CVPR 2016 optimise an image against
the same objective.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fast_style.errors import InvalidValueError
from fast_style.loss.ops import feature_mse, gram_matrix, total_variation
from fast_style.loss.vgg import VGGEncoder

DEFAULT_CONTENT_LAYERS = ("relu2_2",)
DEFAULT_STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
LOSS_TERMS = ("content", "style", "tv", "total")
# The library's defaults (a safe, mild start with the mirrored caffe-convention VGG16), stated once
# for the loss and its builder.
DEFAULT_CONTENT_WEIGHT = 3.0
DEFAULT_STYLE_WEIGHT = 1.0
DEFAULT_TV_WEIGHT = 0.0
DEFAULT_STYLE_SIZE = 256


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
        content_layers: layers for the feature reconstruction loss.
        style_layers: layers for the style loss; a sequence (equal weights of 1) or a
            mapping layer → weight.
        content_weight, style_weight, tv_weight: weights of the three terms.
        style_size: shorter side the style image is resized to before its Grams are taken
            (``None``: as given).

    Shapes:
        forward: stylised (B, 3, H, W), content (B, 3, H, W) → dict of scalars.
    """

    def __init__(
        self,
        encoder: VGGEncoder,
        style_image: Tensor,
        content_layers: Sequence[str] = DEFAULT_CONTENT_LAYERS,
        style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
        content_weight: float = DEFAULT_CONTENT_WEIGHT,
        style_weight: float = DEFAULT_STYLE_WEIGHT,
        tv_weight: float = DEFAULT_TV_WEIGHT,
        style_size: int | None = DEFAULT_STYLE_SIZE,
    ) -> None:
        super().__init__()
        if not isinstance(style_layers, Mapping):
            style_layers = {name: 1.0 for name in style_layers}
        for label, value in (("content_weight", content_weight), ("style_weight", style_weight), ("tv_weight", tv_weight)):
            if value < 0:
                raise InvalidValueError(f"{label} must be >= 0, got {value}")
        missing = [name for name in [*content_layers, *style_layers] if name not in encoder.layers]
        if missing:
            raise ValueError(f"encoder was not built with layer(s) {missing}; it has {encoder.layers}")
        if style_image.dim() == 3:
            style_image = style_image.unsqueeze(0)
        if style_image.dim() != 4 or style_image.shape[:2] != (1, 3):
            raise ValueError(f"style_image must be (1, 3, H, W), got shape {tuple(style_image.shape)}")
        self.encoder = encoder
        self.content_layers = list(content_layers)
        self.style_weights = {name: float(weight) for name, weight in style_layers.items()}
        self.content_weight = float(content_weight)
        self.style_weight = float(style_weight)
        self.tv_weight = float(tv_weight)
        self.set_style(style_image, style_size)

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


def build_perceptual_loss(
    style_image: str | os.PathLike | Tensor,
    vgg: Mapping | None = None,
    content_layers: Sequence[str] = DEFAULT_CONTENT_LAYERS,
    style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
    content_weight: float = DEFAULT_CONTENT_WEIGHT,
    style_weight: float = DEFAULT_STYLE_WEIGHT,
    tv_weight: float = DEFAULT_TV_WEIGHT,
    style_size: int | None = DEFAULT_STYLE_SIZE,
) -> PerceptualLoss:
    """Build the VGG encoder and the loss from plain arguments (what configs hold).

    Args:
        style_image: a (1, 3, H, W) tensor, an image path, or an asset name such as
            ``"styles/starry_night.jpg"``.
        vgg: keyword arguments of :class:`VGGEncoder` except ``layers``
            (``arch``, ``weights``, ``pool``).
        Others: as in :class:`PerceptualLoss`.
    """
    from fast_style.assets import resolve_path_or_asset
    from fast_style.io import load_image

    if not isinstance(style_image, Tensor):
        path = resolve_path_or_asset(style_image)
        try:
            style_image = load_image(path)
        except OSError as error:
            raise InvalidValueError(f"style image {str(path)!r} is not a readable image: {error}") from error
    layers = list(dict.fromkeys([*content_layers, *style_layers]))
    encoder = VGGEncoder(layers, **dict(vgg or {}))
    return PerceptualLoss(
        encoder,
        style_image,
        content_layers=content_layers,
        style_layers=style_layers,
        content_weight=content_weight,
        style_weight=style_weight,
        tv_weight=tv_weight,
        style_size=style_size,
    )


# The arguments of build_perceptual_loss that come from the style group.
STYLE_LOSS_KEYS = ("style_image", "style_size", "content_weight", "style_weight", "tv_weight")


def loss_defaults() -> dict[str, Any]:
    """The default of every argument of :func:`build_perceptual_loss` but ``style_image``.

    For a style image without a style config (``scripts/gatys.py --style painting.jpg``): the
    library's defaults, in one place.
    """
    return {
        name: parameter.default
        for name, parameter in inspect.signature(build_perceptual_loss).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }


def loss_kwargs_from_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :func:`build_perceptual_loss` from a training config, of either layout.

    The config stored in every inference checkpoint (under ``"config"``) is read with this, so
    that the Gatys baseline rebuilds exactly the loss a network was trained with:

    - current layout: ``loss`` holds every argument (``configs/loss/perceptual.yaml`` takes the
      style image, size and weights from the style group by interpolation); ``loss`` is used as
      it is (a command-line ``loss.style_weight=...`` wins over the style's);
    - before that (the shipped networks in ``fast_style/zoo/``): ``loss`` holds the VGG and the
      layers only, ``style`` the ``image``, ``size``, ``content_weight``, ``style_weight`` and
      ``tv_weight``.

    Args:
        config: plain mapping with ``loss`` and, for the earlier layout, ``style``.

    Returns:
        Dict with ``style_image`` and every other argument of :func:`build_perceptual_loss`.

    Raises:
        KeyError: if the config has no ``loss`` group, or (earlier layout) no style settings.
    """
    loss = dict(config["loss"])
    if "style_image" not in loss:
        style = config["style"]
        loss.update(style_image=style["image"], style_size=style["size"], content_weight=style["content_weight"],
                    style_weight=style["style_weight"], tv_weight=style["tv_weight"])
    style_layers = loss.get("style_layers", DEFAULT_STYLE_LAYERS)
    return {
        **{key: loss[key] for key in STYLE_LOSS_KEYS},
        "vgg": dict(loss.get("vgg") or {}),
        "content_layers": list(loss.get("content_layers", DEFAULT_CONTENT_LAYERS)),
        "style_layers": dict(style_layers) if isinstance(style_layers, Mapping) else list(style_layers),
    }
