"""The fast inference engine gives the module's own outputs, at any size, strip size and norm.

Strips of one layer at a time, normalised over the whole activation, are also the tiled
inference (``stylize(tile=N)``): the checks below that would fail for per-tile statistics.
"""

from __future__ import annotations

import pytest
import torch

from fast_style.infer.fast_forward import MIN_TILE, FastTransformerNet, instance_moments, tile_elements
from fast_style.models import TransformerNet

SHAPES = [(2, 3, 37, 53), (1, 3, 64, 64), (1, 3, 65, 66), (1, 3, 5, 9), (1, 3, 90, 17)]


def _reference(model: TransformerNet, images: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(images)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("strip_elements", [1, 700, 1 << 21])
def test_matches_module_forward(shape: tuple[int, ...], strip_elements: int) -> None:
    torch.manual_seed(0)
    model = TransformerNet(width=8, num_residual_blocks=2).eval()
    images = torch.rand(*shape)
    got = FastTransformerNet(model, strip_elements=strip_elements)(images)
    assert got.shape == images.shape
    assert (got - _reference(model, images)).abs().max() < 2e-5


@pytest.mark.parametrize("kwargs", [{"norm": "batch"}, {"output_activation": "tanh"}, {"output_activation": "none"}])
def test_other_norms_and_activations(kwargs: dict) -> None:
    torch.manual_seed(1)
    model = TransformerNet(width=4, num_residual_blocks=1, **kwargs).eval()
    if kwargs.get("norm") == "batch":  # non-trivial running statistics
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    images = torch.rand(1, 3, 33, 40)
    got = FastTransformerNet(model, strip_elements=200)(images)
    assert (got - _reference(model, images)).abs().max() < 2e-5


def test_sub_pixel_and_space_to_depth_paths_are_taken() -> None:
    """Even sizes use the rewritten upsampling convs and head (their weights land in the cache)."""
    model = TransformerNet(width=4, num_residual_blocks=1).eval()
    fast = FastTransformerNet(model)
    fast(torch.rand(1, 3, 32, 48))
    kinds = sorted(kind for kind, _ in fast._weight_cache)
    assert kinds == ["space_to_depth", "subpixel", "subpixel"]


def test_new_weights_are_not_served_stale() -> None:
    torch.manual_seed(2)
    model = TransformerNet(width=4, num_residual_blocks=1).eval()
    fast = FastTransformerNet(model)
    images = torch.rand(1, 3, 24, 24)
    before = fast(images)
    other = TransformerNet(width=4, num_residual_blocks=1)
    model.load_state_dict(other.state_dict())
    after = fast(images)
    assert (after - before).abs().max() > 1e-3
    assert (after - _reference(model, images)).abs().max() < 2e-5


def test_input_is_not_modified_and_no_graph_is_built() -> None:
    model = TransformerNet(width=4, num_residual_blocks=1).eval()
    images = torch.rand(1, 3, 20, 30, requires_grad=False)
    before = images.clone()
    out = FastTransformerNet(model, strip_elements=100)(images)
    assert torch.equal(images, before)
    assert not out.requires_grad


def test_autocast_bf16_stays_close() -> None:
    torch.manual_seed(3)
    model = TransformerNet(width=8, num_residual_blocks=2).eval()
    images = torch.rand(1, 3, 40, 52)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = FastTransformerNet(model, strip_elements=300)(images)
    assert got.dtype == torch.bfloat16
    assert (got.float() - _reference(model, images)).abs().max() < 0.05


def test_instance_moments_match_var_mean_even_with_a_large_mean() -> None:
    torch.manual_seed(4)
    x = torch.randn(2, 3, 17, 23)
    x[0, 1] = 1000.0 + 1e-3 * x[0, 1]  # E[x²] - E[x]² cancels catastrophically here
    mean, var = instance_moments(x)
    exact_var, exact_mean = torch.var_mean(x.double(), dim=(2, 3), correction=0)
    assert torch.allclose(mean.double(), exact_mean, rtol=1e-6, atol=1e-6)
    assert torch.allclose(var.double(), exact_var, rtol=1e-3, atol=1e-9)


@pytest.mark.parametrize(
    ("images", "match"),
    [(torch.rand(3, 16, 16), r"\(B, 3, H, W\)"), (torch.rand(1, 4, 16, 16), r"\(B, 3, H, W\)"),
     (torch.rand(1, 3, 4, 16), "at least 5")],
)
def test_bad_images_are_rejected(images: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        FastTransformerNet(TransformerNet(width=4, num_residual_blocks=1))(images)


@pytest.mark.parametrize("strip_elements", [0, -3, 2.5, True])
def test_bad_strip_budget_is_rejected(strip_elements: object) -> None:
    with pytest.raises(ValueError, match="strip_elements must be"):
        FastTransformerNet(TransformerNet(width=4), strip_elements=strip_elements)  # type: ignore[arg-type]


def test_wraps_only_a_transformer_net() -> None:
    with pytest.raises(TypeError, match="TransformerNet"):
        FastTransformerNet(torch.nn.Conv2d(3, 3, 3))  # type: ignore[arg-type]


def test_per_tile_statistics_would_differ_whole_image_strips_do_not() -> None:
    """Stylising tiles independently (per-tile norm statistics) gives seams; 16×16-pixel strips give none."""
    torch.manual_seed(5)
    model = TransformerNet(width=4, num_residual_blocks=1).eval()
    images = torch.rand(1, 3, 64, 64)
    images[..., :, 32:] *= 0.3  # two halves with different statistics
    whole = _reference(model, images)
    naive = torch.cat([_reference(model, images[..., :32]), _reference(model, images[..., 32:])], dim=-1)
    assert (naive - whole).abs().max() > 1e-3
    budget = tile_elements(model, 16)
    assert budget == 16 * 16 * 4  # a 16×16 piece of the 4-channel full-resolution layers
    assert (FastTransformerNet(model, strip_elements=budget)(images) - whole).abs().max() < 1e-5


@pytest.mark.parametrize("tile", [0, 8, MIN_TILE - 1, 2.5, True])
def test_bad_tile_is_rejected(tile: object) -> None:
    with pytest.raises(ValueError, match="tile must be"):
        tile_elements(TransformerNet(width=4), tile)  # type: ignore[arg-type]


def _magenta_layout(seed: int) -> TransformerNet:
    """A folded arbitrary-style network's layout (Ghiasi et al.): norm-free contract layers, a norm on the head."""
    torch.manual_seed(seed)
    model = TransformerNet(width=4, num_residual_blocks=1, encoder_norm=False, head_norm=True).eval()
    for module in model.modules():
        if isinstance(module, torch.nn.InstanceNorm2d):
            module.weight.data.uniform_(0.5, 2.0)
            module.bias.data.uniform_(-0.5, 0.5)
    return model


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("strip_elements", [1, 700, 1 << 21])
def test_a_head_with_a_norm_and_norm_free_contract_layers_match(shape: tuple[int, ...], strip_elements: int) -> None:
    model = _magenta_layout(6)
    images = torch.rand(*shape)
    fast = FastTransformerNet(model, strip_elements=strip_elements)
    got = fast(images)
    assert (got - _reference(model, images)).abs().max() < 2e-5
    if shape[-1] % 2 == 0 and shape[-2] % 2 == 0:  # the faster head path ran, its norm after the strips
        assert ("space_to_depth", id(model.head.conv)) in fast._weight_cache


def test_a_head_with_a_norm_in_bf16_stays_close() -> None:
    model = _magenta_layout(7)
    images = torch.rand(1, 3, 40, 52)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = FastTransformerNet(model, strip_elements=300)(images)
    assert got.dtype == torch.bfloat16
    assert (got.float() - _reference(model, images)).abs().max() < 0.05
