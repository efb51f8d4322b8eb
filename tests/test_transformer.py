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
    model = TransformerNet(width=8, num_residual_blocks=2, norm="batch", output_activation="tanh")
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    # model_args must describe the network that was built (a checkpoint rebuilds from them alone).
    assert model.model_args == {"width": 8, "num_residual_blocks": 2, "norm": "batch", "output_activation": "tanh"}
    rebuilt = TransformerNet(**model.model_args)
    rebuilt.load_state_dict(model.state_dict())  # same structure, key for key and shape for shape
    x = torch.rand(2, 3, 20, 20)
    assert torch.equal(rebuilt.eval()(x), model.eval()(x))


def _biases_feeding_a_norm(model: nn.Module) -> set[str]:
    """Conv biases followed directly by a norm layer: the norm subtracts the mean, so their gradient is 0."""
    names = set()
    for prefix, module in model.named_modules():
        children = list(module.named_children())
        for (name, child), (_, following) in zip(children, children[1:]):
            if isinstance(child, nn.Conv2d) and isinstance(following, (nn.InstanceNorm2d, nn.BatchNorm2d)):
                names.add(f"{prefix}.{name}.bias" if prefix else f"{name}.bias")
    return names


def test_gradients_reach_every_parameter_that_matters():
    torch.manual_seed(0)
    model = TransformerNet(width=4, num_residual_blocks=1)
    model(torch.rand(2, 3, 12, 12)).square().mean().backward()
    cancelled = _biases_feeding_a_norm(model)
    assert len(cancelled) == 7  # stem, down1, down2, 2 in the residual block, up1, up2
    # A residual block ends in a norm with no ReLU: its bias is a per-channel constant carried by the
    # skip path into up1's conv, whose output norm removes it again, so its gradient is zero too.
    cancelled |= {f"residuals.{i}.body.1.2.bias" for i in range(len(model.residuals))}
    for name, parameter in model.named_parameters():
        scale = parameter.grad.abs().max() if parameter.grad is not None else None
        if name in cancelled:
            assert scale is not None and scale < 1e-6, name  # the true gradient is zero
        else:
            assert scale is not None and scale > 1e-6, name


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
