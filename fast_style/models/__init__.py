"""Networks of fast_style (pure torch)."""

from fast_style.models.transformer import TransformerNet

__all__ = ["TransformerNet"]
