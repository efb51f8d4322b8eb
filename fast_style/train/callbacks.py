"""Lightning callbacks of a training run: stop at the first divergence, keep the last good checkpoint, show previews.

A run whose loss turns NaN/inf keeps going and, without a guard, ends with a network of NaN
weights that stylises every photo to black. The guard stops the run at the first non-finite loss
term or gradient, names the step, the term and what to try, and makes sure that no checkpoint
taken after the divergence replaces the last good one. :class:`PreviewImages` shows what the
network makes of a few fixed photos as training goes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from fast_style.atomic import WriteError
from fast_style.errors import EXIT_PARTIAL, FastStyleError, InvalidValueError
from fast_style.loss.perceptual import LOSS_TERMS

ADVICE = "try a lower optimizer.lr (e.g. half), a smaller style.style_weight, or model.output_activation=sigmoid"


class TrainingDivergedError(FastStyleError, FloatingPointError):
    """The loss or the gradients stopped being finite; the message names the step and the term."""

    exit_code = EXIT_PARTIAL  # the run started and trained; it stopped, writing no model


class DivergenceGuard(Callback):
    """Raise :class:`TrainingDivergedError` at the first non-finite loss term or gradient.

    Loss terms are checked after every training step (``training_step`` returns them in
    ``outputs["terms"]``); gradients before every optimiser step, except under ``16-mixed``
    precision, whose gradient scaler expects and skips overflowing steps by design.
    """

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        terms = outputs.get("terms", {}) if isinstance(outputs, dict) else {}
        for name in LOSS_TERMS:
            value = terms.get(name)
            if value is not None and not torch.isfinite(value).all():
                raise TrainingDivergedError(
                    f"training diverged at step {trainer.global_step}: the {name} loss is {float(value)}; {ADVICE}"
                )

    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: Any) -> None:
        if str(trainer.precision) == "16-mixed":
            return
        for name, parameter in pl_module.named_parameters():
            if parameter.grad is not None and not torch.isfinite(parameter.grad).all():
                raise TrainingDivergedError(
                    f"training diverged at step {trainer.global_step + 1}: the gradient of {name} is not finite; "
                    f"{ADVICE}"
                )


class ResumableOnException(Callback):
    """A resumable checkpoint when a run stops on an exception (Ctrl-C, a crash), never one that destroys another.

    The file is ``<dirpath>/<filename>_step<N>.ckpt`` for the step reached, so a second stop
    (say, a failed resume) never replaces the first; nothing is written when the step's file
    already exists, when nothing was trained or restored yet (step 0: a bad ``ckpt_path``, a
    crash during set-up), or after a divergence (the periodic checkpoint taken before it stays
    the one to resume from).

    Args:
        dirpath: folder of the checkpoint (the run's ``lightning_checkpoints``).
        filename: stem of the file name, before ``_step<N>.ckpt``.
    """

    def __init__(self, dirpath: str | os.PathLike, filename: str = "on_exception") -> None:
        super().__init__()
        if not filename or Path(filename).name != filename:
            raise InvalidValueError(f"on_exception filename must be a plain file name, got {filename!r}")
        self.dirpath = Path(dirpath)
        self.filename = filename

    def checkpoint_path(self, step: int) -> Path:
        """Where the checkpoint of a stop at ``step`` goes."""
        return self.dirpath / f"{self.filename}_step{step:07d}.ckpt"

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, (TrainingDivergedError, WriteError)) or trainer.global_step == 0:
            return  # (a full disk: another save would fail too, and hide which file could not be written)
        path = self.checkpoint_path(trainer.global_step)
        if not path.exists():
            trainer.save_checkpoint(path)


class PreviewImages(Callback):
    """Log fixed photos (top row) and their stylisations (a row per style) as one TensorBoard image.

    At step 1 (a first look within seconds), every ``every_n_steps`` steps, and at the end of
    training whatever ``max_steps`` was. The photos are the datamodule's ``preview_photos``
    (built in its ``setup``); the same grid is written as ``previews/step<N>.png`` in the
    TensorBoard logger's folder, for people without TensorBoard at hand. Only the global-zero
    process logs; without a logger that takes images, or without preview photos, nothing happens.

    Args:
        every_n_steps: steps between previews; 0 disables them.

    Shapes:
        logged grid: (3, (R + 1) * (S + 2) + 2, N * (S + 2) + 2) for N preview photos of side S and R styles.
    """

    def __init__(self, every_n_steps: int = 100) -> None:
        super().__init__()
        if int(every_n_steps) < 0:
            raise InvalidValueError(f"every_n_steps must be >= 0 (0: never), got {every_n_steps}")
        self.every_n_steps = int(every_n_steps)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        step = trainer.global_step
        if self.every_n_steps > 0 and (step == 1 or step % self.every_n_steps == 0):
            self.log_preview(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.every_n_steps > 0:
            self.log_preview(trainer, pl_module)

    @torch.no_grad()
    def log_preview(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Stylise the preview photos with ``pl_module`` and log the grid at the current step."""
        if not trainer.is_global_zero:
            return
        loggers = [logger for logger in trainer.loggers if hasattr(getattr(logger, "experiment", None), "add_image")]
        photos = getattr(trainer.datamodule, "preview_photos", None)
        if not loggers or photos is None:
            return
        import torchvision

        photos = photos.to(pl_module.device)
        # Only the network changes mode (instance/batch norm); the frozen VGG is not involved.
        network = getattr(pl_module, "model", pl_module)
        was_training = network.training
        network.eval()
        # A multi-style module shows one row per style; a one-style network one row.
        rows = pl_module.preview_rows(photos) if hasattr(pl_module, "preview_rows") else [network(photos)]
        network.train(was_training)
        stylised = [row.float().clamp(0, 1) for row in rows]
        grid = torchvision.utils.make_grid(torch.cat([photos, *stylised]), nrow=photos.shape[0], padding=2).cpu()
        for logger in loggers:
            logger.experiment.add_image("preview/stylised", grid, global_step=trainer.global_step)
        log_dir = getattr(loggers[0], "log_dir", None)
        if log_dir:
            folder = Path(log_dir) / "previews"
            folder.mkdir(parents=True, exist_ok=True)
            torchvision.utils.save_image(grid, folder / f"step{trainer.global_step:07d}.png")
