"""The small network's layout options: space-to-depth stem and head, smaller kernels, separable blocks.

Every inference path must run them as it runs the paper's network: the fast engine (row strips
included), ONNX/TorchScript export at any size, and the one-style files' model_args unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fast_style.infer.export import export_model, load_exported
from fast_style.infer.fast_forward import FastTransformerNet
from fast_style.models import TransformerNet
from fast_style.models.surgery import recenter_block_phases
from fast_style.models.transformer import SeparableConv2d

SMALL = {"width": 4, "num_residual_blocks": 2, "stem_kernel": 3, "head_kernel": 3, "space_to_depth": True}
SIZES = [(1, 3, 5, 5), (2, 3, 7, 9), (1, 3, 16, 16), (1, 3, 33, 50), (1, 3, 64, 31)]


def _perturbed(model: TransformerNet) -> TransformerNet:
    """Non-trivial norm parameters (a fresh net has γ = 1, β = 0, which would hide a swapped pair)."""
    torch.manual_seed(3)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    return model.eval()


@pytest.mark.parametrize("shape", SIZES)
def test_space_to_depth_network_keeps_any_size(shape: tuple[int, ...]) -> None:
    model = TransformerNet(**SMALL).eval()
    with torch.no_grad():
        out = model(torch.rand(*shape))
    assert out.shape == shape
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0


def test_space_to_depth_has_no_full_resolution_feature_map() -> None:
    """Each conv sees at most half the image's rows: the point of the layout."""
    model = TransformerNet(**SMALL).eval()
    heights = []
    hooks = [module.register_forward_hook(lambda m, inputs, output: heights.append(output.shape[-2]))
             for module in model.modules() if isinstance(module, torch.nn.Conv2d)]
    with torch.no_grad():
        model(torch.rand(1, 3, 64, 64))
    for hook in hooks:
        hook.remove()
    assert max(heights) == (64 + 5) // 2  # half of the padded input (pad_for_space_to_depth)


def test_options_enter_model_args_only_when_they_differ_from_the_paper() -> None:
    assert TransformerNet().model_args == {"width": 32, "num_residual_blocks": 5, "norm": "instance",
                                           "output_activation": "sigmoid"}
    small = TransformerNet(**SMALL, separable_residuals=True)
    assert small.model_args["space_to_depth"] is True and small.model_args["separable_residuals"] is True
    rebuilt = TransformerNet(**small.model_args)
    assert rebuilt.state_dict().keys() == small.state_dict().keys()


def test_separable_blocks_have_fewer_parameters_and_depthwise_convs() -> None:
    full = TransformerNet(width=8, num_residual_blocks=2)
    separable = TransformerNet(width=8, num_residual_blocks=2, separable_residuals=True)
    convs = [m for m in separable.residuals.modules() if isinstance(m, SeparableConv2d)]
    assert len(convs) == 4 and all(conv.depthwise.groups == 32 for conv in convs)
    assert sum(p.numel() for p in separable.parameters()) < sum(p.numel() for p in full.parameters())


@pytest.mark.parametrize("kwargs", [SMALL, {**SMALL, "separable_residuals": True},
                                    {"width": 4, "num_residual_blocks": 1, "stem_kernel": 5, "head_kernel": 3}])
@pytest.mark.parametrize("strip_elements", [300, 1 << 21])
@pytest.mark.parametrize("shape", SIZES)
def test_fast_engine_matches_the_module(kwargs: dict, strip_elements: int, shape: tuple[int, ...]) -> None:
    model = _perturbed(TransformerNet(**kwargs))
    images = torch.rand(*shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model(images)
    got = FastTransformerNet(model, strip_elements=strip_elements)(images)
    assert got.shape == expected.shape
    assert (got - expected).abs().max() < 1e-4  # float rounding of the moments (E[x²] - E[x]²)


@pytest.mark.parametrize("fmt,suffix", [("onnx", ".onnx"), ("torchscript", ".pt")])
def test_export_reproduces_the_small_network_at_any_size(tmp_path: Path, fmt: str, suffix: str) -> None:
    model = _perturbed(TransformerNet(**SMALL))
    runner = load_exported(export_model(model, tmp_path / f"small{suffix}", fmt))
    for shape in [(1, 3, 37, 45), (1, 3, 5, 9), (2, 3, 64, 32)]:
        images = torch.rand(*shape, generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            expected = model(images)
        got = runner(images)
        assert got.shape == expected.shape
        assert (got - expected).abs().max() <= 1e-4


@pytest.mark.parametrize("kwargs,message", [({"stem_kernel": 4}, "stem_kernel"), ({"head_kernel": 0}, "head_kernel"),
                                            ({"space_to_depth": "yes"}, "space_to_depth"),
                                            ({"separable_residuals": 1}, "separable_residuals")])
def test_bad_layout_options_name_the_value(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TransformerNet(**kwargs)


def _block_phase_means(model: TransformerNet, photos: torch.Tensor) -> torch.Tensor:
    """Mean pre-activation of the head per (colour, position in the 2×2 block): (3, 4)."""
    means = []
    hook = model.head.register_forward_hook(lambda _m, _i, output: means.append(output.mean((0, 2, 3))))
    with torch.no_grad():
        model(photos)
    hook.remove()
    return means[0].view(3, 4)


def test_recentering_removes_a_fixed_block_grain_and_keeps_what_depends_on_the_photo() -> None:
    torch.manual_seed(0)
    model = _perturbed(TransformerNet(**SMALL).eval())
    grain = torch.tensor([[0.3, -0.3, -0.3, 0.3], [0.0, 0.5, -0.5, 0.0], [0.2, 0.2, -0.2, -0.2]])
    with torch.no_grad():
        model.head.conv.bias += grain.flatten()  # a planted 2-pixel grain, the same on every photo
    photos = torch.rand(4, 3, 32, 32)
    before = _block_phase_means(model, photos)
    with torch.no_grad():
        pre_before = model.head(model._body(torch.nn.functional.pixel_unshuffle(photos, 2)))
    shift = recenter_block_phases(model, [photos[:2], photos[2:]])
    after = _block_phase_means(model, photos)
    assert before.std(1).min() > 0.1 and torch.allclose(after, after.mean(1, keepdim=True).expand(3, 4), atol=1e-5)
    assert torch.allclose(after.mean(1), before.mean(1), atol=1e-5)  # each colour keeps its mean
    with torch.no_grad():
        pre_after = model.head(model._body(torch.nn.functional.pixel_unshuffle(photos, 2)))
    # Only a constant per channel moved: what differs between photos and places is unchanged.
    assert torch.allclose(pre_after - pre_before, -shift.flatten().view(1, 12, 1, 1).expand_as(pre_after), atol=1e-5)


def test_recentering_needs_a_block_head_and_photos() -> None:
    from fast_style.errors import InvalidValueError

    with pytest.raises(InvalidValueError, match="space_to_depth"):
        recenter_block_phases(TransformerNet(width=4, num_residual_blocks=1), [torch.rand(1, 3, 32, 32)])
    with pytest.raises(InvalidValueError, match="at least one batch"):
        recenter_block_phases(TransformerNet(**SMALL), [])
