"""The sub-pixel and space-to-depth rewrites compute the same function and gradients as the convs they replace."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fast_style.models import TransformerNet
from fast_style.models.conv_rewrites import space_to_depth_conv, upsample2x_conv


def _grads(output: torch.Tensor, *tensors: torch.Tensor) -> list[torch.Tensor]:
    weights = torch.linspace(-1.0, 1.0, output.numel()).view_as(output)  # a non-symmetric upstream gradient
    return list(torch.autograd.grad((output * weights).sum(), tensors))


@pytest.mark.parametrize("size", [(1, 1), (5, 7), (8, 8)])
def test_upsample2x_conv_equals_upsample_pad_conv(size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(6, 5, 3)
    x = torch.randn(2, 6, *size, requires_grad=True)
    upsampled = F.interpolate(x, scale_factor=2, mode="nearest")
    expected = conv(F.pad(upsampled, (1, 1, 1, 1), mode="reflect" if min(size) > 1 else "replicate"))
    got = upsample2x_conv(x, conv)
    assert got.shape == expected.shape == (2, 5, 2 * size[0], 2 * size[1])
    assert (got - expected).abs().max() < 1e-5
    for g, e in zip(_grads(got, x, conv.weight, conv.bias), _grads(expected, x, conv.weight, conv.bias)):
        assert (g - e).abs().max() < 1e-4 * max(1.0, e.abs().max().item())


@pytest.mark.parametrize("kernel", [3, 9])
@pytest.mark.parametrize("size", [(12, 12), (13, 18)])
def test_space_to_depth_conv_equals_the_convolution(kernel: int, size: tuple[int, int]) -> None:
    torch.manual_seed(1)
    conv = torch.nn.Conv2d(6, 3, kernel)
    padded = torch.randn(2, 6, *size, requires_grad=True)
    expected = conv(padded)
    got = space_to_depth_conv(padded, conv)
    assert got.shape == expected.shape
    assert (got - expected).abs().max() < 1e-5
    for g, e in zip(_grads(got, padded, conv.weight, conv.bias), _grads(expected, padded, conv.weight, conv.bias)):
        assert (g - e).abs().max() < 1e-4 * max(1.0, e.abs().max().item())


@pytest.mark.parametrize("shape", [(2, 3, 64, 64), (1, 3, 37, 53)])
def test_training_forward_matches_the_textbook_graph(shape: tuple[int, ...]) -> None:
    """Train mode uses the rewrites; eval mode the plain graph. With instance norm (no running
    statistics) both compute the same function, so outputs and weight gradients must agree."""
    torch.manual_seed(2)
    model = TransformerNet(width=8, num_residual_blocks=2)
    images = torch.rand(*shape)
    # Biases right before an instance norm have zero true gradient (float noise either way).
    checked = [p for n, p in model.named_parameters() if not (n.endswith(".1.bias") and "head" not in n)]
    model.train()
    trained = model(images)
    train_grads = _grads(trained, *checked)
    model.eval()
    plain = model(images)
    plain_grads = _grads(plain, *checked)
    assert (trained - plain).abs().max() < 1e-5
    scale = max(g.abs().max().item() for g in plain_grads)
    assert max((g - e).abs().max().item() for g, e in zip(train_grads, plain_grads)) < 1e-4 * scale
