"""A network holding several styles, folded into the one-style TransformerNet of one style or blend.

Every inference path (the fast engine, export, video, the web page) runs that one-style network as any
other. A multi-style TransformerNet folds its conditional norms' rows (Dumoulin et al. 2017,
:func:`~fast_style.models.surgery.fold_style`); the arbitrary-style network folds the
(weighted mean) embedding of its stored styles (Ghiasi et al. 2017,
:meth:`~fast_style.models.arbitrary.ArbitraryStyleNet.fold`). Pure torch.
"""

from __future__ import annotations

import os

from torch import nn

from fast_style.checkpoint import StyleCheckpoint, model_from_checkpoint, read_checkpoint
from fast_style.errors import InvalidValueError
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


def read_arbitrary_network(path: str | os.PathLike) -> tuple[StyleCheckpoint, ArbitraryStyleNet]:
    """The checkpoint ``path`` (bounded reading) and its network, once that is an arbitrary-style network.

    Raises:
        CheckpointError: an unreadable file; InvalidValueError: a file holding another kind of network.
    """
    stored = read_checkpoint(path)
    network = model_from_checkpoint(stored)
    if not isinstance(network, ArbitraryStyleNet):
        raise InvalidValueError(f"{str(path)!r} holds a {type(network).__name__}, not an arbitrary-style network")
    return stored, network


__all__ = ["fold_styles", "read_arbitrary_network"]
