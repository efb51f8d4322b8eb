"""Every Hydra config composes, overrides land where the library reads them, bad names are clear."""

import pytest
from conftest import CONFIG_DIR
from hydra import compose, initialize_config_dir
from hydra.errors import MissingConfigException
from omegaconf import OmegaConf

from fast_style.loss.perceptual import loss_kwargs_from_config

STYLES = sorted(path.stem for path in (CONFIG_DIR / "style").glob("*.yaml"))
MIRRORED_STYLES = {
    "starry_night", "the_scream", "wave", "composition_vii", "udnie", "candy", "mosaic", "feathers", "shipwreck",
}


def compose_train(*overrides):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return OmegaConf.to_container(compose("train", overrides=list(overrides)), resolve=False)


def test_there_is_a_style_config_for_every_mirrored_style():
    assert set(STYLES) == MIRRORED_STYLES


@pytest.mark.parametrize("style", STYLES)
def test_every_style_composes_and_its_image_exists(style, assets_dir):
    config = compose_train(f"style={style}")
    assert config["style"]["name"] == style
    assert (assets_dir / config["style"]["image"]).is_file()
    kwargs = loss_kwargs_from_config(config)
    assert kwargs["content_weight"] > 0 and kwargs["style_weight"] > 0 and kwargs["style_size"] > 0


@pytest.mark.parametrize("trainer", ["default", "cpu_quick", "gpu"])
def test_trainer_presets_compose(trainer):
    config = compose_train(f"trainer={trainer}")
    assert config["trainer"]["max_steps"] > 0
    assert "channels_last" in config["trainer"]


def test_cpu_quick_is_sized_for_a_cpu():
    config = compose_train("trainer=cpu_quick")
    assert config["trainer"]["accelerator"] == "cpu"
    assert config["data"]["image_size"] <= 128


def test_required_overrides_land():
    config = compose_train(
        "trainer.max_steps=7",
        "data.image_size=96",
        "data.batch_size=2",
        "data.train_dir=/data/coco/train2014",
        "loss.vgg.weights=random",
        "checkpoint_dir=/tmp/ckpts",
        "trainer.devices=2",
        "trainer.strategy=ddp",
        "model=small",
    )
    assert config["trainer"]["max_steps"] == 7 and config["trainer"]["devices"] == 2
    assert config["trainer"]["strategy"] == "ddp"
    assert config["data"] == {**config["data"], "image_size": 96, "batch_size": 2, "train_dir": "/data/coco/train2014"}
    assert config["loss"]["vgg"]["weights"] == "random"
    assert config["checkpoint_dir"] == "/tmp/ckpts"
    assert config["model"]["width"] == 16


def test_command_line_beats_cpu_quick_preset():
    assert compose_train("trainer=cpu_quick", "data.image_size=64")["data"]["image_size"] == 64


def test_unknown_style_lists_the_available_ones():
    with pytest.raises(MissingConfigException) as error:
        compose_train("style=starry")
    message = str(error.value)
    assert "starry" in message
    for style in ("candy", "starry_night", "the_scream"):
        assert style in message


def test_zoo_experiment_sets_the_recipe_and_the_command_line_still_wins():
    config = compose_train("style=mosaic", "experiment=zoo")
    assert config["optim"]["lr_schedule"] == "cosine" and config["trainer"]["precision"] == "auto"
    assert config["data"]["image_size"] == 128 and config["keep_all_checkpoints"] is True
    assert config["style"]["name"] == "mosaic"
    assert compose_train("experiment=zoo", "trainer.max_steps=9")["trainer"]["max_steps"] == 9
    assert compose_train()["optim"]["lr_schedule"] == "constant"  # Johnson et al. without the experiment
