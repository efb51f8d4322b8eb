"""experiment=multistyle: one network trained on several styles, and train_styles (a new style on a shared net)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from fast_style.checkpoint import model_from_checkpoint, read_checkpoint, save_inference_checkpoint
from fast_style.errors import InvalidValueError
from fast_style.models import TransformerNet
from fast_style.models.surgery import with_styles
from fast_style.train.compose import style_entry
from fast_style.train.multistyle import MultiStyleTransferModule
from fast_style.train.prepare import prepare
from fast_style.train.run import build, train
from fast_style.zoo import UnknownStyleError, zoo_path
from tests.helpers import CONFIG_DIR, TINY_MODEL_ARGS, events

STYLES = "styles=[candy,mosaic,udnie]"


def test_a_multistyle_run_trains_every_style_in_turn_and_writes_one_network(train_config, tmp_path, assets_dir):
    config = train_config("experiment=multistyle", STYLES, "trainer.max_steps=4", "callbacks.previews.every_n_steps=4")
    path = train(config, tmp_path / "run")
    stored = read_checkpoint(path)
    assert path.name == "multistyle.pth" and stored.model_args["styles"] == ["candy", "mosaic", "udnie"]
    assert stored.meta["history"][-1]["steps"] == 4
    # Each style is its own loss: its own image and the weight its style config tuned.
    for name in ["candy", "mosaic", "udnie"]:
        entry = style_entry(name, CONFIG_DIR)
        loss = stored.card.loss_for(name)
        assert (loss.style_image, loss.style_weight) == (entry["image"], entry["style_weight"])
    scalars = events(tmp_path / "run").Tags()["scalars"]
    assert {"train_candy/total", "train_mosaic/total", "train_udnie/total"} <= set(scalars)
    # Steps 0..3 train candy, mosaic, udnie, candy: each style's loss is logged at its own steps.
    steps = [event.step for event in events(tmp_path / "run").Scalars("train_mosaic/total")]
    assert steps == [1]
    # The preview: the photos' row, then one row per style.
    preview = Image.open(sorted((tmp_path / "run" / "tensorboard" / "previews").glob("*.png"))[-1])
    photo_rows = round((preview.height - 2) / (32 + 2))
    assert photo_rows == 4


def test_each_style_keeps_its_own_gram_targets(train_config, assets_dir):
    config = train_config("experiment=multistyle", STYLES)
    module = build(prepare(config).module)
    grams = [module.loss_fn[name].style_gram("relu2_2") for name in ["candy", "mosaic", "udnie"]]
    assert not torch.allclose(grams[0], grams[1]) and not torch.allclose(grams[1], grams[2])
    # One VGG for all of them, not three.
    assert module.loss_fn["mosaic"].encoder is module.loss_fn["candy"].encoder
    assert [module.style_of_step(step) for step in range(5)] == ["candy", "mosaic", "udnie", "candy", "mosaic"]


def test_train_styles_changes_nothing_but_the_new_styles_rows(train_config, tmp_path, assets_dir):
    torch.manual_seed(0)
    shared = TransformerNet(**TINY_MODEL_ARGS, styles=["candy", "mosaic"])
    for norm in shared.conditional_norms():
        norm.weight.data.normal_(1, 0.3)
    start = save_inference_checkpoint(shared, tmp_path / "shared.pth", style="shared")
    painting = tmp_path / "painting.png"
    Image.new("RGB", (48, 40), (30, 160, 90)).save(painting)
    config = train_config("experiment=multistyle", f"styles=[candy,mosaic,{painting}]", "style.name=painting",
                          f"module.init_from={start}", "module.train_styles=[painting]", "trainer.max_steps=6")
    trained = model_from_checkpoint(read_checkpoint(train(config, tmp_path / "run")))
    before = with_styles(shared, ["candy", "mosaic", "painting"]).state_dict()
    changed = []
    for key, value in trained.state_dict().items():
        if not torch.equal(value, before[key]):
            changed.append(key)
            if value.dim() == 2:  # a norm table: only the new style's row (index 2) moved
                assert torch.equal(value[:2], before[key][:2]), key
    assert changed and all(key.endswith(("weight", "bias")) and trained.state_dict()[key].dim() == 2 for key in changed)


@pytest.mark.parametrize("overrides, error, message", [
    (["styles=[candy]"], InvalidValueError, "two or more styles"),
    (["styles=[candy,candy]"], InvalidValueError, "appears twice"),
    (["styles=[candy,no_such_painting]"], UnknownStyleError, "no_such_painting"),
    (["module.train_styles=[wave]"], InvalidValueError, "train_styles"),
    (["module.train_styles=[mosaic]", "optimizer=adamw"], InvalidValueError,
     "weight decay"),
])
def test_bad_multistyle_settings_are_one_clear_error(train_config, overrides, error, message):
    config = train_config("experiment=multistyle", STYLES, *overrides)
    with pytest.raises(error, match=message):
        build(prepare(config).module)


def test_init_from_a_network_of_another_shape_is_refused(train_config, tmp_path: Path, assets_dir):
    other = save_inference_checkpoint(TransformerNet(width=8, num_residual_blocks=1), tmp_path / "w8.pth", style="w8")
    config = train_config("experiment=multistyle", STYLES, f"module.init_from={other}")
    with pytest.raises(InvalidValueError, match="init_from"):
        build(prepare(config).module)
    assert MultiStyleTransferModule is type(build(prepare(train_config("experiment=multistyle", STYLES)).module))


def test_new_style_adds_one_painting_to_a_shared_network_and_trains_only_it(train_config, tmp_path, assets_dir):
    torch.manual_seed(0)
    shared = TransformerNet(**TINY_MODEL_ARGS, styles=["candy", "mosaic"])
    config = {"loss": {"style_image": "styles/candy.jpg", "style_weight": 10.0},
              "module": {"styles": [{"name": "candy", "image": "styles/candy.jpg", "style_weight": 10.0},
                                    {"name": "mosaic", "image": "styles/mosaic.jpg", "style_weight": 5.0}]}}
    base = save_inference_checkpoint(shared, tmp_path / "shared.pth", style="shared", config=config)
    painting = tmp_path / "painting.png"
    Image.new("RGB", (48, 40), (30, 160, 90)).save(painting)
    run = train_config("experiment=new_style_shared", f"base_network={base}", "style.name=mine", f"style.image={painting}",
                       "trainer.max_steps=3")
    stored = read_checkpoint(train(run, tmp_path / "run"))
    assert stored.model_args["styles"] == ["candy", "mosaic", "mine"] and stored.style == "mine"
    # The shared styles keep the images and weights they were trained with; the new one has the documented default.
    assert stored.card.loss_for("mosaic").style_weight == 5.0
    assert stored.card.loss_for("mine").style_weight == 10.0
    trained = model_from_checkpoint(stored)
    torch.testing.assert_close(trained.stem.conv.weight, shared.stem.conv.weight, rtol=0, atol=0)
    with pytest.raises(InvalidValueError, match="already a style"):
        build(prepare(train_config("experiment=new_style_shared", f"base_network={base}", "style.name=candy")).module)


def test_new_style_starts_from_the_shipped_network_by_its_name(train_config, tmp_path, assets_dir):
    """The preset's default, base_network=styles15, is a network name (not a style the zoo serves)."""
    painting = assets_dir / "styles" / "woman_with_hat_matisse.jpg"
    # The shipped network's own size (debug=default would shrink the network to width 4).
    config = train_config("experiment=new_style_shared", "style.name=mine", f"style.image={painting}",
                          "model.width=32", "model.num_residual_blocks=5")
    module = build(prepare(config).module)
    held = list(read_checkpoint(zoo_path("styles15")).model_args["styles"])
    assert module.style_order == [*held, "mine"] and module.train_styles == ["mine"]
    with pytest.raises(UnknownStyleError, match="no_such_network"):
        build(prepare(train_config("experiment=new_style_shared", "base_network=no_such_network", "style.name=mine",
                           f"style.image={painting}")).module)
