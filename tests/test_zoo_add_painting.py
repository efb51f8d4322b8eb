"""``zoo.py add --style-image painting.jpg --name mine``: a painting becomes a named style of the arbitrary-style
network without training; it paints what ``--style-image`` paints, blends as an embedding, cannot clobber a name,
and bad input writes nothing. Every test works on a copy of the zoo (the package's is never written)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from fast_style.checkpoint import model_from_checkpoint, read_checkpoint, save_inference_checkpoint
from fast_style.infer.stylize import load_model, stylize
from fast_style.models import TransformerNet
from fast_style.zoo import ZOO_DIR, add_to_zoo, describe, resolve, served_styles
from fast_style.zoo.index import ZooIndex, read_index, write_index
from tests.helpers import TINY_MODEL_ARGS, load_script

PHOTO = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(4))


def _snapshot(zoo: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(zoo.iterdir())}


def _painting(path: Path, seed: int = 0, size: tuple[int, int] = (72, 56)) -> Path:
    """Coloured diagonal stripes with noise: a style the predictor sees as its own."""
    generator = torch.Generator().manual_seed(seed)
    height, width = size[1], size[0]
    ramp = (torch.arange(height).view(-1, 1) + torch.arange(width).view(1, -1)) % 12 / 11
    colours = torch.rand(3, 1, 1, generator=generator)
    pixels = (colours * ramp + 0.3 * torch.rand(3, height, width, generator=generator)).clamp(0, 1)
    Image.fromarray((pixels.permute(1, 2, 0) * 255).byte().numpy()).save(path)
    return path


@pytest.fixture
def zoo(tmp_path: Path) -> Path:
    """The shipped arbitrary-style network (17 stored styles) and a one-style network 'aa'."""
    folder = tmp_path / "zoo"
    torch.manual_seed(0)
    network = save_inference_checkpoint(TransformerNet(**TINY_MODEL_ARGS).eval(), tmp_path / "aa.pth", style="aa",
                                        config={"loss": {"style_image": "styles/candy.jpg"}})
    add_to_zoo(network, folder)
    shutil.copy(ZOO_DIR / "arbitrary.pth", folder)
    index = read_index(folder)
    write_index(folder, ZooIndex({**index.networks, "arbitrary": read_index(ZOO_DIR).networks["arbitrary"]}))
    return folder


def _add(zoo: Path, painting: Path, name: str, *extra: str) -> int:
    return load_script("zoo").main(["add", "--style-image", str(painting), "--name", name, "--zoo-dir", str(zoo),
                                    *extra])


def _styled(spec: str, zoo: Path) -> torch.Tensor:
    return stylize(load_model(resolve(spec, allow_path=False, zoo_dir=zoo)), PHOTO)


def test_a_painting_becomes_a_named_style_that_paints_what_style_image_paints(zoo: Path, tmp_path: Path):
    painting = _painting(tmp_path / "painting.jpg")
    before = torch.load(zoo / "arbitrary.pth", weights_only=True)
    assert _add(zoo, painting, "mine") == 0
    after = torch.load(zoo / "arbitrary.pth", weights_only=True)
    # The network's float16 weights unchanged bit for bit; the 17 stored styles too, a row added.
    for key, value in before["state_dict"].items():
        if key != "style_embeddings":
            assert after["state_dict"][key].dtype == torch.float16 and torch.equal(after["state_dict"][key], value), key
    table = after["state_dict"]["style_embeddings"]
    assert tuple(table.shape) == (18, 100) and torch.equal(table[:17], before["state_dict"]["style_embeddings"].float())
    assert after["model_args"]["styles"] == [*before["model_args"]["styles"], "mine"]
    assert after["config"]["paintings"] == {"mine": {"file": "painting.jpg", "size": 256}}
    # Registered: served by the arbitrary network, its licence, the painting's file.
    index = read_index(zoo)
    assert index.networks["arbitrary"].styles[-1] == "mine" and index.networks["arbitrary"].licence["mine"] == \
        "your own painting"
    assert index.serving["mine"].network == "arbitrary" and "painting.jpg read at 256 px" in index.serving["mine"].why
    assert served_styles(zoo)["mine"].network == "arbitrary"
    assert describe("mine", zoo)["painting_status"] == "your own painting"
    # The name paints exactly what --style-image painting.jpg paints (the shipped network, read at 256 px).
    expected = stylize(load_model(style_image=painting), PHOTO)
    assert torch.equal(_styled("mine", zoo), expected) and torch.equal(_styled("mine@arbitrary", zoo), expected)
    assert (_styled("candy@arbitrary", zoo) - expected).abs().mean() > 0.01


def test_the_read_size_is_the_one_given_and_the_note_is_the_licence(zoo: Path, tmp_path: Path):
    painting = _painting(tmp_path / "fine.png", seed=1, size=(200, 160))
    assert _add(zoo, painting, "fine", "--style-image-size", "64", "--note", "CC0, my own") == 0
    expected = stylize(load_model(style_image=painting, style_image_size=64), PHOTO)
    assert torch.equal(_styled("fine", zoo), expected)
    assert (stylize(load_model(style_image=painting), PHOTO) - expected).abs().max() > 1e-3
    assert read_index(zoo).networks["arbitrary"].licence["fine"] == "CC0, my own"


def test_a_blend_with_the_painting_mixes_embeddings_not_pixels(zoo: Path, tmp_path: Path):
    painting = _painting(tmp_path / "painting.jpg")
    assert _add(zoo, painting, "mine") == 0
    assert resolve("mine:0.5,candy:0.5", allow_path=False, zoo_dir=zoo).network == "arbitrary"
    network = model_from_checkpoint(read_checkpoint(zoo / "arbitrary.pth")).eval()
    mean = 0.5 * network.style_embeddings[-1] + 0.5 * network.style_embeddings[network.style_names.index("candy")]
    with torch.no_grad():
        expected = network(PHOTO, mean)
    blend = _styled("mine:0.5,candy:0.5", zoo)
    assert (blend - expected).abs().max() < 1e-5
    pixel_mix = 0.5 * _styled("mine", zoo) + 0.5 * _styled("candy@arbitrary", zoo)
    assert (blend - pixel_mix).abs().mean() > 1e-3


def test_a_name_that_exists_is_refused_and_replace_changes_only_its_row(zoo: Path, tmp_path: Path, capsys):
    first, second = _painting(tmp_path / "first.png", seed=1), _painting(tmp_path / "second.png", seed=2)
    assert _add(zoo, first, "mine") == 0
    capsys.readouterr()
    before = _snapshot(zoo)
    for name in ("mine", "candy", "aa"):  # an added style, a stored one, a network's name
        assert _add(zoo, second, name) == 2
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1 and f"'{name}'" in error and "--replace" in error, error
    assert _add(zoo, second, "aa", "--replace") == 2 and "is a network of the zoo" in capsys.readouterr().err
    assert _snapshot(zoo) == before
    old = model_from_checkpoint(read_checkpoint(zoo / "arbitrary.pth"))
    assert _add(zoo, second, "candy", "--replace") == 0
    new = model_from_checkpoint(read_checkpoint(zoo / "arbitrary.pth"))
    row = old.style_names.index("candy")
    assert new.style_names == old.style_names
    changed = [name for name, a, b in zip(new.style_names, old.style_embeddings, new.style_embeddings)
               if not torch.equal(a, b)]
    assert changed == ["candy"]
    assert torch.equal(_styled("candy@arbitrary", zoo), stylize(load_model(style_image=second), PHOTO))
    assert not torch.equal(new.style_embeddings[row], old.style_embeddings[row])


def _garbage(path: Path) -> Path:
    path.write_text("not an image")
    return path


@pytest.mark.parametrize("case, message", [
    (lambda tmp: ([str(_garbage(tmp / "notes.jpg")), "mine"]), "cannot read image"),
    (lambda tmp: ([str(_painting(tmp / "tiny.png", size=(40, 20))), "mine"]), "at least 32 pixels"),
    (lambda tmp: ([str(tmp / "missing.jpg"), "mine"]), "does not exist"),
    (lambda tmp: ([str(_painting(tmp / "p.png")), "my-style"]), "letters, digits and _"),
    (lambda tmp: ([str(_painting(tmp / "p.png")), "mine", "--style-image-size", "8"]), "at least 32"),
])
def test_bad_input_is_one_line_exit_2_and_leaves_the_zoo_byte_identical(zoo: Path, tmp_path: Path, capsys, case,
                                                                         message):
    painting, name, *extra = case(tmp_path)
    before = _snapshot(zoo)
    assert _add(zoo, Path(painting), name, *extra) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and message in error, error
    assert _snapshot(zoo) == before


def test_add_takes_a_checkpoint_or_a_painting_with_its_name(zoo: Path, tmp_path: Path, capsys):
    zoo_cli = load_script("zoo")
    before = _snapshot(zoo)
    for argv in (["add"], ["add", "--name", "mine"], ["add", "--style-image", str(_painting(tmp_path / "p.png"))]):
        assert zoo_cli.main([*argv, "--zoo-dir", str(zoo)]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert _snapshot(zoo) == before
