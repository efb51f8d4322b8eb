"""Bounded checkpoint reading and the network card (issues #31, #32).

A hostile file (a layout of 10⁹ blocks, a zip bomb, tensors larger than the layout, an integer key,
an image or a text file given as a checkpoint) is refused from its declarations alone, before any
weight is read, and is one line with exit 2 in every command. A ``fast_style.network/2`` file carries
its card; a ``/1`` file reads as before, its card made in memory.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch
from PIL import Image

import fast_style.checkpoint as checkpoint_module
from fast_style.card import CARD_FORMAT, Leg, Lineage, NetworkCard, StyleEntry, TrainingSummary
from fast_style.checkpoint import CheckpointError, read_card, read_checkpoint, save_inference_checkpoint
from fast_style.loss.perceptual import PerceptualLossSettings


def _changed(tiny_checkpoint: Path, folder: Path, name: str, change) -> Path:
    payload = torch.load(tiny_checkpoint, weights_only=True)
    change(payload)
    path = folder / name
    torch.save(payload, path)
    return path


def _deflated(path: Path, target: Path, only_weights: bool = False) -> Path:
    """``path`` rewritten with compressed entries (a zip bomb's trick: a small file declaring large entries)."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as rewritten:
        for entry in source.infolist():
            squeeze = "/data/" in entry.filename or not only_weights
            rewritten.writestr(entry.filename, source.read(entry.filename),
                               zipfile.ZIP_DEFLATED if squeeze else zipfile.ZIP_STORED)
    return target


@pytest.fixture
def no_weight_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a checkpoint's weights are read (the refusal must come from its declarations)."""
    def refuse(path):
        raise AssertionError(f"the weights of {path} were read")

    monkeypatch.setattr(checkpoint_module, "load_weights", refuse)


def _hostile_files(tiny_checkpoint: Path, folder: Path) -> dict[str, tuple[Path, str]]:
    """Each hostile file and the words its refusal must say."""
    bomb = _changed(tiny_checkpoint, folder, "bomb_source.pth",
                    lambda p: p["state_dict"].update(bomb=torch.zeros(2**22)))
    photo = folder / "photo.pth"
    Image.new("RGB", (8, 8), "red").save(photo, format="JPEG")
    text = folder / "notes.pth"
    text.write_text("model_args: width 32\n")
    return {
        "deep": (_changed(tiny_checkpoint, folder, "deep.pth", lambda p: p["model_args"].update(num_residual_blocks=10**9)),
                 "num_residual_blocks must be an integer from 0 to 64, got 1000000000"),
        "wide": (_changed(tiny_checkpoint, folder, "wide.pth",
                          lambda p: p["model_args"].update(width=256, num_residual_blocks=64)),
                 "parameters; at most 64,000,000"),
        "styles": (_changed(tiny_checkpoint, folder, "styles.pth",
                            lambda p: p["model_args"].update(styles=[f"s{i}" for i in range(5000)])),
                   "styles must be a list of at most 1024 names"),
        "bomb": (_deflated(bomb, folder / "bomb.pth"), "is compressed"),
        "weights bomb": (_deflated(bomb, folder / "weights_bomb.pth", only_weights=True),
                         "/data/0' is compressed"),
        "oversized": (bomb, "declares 16.0 MB of tensors; its layout"),
        "integer key": (_changed(tiny_checkpoint, folder, "int.pth", lambda p: p["state_dict"].update({3: torch.ones(1)})),
                        "state_dict key 3 (int) is not a weight's name"),
        "jpeg": (photo, "it is a JPEG image"),
        "text": (text, "it is a text file"),
    }


def test_hostile_files_are_refused_from_their_declarations_before_any_weight_is_read(tiny_checkpoint: Path,
                                                                                       tmp_path: Path, no_weight_read):
    for what, (path, message) in _hostile_files(tiny_checkpoint, tmp_path).items():
        with pytest.raises(CheckpointError) as refused:
            read_checkpoint(path)
        assert str(path) in str(refused.value) and message in str(refused.value), what
        assert "\n" not in str(refused.value), what


def test_a_lightning_checkpoint_is_bounded_too(tmp_path: Path, no_weight_read):
    deep = tmp_path / "deep.ckpt"
    torch.save({"state_dict": {"model.w": torch.ones(1)}, "hyper_parameters": {"model": {"width": 10**6}}}, deep)
    with pytest.raises(CheckpointError, match="width must be an integer from 1 to 256, got 1000000"):
        read_checkpoint(deep)
    heavy = tmp_path / "heavy.ckpt"
    # Eight float32 copies of the weights (float64, Adam's moments) are allowed; this is far more than that.
    torch.save({"state_dict": {"model.w": torch.zeros(2**22)}, "hyper_parameters": {"model": {"width": 4}}}, heavy)
    with pytest.raises(CheckpointError, match="holds at most .* MB \\(lightning file\\)"):
        read_checkpoint(heavy)


def _run(command: str, path: Path, tmp_path: Path, photo_dir: Path) -> int:
    if command == "stylize":
        from fast_style.infer.stylize_cli import main
        return main(["--ckpt", str(path), "--input", str(next(photo_dir.iterdir())), "--output", str(tmp_path / "o.png")])
    if command == "export":
        from fast_style.infer.export_cli import main
        return main(["--ckpt", str(path), "--format", "torchscript", "--output", str(tmp_path / "o.pt")])
    if command == "compare":
        from fast_style.baseline.compare_cli import main
        return main(["--ckpt", str(path), "--images", str(photo_dir), "--output", str(tmp_path / "cmp")])
    from tests.helpers import load_script
    return load_script("zoo").main(["add", str(path), "--zoo-dir", str(tmp_path / "zoo")])


@pytest.mark.parametrize("command", ["stylize", "export", "compare", "zoo add"])
def test_every_command_refuses_a_hostile_file_in_one_line_with_exit_2(command, tiny_checkpoint: Path, tmp_path: Path,
                                                                      photo_dir: Path, capsys, no_weight_read):
    files = _hostile_files(tiny_checkpoint, tmp_path)
    for what in ("deep", "bomb", "integer key", "jpeg"):
        path, message = files[what]
        assert _run(command, path, tmp_path, photo_dir) == 2, (command, what)
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1 and message in error, (command, what, error)
    assert not (tmp_path / "zoo").exists() or not any((tmp_path / "zoo").glob("*.pth"))


def test_a_layout_within_bounds_whose_weights_do_not_fit_is_refused_before_the_network_is_allocated(
        tiny_checkpoint: Path, tmp_path: Path):
    from fast_style.checkpoint import model_from_checkpoint

    path = _changed(tiny_checkpoint, tmp_path, "w64.pth", lambda p: p["model_args"].update(width=64))
    with pytest.raises(CheckpointError, match="does not hold a network matching its model_args .* weights differ at"):
        model_from_checkpoint(read_checkpoint(path))


def test_the_card_is_written_explicitly_and_read_back(tiny_model, tmp_path: Path):
    loss = PerceptualLossSettings(style_image="styles/candy.jpg", style_weight=7.0)
    card = NetworkCard(
        model_args={"ignored": True}, style="ignored", styles=(StyleEntry("tiny", "styles/candy.jpg", 7.0),), loss=loss,
        lineage=Lineage("checkpoints/start.pth", "candy", (Leg(("tiny",), 5, init_from="checkpoints/start.pth"),)),
        training=TrainingSummary(steps=5, crop=64, batch=2, precision="32-true", machine="test", final_losses={"a": 1.0}))
    path = save_inference_checkpoint(tiny_model, tmp_path / "tiny.pth", style="tiny", config={"loss": {"x": 1}}, card=card)
    payload = torch.load(path, weights_only=True)  # plain types: no allow-list needed
    assert payload["format"] == CARD_FORMAT and payload["model_args"] == tiny_model.model_args
    assert payload["style"] == "tiny" and set(payload) >= {"state_dict", "styles", "loss", "lineage", "training"}
    read = read_card(path)
    assert read.model_args == tiny_model.model_args and read.style == "tiny" and read.styles == card.styles
    assert read.loss == loss and read.lineage == card.lineage and read.training.crop == 64
    assert read.training.fast_style_version is not None
    stored = read_checkpoint(path)
    # The config is kept for the record; the card, not the config, says which loss trained it.
    assert stored.config == {"loss": {"x": 1}} and stored.card.loss == loss
    assert stored.meta["history"] == [Leg(("tiny",), 5, init_from="checkpoints/start.pth").as_dict()]


def test_a_version_1_file_reads_as_before_through_its_card_made_in_memory(tiny_model, tmp_path: Path):
    state = {key: value.half() for key, value in tiny_model.state_dict().items()}
    entries = [{"name": "aa", "image": "styles/candy.jpg", "style_weight": 2.0}]
    config = {"loss": {"style_image": "styles/mosaic.jpg", "style_weight": 5.0}, "data": {"image_size": 96, "batch_size": 3},
              "module": {"teacher": "candy", "init_from": "x.pth", "styles": entries}}
    meta = {"global_step": 7, "precision": "bf16-mixed", "history": [{"network": "aa", "styles": ["aa"], "steps": 4}],
            "zoo": {"dtype": "float16", "note": "why"}}
    path = tmp_path / "old.pth"
    torch.save({"format": "fast_style.inference/1", "model_args": tiny_model.model_args, "state_dict": state,
                "style": "old", "config": config, "meta": meta}, path)
    card = read_card(path)
    assert card.loss == PerceptualLossSettings(style_image="styles/mosaic.jpg", style_weight=5.0)
    assert card.styles == (StyleEntry("old", "styles/mosaic.jpg", 5.0),)  # one style: the loss's own painting
    assert card.lineage == Lineage("x.pth", "candy", (Leg(("aa",), 4, network="aa"),))
    assert (card.training.steps, card.training.crop, card.training.batch) == (7, 96, 3)
    assert card.zoo is not None and card.zoo.note == "why"
    assert read_checkpoint(path).meta["global_step"] == 7


def test_every_shipped_file_reads_through_the_card_with_its_loss(tmp_path: Path):
    from fast_style.zoo import available_styles, describe, served_styles, zoo_path

    for name in available_styles():  # the style networks trained here (not the imported arbitrary one)
        card = read_card(zoo_path(name))
        for style in card.style_names or (card.style,):
            loss = card.loss_for(style)
            assert loss is not None and loss.style_image, (name, style)
    for name, resolved in served_styles().items():
        assert describe(name)["crop"] == read_card(resolved.path).training.crop
