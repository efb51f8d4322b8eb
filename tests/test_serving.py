"""Which network serves a name or a blend (issue #34): the measurements behind the choice, and the choice."""

from __future__ import annotations

import json

import torch
from PIL import Image

from tests.helpers import load_script


def test_quality_table_judges_the_arbitrary_network_by_the_style_configs_loss(tmp_path, assets_dir, capsys):
    script = load_script("quality_table")
    photos = tmp_path / "photos"
    photos.mkdir()
    array = (torch.rand(20, 24, 3, generator=torch.Generator().manual_seed(0)) * 255).byte().numpy()
    Image.fromarray(array).save(photos / "p0.png")
    common = ["mondrian@arbitrary", "--images", str(photos), "--size", "16", "--iters", "2",
              "--curves", str(tmp_path / "curves"), "--output", str(tmp_path / "table")]
    # Its file records no loss for its stored styles: nothing to place it by, unless the config's is asked for.
    assert script.main(common) == 2
    assert "does not say which loss" in capsys.readouterr().err
    assert script.main([*common, "--loss-from-config"]) == 0
    rows = json.loads((tmp_path / "table" / "table.json").read_text())["rows"]
    assert rows["mondrian@arbitrary"]["style"] == "mondrian"
    assert len(list((tmp_path / "curves" / "mondrian").glob("*.json"))) == 1


def _photo(assets_dir, size: int = 96) -> torch.Tensor:
    from fast_style.heldout import HELD_OUT_PHOTOS
    from fast_style.io import load_image

    return load_image(assets_dir / HELD_OUT_PHOTOS[0], size)


def test_a_blend_mixes_embeddings_in_the_arbitrary_network_and_is_no_pixel_mix(assets_dir):
    from fast_style import zoo
    from fast_style.checkpoint import model_from_checkpoint, read_checkpoint
    from fast_style.infer.stylize import load_model, stylize

    resolved = zoo.resolve("candy:0.5,udnie:0.5", allow_path=False)
    assert resolved.network == "arbitrary" and resolved.styles == (("candy", 0.5), ("udnie", 0.5))
    network = model_from_checkpoint(read_checkpoint(resolved.path)).eval()
    mixed = network.style_embedding({"candy": 0.5, "udnie": 0.5})
    assert torch.allclose(mixed, (network.style_embedding("candy") + network.style_embedding("udnie")) / 2, atol=1e-6)
    photo = _photo(assets_dir)
    blend = stylize(load_model("candy:0.5,udnie:0.5"), photo)
    assert torch.equal(blend, stylize(network.fold(mixed), photo))
    parts = [stylize(load_model(f"{style}@arbitrary"), photo) for style in ("candy", "udnie")]
    pixel_mix = (parts[0] + parts[1]) / 2
    # A mixed embedding paints its own strokes; a pixel mix would be a cross-fade of the two pictures
    # (measured: 0.027 from the cross-fade, the two parts 0.157 apart).
    assert (blend - pixel_mix).abs().mean() > 0.1 * (parts[0] - parts[1]).abs().mean()
    assert min((blend - part).abs().mean() for part in parts) > 0.03


def test_a_blend_of_a_variant_is_one_line_saying_why_and_what_blends_instead(tmp_path, capsys):
    from PIL import Image as PILImage

    from fast_style.infer.stylize_cli import main

    photo = tmp_path / "p.png"
    PILImage.new("RGB", (24, 20), (120, 90, 60)).save(photo)
    assert main(["--style", "candy-small:0.5,mosaic:0.5", "--input", str(photo), "--output", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'candy-small' is a one-style variant" in err
    assert "candy:0.5,mosaic:0.5 blends them in arbitrary" in err


def test_zoo_serve_records_which_network_serves_a_name_and_why(tmp_path, tiny_model, capsys):
    from fast_style.checkpoint import save_inference_checkpoint
    from fast_style.zoo import add_to_zoo, resolve, served_styles
    from fast_style.zoo.index import ServingChoice, read_index

    folder = tmp_path / "zoo"
    for name in ("tiny", "tiny-small"):
        add_to_zoo(save_inference_checkpoint(
            tiny_model, tmp_path / f"{name}.pth", style=name,
            config={"model": {}, "loss": {"style_image": "styles/candy.jpg", "style_weight": 1.0}}), folder)
    script = load_script("zoo")
    common = ["--zoo-dir", str(folder), "--why", "N* 40 against 32"]
    assert resolve("tiny", zoo_dir=folder).network == "tiny"
    assert script.main(["serve", "tiny", "tiny-small", *common]) == 0
    assert read_index(folder).serving["tiny"] == ServingChoice("tiny-small", "N* 40 against 32")
    served = resolve("tiny", zoo_dir=folder)
    assert (served.network, served.styles) == ("tiny-small", (("tiny-small", 1.0),))
    assert {name: spec.network for name, spec in served_styles(folder).items()} == {
        "tiny@tiny": "tiny", "tiny-small": "tiny-small", "tiny": "tiny-small"}
    # Back to its own file: the choice is kept for its why, and the name is plain again.
    assert script.main(["serve", "tiny", "tiny", *common]) == 0
    assert set(served_styles(folder)) == {"tiny", "tiny-small"} and resolve("tiny", zoo_dir=folder).network == "tiny"
    capsys.readouterr()
    for bad, message in [(["serve", "tiny", "nope", *common], "network 'nope' is not shipped"),
                         (["serve", "candy", "tiny", *common], "network 'tiny' does not hold style 'candy'"),
                         (["serve", "tiny", "tiny", "--zoo-dir", str(folder), "--why", " "], "say why")]:
        assert script.main(bad) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
