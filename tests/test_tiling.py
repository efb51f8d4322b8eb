"""Tiled, layer-by-layer inference equals the untiled forward (whole-image instance-norm statistics)."""

from __future__ import annotations

import pytest
import torch

from fast_style.infer.tiling import tiled_forward
from fast_style.models import TransformerNet


@pytest.mark.parametrize(
    ("shape", "tile"),
    [((1, 3, 37, 53), 16), ((2, 3, 64, 48), 32), ((1, 3, 5, 7), 16), ((1, 3, 90, 17), 24)],
)
def test_tiled_matches_untiled(tiny_model: TransformerNet, shape: tuple[int, ...], tile: int) -> None:
    images = torch.rand(*shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = tiny_model(images)
    got = tiled_forward(tiny_model, images, tile=tile)
    assert got.shape == expected.shape
    assert (got - expected).abs().max() < 1e-5


def test_per_tile_statistics_would_differ(tiny_model: TransformerNet) -> None:
    """The check above can fail: stylising tiles independently (per-tile norm statistics) gives seams."""
    images = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    images[..., :, 32:] *= 0.3  # two halves with different statistics
    with torch.no_grad():
        whole = tiny_model(images)
        naive = torch.cat([tiny_model(images[..., :32]), tiny_model(images[..., 32:])], dim=-1)
    assert (naive - whole).abs().max() > 1e-3
    assert (tiled_forward(tiny_model, images, tile=16) - whole).abs().max() < 1e-5


def test_tiled_default_width_and_batch_norm() -> None:
    torch.manual_seed(3)
    images = torch.rand(1, 3, 41, 46)
    for model in (TransformerNet(width=8, num_residual_blocks=2), TransformerNet(width=4, norm="batch")):
        model.eval()
        with torch.no_grad():
            expected = model(images)
        assert (tiled_forward(model, images, tile=16) - expected).abs().max() < 1e-5


def test_tiled_does_not_mutate_input(tiny_model: TransformerNet) -> None:
    images = torch.rand(1, 3, 20, 30)
    before = images.clone()
    tiled_forward(tiny_model, images, tile=16)
    assert torch.equal(images, before)


@pytest.mark.parametrize("tile", [0, 8, 15, 2.5, True])
def test_bad_tile_is_rejected(tiny_model: TransformerNet, tile: object) -> None:
    with pytest.raises(ValueError, match="tile must be"):
        tiled_forward(tiny_model, torch.rand(1, 3, 20, 20), tile=tile)  # type: ignore[arg-type]


def test_too_small_image_is_rejected(tiny_model: TransformerNet) -> None:
    with pytest.raises(ValueError, match="at least 5"):
        tiled_forward(tiny_model, torch.rand(1, 3, 4, 20), tile=16)
