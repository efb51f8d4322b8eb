"""Every Hydra config composes, overrides land where the library reads them, bad names are clear."""

import copy
import re
from pathlib import Path

import pytest
from hydra.errors import MissingConfigException
from omegaconf import OmegaConf

import fast_style
from fast_style.loss.perceptual import PerceptualLossSettings, loss_kwargs_from_config
from fast_style.train.compose import CONFIG_DIR as PACKAGED_CONFIGS
from fast_style.train.prepare import prepare
from fast_style.zoo import UnknownStyleError, load_with_loss
from tests.helpers import CONFIG_DIR
from tests.helpers import compose_train as compose_config

STYLES = sorted(path.stem for path in (CONFIG_DIR / "style").glob("*.yaml"))


def compose_train(*overrides, resolve=False):
    config = compose_config(*overrides)
    if resolve:  # run_dir needs Hydra's runtime (or train()) to resolve
        config.run_dir = "unused"
    return OmegaConf.to_container(config, resolve=resolve)


def test_there_is_a_style_config_for_every_mirrored_style(assets_dir):
    # The mirror's paintings (17 now: the nine classic styles and eight more), each named as its file.
    mirrored = {path.stem for path in (assets_dir / "styles").iterdir() if path.suffix in (".jpg", ".png")}
    assert set(STYLES) == mirrored


@pytest.mark.parametrize("style", STYLES)
def test_every_style_composes_and_its_image_exists(style, assets_dir):
    config = compose_train(f"style={style}")
    assert config["style"]["name"] == style
    assert (assets_dir / config["style"]["image"]).is_file()


@pytest.mark.parametrize("style", STYLES)
def test_every_style_reaches_the_loss_with_its_own_settings(style):
    # The loss group meets the style's image and weight by interpolation and takes every other
    # setting from the library's defaults (PerceptualLossSettings): what build_perceptual_loss gets.
    style_file = OmegaConf.load(CONFIG_DIR / "style" / f"{style}.yaml")
    config = compose_train(f"style={style}", resolve=True)
    kwargs = loss_kwargs_from_config(config)
    expected = PerceptualLossSettings(style_image=style_file.image, style_weight=style_file.style_weight).as_dict()
    assert kwargs == expected == config["loss"]  # every setting is in the composed config, as stored


def test_a_style_weight_override_reaches_the_loss():
    kwargs = loss_kwargs_from_config(compose_train("style=candy", "style.style_weight=42", resolve=True))
    assert kwargs["style_weight"] == 42


@pytest.mark.parametrize("trainer", ["default", "cpu", "gpu"])
def test_trainer_presets_compose_and_inherit_the_default(trainer):
    default = compose_train()["trainer"]
    config = compose_train(f"trainer={trainer}")["trainer"]
    assert config["_target_"] == "lightning.Trainer" and config["max_steps"] > 0
    assert set(default) <= set(config), f"trainer={trainer} lacks {set(default) - set(config)}"
    assert "channels_last" not in config  # not a Trainer argument


def test_presets_only_write_what_differs():
    # Inheritance, not repetition: a preset file that re-types a default's value hides a later change of it.
    default = OmegaConf.load(CONFIG_DIR / "trainer" / "default.yaml")
    for name in ("cpu", "gpu"):
        preset = OmegaConf.load(CONFIG_DIR / "trainer" / f"{name}.yaml")
        values = preset.get("trainer", preset)
        assert "default" in str(preset.get("defaults")), f"trainer/{name}.yaml does not inherit trainer/default.yaml"
        repeated = [key for key in values if key in default and values[key] == default[key]]
        assert not repeated, f"trainer/{name}.yaml repeats {repeated}"


def test_gpu_preset_sets_channels_last_on_the_module():
    assert compose_train("trainer=gpu")["module"]["channels_last"] is True
    assert compose_train()["module"]["channels_last"] is False
    assert compose_train("trainer=gpu", "module.channels_last=false")["module"]["channels_last"] is False


def test_cpu_quick_is_sized_for_a_cpu():
    config = compose_train("experiment=cpu_quick")
    cpu = compose_train("trainer=cpu")["trainer"]
    assert config["trainer"] == {**config["trainer"], "accelerator": cpu["accelerator"], "precision": cpu["precision"]}
    assert 0 < config["trainer"]["max_steps"] < compose_train()["trainer"]["max_steps"]  # shorter than Johnson et al.
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
    assert config["model"] == OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "model" / "small.yaml"))


