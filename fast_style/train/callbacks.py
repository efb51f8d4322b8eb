"""Lightning callbacks of a training run: stop at the first divergence, keep the last good checkpoint.

A run whose loss turns NaN/inf keeps going and, without a guard, ends with a network of NaN
weights that stylises every photo to black. The guard stops the run at the first non-finite loss
term or gradient, names the step, the term and what to try, and makes sure that no checkpoint
taken after the divergence replaces the last good one.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, OnExceptionCheckpoint

from fast_style.loss.perceptual import LOSS_TERMS

ADVICE = "try a lower optim.lr (e.g. half), a smaller style.style_weight, or model.output_activation=sigmoid"


class TrainingDivergedError(FloatingPointError):
    """The loss or the gradients stopped being finite; the message names the step and the term."""


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


class ResumableOnException(OnExceptionCheckpoint):
    """Lightning's on-exception checkpoint, except after a divergence.

    An interrupted or crashed run leaves ``on_exception.ckpt`` to resume from; a diverged run
    does not, so the periodic checkpoint taken before the divergence stays the one to resume from.
    """

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, TrainingDivergedError):
            return
        super().on_exception(trainer, pl_module, exception)
