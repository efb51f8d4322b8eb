"""``experiment=arbitrary``: the arbitrary-style network (Ghiasi et al. 2017) trained in the framework, a seconds-long run.

Each step a batch of photos and one training painting; a painting's Gram targets are computed once; the
held-out paintings are never trained on and are the preview rows; the run resumes like any other.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

import fast_style.train.arbitrary as arbitrary
from fast_style.checkpoint import model_from_checkpoint, read_checkpoint, save_inference_checkpoint
from fast_style.errors import InvalidValueError
from fast_style.models.arbitrary import PAINTING_SIZE, ArbitraryStyleNet, prepare_painting
from fast_style.models.transformer import TransformerNet
from fast_style.train.prepare import network_file, prepare
from fast_style.train.run import build, train

HELD_OUT = "59858.jpg"  # paintings/59858.jpg is on fast_style.heldout's list


@pytest.fixture
def paintings(tmp_path: Path) -> Path:
    """Two training paintings and one held-out one, small, in a folder named as the mirror's."""
    folder = tmp_path / "paintings"
    folder.mkdir()
    for name, colour in (("a.png", (200, 40, 40)), ("b.png", (40, 40, 200)), (HELD_OUT, (40, 200, 40))):
        Image.new("RGB", (40, 48), colour).save(folder / name)
    return folder


def recipe(train_config, paintings: Path, *overrides: str):
    return train_config("experiment=arbitrary", f"module.paintings=[{paintings}]", "module.painting_size=32",
                        "module.preview_paintings=1", *overrides)


def test_a_seconds_long_run_trains_on_each_painting_with_its_gram_targets_computed_once(
        train_config, paintings: Path, tmp_path: Path, monkeypatch):
    seen = []
    original = arbitrary.loss_on
    monkeypatch.setattr(arbitrary, "loss_on", lambda encoder, loss: seen.append(loss.style_image) or original(encoder, loss))
    path = train(recipe(train_config, paintings, "trainer.max_steps=4"), tmp_path / "run")
    # Four steps over two training paintings: each one's targets computed once; the held-out one never trained on.
    assert sorted(Path(image).name for image in seen) == ["a.png", "b.png"]
    stored = read_checkpoint(path)
    network = model_from_checkpoint(stored)
    assert isinstance(network, ArbitraryStyleNet) and stored.style == "arbitrary"
    assert stored.model_args == {"family": "arbitrary", "width": 4, "num_residual_blocks": 1, "embedding_dim": 100}
    # Previews: the photos, then one row per held-out painting (the one it never trained on).
    previews = sorted((tmp_path / "run" / "tensorboard" / "previews").glob("*.png"))
    assert previews and Image.open(previews[-1]).height == 2 * (32 + 2) + 2
    # A resumed run continues at the step it stopped (the painting order is fixed by the seed).
    last = tmp_path / "run" / "lightning_checkpoints" / "last.ckpt"
    resumed = train(recipe(train_config, paintings, "trainer.max_steps=5", f"ckpt_path={last}", "overwrite=true",
                           "~callbacks.previews", "~logger"), tmp_path / "resumed")
    assert read_checkpoint(resumed).card.training.steps == 5


def test_the_order_is_a_fixed_shuffle_of_the_training_paintings_without_the_held_out_ones(train_config, paintings):
    module = build(prepare(recipe(train_config, paintings)).module)
    order = [module.painting_of_step(step).name for step in range(4)]
    assert sorted(order[:2]) == ["a.png", "b.png"] and order[2:] == order[:2]
    assert [path.name for path in module.preview_set] == [HELD_OUT]
    photos, painting = torch.rand(2, 3, 32, 32), module.painting_of_step(0)
    module._embedding = module.embed(painting)
    terms = module.loss_for(painting)(module.stylise(photos), photos)
    terms["total"].backward()  # the predictor learns with the transform network
    assert any(parameter.grad is not None for parameter in module.model.predictor.parameters())


