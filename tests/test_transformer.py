"""TransformerNet: shapes at odd sizes, options, and argument errors."""

import pytest
import torch
from torch import nn

from fast_style.models import TransformerNet


@pytest.mark.parametrize("height,width", [(5, 5), (17, 31), (33, 64), (63, 65), (101, 7)])
def test_output_has_exactly_the_input_size(height, width):
    model = TransformerNet(width=4, num_residual_blocks=1).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, height, width))
    assert out.shape == (2, 3, height, width)


def test_default_is_johnsons_network():
    model = TransformerNet()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in (convs[0], convs[-1])] == [(9, 9), (9, 9)]
    assert [c.stride for c in convs[1:3]] == [(2, 2), (2, 2)]
    assert len(model.residuals) == 5
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in model.modules())
    assert any(isinstance(m, nn.ReflectionPad2d) for m in model.modules())
    assert all(not isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert 1.6e6 < sum(p.numel() for p in model.parameters()) < 1.8e6


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_bounded_activations_stay_in_unit_range(activation):
    model = TransformerNet(width=4, num_residual_blocks=1, output_activation=activation)
    for p in model.parameters():
        nn.init.normal_(p, std=3.0)  # push pre-activations far out
    out = model(torch.rand(1, 3, 16, 16))
    assert out.min() >= 0 and out.max() <= 1


def test_clamp_activation_clamps_only_in_eval():
    model = TransformerNet(width=4, num_residual_blocks=0, output_activation="clamp")
    with torch.no_grad():
        model.head[-1].bias.fill_(5.0)
        assert model.train()(torch.rand(1, 3, 8, 8)).max() > 1
        assert model.eval()(torch.rand(1, 3, 8, 8)).max() == 1


def test_batch_norm_variant_and_model_args():
    model = TransformerNet(width=8, num_residual_blocks=2, norm="batch")
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    rebuilt = TransformerNet(**model.model_args)
    assert rebuilt.model_args == model.model_args


def test_gradients_reach_every_parameter():
    model = TransformerNet(width=4, num_residual_blocks=1)
    model(torch.rand(2, 3, 12, 12)).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"norm": "layer"}, "unknown norm 'layer'; allowed: instance, batch"),
        ({"output_activation": "relu"}, "unknown output_activation 'relu'"),
        ({"width": 0}, "width must be a positive integer"),
        ({"num_residual_blocks": -1}, "num_residual_blocks"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TransformerNet(**kwargs)


def test_too_small_or_wrong_shaped_input_is_a_clear_error():
    model = TransformerNet(width=4, num_residual_blocks=1)
    with pytest.raises(ValueError, match="at least 5"):
        model(torch.rand(1, 3, 4, 20))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        model(torch.rand(1, 4, 16, 16))
