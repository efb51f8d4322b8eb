"""The zoo with a multi-style network: STYLE@NETWORK, plain names it serves, blends, and load()."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from fast_style.checkpoint import save_inference_checkpoint
from fast_style.errors import InvalidValueError
from fast_style.models import TransformerNet
from fast_style.models.conditional_norm import ConditionalInstanceNorm2d
from fast_style.models.surgery import with_styles
from fast_style.zoo import UnknownStyleError, add_to_zoo, load, multi_style_networks, network_styles, resolve
from tests.helpers import TINY_MODEL_ARGS

SHARED_STYLES = ["aa", "bb", "cc"]


def _network(styles: list[str] | None, seed: int) -> TransformerNet:
    torch.manual_seed(seed)
    model = TransformerNet(**TINY_MODEL_ARGS, styles=styles).eval()
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, (nn.InstanceNorm2d, ConditionalInstanceNorm2d)):
            module.weight.data = 1 + 0.5 * torch.randn(module.weight.shape, generator=generator)
            module.bias.data = 0.5 * torch.randn(module.bias.shape, generator=generator)
    return model


@pytest.fixture
def zoo(tmp_path: Path) -> Path:
    """A zoo of a one-style network 'aa', a three-style network 'shared' (aa, bb, cc) and 'mine' (shared + mine)."""
    folder = tmp_path / "zoo"
    shared = _network(SHARED_STYLES, 1)
    mine = with_styles(shared, [*SHARED_STYLES, "mine"])
    for model, style in [(_network(None, 0), "aa"), (shared, "shared"), (mine, "mine")]:
        add_to_zoo(save_inference_checkpoint(model, tmp_path / f"{style}.pth", style=style), folder)
    return folder


def test_network_styles_and_multi_style_networks(zoo: Path):
    assert network_styles(zoo / "aa.pth") == ("aa",)
    assert network_styles(zoo / "shared.pth") == tuple(SHARED_STYLES)
    assert multi_style_networks(zoo) == ["mine", "shared"]


def test_plain_names_take_their_own_file_and_otherwise_the_network_that_holds_them(zoo: Path):
    assert resolve("aa", zoo_dir=zoo).network == "aa"  # its own, dedicated file
    assert resolve("bb", zoo_dir=zoo).network == "mine"  # first (sorted) multi-style network holding bb
    assert resolve("aa@shared", zoo_dir=zoo).network == "shared"
    blend = resolve("aa:0.5,bb:0.5", zoo_dir=zoo)
    assert blend.styles == (("aa", 0.5), ("bb", 0.5)) and blend.network in ("mine", "shared")
    # A new style's own file holds the shared styles too: a blend with it uses that file.
    assert resolve("mine:0.7,cc:0.3", zoo_dir=zoo).network == "mine"


def test_a_serving_choice_makes_the_plain_name_the_shared_style_and_keeps_the_dedicated_reachable(zoo: Path,
                                                                                                   tmp_path: Path):
    from fast_style.zoo import served_styles
    from fast_style.zoo.index import ServingChoice, read_index, write_index

    add_to_zoo(tmp_path / "shared.pth", zoo, "better N*", replace=True, serve=["aa"])
    index = read_index(zoo)
    assert index.serving["aa"] == ServingChoice("shared", "better N*")
    write_index(zoo, dataclasses.replace(index, serving={**index.serving, "bb": ServingChoice("gone")}))
    assert resolve("aa", zoo_dir=zoo).network == "shared" and resolve("aa", zoo_dir=zoo).styles == (("aa", 1.0),)
    assert resolve("aa@aa", zoo_dir=zoo).network == "aa"
    assert resolve("bb", zoo_dir=zoo).network == "mine"  # a choice of a network that is not shipped is ignored
    served = served_styles(zoo)
    assert (served["aa"].network, served["aa@aa"].network) == ("shared", "aa") and "aa@shared" not in served
    photo = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        served_aa, shared_aa, dedicated_aa = (load(resolve(spec, zoo_dir=zoo))(photo) for spec in ("aa", "aa@shared", "aa@aa"))
    assert torch.equal(served_aa, shared_aa) and not torch.allclose(served_aa, dedicated_aa)
    from fast_style.infer.app.library import StyleLibrary

    library = StyleLibrary(include_zoo=False)
    library.paths.update(served)
    # The page offers the shared network's name of a style as a blend partner, not the dedicated file's.
    assert "aa" in library.blendable("bb@shared") and "aa@aa" not in library.blendable("bb@shared")
    (zoo / "index.json").write_text('["aa"]')
    with pytest.raises(InvalidValueError, match="index.json: not a zoo index"):
        resolve("aa", zoo_dir=zoo)


def test_load_folds_the_style_or_blend_and_weight_one_is_that_style(zoo: Path):
    photo = torch.rand(1, 3, 20, 22, generator=torch.Generator().manual_seed(0))
    shared = load(zoo / "shared.pth")  # a path: the network's first style
    assert not shared.conditional_norms() and shared.style_name == "aa"
    raw = TransformerNet(**TINY_MODEL_ARGS, styles=SHARED_STYLES)
    raw.load_state_dict(torch.load(zoo / "shared.pth", weights_only=True)["state_dict"])
    raw = raw.float().eval()
    bb = load(resolve("bb@shared", zoo_dir=zoo))
    assert bb.style_name == "bb"
    torch.testing.assert_close(bb(photo), raw(photo, style="bb"))
    blend = load(resolve("aa@shared:0.25,cc@shared:0.75", zoo_dir=zoo))
    assert blend.style_name == "aa@shared:0.25,cc@shared:0.75"
    torch.testing.assert_close(blend(photo), raw(photo, style={"aa": 0.25, "cc": 0.75}))
    pixel_mix = 0.25 * raw(photo, style="aa") + 0.75 * raw(photo, style="cc")
    assert (blend(photo) - pixel_mix).abs().max() > 1e-3
    alone = load(resolve("aa@shared:1,cc@shared:0", zoo_dir=zoo))
    torch.testing.assert_close(alone(photo), raw(photo, style="aa"))


@pytest.mark.parametrize("spec, error, message", [
    ("zz@shared", UnknownStyleError, "network 'shared' holds aa, bb, cc"),
    ("aa:0.5,zz:0.5", UnknownStyleError, "unknown style 'zz'"),
    ("aa@shared:0.5,bb@mine:0.5", InvalidValueError, "cannot blend"),
    ("aa:-1,bb:2", InvalidValueError, "non-negative"),
    ("aa:0,bb:0", InvalidValueError, "sum to zero"),
    ("aa:0.5,,bb:0.5", InvalidValueError, "an empty term"),
])
def test_bad_blends_are_one_clear_error(zoo: Path, spec: str, error: type, message: str):
    with pytest.raises(error, match=message):
        resolve(spec, zoo_dir=zoo)


def test_the_web_page_blends_two_styles_of_one_network_and_refuses_others(zoo: Path, tmp_path: Path):
    from fast_style.infer.app.handlers import AppInputError, DownloadFolder, stylize_photo
    from fast_style.infer.app.library import StyleLibrary
    from fast_style.zoo import served_styles

    library = StyleLibrary(include_zoo=False)
    library.paths.update(served_styles(zoo))
    assert set(library.names()) >= {"aa", "bb@shared", "mine"}
    # One partner per style of the shared network; a dedicated network's style blends through the shared one.
    def partner_styles(name: str) -> list[str]:
        return sorted(library.paths[other].style for other in library.blendable(name))

    assert partner_styles("bb@shared") == ["aa", "cc"]
    assert {"bb", "cc"} <= set(partner_styles("aa"))
    photo = tmp_path / "photo.png"
    Image.new("RGB", (30, 24), (200, 120, 40)).save(photo)
    downloads = DownloadFolder(root=tmp_path / "downloads")

    def picture(style: str, blend_with: str | None = None, mix: float = 0.0) -> torch.Tensor:
        result = stylize_photo(library, photo, style, downloads=downloads, blend_with=blend_with, mix=mix)
        return torch.from_numpy(__import__("numpy").asarray(result.after, dtype="float32"))

    half = picture("bb@shared", "cc@shared", 0.5)
    assert not torch.equal(half, picture("bb@shared")) and not torch.equal(half, picture("cc@shared"))
    assert torch.equal(picture("bb@shared", "cc@shared", 1.0), picture("cc@shared"))
    assert torch.equal(picture("bb@shared", "cc@shared", 0.0), picture("bb@shared"))
    library.paths["alone"] = resolve(tmp_path / "aa.pth")  # a file of the models folder: no shared network
    with pytest.raises(AppInputError, match="do not blend"):
        picture("bb@shared", "alone", 0.5)
    with pytest.raises(AppInputError, match="between 0 and 1"):
        picture("bb@shared", "cc@shared", 1.5)
