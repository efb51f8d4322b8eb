"""Net2Net widening (fast_style.models.surgery.widen) and the new-style run that trains a widened start."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from fast_style.errors import InvalidValueError
from fast_style.infer.stylize import load_model
from fast_style.models.surgery import widen
from fast_style.models.transformer import TransformerNet
from fast_style.train.prepare import prepare
from fast_style.train.run import build, train


def magenta_layout(width: int = 4) -> TransformerNet:
    """A small one-style network of the arbitrary network's folded layout, with non-trivial γ, β."""
    torch.manual_seed(0)
    net = TransformerNet(width=width, num_residual_blocks=2, encoder_norm=False, head_norm=True).eval()
    for module in net.modules():
        if isinstance(module, torch.nn.InstanceNorm2d):
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.3, 0.3)
    return net


@pytest.mark.parametrize("factor", [2, 3])
def test_a_widened_network_computes_the_same_picture(factor: int):
    net = magenta_layout()
    wide = widen(net, factor)
    assert wide.model_args["width"] == 4 * factor and wide.model_args["head_norm"] is True
    assert sum(p.numel() for p in wide.parameters()) > 2 * sum(p.numel() for p in net.parameters())
    photos = torch.rand(2, 3, 36, 44)
    with torch.no_grad():
        torch.testing.assert_close(wide(photos), net(photos), rtol=0, atol=1e-5)


def test_the_noise_breaks_the_copies_apart_by_about_its_size():
    net = magenta_layout()
    wide = widen(net, 2, noise=0.01, generator=torch.Generator().manual_seed(1))
    weight = wide.residuals[0].body[0][1].weight
    assert not torch.equal(weight[:16], weight[16:])  # the copies differ, so their gradients will too
    photos = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        difference = (wide(photos) - net(photos)).abs().mean()
    assert 0 < difference < 0.02


@pytest.mark.parametrize("factor", [0, 1.5, True])
def test_a_bad_factor_is_refused(factor):
    with pytest.raises(InvalidValueError, match="widen factor must be a whole number >= 1"):
        widen(magenta_layout(), factor)


def test_a_multi_style_network_is_refused():
    with pytest.raises(InvalidValueError, match="one-style network of plain convolutions"):
        widen(TransformerNet(width=4, num_residual_blocks=1, styles=["a", "b"]), 2)


def test_a_new_style_run_trains_the_widened_start_and_writes_an_ordinary_network(train_config, tmp_path: Path):
    painting = tmp_path / "stripes.png"
    Image.new("RGB", (40, 40), (200, 40, 40)).save(painting)
    config = train_config("experiment=new_style", "style.name=mine", f"style.image={painting}",
                          "module.painting_size=32", "module.widen=2")
    network = load_model(train(config, tmp_path / "run"), "cpu")
    assert isinstance(network, TransformerNet) and network.model_args["width"] == 16
    bad = train_config("experiment=new_style", "style.name=mine", f"style.image={painting}",
                       "module.painting_size=32", "module.widen=2", "module.trained=embedding")
    with pytest.raises(InvalidValueError, match="widen=2 needs trained=all or norms"):
        build(prepare(bad).module)