def test_command_line_beats_the_cpu_quick_experiment():
    assert compose_train("experiment=cpu_quick", "data.image_size=64")["data"]["image_size"] == 64


def test_unknown_style_lists_the_available_ones():
    with pytest.raises(MissingConfigException) as error:
        compose_train("style=starry")
    message = str(error.value)
    assert "starry" in message
    for style in ("candy", "starry_night", "the_scream"):
        assert style in message


def test_zoo_experiment_sets_the_recipe_and_the_command_line_still_wins():
    # What the recipe does when it trains (cosine decay, every checkpoint kept) is in test_train_e2e and
    # test_hydra_run; here: it selects the CPU trainer and Adam, and the command line still wins over it.
    config = compose_train("style=mosaic", "experiment=zoo")
    cpu = compose_train("trainer=cpu")["trainer"]
    assert config["module"]["lr_schedule"] == "cosine"
    assert config["optimizer"]["_target_"] == "torch.optim.Adam"
    assert config["trainer"] == {**config["trainer"], "accelerator": cpu["accelerator"], "precision": cpu["precision"]}
    assert config["callbacks"]["model_checkpoint"]["save_top_k"] == -1  # every one kept
    assert config["style"]["name"] == "mosaic"
    assert compose_train("experiment=zoo", "trainer.max_steps=9")["trainer"]["max_steps"] == 9
    assert compose_train()["module"]["lr_schedule"] == "constant"  # Johnson et al. without the experiment


def test_debug_wins_over_an_experiment_and_the_command_line_over_debug():
    debug = OmegaConf.load(CONFIG_DIR / "debug" / "default.yaml")
    config = compose_train("experiment=zoo", "debug=default")
    assert config["trainer"]["max_steps"] == debug.trainer.max_steps and config["loss"]["vgg"]["weights"] == "random"
    assert config["module"]["lr_schedule"] == "cosine"  # what debug does not set stays the experiment's
    assert compose_train("debug=default", "trainer.max_steps=7")["trainer"]["max_steps"] == 7


def test_the_configs_are_data_the_one_resolver_is_a_library_default():
    """No YAML file calls code that reads files or builds networks: what a recipe names is resolved in training."""
    allowed = {"loss_default", "now", "hydra"}  # a library constant, Hydra's clock and its own settings
    called = {match.group(1) for path in CONFIG_DIR.rglob("*.yaml")
              for match in re.finditer(r"\$\{([\w.]+):", path.read_text(encoding="utf-8"))}
    assert called <= allowed, f"resolvers in configs/: {sorted(called - allowed)}"
    assert "loss_default" in called  # the scan sees a resolver where there is one


def test_a_recipe_composes_without_reading_a_network_and_training_resolves_it(assets_dir):
    # Names that exist nowhere: composing (and resolving every interpolation) reads no file.
    for overrides in (["experiment=distill", "teacher=no_such_teacher"],
                      ["experiment=new_style_shared", "base_network=no_such_network"],
                      ["experiment=multistyle", "styles=[candy,no_such_painting]"]):
        config = compose_config(*overrides)
        config.run_dir = "unused"
        OmegaConf.to_container(config, resolve=True)
        with pytest.raises(UnknownStyleError, match="no_such"):
            prepare(config)
    # The training entry fills in the teacher's loss, setting by setting, and the student's name; a setting the
    # run gives (debug=default's random VGG) wins.
    config = prepare(compose_config("experiment=distill", "teacher=candy", "debug=default"))
    _, teacher_loss = load_with_loss("candy")
    loss = OmegaConf.to_container(config.loss)
    assert config.style.name == "candy-small" and loss["vgg"]["weights"] == "random"
    assert {**teacher_loss.as_dict(), "style_size": 32, "vgg": {**teacher_loss.vgg, "weights": "random"}} == loss
    assert (config.style.image, config.style.style_weight) == (teacher_loss.style_image, teacher_loss.style_weight)
    assert prepare(copy.deepcopy(config)) == config  # a prepared config prepares to itself


def test_the_package_trains_from_its_own_configs_which_are_the_checkouts():
    """``compose.CONFIG_DIR`` is the package's folder (a link to configs/ here, a copy in a wheel), not the checkout's."""
    assert PACKAGED_CONFIGS.parent == Path(fast_style.__file__).parent
    assert {path.relative_to(PACKAGED_CONFIGS) for path in PACKAGED_CONFIGS.rglob("*.yaml")} == {
        path.relative_to(CONFIG_DIR) for path in CONFIG_DIR.rglob("*.yaml")}
