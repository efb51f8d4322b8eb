"""Conditional instance normalisation: one scale and shift per style.

Dumoulin, Shlens & Kudlur, "A Learned Representation for Artistic Style", ICLR 2017, Sec. 2.2:
a network whose convolutions are shared by N styles, where only the instance norm's scale γ and
shift β differ per style. A style is chosen by a weight vector over the styles: a one-hot vector
is that style; a convex combination mixes the γ, β rows, which blends the styles inside the
network (Sec. 4, Fig. 7), not their output pixels.

Pure torch: no Lightning, no Hydra.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fast_style.errors import InvalidValueError

# What a style may be given as: an index, a name, weights over the styles ((S,) or per image (B, S)),
# or a mapping name -> weight (a blend).
StyleChoice = int | str | Sequence[float] | Tensor | Mapping[str, float]


def affine_instance_norm(x: Tensor, gamma: Tensor, beta: Tensor, eps: float) -> Tensor:
    """``instance_norm(x) · γ + β`` with one γ, β row per image: x (B, C, H, W), γ and β (B, C) or (1, C)."""
    return torch.addcmul(beta[:, :, None, None], F.instance_norm(x, eps=eps), gamma[:, :, None, None])


class ConditionalInstanceNorm2d(nn.Module):
    """Instance norm whose affine parameters are rows of a per-style table.

    ``weight`` and ``bias`` are (num_styles, C); with style weights ``w`` (B, S) the output is
    ``instance_norm(x) · (w @ weight) + (w @ bias)``. The state-dict keys (``weight``, ``bias``)
    are those of ``nn.InstanceNorm2d(affine=True)``, whose (C,) tensors fill one row.

    The weights are set by :class:`~fast_style.models.transformer.TransformerNet` for one forward
    (``style_weights``), because the norm sits inside ``nn.Sequential`` blocks that pass one tensor.

    Args:
        channels: C.
        num_styles: S, the rows of γ and β.
        eps: added to the variance, as in ``nn.InstanceNorm2d``.

    Shapes:
        forward: (B, C, H, W) → (B, C, H, W); ``style_weights`` (B, S) or (1, S).
    """

    def __init__(self, channels: int, num_styles: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_features = channels
        self.num_styles = num_styles
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_styles, channels))
        self.bias = nn.Parameter(torch.zeros(num_styles, channels))
        self.style_weights: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        if self.style_weights is None:
            raise InvalidValueError(f"this network holds {self.num_styles} styles: call it with style=... "
                                    "(an index, a name, or weights over the styles)")
        weights = self.style_weights.to(self.weight.dtype)
        return affine_instance_norm(x, weights @ self.weight, weights @ self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, num_styles={self.num_styles}, eps={self.eps}"


class EmbeddingInstanceNorm2d(nn.Module):
    """Instance norm whose γ and β are linear maps of a style embedding.

    Ghiasi, Lee, Kudlur, Dumoulin & Shlens, "Exploring the structure of a real-time, arbitrary
    neural artistic stylization network", BMVC 2017, Sec. 3: a style-prediction network turns a
    painting into an embedding ``e``; every norm of the transform network takes
    ``γ = W_γ e + b_γ`` and ``β = W_β e + b_β`` (a 1×1 convolution of the embedding, a linear map).
    γ is used as is (not ``1 + γ``), as in Magenta's network. The embedding is set by
    :class:`~fast_style.models.transformer.TransformerNet` for one forward (``embedding``), as
    :class:`ConditionalInstanceNorm2d` takes its style weights.

    A fresh layer is a plain instance norm (γ = 1, β = 0 for every embedding) that learns how to
    depend on the embedding.

    Args:
        channels: C.
        embedding_dim: E, the length of the style embedding.
        eps: added to the variance, as in ``nn.InstanceNorm2d``.

    Shapes:
        forward: (B, C, H, W) → (B, C, H, W); ``embedding`` (B, E) or (1, E).
    """

    def __init__(self, channels: int, embedding_dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_features = channels
        self.embedding_dim = embedding_dim
        self.eps = eps
        self.gamma = nn.Linear(embedding_dim, channels)
        self.beta = nn.Linear(embedding_dim, channels)
        for linear, start in ((self.gamma, 1.0), (self.beta, 0.0)):
            nn.init.zeros_(linear.weight)
            nn.init.constant_(linear.bias, start)
        self.embedding: Tensor | None = None

    def affine(self, embedding: Tensor) -> tuple[Tensor, Tensor]:
        """γ and β of ``embedding`` (B, E): two (B, C) tensors."""
        embedding = embedding.to(self.gamma.weight.dtype)
        return self.gamma(embedding), self.beta(embedding)

    def forward(self, x: Tensor) -> Tensor:
        if self.embedding is None:
            raise InvalidValueError("this network is conditioned on a style embedding: call it with embedding=... "
                                    f"(a ({self.embedding_dim},) or (batch, {self.embedding_dim}) tensor)")
        return affine_instance_norm(x, *self.affine(self.embedding), self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, embedding_dim={self.embedding_dim}, eps={self.eps}"


def style_weight_vector(style: StyleChoice, names: Sequence[str], batch: int | None = None) -> Tensor:
    """Weights over ``names`` for ``style``: (S,), or (B, S) when the choice is per image.

    Args:
        style: an index into ``names``, a name, a mapping name → weight, or weights (S,) or (B, S).
            Weights must be finite and non-negative with a positive sum; they are normalised to sum to 1.
        names: the network's styles, in row order.
        batch: B, to check a per-image (B, S) choice against.

    Raises:
        InvalidValueError: an unknown name or index, a wrong shape, or weights that are negative,
            not finite or all zero. The message lists the styles.
    """
    count = len(names)
    held = f"the network holds {count} styles: {', '.join(names)}"
    if isinstance(style, bool):
        raise InvalidValueError(f"style {style!r} is not a style; {held}")
    if isinstance(style, int):
        if not 0 <= style < count:
            raise InvalidValueError(f"style index {style} is out of range; {held}")
        return F.one_hot(torch.tensor(style), count).float()
    if isinstance(style, str):
        if style not in names:
            raise InvalidValueError(f"unknown style {style!r}; {held}")
        return F.one_hot(torch.tensor(list(names).index(style)), count).float()
    if isinstance(style, Mapping):
        unknown = [name for name in style if name not in names]
        if unknown:
            raise InvalidValueError(f"unknown style(s) {', '.join(map(repr, unknown))} in the blend; {held}")
        style = [float(style.get(name, 0.0)) for name in names]
    weights = torch.as_tensor(style, dtype=torch.float32)
    per_image_mismatch = weights.dim() == 2 and batch not in (None, weights.shape[0])
    if weights.dim() not in (1, 2) or weights.shape[-1] != count or per_image_mismatch:
        raise InvalidValueError(f"style weights of shape {tuple(weights.shape)} do not fit: expected ({count},) "
                                f"or (batch, {count}); {held}")
    total = weights.sum(-1, keepdim=True)
    if not torch.isfinite(weights).all() or (weights < 0).any() or (total <= 0).any():
        raise InvalidValueError(f"style weights {weights.tolist()} must be finite, non-negative and not all zero")
    return weights / total


__all__ = ["ConditionalInstanceNorm2d", "EmbeddingInstanceNorm2d", "affine_instance_norm", "StyleChoice", "style_weight_vector"]
