"""The arbitrary-style network (Ghiasi et al. 2017): layout options, TF-SAME padding, the fold, named styles."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from fast_style.errors import InvalidValueError
from fast_style.models import ArbitraryStyleNet, TransformerNet, build_network
from fast_style.models.arbitrary import interpolate_embedding, prepare_painting
from fast_style.models.conditional_norm import EmbeddingInstanceNorm2d
from fast_style.models.style_predictor import SameConv2d, StylePredictor, tf_same_padding

EMBED = 6
TINY_ARBITRARY = {"width": 4, "num_residual_blocks": 1, "embedding_dim": EMBED}


def _randomise_norms(model: nn.Module, seed: int = 0) -> None:
    """γ, β maps that depend on the embedding (a fresh layer ignores it)."""
    generator = torch.Generator().manual_seed(seed)
    for norm in model.modules():
        if isinstance(norm, EmbeddingInstanceNorm2d):
            for linear in (norm.gamma, norm.beta):
                linear.weight.data = 0.3 * torch.randn(linear.weight.shape, generator=generator)
                linear.bias.data = 1 + 0.3 * torch.randn(linear.bias.shape, generator=generator)


@pytest.mark.parametrize("size,kernel,stride,expected", [(256, 3, 2, (0, 1)), (255, 3, 2, (1, 1)), (16, 3, 1, (1, 1)),
                                                          (8, 1, 1, (0, 0)), (7, 3, 2, (1, 1))])
def test_tf_same_padding_puts_the_odd_pixel_after(size: int, kernel: int, stride: int, expected: tuple[int, int]) -> None:
    assert tf_same_padding(size, kernel, stride) == expected


def test_stride_two_convolutions_pad_as_tensorflow_not_symmetrically() -> None:
    torch.manual_seed(0)
    conv = SameConv2d(3, 5, 3, stride=2)
    x = torch.randn(1, 3, 16, 16)
    tensorflow = F.conv2d(F.pad(x, (0, 1, 0, 1)), conv.weight, conv.bias, stride=2)
    symmetric = F.conv2d(x, conv.weight, conv.bias, stride=2, padding=1)
    out = conv(x)
    assert out.shape == (1, 5, 8, 8)
    torch.testing.assert_close(out, tensorflow)
    assert (out - symmetric).abs().max() > 0.1  # torchvision's padding samples other pixels


def test_predictor_is_mobilenet_v2_to_an_embedding() -> None:
    predictor = StylePredictor(embedding_dim=100).eval()
    convs = [m for m in predictor.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 53  # stem, 17 blocks (the first without expansion), the 1280 layer, the bottleneck
    assert 2.3e6 < sum(p.numel() for p in predictor.parameters()) < 2.4e6
    with torch.no_grad():
        assert predictor(torch.rand(2, 3, 64, 48)).shape == (2, 100)


def test_default_layout_is_unchanged_and_the_options_are_recorded() -> None:
    assert TransformerNet(width=4, num_residual_blocks=1).model_args == {
        "width": 4, "num_residual_blocks": 1, "norm": "instance", "output_activation": "sigmoid"}
    model = TransformerNet(width=4, num_residual_blocks=1, encoder_norm=False, head_norm=True, embedding_dim=EMBED)
    assert model.model_args["encoder_norm"] is False and model.model_args["head_norm"] is True
    assert all(block.norm is None for block in (model.stem, model.down1, model.down2))
    assert isinstance(model.head.norm, EmbeddingInstanceNorm2d)
    assert len(model.embedding_norms()) == 2 + 2 + 1  # residual block, two upsampling layers, head


def test_magenta_layout_has_thirteen_conditional_norms() -> None:
    net = ArbitraryStyleNet()
    assert len(net.transformer.embedding_norms()) == 13
    assert 1.7e5 < sum(p.numel() for p in net.transformer.parameters()) < 1.9e5


@pytest.mark.parametrize("kwargs,message", [
    ({"head_norm": True, "space_to_depth": True}, "head_norm cannot be combined with space_to_depth"),
    ({"embedding_dim": 4, "styles": ["a", "b"]}, "not both"),
    ({"embedding_dim": 4, "norm": "batch"}, "needs norm='instance'"),
    ({"embedding_dim": 0}, "embedding_dim must be a positive integer"),
    ({"encoder_norm": "no"}, "encoder_norm must be true or false"),
])
def test_bad_layout_options_name_the_value(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TransformerNet(width=4, num_residual_blocks=1, **kwargs)


def test_the_fold_equals_the_conditioned_forward() -> None:
    torch.manual_seed(0)
    net = ArbitraryStyleNet(**TINY_ARBITRARY).eval()
    _randomise_norms(net)
    images = torch.rand(2, 3, 29, 36)
    embeddings = torch.randn(2, EMBED)
    with torch.no_grad():
        conditioned = net(images, embeddings)  # one embedding per image
        for index in range(2):
            folded = net.fold(embeddings[index])
            assert type(folded) is TransformerNet and folded.embedding_dim is None
            assert not folded.embedding_norms()
            torch.testing.assert_close(folded.eval()(images[index:index + 1]), conditioned[index:index + 1])
        # Different embeddings give different pictures: the test above could fail.
        assert (conditioned[0] - net(images[:1], embeddings[1])[0]).abs().max() > 1e-3


def test_a_folded_network_rebuilds_from_its_model_args() -> None:
    torch.manual_seed(1)
    net = ArbitraryStyleNet(**TINY_ARBITRARY).eval()
    _randomise_norms(net)
    folded = net.fold(torch.randn(EMBED)).eval()
    rebuilt = build_network(folded.model_args)
    rebuilt.load_state_dict(folded.state_dict())
    images = torch.rand(1, 3, 20, 24)
    with torch.no_grad():
        assert torch.equal(rebuilt.eval()(images), folded(images))


def test_build_network_dispatches_on_the_family() -> None:
    assert type(build_network({"width": 4, "num_residual_blocks": 1})) is TransformerNet
    net = build_network(ArbitraryStyleNet(**TINY_ARBITRARY, styles=["a", "b"]).model_args)
    assert isinstance(net, ArbitraryStyleNet) and net.style_names == ("a", "b")
    with pytest.raises(ValueError, match="unknown network family 'gan'; allowed: transformer, arbitrary"):
        build_network({"family": "gan"})


def test_an_embedding_network_needs_its_embedding() -> None:
    model = TransformerNet(width=4, num_residual_blocks=1, embedding_dim=EMBED)
    images = torch.rand(1, 3, 16, 16)
    with pytest.raises(InvalidValueError, match="pass embedding="):
        model(images)
    with pytest.raises(InvalidValueError, match=r"does not fit: expected \(6,\)"):
        model(images, embedding=torch.zeros(3))
    with pytest.raises(InvalidValueError, match="takes no embedding="):
        TransformerNet(width=4, num_residual_blocks=1)(images, embedding=torch.zeros(EMBED))


def test_named_styles_are_stored_embeddings_and_blends_mix_them() -> None:
    net = ArbitraryStyleNet(**TINY_ARBITRARY)
    table = {"a": torch.arange(EMBED, dtype=torch.float32), "b": -torch.ones(EMBED)}
    named = net.with_styles(table)
    assert named.model_args["styles"] == ["a", "b"]
    assert named.predictor.stem[0].weight is net.predictor.stem[0].weight  # shared, not copied
    torch.testing.assert_close(named.style_embedding("a"), table["a"])
    torch.testing.assert_close(named.style_embedding({"a": 0.25, "b": 0.75}), 0.25 * table["a"] + 0.75 * table["b"])
    with pytest.raises(InvalidValueError, match="unknown style 'c'"):
        named.style_embedding("c")


def test_strength_interpolates_between_the_photo_and_the_painting() -> None:
    photo, painting = torch.zeros(EMBED), torch.ones(EMBED)
    torch.testing.assert_close(interpolate_embedding(photo, painting, 0.3), torch.full((EMBED,), 0.3))
    with pytest.raises(InvalidValueError, match="strength must be between 0 and 1"):
        interpolate_embedding(photo, painting, 1.5)


def test_prepare_painting_takes_the_centred_square() -> None:
    image = Image.new("RGB", (90, 30), (255, 0, 0))
    image.paste((0, 0, 255), (30, 0, 60, 30))  # the centre third is blue
    prepared = prepare_painting(image, size=32)
    assert prepared.shape == (1, 3, 32, 32)
    assert prepared[0, 2].mean() > 0.95 and prepared[0, 0].mean() < 0.05
    with pytest.raises(InvalidValueError, match="at least 32 pixels"):
        prepare_painting(image, size=16)
