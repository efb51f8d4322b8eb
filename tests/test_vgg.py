"""VGGEncoder: layer names, trimming, freezing, normalisation, and the mirrored weights."""

import os

import pytest
import torch

from fast_style.assets import AssetNotFoundError
from fast_style.io import load_image
from fast_style.loss.vgg import CAFFE, VGGEncoder, convention_from_meta, layer_names


@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
def test_the_encoder_has_torchvisions_layers_so_its_weights_load(arch):
    import torchvision

    with torch.device("meta"):  # shapes only: no memory, no initialisation
        reference = getattr(torchvision.models, arch)().features
    encoder = VGGEncoder([layer_names(arch)[-1]], arch=arch, weights="random")
    assert len(layer_names(arch)) == len(reference) == len(encoder.features)
    assert [type(module) for module in encoder.features] == [type(module) for module in reference]
    expected = {key: value.shape for key, value in reference.state_dict().items()}
    assert {key: value.shape for key, value in encoder.features.state_dict().items()} == expected
    assert not any(getattr(module, "inplace", False) for module in encoder.features)  # activations are returned


def test_layer_names_follow_torchvision_features():
    names = layer_names("vgg16")
    assert names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert names.index("relu2_2") == 8 and names.index("relu4_3") == 22
    assert "relu5_4" in layer_names("vgg19") and "relu5_4" not in names


def test_encoder_is_trimmed_after_deepest_layer_and_frozen():
    encoder = VGGEncoder(["relu1_2", "relu3_3"], weights="random")
    assert len(encoder.features) == layer_names().index("relu3_3") + 1
    assert all(not p.requires_grad for p in encoder.parameters())
    encoder.train()
    assert not encoder.training


def test_forward_returns_named_shapes_and_runs_only_as_deep_as_asked():
    encoder = VGGEncoder(["relu1_2", "relu2_2", "relu4_3"], weights="random")
    calls = []
    for index, module in enumerate(encoder.features):
        module.register_forward_hook(lambda m, i, o, index=index: calls.append(index))
    out = encoder(torch.rand(2, 3, 32, 48))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "relu1_2": (2, 64, 32, 48),
        "relu2_2": (2, 128, 16, 24),
        "relu4_3": (2, 512, 4, 6),
    }
    calls.clear()
    encoder(torch.rand(1, 3, 32, 32), ["relu2_2"])
    assert max(calls) == layer_names().index("relu2_2")


def test_vgg19_architecture():
    encoder = VGGEncoder(["relu5_4"], arch="vgg19", weights="random")
    assert encoder(torch.rand(1, 3, 32, 32))["relu5_4"].shape == (1, 512, 2, 2)


def test_caffe_normalisation_is_bgr_times_255_minus_mean(tmp_path):
    # What the constructor builds from a weights file that declares the caffe convention.
    weights = VGGEncoder(["relu1_1"], weights="random").features.state_dict()
    meta = {"channel_order": "BGR", "scale": 255.0, "mean_bgr": [103.939, 116.779, 123.68]}
    path = tmp_path / "caffe_vgg.pth"
    torch.save({"meta": meta, "state_dict": {f"features.{k}": v for k, v in weights.items()}}, path)
    encoder = VGGEncoder(["relu1_1"], weights=str(path))
    pixel = torch.tensor([0.1, 0.5, 0.9]).view(1, 3, 1, 1)
    expected = torch.tensor([0.9 * 255 - 103.939, 0.5 * 255 - 116.779, 0.1 * 255 - 123.68])
    normalised = encoder.normalize(pixel)
    assert torch.allclose(normalised.flatten(), expected, atol=1e-4)
    assert torch.equal(pixel.flatten(), torch.tensor([0.1, 0.5, 0.9]))  # input untouched
    # Random weights take the torchvision convention: a different normalisation.
    assert VGGEncoder(["relu1_1"], weights="random").normalize(pixel).flatten().tolist() != expected.tolist()


def test_mirror_meta_reads_as_caffe():
    meta = {"channel_order": "BGR", "scale": 255.0, "mean_bgr": [103.939, 116.779, 123.68]}
    convention = convention_from_meta(meta)
    assert convention.bgr and convention.scale == 255.0 and convention.mean == CAFFE.mean
    with pytest.raises(ValueError, match="input convention"):
        convention_from_meta({"arch": "vgg16"})


def test_mirrored_weights_load_and_give_documented_activation_scale(assets_dir):
    encoder = VGGEncoder(["relu1_2", "relu2_2", "relu3_3", "relu4_3"])
    assert encoder.convention.bgr and encoder.convention.scale == 255.0
    first_bias = encoder.features[0].bias[:4]
    assert torch.allclose(first_bias, torch.tensor([0.734298, 0.093404, 0.067757, 0.886297]), atol=1e-5)
    photo = load_image(assets_dir / "coco" / "val2017" / "000000000139.jpg")
    with torch.no_grad():
        means = {name: value.mean().item() for name, value in encoder(photo).items()}
    # Asset README: relu1_2 ≈ 110, relu2_2 ≈ 170, relu3_3 ≈ 155, relu4_3 ≈ 17 on a photo.
    assert 50 < means["relu1_2"] < 200
    assert 80 < means["relu2_2"] < 300
    assert 70 < means["relu3_3"] < 300
    assert 5 < means["relu4_3"] < 50


def test_missing_default_weights_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("FAST_STYLE_ASSETS", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AssetNotFoundError) as error:
        VGGEncoder(["relu1_2"])
    message = str(error.value)
    assert "weights/vgg16_imagenet_caffe.pth" in message and "FAST_STYLE_ASSETS" in message


def test_weights_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        VGGEncoder(["relu1_2"], weights=str(tmp_path / "nope.pth"))
    bad = tmp_path / "bad.pth"
    torch.save({"weights": 1}, bad)
    with pytest.raises(ValueError, match="'meta' and 'state_dict'"):
        VGGEncoder(["relu1_2"], weights=str(bad))
    partial = tmp_path / "partial.pth"
    torch.save({"meta": {"convention": "caffe"}, "state_dict": {"features.0.weight": torch.zeros(64, 3, 3, 3)}}, partial)
    with pytest.raises(ValueError, match="lack parameters"):
        VGGEncoder(["relu1_2"], weights=str(partial))


def test_unknown_layer_or_arch_lists_what_is_allowed():
    with pytest.raises(ValueError, match="unknown VGG layer.*relu9_9.*allowed: conv1_1"):
        VGGEncoder(["relu9_9"], weights="random")
    with pytest.raises(ValueError, match="unknown VGG architecture 'vgg11'"):
        VGGEncoder(["relu1_1"], arch="vgg11", weights="random")


def test_asking_for_a_layer_not_built_is_an_error():
    encoder = VGGEncoder(["relu1_2"], weights="random")
    with pytest.raises(ValueError, match="not requested at construction"):
        encoder(torch.rand(1, 3, 16, 16), ["relu3_3"])


def test_assets_env_var_is_honoured(assets_dir, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FAST_STYLE_ASSETS", os.fspath(assets_dir))
    assert VGGEncoder(["relu1_1"]).weights_source.endswith("vgg16_imagenet_caffe.pth")