@pytest.mark.parametrize("override, message", [
    ("module.paintings=[]", "paintings must be a list of folders"),
    ("module.painting_size=16", "painting_size must be a whole number of pixels >= 32"),
    ("module.paintings=[TMP/nowhere]", "nowhere"),
    ("module.train_predictor=maybe", "train_predictor must be true or false"),
])
def test_bad_arbitrary_settings_are_one_clear_error(train_config, paintings, tmp_path: Path, override, message):
    with pytest.raises((InvalidValueError, FileNotFoundError, OSError), match=message):
        build(prepare(recipe(train_config, paintings, override.replace("TMP", str(tmp_path)))).module)


def test_init_from_a_network_of_another_family_is_refused(train_config, paintings, tmp_path: Path):
    other = save_inference_checkpoint(TransformerNet(width=4, num_residual_blocks=1), tmp_path / "w4.pth", style="w4")
    with pytest.raises(InvalidValueError, match="init_from .* is a TransformerNet .*; this run trains an ArbitraryStyleNet"):
        build(prepare(recipe(train_config, paintings, f"module.init_from={other}")).module)


def test_a_fine_tune_starts_from_the_shipped_network_by_its_zoo_name(train_config, paintings):
    config = recipe(train_config, paintings, "module.init_from=arbitrary", "model.width=8", "model.num_residual_blocks=5")
    module = build(prepare(config).module)
    shipped = model_from_checkpoint(read_checkpoint(network_file("arbitrary")))
    assert module.model.training and module.model.style_names == shipped.style_names
    assert all(torch.equal(ours, theirs.float()) for ours, theirs in
               zip(module.model.state_dict().values(), shipped.state_dict().values()))


def test_a_fine_tune_recomputes_the_named_styles_with_its_own_predictor(train_config, paintings, tmp_path: Path,
                                                                        assets_dir: Path):
    """mondrian@arbitrary is an embedding of the predictor: after the predictor learns, the stored one is its own."""
    start = ArbitraryStyleNet(width=4, num_residual_blocks=1, styles=["candy", "mosaic"])  # embeddings: zeros
    saved = save_inference_checkpoint(start, tmp_path / "start.pth", style="start")
    path = train(recipe(train_config, paintings, f"module.init_from={saved}", "trainer.max_steps=1", "~logger",
                        "~callbacks.previews"), tmp_path / "run")
    tuned = model_from_checkpoint(read_checkpoint(path))
    assert tuned.style_names == ("candy", "mosaic")
    with torch.no_grad():
        expected = tuned.embed(torch.cat([prepare_painting(assets_dir / "styles" / f"{name}.jpg", PAINTING_SIZE)
                                          for name in tuned.style_names]))
    torch.testing.assert_close(tuned.style_embeddings, expected, rtol=1e-3, atol=1e-3)  # stored float16
    assert tuned.style_embeddings.abs().sum() > 0
    lost = save_inference_checkpoint(ArbitraryStyleNet(width=4, num_residual_blocks=1, styles=["no_such_painting"]),
                                     tmp_path / "lost.pth", style="lost")
    with pytest.raises(InvalidValueError, match=r"stores the styles \['no_such_painting'\], whose paintings are not"):
        build(prepare(recipe(train_config, paintings, f"module.init_from={lost}")).module)


def test_a_fine_tune_with_the_predictor_frozen_trains_the_transform_network_only(train_config, paintings,
                                                                                 tmp_path: Path):
    """module.train_predictor=false: the predictor and the stored embeddings stay, the transform network learns."""
    start = ArbitraryStyleNet(width=4, num_residual_blocks=1, styles=["candy"])
    start.style_embeddings.normal_()
    saved = save_inference_checkpoint(start, tmp_path / "start.pth", style="start")
    first = model_from_checkpoint(read_checkpoint(saved))
    path = train(recipe(train_config, paintings, f"module.init_from={saved}", "module.train_predictor=false",
                        "trainer.max_steps=2", "~logger", "~callbacks.previews"), tmp_path / "run")
    tuned = model_from_checkpoint(read_checkpoint(path))
    assert all(torch.equal(ours, theirs) for ours, theirs in
               zip(tuned.predictor.state_dict().values(), first.predictor.state_dict().values()))
    assert torch.equal(tuned.style_embeddings, first.style_embeddings)
    assert not all(torch.equal(ours, theirs) for ours, theirs in
                   zip(tuned.transformer.state_dict().values(), first.transformer.state_dict().values()))
