"""Networks of fast_style (pure torch)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from fast_style.models.arbitrary import FAMILY as ARBITRARY_FAMILY
from fast_style.models.arbitrary import ArbitraryStyleNet
from fast_style.models.transformer import TransformerNet

FAMILIES = ("transformer", ARBITRARY_FAMILY)


def build_network(model_args: Mapping[str, Any]) -> nn.Module:
    """The network a checkpoint's ``model_args`` describe.

    ``"family"`` picks the class: absent (every file written before it existed) or
    ``"transformer"`` is :class:`TransformerNet`; ``"arbitrary"`` is :class:`ArbitraryStyleNet`
    (Ghiasi et al. 2017). The other entries are the class's keyword arguments.

    Raises:
        ValueError: an unknown family (names the allowed ones), or arguments the class refuses.
        TypeError: an argument the class does not take.
    """
    args = dict(model_args)
    family = args.pop("family", "transformer")
    if family == "transformer":
        return TransformerNet(**args)
    if family == ARBITRARY_FAMILY:
        return ArbitraryStyleNet(**args)
    raise ValueError(f"unknown network family {family!r}; allowed: {', '.join(FAMILIES)}")


__all__ = ["FAMILIES", "ArbitraryStyleNet", "TransformerNet", "build_network"]
