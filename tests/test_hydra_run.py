"""The training config as Hydra users know it: groups build with ``_target_``, a composed config trains in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger

from fast_style.checkpoint import read_checkpoint
from fast_style.train.callbacks import DivergenceGuard, PreviewImages, ResumableOnException
from fast_style.train.datamodule import StyleDataModule
from fast_style.train.run import build, train
from tests.helpers import compose_train as compose_config

# A network and loss that build in a moment: 4 channels, one residual block, a randomly initialised VGG.
TINY = ["model.width=4", "model.num_residual_blocks=1", "loss.vgg.weights=random", "loss.style_size=32"]


def test_a_composed_config_trains_in_process(train_config, tmp_path: Path):
    config = train_config("style=candy", "optimizer=adamw", "optimizer.lr=5e-4")
    path = train(config, tmp_path / "run")
    assert path == tmp_path / "ckpt" / "candy.pth"
    stored = read_checkpoint(path)
    assert stored.style == "candy" and stored.meta["global_step"] == 3
    assert stored.model_args["width"] == 4 and stored.config["run_dir"] == str(tmp_path / "run")
    # The composed config is in the checkpoint, and its loss is the one the network was trained with.
    assert stored.config["optimizer"]["_target_"] == "torch.optim.AdamW"
    loss = stored.card.loss
    assert loss.as_dict() == stored.config["loss"]  # every argument, none merged in from elsewhere
    assert loss.style_image == "styles/candy.jpg" and loss.style_weight == 10.0
    assert loss.style_size == 32 and loss.vgg["weights"] == "random"
    # Resumable checkpoints: every 2 steps, and last.ckpt at the true end (step 3) with AdamW's state.
    saved = tmp_path / "run" / "lightning_checkpoints"
    assert sorted(p.name for p in saved.glob("*.ckpt")) == ["last.ckpt", "step0000002.ckpt"]
    last = torch.load(saved / "last.ckpt", weights_only=False)
    assert last["global_step"] == 3
    group = last["optimizer_states"][0]["param_groups"][0]
    assert group["lr"] == 5e-4 and group["weight_decay"] > 0  # AdamW's decoupled decay; Adam's default is 0
    assert read_checkpoint(saved / "last.ckpt").card.loss.style_image == "styles/candy.jpg"
    # Previews at step 1, every 2 steps and at the end, beside the TensorBoard logs.
    previews = sorted(p.name for p in (tmp_path / "run" / "tensorboard" / "previews").glob("*.png"))
    assert previews == ["step0000001.png", "step0000002.png", "step0000003.png"]


def test_the_optimizer_group_swaps_the_optimiser(assets_dir: Path):
    parameters = [torch.nn.Parameter(torch.zeros(3))]
    default = compose_config().optimizer
    adam = instantiate(default)(parameters)
    assert type(adam) is torch.optim.Adam and adam.param_groups[0]["lr"] == default.lr
    adamw = instantiate(compose_config("optimizer=adamw", "optimizer.lr=5e-4").optimizer)(parameters)
    assert type(adamw) is torch.optim.AdamW and adamw.param_groups[0]["lr"] == 5e-4
    # The module calls the group's partial with the network's parameters.
    config = compose_config(*TINY, "optimizer=adamw", "optimizer.lr=5e-4")
    module = build(config.module)
    optimizer = module.configure_optimizers()
    assert type(optimizer) is torch.optim.AdamW and optimizer.param_groups[0]["lr"] == 5e-4
    assert [id(p) for p in optimizer.param_groups[0]["params"]] == [id(p) for p in module.model.parameters()]  # no VGG
    assert "optimizer" not in module.hparams  # code, not data: checkpoints are read with weights_only=True


def test_the_cosine_schedule_decays_the_groups_learning_rate(assets_dir: Path):
    config = compose_config(*TINY, "experiment=zoo", "optimizer.lr=2e-3")
    module = build(config.module)

    class _Trainer:
        max_steps = 10

    module.trainer = _Trainer()  # the only thing the schedule reads
    configured = module.configure_optimizers()
    optimizer, scheduler = configured["optimizer"], configured["lr_scheduler"]["scheduler"]
    assert type(optimizer) is torch.optim.Adam and configured["lr_scheduler"]["interval"] == "step"
    for _ in range(10):
        optimizer.step()
        scheduler.step()
    assert 0 < config.module.min_lr_ratio < 1
    assert optimizer.param_groups[0]["lr"] == pytest.approx(2e-3 * config.module.min_lr_ratio)


def test_the_callbacks_group_builds_the_four_callbacks(tmp_path: Path):
    config = compose_config()
    config.run_dir = str(tmp_path)
    callbacks = {name: instantiate(node) for name, node in config.callbacks.items()}
    assert set(callbacks) == {"model_checkpoint", "on_exception", "divergence_guard", "previews"}
    checkpoint = callbacks["model_checkpoint"]
    assert isinstance(checkpoint, ModelCheckpoint) and Path(checkpoint.dirpath) == tmp_path / "lightning_checkpoints"
    assert checkpoint.save_last is True and checkpoint.save_top_k == config.callbacks.model_checkpoint.save_top_k
    assert checkpoint._every_n_train_steps == config.callbacks.model_checkpoint.every_n_train_steps
    assert isinstance(callbacks["on_exception"], ResumableOnException)
    assert Path(callbacks["on_exception"].dirpath) == tmp_path / "lightning_checkpoints"
    assert isinstance(callbacks["divergence_guard"], DivergenceGuard)
    assert isinstance(callbacks["previews"], PreviewImages)
    assert callbacks["previews"].every_n_steps == config.callbacks.previews.every_n_steps
    logger = instantiate(config.logger.tensorboard)
    assert isinstance(logger, TensorBoardLogger) and Path(logger.log_dir) == tmp_path / "tensorboard"
    datamodule = instantiate(compose_config(f"data.train_dir={tmp_path}", f"data.val_dir={tmp_path}").data)
    assert isinstance(datamodule, StyleDataModule) and datamodule.batch_size == 4


@pytest.mark.parametrize(("override", "error", "message"), [
    ("data.image_size=4", ValueError, "image_size must be >= 8, got 4"),
    ("data.batch_size=0", ValueError, "batch_size must be >= 1, got 0"),
    ("data.num_workers=-1", ValueError, "num_workers must be >= 0, got -1"),
    ("trainer.max_steps=0", ValueError, "trainer.max_steps must be a positive number of steps, got 0"),
    ("data.train_dir=TMP/nowhere", FileNotFoundError, "nowhere.* does not exist"),
    ("style.image=TMP/missing.jpg", FileNotFoundError, "missing.jpg"),
    ("style.image=TMP/not_an_image.jpg", ValueError, "is not a readable image"),
])
def test_cheap_errors_come_before_the_vgg_and_are_the_librarys_own(
    override: str, error: type, message: str, train_config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
):
    def no_vgg(*args, **kwargs):
        raise AssertionError("the VGG was built before a cheap check")

    monkeypatch.setattr("fast_style.loss.perceptual.VGGEncoder", no_vgg)
    (tmp_path / "not_an_image.jpg").write_text("this is text")
    config = train_config(override.replace("TMP", str(tmp_path)))
    with pytest.raises(error, match=message) as caught:
        train(config, tmp_path / "run")
    assert len(str(caught.value).splitlines()) == 1  # scripts/train.py prints it as one line
    assert not (tmp_path / "ckpt").exists()


def test_the_datamodule_is_set_up_by_lightning_not_by_itself(photo_dir: Path):
    datamodule = StyleDataModule(photo_dir, photo_dir, image_size=16, batch_size=2, num_workers=0, num_preview=3)
    assert datamodule.train_set is None and datamodule.preview_photos is None
    with pytest.raises(RuntimeError, match="setup"):
        datamodule.train_dataloader()
    datamodule.setup("fit")
    assert datamodule.preview_photos.shape == (3, 3, 16, 16)
    assert next(iter(datamodule.train_dataloader())).shape == (2, 3, 16, 16)
