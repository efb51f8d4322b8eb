"""PerceptualLoss: each term against a direct computation, weighting, and precision."""

import pytest
import torch

from fast_style.deprecated import DeprecatedNameWarning
from fast_style.loss.ops import gram_matrix
from fast_style.loss.perceptual import (
    PerceptualLoss,
    PerceptualLossSettings,
    build_perceptual_loss,
    loss_kwargs_from_config,
    resize_shorter_side,
)
from fast_style.loss.vgg import VGGEncoder

LAYERS = ["relu1_2", "relu2_2", "relu3_3"]


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return VGGEncoder(LAYERS, weights="random")


def make_loss(encoder, style, **kwargs):
    defaults = dict(content_layers=["relu2_2"], style_layers=["relu1_2", "relu3_3"], style_size=None)
    defaults.update(kwargs)
    return PerceptualLoss(encoder, style, PerceptualLossSettings(**defaults))


def test_terms_match_direct_computation(encoder):
    torch.manual_seed(1)
    style, content, stylised = torch.rand(1, 3, 32, 32), torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    loss = make_loss(encoder, style, content_weight=2.0, style_weight=5.0, tv_weight=0.5)
    terms = loss(stylised, content)
    with torch.no_grad():
        fs, fc, fstyle = encoder(stylised), encoder(content), encoder(style)
    content_expected = 2.0 * ((fs["relu2_2"] - fc["relu2_2"]) ** 2).mean()
    style_expected = 5.0 * sum(
        ((gram_matrix(fs[n]) - gram_matrix(fstyle[n])) ** 2).mean() for n in ["relu1_2", "relu3_3"]
    )
    assert terms["content"].item() == pytest.approx(content_expected.item(), rel=1e-4)
    assert terms["style"].item() == pytest.approx(style_expected.item(), rel=1e-4)
    assert terms["tv"].item() > 0
    assert terms["total"].item() == pytest.approx(sum(terms[k].item() for k in ("content", "style", "tv")), rel=1e-6)


def test_zero_loss_when_output_is_content_and_style(encoder):
    image = torch.rand(1, 3, 24, 24)
    terms = make_loss(encoder, image)(image.clone(), image)
    assert terms["content"].item() == pytest.approx(0.0, abs=1e-6)
    assert terms["style"].item() == pytest.approx(0.0, abs=1e-6)


def test_per_layer_style_weights(encoder):
    torch.manual_seed(2)
    style, x = torch.rand(1, 3, 24, 24), torch.rand(1, 3, 24, 24)
    only_first = make_loss(encoder, style, style_layers={"relu1_2": 1.0, "relu3_3": 0.0})(x, x)["style"]
    both = make_loss(encoder, style, style_layers={"relu1_2": 1.0, "relu3_3": 1.0})(x, x)["style"]
    doubled = make_loss(encoder, style, style_layers={"relu1_2": 2.0, "relu3_3": 0.0})(x, x)["style"]
    assert doubled.item() == pytest.approx(2 * only_first.item(), rel=1e-5)
    assert both.item() > only_first.item()


def test_style_grams_are_non_persistent_buffers(encoder):
    loss = make_loss(encoder, torch.rand(1, 3, 20, 20))
    assert loss.style_gram("relu1_2").shape == (1, 64, 64)
    assert not any(key.startswith("style_gram") for key in loss.state_dict())


def test_style_size_resizes_shorter_side():
    image = torch.rand(1, 3, 40, 80)
    assert resize_shorter_side(image, 20).shape[-2:] == (20, 40)
    assert resize_shorter_side(image, None) is image


def test_content_photo_runs_only_to_the_content_layer(encoder):
    loss = make_loss(encoder, torch.rand(1, 3, 16, 16))
    deepest = []
    hooks = [m.register_forward_hook(lambda m, i, o, k=k: deepest.append(k)) for k, m in enumerate(encoder.features)]
    loss.content_features(torch.rand(1, 3, 16, 16))
    for hook in hooks:
        hook.remove()
    assert max(deepest) == encoder.names.index("relu2_2")


def test_gradients_flow_to_the_stylised_image_only(encoder):
    style, content = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    stylised = torch.rand(1, 3, 16, 16, requires_grad=True)
    make_loss(encoder, style, tv_weight=1.0)(stylised, content)["total"].backward()
    assert stylised.grad is not None and stylised.grad.abs().sum() > 0
    assert all(p.grad is None for p in encoder.parameters())


def test_terms_are_float32_under_bf16_autocast(encoder):
    loss = make_loss(encoder, torch.rand(1, 3, 16, 16))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        terms = loss(torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16))
    assert all(value.dtype == torch.float32 for value in terms.values())
    assert all(torch.isfinite(value) for value in terms.values())


