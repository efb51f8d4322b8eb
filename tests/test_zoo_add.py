"""``zoo.py add`` cannot clobber the zoo: shipped names need --replace, a shared network is never replaced
by one serving fewer styles, a network that does not load or run is refused, and nothing is written then."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fast_style.checkpoint import CheckpointError, save_inference_checkpoint
from fast_style.errors import InvalidValueError
from fast_style.models import TransformerNet
from fast_style.zoo import add_to_zoo, available_styles, resolve, served_styles
from fast_style.zoo.index import read_index
from tests.helpers import TINY_MODEL_ARGS, load_script


def _snapshot(zoo: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(zoo.iterdir())}


def _network(tmp_path: Path, style: str, styles: list[str] | None = None, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    model = TransformerNet(**TINY_MODEL_ARGS, styles=styles).eval()
    config = {"loss": {"style_image": "styles/candy.jpg"}}
    return save_inference_checkpoint(model, tmp_path / "in" / f"{style}-{seed}.pth", style=style, config=config)


@pytest.fixture
def zoo(tmp_path: Path) -> Path:
    """A one-style network 'aa' and a three-style network 'shared' (aa, bb, cc)."""
    folder = tmp_path / "zoo"
    add_to_zoo(_network(tmp_path, "aa"), folder)
    add_to_zoo(_network(tmp_path, "shared", ["aa", "bb", "cc"]), folder)
    return folder


def test_a_name_that_ships_is_refused_without_replace_and_the_zoo_is_unchanged(zoo: Path, tmp_path: Path, capsys):
    zoo_cli = load_script("zoo")
    before = _snapshot(zoo)
    for style in ("aa", "shared", "bb"):  # a network's name, and a style the shared network serves
        assert zoo_cli.main(["add", str(_network(tmp_path, style, seed=1)), "--zoo-dir", str(zoo)]) == 2
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1 and f"'{style}' ships already" in error and "--replace" in error, error
    assert _snapshot(zoo) == before and served_styles(zoo)["bb"].network == "shared"
    assert zoo_cli.main(["add", str(_network(tmp_path, "aa", seed=1)), "--zoo-dir", str(zoo), "--replace"]) == 0
    assert _snapshot(zoo)["aa.pth"] != before["aa.pth"] and available_styles(zoo) == ["aa", "shared"]


def test_a_shared_network_is_never_replaced_by_one_serving_fewer_styles(zoo: Path, tmp_path: Path):
    before = _snapshot(zoo)
    for fewer in (_network(tmp_path, "shared"), _network(tmp_path, "shared", ["aa", "bb"], seed=2)):
        with pytest.raises(InvalidValueError, match="'shared' serves 3 styles .* it would drop"):
            add_to_zoo(fewer, zoo, replace=True)
    assert _snapshot(zoo) == before
    more = add_to_zoo(_network(tmp_path, "shared", ["aa", "bb", "cc", "dd"], seed=3), zoo, replace=True)
    assert read_index(zoo).networks["shared"].styles == ("aa", "bb", "cc", "dd") and more == zoo / "shared.pth"
    assert resolve("dd", zoo_dir=zoo).network == "shared"


@pytest.mark.parametrize("change, message", [
    (lambda p: p["model_args"].update(width=8), "weights differ at"),  # loads only as another layout
    (lambda p: p["model_args"].update(num_residual_blocks=10**9), "num_residual_blocks must be an integer"),
    (lambda p: p["state_dict"].update({7: torch.ones(1)}), r"state_dict key 7 \(int\) is not a weight's name"),
    (lambda p: p["state_dict"]["head.1.bias"].fill_(1e30), "does not fit float16"),
])
def test_a_network_that_does_not_load_or_run_is_refused_before_anything_is_written(zoo: Path, tmp_path: Path,
                                                                                   change, message):
    payload = torch.load(_network(tmp_path, "new"), weights_only=True)
    change(payload)
    hostile = tmp_path / "hostile.pth"
    torch.save(payload, hostile)
    before = _snapshot(zoo)
    with pytest.raises((CheckpointError, InvalidValueError), match=message):
        add_to_zoo(hostile, zoo)
    assert _snapshot(zoo) == before


def test_the_registry_records_variant_styles_licence_and_serving_choice(zoo: Path, tmp_path: Path):
    add_to_zoo(_network(tmp_path, "aa-small"), zoo, note="distilled")
    add_to_zoo(_network(tmp_path, "shared", ["aa", "bb", "cc"], seed=4), zoo, "N* 30 against 20", replace=True,
               serve=["aa"])
    index = read_index(zoo)
    small = index.networks["aa-small"]
    assert (small.file, small.variant, small.styles, small.licence) == ("aa-small.pth", "small", ("aa-small",),
                                                                       {"aa-small": "not recorded"})
    assert index.serving["aa"].network == "shared" and index.serving["aa"].why == "N* 30 against 20"
    assert resolve("aa", zoo_dir=zoo).network == "shared" and resolve("aa@aa", zoo_dir=zoo).network == "aa"
    with pytest.raises(InvalidValueError, match="--serve zz: 'shared' holds aa, bb, cc"):
        add_to_zoo(_network(tmp_path, "shared", ["aa", "bb", "cc"], seed=5), zoo, replace=True, serve=["zz"])


def test_a_blend_with_a_variant_is_refused_naming_the_blend_that_works(zoo: Path, tmp_path: Path):
    add_to_zoo(_network(tmp_path, "aa-small"), zoo)
    with pytest.raises(InvalidValueError, match="'aa-small' is a one-style variant.*aa:0.5,bb:0.5 blends them in shared"):
        resolve("aa-small:0.5,bb:0.5", zoo_dir=zoo)
    assert resolve("aa:0.5,bb:0.5", zoo_dir=zoo).network == "shared"


def test_a_network_whose_trial_output_is_not_finite_is_refused(zoo: Path, tmp_path: Path, monkeypatch):
    import fast_style.zoo.add as add_module

    class Broken(torch.nn.Module):
        def forward(self, images):
            return images * float("nan")

    monkeypatch.setattr(add_module, "model_from_checkpoint", lambda checkpoint: Broken())
    before = _snapshot(zoo)
    with pytest.raises(InvalidValueError, match="on a 32×32 test image the network gives .* NaN/inf values"):
        add_to_zoo(_network(tmp_path, "new"), zoo)
    assert _snapshot(zoo) == before


def test_the_gallery_draws_a_blend_row_and_refuses_a_blend_with_a_variant(tmp_path: Path, photo_dir: Path, capsys):
    from PIL import Image

    zoo_cli = load_script("zoo")
    photo, output = str(next(photo_dir.iterdir())), tmp_path / "gallery.png"
    arguments = ["gallery", "--photos", photo, "--tile", "16", "--output", str(output), "--styles"]
    assert zoo_cli.main([*arguments, "candy:0.5,mosaic:0.5"]) == 0
    assert Image.open(output).size[1] > 2 * 16  # the photos' row and the blend's
    assert zoo_cli.main([*arguments, "candy-small:0.5,mosaic:0.5"]) == 2
    assert "'candy-small' is a one-style variant" in capsys.readouterr().err


def test_a_version_1_checkpoint_joins_the_zoo_as_version_2_with_its_card(tmp_path: Path):
    from fast_style.card import CARD_FORMAT
    from fast_style.checkpoint import read_card

    source = _network(tmp_path, "old")
    payload = torch.load(source, weights_only=True)
    card = read_card(source)
    legacy = {"format": "fast_style.inference/1", "model_args": payload["model_args"], "state_dict": payload["state_dict"],
              "style": "old", "config": {"loss": payload["loss"], "data": {"image_size": 64}}, "meta": {"global_step": 9}}
    torch.save(legacy, tmp_path / "old.pth")
    shipped = add_to_zoo(tmp_path / "old.pth", tmp_path / "zoo", note="from a /1 file")
    stored = torch.load(shipped, weights_only=True)
    assert stored["format"] == CARD_FORMAT and stored["loss"] == card.loss.as_dict()
    assert stored["training"]["steps"] == 9 and stored["training"]["crop"] == 64
    assert stored["zoo"] == {"dtype": "float16", "note": "from a /1 file"} and "meta" not in stored


def test_concurrent_adds_keep_every_network_in_the_registry(zoo: Path, tmp_path: Path, monkeypatch):
    import threading
    import time

    import fast_style.zoo.add as add_module

    def slow_read(folder):  # widens the read-modify-write window that the zoo's lock closes
        index = read_index(folder)
        time.sleep(0.2)
        return index

    monkeypatch.setattr(add_module, "read_index", slow_read)
    paths = [_network(tmp_path, f"n{index}") for index in range(4)]
    threads = [threading.Thread(target=add_to_zoo, args=(path, zoo)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert available_styles(zoo) == ["aa", "n0", "n1", "n2", "n3", "shared"]
