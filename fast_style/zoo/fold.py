"""A network holding several styles, folded into the one-style TransformerNet of one style or blend.

Every inference path (the fast engine, export, video, the web page) runs that one-style network as any
other. A multi-style TransformerNet folds its conditional norms' rows (Dumoulin et al. 2017,
:func:`~fast_style.models.surgery.fold_style`); the arbitrary-style network folds the
(weighted mean) embedding of its stored styles (Ghiasi et al. 2017,
:meth:`~fast_style.models.arbitrary.ArbitraryStyleNet.fold`). Pure torch.
"""

from __future__ import annotations

from torch import nn

from fast_style.models.arbitrary import ArbitraryStyleNet
from fast_style.models.surgery import fold_style
from fast_style.models.transformer import TransformerNet


def fold_styles(model: nn.Module, choice: dict[str, float]) -> TransformerNet:
    """The one-style network of ``choice`` (style name → weight, weights summing to 1) held by ``model``.

    Raises:
        InvalidValueError: a style ``model`` does not hold (the message lists those it holds).
    """
    if isinstance(model, ArbitraryStyleNet):
        return model.fold(model.style_embedding(choice))
    return fold_style(model, choice)


__all__ = ["fold_styles"]
