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
