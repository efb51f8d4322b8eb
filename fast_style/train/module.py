"""LightningModule that trains one TransformerNet for one style.

Johnson, Alahi & Fei-Fei, ECCV 2016, Sec. 4.2: Adam (lr 1e-3), batch 4, 256×256 crops of
COCO, 40k iterations; the loss network is a frozen VGG16.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor

from fast_style.loss.perceptual import LOSS_TERMS, build_perceptual_loss
from fast_style.models.transformer import TransformerNet

_LOSS_PREFIX = "loss_fn."
LR_SCHEDULES = ("constant", "cosine")


def cosine_factor(step: int, total: int, floor: float) -> float:
    """Learning-rate multiplier of half a cosine: 1 at step 0, ``floor`` at ``total`` and after."""
    progress = min(max(step, 0), total) / max(total, 1)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


class StyleTransferModule(L.LightningModule):
    """Training of a feed-forward style network.

    Args:
        style_name: name of the style (used for logs and the inference checkpoint).
        style_image: style image path or asset name (e.g. ``"styles/starry_night.jpg"``).
        model: keyword arguments of :class:`TransformerNet`.
        loss: keyword arguments of :func:`fast_style.loss.perceptual.build_perceptual_loss`
            (``vgg``, layers, weights, ``style_size``).
        lr: Adam learning rate (the peak, with a schedule).
        lr_schedule: ``"constant"`` (Johnson et al.) or ``"cosine"``: half a cosine from ``lr``
            down to ``lr * min_lr_ratio`` over the trainer's ``max_steps``. On a short CPU budget
            the decay lets the last steps settle instead of jittering at the peak rate.
        min_lr_ratio: the cosine schedule's final learning rate as a fraction of ``lr``.
        preview_every_n_steps: every this many steps, log a grid of stylised preview photos
            to TensorBoard (0 disables).
        channels_last: run the network and VGG in channels-last memory format (faster
            convolutions with cuDNN/oneDNN on tensor cores; measured by bench_train.py).

    Shapes:
        training batch: (B, 3, S, S) photos in [0, 1].
    """

    def __init__(
        self,
        style_name: str,
        style_image: str | os.PathLike,
        model: Mapping[str, Any] | None = None,
        loss: Mapping[str, Any] | None = None,
        lr: float = 1e-3,
        lr_schedule: str = "constant",
        min_lr_ratio: float = 0.05,
        preview_every_n_steps: int = 100,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        if lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"unknown lr_schedule {lr_schedule!r}; allowed: {', '.join(LR_SCHEDULES)}")
        if not 0.0 <= min_lr_ratio <= 1.0:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {min_lr_ratio}")
        self.save_hyperparameters()
        self.model = TransformerNet(**dict(model or {}))
        self.loss_fn = build_perceptual_loss(str(style_image), **dict(loss or {}))
        self.lr = float(lr)
        self.lr_schedule = lr_schedule
        self.min_lr_ratio = float(min_lr_ratio)
        self.preview_every_n_steps = int(preview_every_n_steps)
        self.channels_last = bool(channels_last)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
            self.loss_fn.to(memory_format=torch.channels_last)

    def forward(self, images: Tensor) -> Tensor:
        """Stylise (B, 3, H, W) images in [0, 1]."""
        return self.model(images)

    def training_step(self, batch: Tensor, batch_idx: int) -> dict[str, Any]:
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        stylised = self.model(batch)
        terms = self.loss_fn(stylised, batch)
        self.log_dict(
            {f"train/{name}": terms[name].detach() for name in LOSS_TERMS},
            on_step=True,
            on_epoch=False,
            batch_size=batch.shape[0],
        )
        self.log("loss", terms["total"].detach(), prog_bar=True, logger=False, batch_size=batch.shape[0])
        # The terms travel to callbacks (the divergence guard names the one that broke).
        return {"loss": terms["total"], "terms": {name: value.detach() for name, value in terms.items()}}

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        if self.lr_schedule == "constant":
            return optimizer
        total = max(1, int(self.trainer.max_steps))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: cosine_factor(step, total, self.min_lr_ratio)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        step = self.global_step
        if self.preview_every_n_steps > 0 and (step == 1 or step % self.preview_every_n_steps == 0):
            self.log_preview()

    def on_train_end(self) -> None:
        # The final picture, whatever max_steps was.
        if self.preview_every_n_steps > 0:
            self.log_preview()

    @torch.no_grad()
    def log_preview(self) -> None:
        """Log photos (top row) and their stylisations (bottom row) as one TensorBoard image."""
        if not self.trainer.is_global_zero or self.logger is None:
            return
        experiment = getattr(self.logger, "experiment", None)
        datamodule = getattr(self.trainer, "datamodule", None)
        if not hasattr(experiment, "add_image") or not hasattr(datamodule, "preview_batch"):
            return
        import torchvision

        photos = datamodule.preview_batch().to(self.device)
        was_training = self.model.training
        self.model.eval()
        stylised = self.model(photos).float().clamp(0, 1)
        self.model.train(was_training)
        grid = torchvision.utils.make_grid(torch.cat([photos, stylised]), nrow=photos.shape[0], padding=2).cpu()
        experiment.add_image("preview/stylised", grid, global_step=self.global_step)
        # The same picture as a PNG beside the logs, for people without TensorBoard at hand.
        log_dir = getattr(self.logger, "log_dir", None)
        if log_dir:
            folder = Path(log_dir) / "previews"
            folder.mkdir(parents=True, exist_ok=True)
            torchvision.utils.save_image(grid, folder / f"step{self.global_step:07d}.png")

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # The frozen VGG is rebuilt from the config; keeping it out of checkpoints saves ~60 MB.
        state = checkpoint.get("state_dict", {})
        for key in [key for key in state if key.startswith(_LOSS_PREFIX)]:
            del state[key]

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Put this run's own (identical, frozen) VGG back, so that strict loading still checks
        # every key of the network: a missing or unexpected network weight is an error.
        state = checkpoint.get("state_dict", {})
        for key, value in self.state_dict().items():
            if key.startswith(_LOSS_PREFIX):
                state.setdefault(key, value)