def test_bad_arguments(encoder):
    with pytest.raises(ValueError, match="content_weight must be a number >= 0"):
        make_loss(encoder, torch.rand(1, 3, 8, 8), content_weight=-1)
    with pytest.raises(ValueError, match="not built with layer"):
        make_loss(encoder, torch.rand(1, 3, 8, 8), style_layers=["relu4_3"])
    with pytest.raises(ValueError, match=r"style_image must be \(1, 3, H, W\)"):
        make_loss(encoder, torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="either content or content_features"):
        make_loss(encoder, torch.rand(1, 3, 8, 8))(torch.rand(1, 3, 8, 8))


def test_settings_left_out_take_the_one_set_of_defaults(assets_dir):
    # A loss group that states only the style gets every other setting from PerceptualLossSettings,
    # and build_perceptual_loss builds exactly those.
    kwargs = loss_kwargs_from_config({"loss": {"style_image": "styles/candy.jpg", "style_weight": 2.0}})
    defaults = PerceptualLossSettings()
    assert kwargs == {**defaults.as_dict(), "style_image": "styles/candy.jpg", "style_weight": 2.0}
    loss = build_perceptual_loss(**{**kwargs, "vgg": {"weights": "random"}, "style_size": 32})
    assert (loss.content_weight, loss.style_weight, loss.tv_weight) == (defaults.content_weight, 2.0, defaults.tv_weight)
    assert loss.content_layers == list(defaults.content_layers) and loss.style_weights == defaults.style_layers
    assert loss.style_gram("relu4_3").shape == (1, 512, 512)


def test_the_loss_group_is_taken_as_it_is():
    # The stored loss holds every setting; a style group that disagrees (loss.style_weight=... on
    # the command line) does not win.
    loss = {"style_image": "styles/wave.jpg", "style_size": 48, "content_weight": 2.0, "style_weight": 9.0,
            "tv_weight": 0.5, "vgg": {"weights": "random"}, "content_layers": ["relu2_2"], "style_layers": ["relu1_2"]}
    style = {"name": "wave", "image": "styles/other.jpg", "style_weight": 10.0}
    kwargs = loss_kwargs_from_config({"style": style, "loss": loss})
    assert kwargs == {**loss, "style_layers": {"relu1_2": 1.0}}
    assert loss_kwargs_from_config({"loss": loss}) == kwargs  # no style group needed


def test_bad_settings_name_the_value_and_what_is_allowed():
    with pytest.raises(ValueError, match=r"unknown loss setting\(s\) style_wieght; allowed: style_image, style_size"):
        loss_kwargs_from_config({"loss": {"style_wieght": 3.0}})
    with pytest.raises(ValueError, match="style_size must be a positive number of pixels or null, got 0"):
        PerceptualLossSettings(style_size=0)
    with pytest.raises(ValueError, match="tv_weight must be a number >= 0, got nan"):
        PerceptualLossSettings(tv_weight=float("nan"))
    with pytest.raises(ValueError, match="needs a style image"):
        build_perceptual_loss(vgg={"weights": "random"})


def test_a_checkpoint_records_its_loss_only_where_its_loss_group_names_the_style_image(tmp_path, tiny_model):
    from fast_style.checkpoint import read_checkpoint, save_inference_checkpoint

    stored = read_checkpoint(save_inference_checkpoint(
        tiny_model, tmp_path / "a.pth", style="a", config={"loss": {"style_image": "styles/candy.jpg"}}))
    assert stored.card.loss == PerceptualLossSettings(style_image="styles/candy.jpg")
    # The old dict views still answer for a release, and say what replaces them.
    with pytest.warns(DeprecatedNameWarning, match="card.loss"):
        assert stored.loss_args == stored.card.loss.as_dict()
    with pytest.warns(DeprecatedNameWarning, match="card.loss_for"):
        assert stored.style_loss_args("a") == stored.card.loss_for("a").as_dict()
    # Without the image (e.g. a file from before the loss group held the style's settings) the file
    # does not say which loss trained it: None, never a silent guess from today's defaults.
    old = {"style": {"image": "styles/candy.jpg", "size": 256, "content_weight": 3.0, "style_weight": 5.0, "tv_weight": 0.0},
           "loss": {"vgg": {"weights": "default"}, "content_layers": ["relu2_2"]}}
    assert read_checkpoint(save_inference_checkpoint(tiny_model, tmp_path / "b.pth", style="b", config=old)).card.loss is None


def test_every_shipped_network_stores_every_setting_of_its_loss():
    from fast_style.checkpoint import read_checkpoint
    from fast_style.zoo import available_styles, zoo_path

    for name in available_styles():
        stored = read_checkpoint(zoo_path(name))
        assert stored.config["loss"] == stored.card.loss.as_dict() == PerceptualLossSettings(**stored.config["loss"]).as_dict()
        # A multi-style network: the shared settings, and per style its own painting; a variant
        # (candy-small, distilled from candy) keeps its teacher's painting.
        for style in stored.model_args.get("styles") or [name]:
            painting = style.split("-", 1)[0]
            assert stored.card.loss_for(style).style_image.rsplit(".", 1)[0] == f"styles/{painting}"
