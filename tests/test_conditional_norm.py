"""Conditional instance norm (Dumoulin et al. 2017) in TransformerNet: one network, several styles."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fast_style.deprecated import DeprecatedNameWarning
from fast_style.errors import InvalidValueError
from fast_style.models import TransformerNet
from fast_style.models.conditional_norm import ConditionalInstanceNorm2d, style_weight_vector
from fast_style.models.surgery import fold_style, with_styles
from tests.helpers import TINY_MODEL_ARGS

STYLES = ["candy", "mosaic", "udnie"]


@pytest.fixture
def multi() -> TransformerNet:
    """A tiny three-style network whose γ, β rows differ from style to style."""
    torch.manual_seed(0)
    model = TransformerNet(**TINY_MODEL_ARGS, styles=STYLES).eval()
    generator = torch.Generator().manual_seed(1)
    for norm in model.conditional_norms():
        norm.weight.data = 1 + 0.5 * torch.randn(norm.weight.shape, generator=generator)
        norm.bias.data = 0.5 * torch.randn(norm.bias.shape, generator=generator)
    return model


def test_a_one_hot_conditional_norm_is_that_styles_instance_norm():
    torch.manual_seed(0)
    conditional = ConditionalInstanceNorm2d(6, num_styles=3)
    conditional.weight.data.normal_(1, 0.4)
    conditional.bias.data.normal_(0, 0.4)
    x = torch.randn(2, 6, 9, 7) * 3 + 1
    for index in range(3):
        plain = nn.InstanceNorm2d(6, affine=True)
        plain.weight.data = conditional.weight.data[index].clone()
        plain.bias.data = conditional.bias.data[index].clone()
        conditional.style_weights = torch.nn.functional.one_hot(torch.tensor([index]), 3).float()
        torch.testing.assert_close(conditional(x), plain(x))


def test_a_one_style_network_keeps_plain_instance_norms_and_its_model_args():
    model = TransformerNet(**TINY_MODEL_ARGS)
    assert model.model_args == TINY_MODEL_ARGS and model.num_styles == 1
    assert not model.conditional_norms()
    assert any(isinstance(module, nn.InstanceNorm2d) for module in model.modules())
    with pytest.raises(InvalidValueError, match="one-style"):
        model(torch.rand(1, 3, 16, 16), style="candy")


def test_each_style_is_its_own_picture_and_a_name_equals_its_index(multi):
    photos = torch.rand(2, 3, 24, 20)
    outputs = [multi(photos, style=name) for name in STYLES]
    torch.testing.assert_close(multi(photos, style=1), outputs[1])
    assert not torch.allclose(outputs[0], outputs[1], atol=1e-3)
    # Per image: image 0 in candy, image 1 in udnie, in one batch.
    mixed = multi(photos, style=torch.tensor([[1.0, 0, 0], [0, 0, 1.0]]))
    torch.testing.assert_close(mixed[0], outputs[0][0])
    torch.testing.assert_close(mixed[1], outputs[2][1])


def test_fold_style_folds_a_style_or_a_blend_into_a_one_style_network(multi):
    photos = torch.rand(1, 3, 21, 26)
    for style in ["mosaic", {"candy": 0.7, "udnie": 0.3}]:
        folded = fold_style(multi, style)
        assert folded.model_args == TINY_MODEL_ARGS and not folded.conditional_norms()
        assert folded.stem.conv.weight is multi.stem.conv.weight  # shared, not copied
        torch.testing.assert_close(folded(photos), multi(photos, style=style))


def test_the_old_method_names_still_fold_and_say_what_replaces_them(multi):
    photos = torch.rand(1, 3, 20, 20)
    with pytest.warns(DeprecatedNameWarning, match="fold_style"):
        folded = multi.for_style("udnie")
    torch.testing.assert_close(folded(photos), fold_style(multi, "udnie")(photos))
    embedded = TransformerNet(**TINY_MODEL_ARGS, embedding_dim=4).eval()
    embedding = torch.randn(4)
    with pytest.warns(DeprecatedNameWarning, match="fold_embedding"):
        folded = embedded.for_embedding(embedding)
    torch.testing.assert_close(folded(photos), embedded(photos, embedding=embedding))


def test_a_blend_mixes_inside_the_network_not_the_output_pixels(multi):
    photos = torch.rand(1, 3, 24, 24)
    blend = multi(photos, style={"candy": 0.5, "mosaic": 0.5})
    pixel_mix = 0.5 * multi(photos, style="candy") + 0.5 * multi(photos, style="mosaic")
    assert (blend - pixel_mix).abs().max() > 1e-2
    # Weights are normalised: 3:1 is 0.75:0.25, and all weight on one style is that style.
    torch.testing.assert_close(multi(photos, style={"candy": 3, "mosaic": 1}),
                               multi(photos, style=[0.75, 0.25, 0.0]))
    torch.testing.assert_close(multi(photos, style={"udnie": 1.0}), multi(photos, style="udnie"))


@pytest.mark.parametrize("style, message", [
    ("starry", "unknown style 'starry'"),
    (3, "out of range"),
    ([1.0, 0.0], "do not fit"),
    ([1.0, -0.5, 0.5], "non-negative"),
    ([0.0, 0.0, 0.0], "not all zero"),
    ([float("nan"), 1.0, 0.0], "finite"),
    ({"candy": 1.0, "wave": 1.0}, "'wave'"),
])
def test_a_bad_style_names_the_value_and_the_styles_held(multi, style, message):
    with pytest.raises(InvalidValueError, match=message):
        multi(torch.rand(1, 3, 16, 16), style=style)


def test_a_multi_style_network_needs_a_style():
    model = TransformerNet(**TINY_MODEL_ARGS, styles=STYLES)
    with pytest.raises(InvalidValueError, match="holds 3 styles"):
        model(torch.rand(1, 3, 16, 16))


@pytest.mark.parametrize("styles", [["candy"], ["candy", "candy"], "candy", ["candy", ""]])
def test_bad_style_lists_are_refused(styles):
    with pytest.raises(InvalidValueError):
        TransformerNet(**TINY_MODEL_ARGS, styles=styles)


def test_with_styles_keeps_named_rows_and_starts_new_ones_from_the_mean(multi):
    photos = torch.rand(1, 3, 20, 20)
    grown = with_styles(multi, [*STYLES, "mine"])
    for name in STYLES:
        torch.testing.assert_close(grown(photos, style=name), multi(photos, style=name))
    torch.testing.assert_close(grown(photos, style="mine"), multi(photos, style=[1 / 3] * 3))
    # A one-style network's row starts every style: a warm start from a shipped network.
    one = TransformerNet(**TINY_MODEL_ARGS).eval()
    started = with_styles(one, STYLES)
    torch.testing.assert_close(started(photos, style="udnie"), one(photos))


def test_style_weight_vector_per_image_checks_the_batch():
    assert style_weight_vector([[1, 1], [0, 2]], ["a", "b"], batch=2).tolist() == [[0.5, 0.5], [0.0, 1.0]]
    with pytest.raises(InvalidValueError, match="do not fit"):
        style_weight_vector([[1, 1], [0, 2]], ["a", "b"], batch=3)


@pytest.mark.parametrize("strip_elements", [64, 2**21])
def test_the_fast_engine_runs_a_folded_style_or_blend_as_the_module_does(multi, strip_elements):
    from fast_style.infer.fast_forward import FastTransformerNet

    photos = torch.rand(2, 3, 37, 29, generator=torch.Generator().manual_seed(2))
    for style in ["udnie", {"candy": 0.4, "mosaic": 0.6}]:
        fast = FastTransformerNet(fold_style(multi, style), strip_elements=strip_elements)(photos)
        torch.testing.assert_close(fast, multi(photos, style=style), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("fmt, suffix", [("torchscript", ".pt"), ("onnx", ".onnx")])
def test_a_folded_blend_exports_with_parity(multi, tmp_path, fmt, suffix):
    from fast_style.infer.export import export_checked

    difference = export_checked(fold_style(multi, {"candy": 0.5, "udnie": 0.5}), tmp_path / f"blend{suffix}", fmt)
    assert difference <= 1e-4 and (tmp_path / f"blend{suffix}").is_file()
