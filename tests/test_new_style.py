"""experiment=new_style: a painting's own network, started from the arbitrary network conditioned on it.

Seconds-long runs (``debug=default``: 32-px crops, a random VGG, 3 steps) from the shipped arbitrary network:
each preset changes only what it says it trains, the checkpoint is an ordinary one-style network that every
command takes, and no held-out painting enters a run that samples paintings.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from fast_style.checkpoint import read_checkpoint
from fast_style.errors import InvalidValueError
from fast_style.heldout import HELD_OUT_PAINTINGS, is_held_out
from fast_style.infer.stylize import load_model
from fast_style.models.surgery import fold_embedding
from fast_style.models.transformer import TransformerNet
from fast_style.train.new_style import conditioned_start
from fast_style.train.prepare import prepare
from fast_style.train.run import build, train


@pytest.fixture
def painting(tmp_path: Path) -> Path:
    """A small striped painting (the predictor reads it at 32 px in these runs)."""
    image = Image.new("RGB", (48, 40), (230, 200, 30))
    for x in range(0, 48, 8):
        image.paste((20, 60, 200), (x, 0, x + 4, 40))
    path = tmp_path / "stripes.png"
    image.save(path)
    return path


def run(train_config, tmp_path: Path, painting: Path, trained: str, *overrides: str) -> tuple[Path, TransformerNet]:
    """A 3-step new-style run on ``painting``: its slim checkpoint and the start it was folded from."""
    config = train_config("experiment=new_style", "style.name=mine", f"style.image={painting}",
                          f"module.trained={trained}", "module.painting_size=32", "optimizer.lr=0.05", *overrides)
    transformer, embedding = conditioned_start("arbitrary", str(painting), 32)
    return train(config, tmp_path / "run"), fold_embedding(transformer, embedding)


def split(network: torch.nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The network's (norm γ, β, every other weight), by name."""
    norms = {name for name, module in network.named_modules() if isinstance(module, torch.nn.InstanceNorm2d)}
    state = network.state_dict()
    inside = {key: value for key, value in state.items() if key.rsplit(".", 1)[0] in norms}
    return inside, {key: value for key, value in state.items() if key not in inside}


@pytest.mark.parametrize("trained", ["norms", "embedding"])
def test_a_run_changes_only_the_norms_its_preset_trains(train_config, tmp_path: Path, painting: Path, trained: str):
    path, start = run(train_config, tmp_path, painting, trained)
    trained_norms, trained_convs = split(load_model(path, "cpu"))
    start_norms, start_convs = split(start)
    # Every convolution weight and bias is the start's, bit for bit; the γ, β moved.
    assert trained_convs.keys() == start_convs.keys()
    assert all(torch.equal(trained_convs[key], start_convs[key]) for key in start_convs)
    assert any(not torch.equal(trained_norms[key], start_norms[key]) for key in start_norms)


def test_a_trained_embedding_stays_on_the_predictors_maps(train_config, tmp_path: Path, painting: Path):
    """With trained=embedding the checkpoint is the fold of the run's embedding: γ, β of some E numbers."""
    path, _ = run(train_config, tmp_path, painting, "embedding")
    embedding = torch.load(tmp_path / "run" / "lightning_checkpoints" / "last.ckpt", weights_only=True)[
        "state_dict"]["embedding"]
    transformer, _ = conditioned_start("arbitrary", str(painting), 32)
    assert_same_weights(load_model(path, "cpu"), fold_embedding(transformer, embedding))


def test_the_whole_network_trains_and_its_checkpoint_works_everywhere(train_config, tmp_path: Path,
                                                                      painting: Path, photo_dir: Path):
    from fast_style.infer.stylize_cli import main

    path, start = run(train_config, tmp_path, painting, "all", "module.norm_lr_scale=3")
    network = load_model(path, "cpu")
    _, trained_convs = split(network)
    _, start_convs = split(start)
    assert any(not torch.equal(trained_convs[key], start_convs[key]) for key in start_convs)
    # An ordinary one-style network of the start's layout, with its painting and weight on its card.
    stored = read_checkpoint(path)
    assert stored.model_args == start.model_args and stored.style == "mine"
    assert stored.card.styles[0].image == str(painting) and stored.card.lineage.started_from == "arbitrary"
    # Every periodic Lightning checkpoint is a network too (what quality_vs_steps reads).
    assert_same_weights(load_model(tmp_path / "run" / "lightning_checkpoints" / "last.ckpt", "cpu"), network)
    out = tmp_path / "out"
    assert main(["--ckpt", str(path), "--input", str(photo_dir), "--output", str(out), "--quiet"]) == 0
    assert len(list(out.iterdir())) == len(list(photo_dir.iterdir()))


def assert_same_weights(left: torch.nn.Module, right: torch.nn.Module) -> None:
    a, b = left.state_dict(), right.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[key], b[key].to(a[key].dtype)) for key in a)


@pytest.mark.parametrize("override, message", [
    ("module.trained=everything", "unknown trained 'everything'"),
    ("module.norm_lr_scale=0", "norm_lr_scale must be positive"),
    ("module.init_from=candy", "starts from an arbitrary-style network"),
])
def test_bad_new_style_settings_are_one_clear_error(train_config, painting: Path, override: str, message: str):
    config = train_config("experiment=new_style", "style.name=mine", f"style.image={painting}",
                          "module.painting_size=32", override)
    with pytest.raises(InvalidValueError, match=message):
        build(prepare(config).module)


def test_no_held_out_painting_enters_a_run_that_samples_the_mirrors_paintings(train_config, assets_dir: Path):
    """experiment=arbitrary on the whole mirror (the only run that trains on many paintings): the list it trains on
    holds none of HELD_OUT_PAINTINGS, though the mirror holds them all."""
    assert all((assets_dir / name).is_file() for name in HELD_OUT_PAINTINGS)
    module = build(prepare(train_config("experiment=arbitrary", "module.preview_paintings=0")).module)
    assert len(module.paintings) > 200
    assert not [path for path in module.paintings if is_held_out(path)]
    names = {"/".join(Path(path).parts[-2:]) for path in module.paintings}
    assert names.isdisjoint(HELD_OUT_PAINTINGS)

