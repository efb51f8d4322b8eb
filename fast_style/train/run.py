"""Wiring of a training run from plain config dicts: module, data, trainer, checkpoints.

``scripts/train.py`` converts the Hydra config to containers and calls :func:`train`;
tests can call it directly. Lightning is imported here, Hydra is not.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger

from fast_style.checkpoint import save_inference_checkpoint
from fast_style.loss.perceptual import loss_kwargs_from_config
from fast_style.machine import describe_cpu, native_bf16
from fast_style.train.callbacks import DivergenceGuard, ResumableOnException
from fast_style.train.datamodule import StyleDataModule
from fast_style.train.module import StyleTransferModule


def resolve_precision(precision: str | int, accelerator: str = "auto") -> str | int:
    """Lightning's precision, with ``"auto"`` made concrete for the machine.

    ``"auto"``: ``"bf16-mixed"`` on a CPU with native bf16 (measured by ``bench_train.py
    --precision bf16-mixed``: about 2x faster steps on an AMX Xeon), ``"32-true"`` on CPUs
    without it (bf16 is emulated there and slower). On CUDA it is ``"16-mixed"``. Anything
    else is passed through.
    """
    if precision != "auto":
        return precision
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    if on_gpu:
        return "16-mixed"
    return "bf16-mixed" if native_bf16() else "32-true"


def train(config: dict[str, Any], run_dir: str | os.PathLike) -> Path | None:
    """Train one style network and write its slim inference checkpoint.

    Args:
        config: the composed training config as plain containers (see ``configs/train.yaml``):
            ``style``, ``model``, ``loss``, ``data``, ``trainer``, ``optim``, ``seed``,
            ``checkpoint_dir``, ``ckpt_path``, ``preview_every_n_steps``, ``save_every_n_steps``.
        run_dir: folder for TensorBoard logs and resumable Lightning checkpoints.

    Returns:
        Path of ``<checkpoint_dir>/<style>.pth`` on the global-zero process, ``None`` on others.
    """
    run_dir = Path(run_dir)
    style = config["style"]
    trainer_args = dict(config["trainer"])
    # channels_last lives in the trainer group (a speed setting) but is not a Trainer argument.
    channels_last = bool(trainer_args.pop("channels_last", False))
    trainer_args["precision"] = resolve_precision(
        trainer_args.get("precision", "32-true"), trainer_args.get("accelerator", "auto")
    )
    max_steps = trainer_args.get("max_steps")
    if not isinstance(max_steps, int) or max_steps <= 0:
        raise ValueError(f"trainer.max_steps must be a positive number of steps, got {max_steps!r}")
    L.seed_everything(int(config.get("seed", 0)), workers=True, verbose=False)

    # The cheap checks (folders, sizes, worker count) run before the VGG is loaded.
    data = config["data"]
    datamodule = StyleDataModule(
        train_dir=data["train_dir"],
        val_dir=data["val_dir"],
        image_size=data["image_size"],
        batch_size=data["batch_size"],
        num_workers=data["num_workers"],
        num_preview=data["num_preview"],
    )
    loss_args = loss_kwargs_from_config(config)
    style_image = loss_args.pop("style_image")
    module = StyleTransferModule(
        style_name=style["name"],
        style_image=style_image,
        model=config["model"],
        loss=loss_args,
        lr=config["optim"]["lr"],
        lr_schedule=config["optim"].get("lr_schedule", "constant"),
        min_lr_ratio=config["optim"].get("min_lr_ratio", 0.05),
        preview_every_n_steps=config.get("preview_every_n_steps", 100),
        channels_last=channels_last,
    )
    lightning_ckpt_dir = run_dir / "lightning_checkpoints"
    callbacks = [
        ModelCheckpoint(
            dirpath=lightning_ckpt_dir,
            filename="step{step:07d}",
            auto_insert_metric_name=False,
            every_n_train_steps=int(config.get("save_every_n_steps", 200)),
            save_last=True,
            save_top_k=-1 if config.get("keep_all_checkpoints") else 1,
        ),
        # An interrupted or crashed run still leaves a checkpoint to resume from (not a diverged one).
        ResumableOnException(dirpath=lightning_ckpt_dir, filename="on_exception"),
        DivergenceGuard(),
    ]
    trainer = L.Trainer(
        default_root_dir=run_dir,
        logger=TensorBoardLogger(save_dir=run_dir, name="tensorboard", version=""),
        callbacks=callbacks,
        **trainer_args,
    )
    trainer.fit(module, datamodule=datamodule, ckpt_path=config.get("ckpt_path"))
    if not trainer.interrupted:
        # max_steps rarely falls on a save_every_n_steps boundary: make last.ckpt the true end,
        # so resuming with a larger max_steps continues exactly where this run stopped.
        trainer.save_checkpoint(lightning_ckpt_dir / "last.ckpt", weights_only=False)  # keep optimiser state
    if not trainer.is_global_zero:
        return None
    target = Path(config.get("checkpoint_dir", "checkpoints")) / f"{style['name']}.pth"
    metrics = {key: float(value) for key, value in trainer.callback_metrics.items() if key.startswith("train/")}
    return save_inference_checkpoint(
        module.model,
        target,
        style=style["name"],
        config=config,
        meta={
            "global_step": trainer.global_step,
            "final_losses": metrics,
            "precision": str(trainer_args["precision"]),
            "machine": describe_cpu() if not torch.cuda.is_available() else torch.cuda.get_device_name(),
        },
    )
