"""LightningModule that trains one TransformerNet for one style.

Johnson, Alahi & Fei-Fei, ECCV 2016, Sec. 4.2: Adam (lr 1e-3), batch 4, 256×256 crops of
COCO, 40k iterations; the loss network is a frozen VGG16.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from fast_style.errors import InvalidValueError
from fast_style.loss.perceptual import PerceptualLossSettings, build_perceptual_loss
from fast_style.models import build_network

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
        loss: the loss settings (:class:`~fast_style.loss.perceptual.PerceptualLossSettings`, or the
            config's mapping of them, converted once here), ``style_image`` (a path or an asset name
            such as ``"styles/starry_night.jpg"``) included.
        model: keyword arguments of :class:`TransformerNet` (or, with ``family``, of the class it names).
        optimizer: called with the network's parameters, returns the optimiser (e.g.
            ``functools.partial(torch.optim.AdamW, lr=5e-4)``, what a ``_partial_`` config gives);
            default: Adam at lr 1e-3 (Johnson et al.). Its learning rate is the peak of a schedule.
        lr_schedule: ``"constant"`` (Johnson et al.) or ``"cosine"``: half a cosine from the
            optimiser's learning rate down to ``min_lr_ratio`` of it over the trainer's ``max_steps``.
            On a short CPU budget the decay lets the last steps settle instead of jittering at the peak rate.
        min_lr_ratio: the cosine schedule's final learning rate as a fraction of the peak.
        channels_last: run the network and VGG in channels-last memory format (faster
            convolutions with cuDNN/oneDNN on tensor cores; measured by bench_train.py).

    Shapes:
        training batch: (B, 3, S, S) photos in [0, 1].
    """

    def __init__(
        self,
        style_name: str,
        loss: PerceptualLossSettings | Mapping[str, Any],
        model: Mapping[str, Any] | None = None,
        optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer] | None = None,
        lr_schedule: str = "constant",
        min_lr_ratio: float = 0.05,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        if lr_schedule not in LR_SCHEDULES:
            raise InvalidValueError(f"unknown lr_schedule {lr_schedule!r}; allowed: {', '.join(LR_SCHEDULES)}")
        if not 0.0 <= min_lr_ratio <= 1.0:
            raise InvalidValueError(f"min_lr_ratio must be in [0, 1], got {min_lr_ratio}")
        if optimizer is not None and not callable(optimizer):
            raise InvalidValueError(
                f"optimizer must be a callable taking the parameters (a _partial_ config), got {optimizer!r}")
        if optimizer is not None:
            _check_optimizer(optimizer)
        # The optimiser factory is code, not data: checkpoints are read with weights_only=True, and the
        # composed config in the slim checkpoint already says which optimiser it was.
        self.save_hyperparameters(ignore=["optimizer"])
        if isinstance(self.hparams.get("loss"), PerceptualLossSettings):
            # Plain containers (a mapping from the config is kept as given): checkpoints are read with weights_only.
            self.hparams["loss"] = self.hparams["loss"].as_dict()
        self.loss_settings = loss_settings(loss)
        if self.loss_settings.style_image is not None:
            # Also at the top level, where fast_style.checkpoint.read_checkpoint looks for a Lightning
            # checkpoint's style image (and so rebuilds its loss).
            self.hparams["style_image"] = self.loss_settings.style_image
        # Where a subclass's runs started from and what they trained (the network card's lineage, run.py):
        # a one-style run has no earlier legs and trains its one style.
        self.history: list[dict[str, Any]] = []
        self.style_order: list[str] = [style_name]
        self.model = self.build_network(dict(model or {}))
        self.loss_fn = self.build_loss(self.loss_settings)
        self.optimizer_factory = optimizer or functools.partial(torch.optim.Adam, lr=1e-3)
        self.lr_schedule = lr_schedule
        self.min_lr_ratio = float(min_lr_ratio)
        self.channels_last = bool(channels_last)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
            self.loss_fn.to(memory_format=torch.channels_last)

    def build_network(self, model: Mapping[str, Any]) -> nn.Module:
        """The network trained, from the ``model`` settings: a TransformerNet, or the family ``model.family`` names
        (:func:`fast_style.models.build_network`, as a checkpoint's ``model_args`` are read)."""
        return build_network(model)

    def build_loss(self, loss: PerceptualLossSettings) -> nn.Module:
        """The training loss from the ``loss`` settings: the perceptual loss (a subclass may train against another).

        It is called with ``(stylised, photos)`` and returns a dict of scalar terms with ``"total"``.
        """
        return build_perceptual_loss(**loss.as_dict())

    def forward(self, images: Tensor) -> Tensor:
        """Stylise (B, 3, H, W) images in [0, 1]."""
        return self.model(images)

    def training_step(self, batch: Tensor, batch_idx: int) -> dict[str, Any]:
        return self.train_on(batch, self.loss_fn)

    def train_on(self, batch: Tensor, loss_fn: nn.Module, style: str | None = None) -> dict[str, Any]:
        """One step on ``batch`` (B, 3, S, S) against ``loss_fn``, in ``style`` for a multi-style network.

        Logs ``train/<term>``, and with a style also ``train_<style>/<term>``.
        """
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        terms = loss_fn(self.stylise(batch, style), batch)
        prefixes = ["train"] if style is None else ["train", f"train_{style}"]
        self.log_dict(
            {f"{prefix}/{name}": value.detach() for prefix in prefixes for name, value in terms.items()},
            on_step=True,
            on_epoch=False,
            batch_size=batch.shape[0],
        )
        self.log("loss", terms["total"].detach(), prog_bar=True, logger=False, batch_size=batch.shape[0])
        # The terms travel to callbacks (the divergence guard names the one that broke).
        return {"loss": terms["total"], "terms": {name: value.detach() for name, value in terms.items()}}

    def stylise(self, batch: Tensor, style: str | None = None) -> Tensor:
        """The network's (B, 3, S, S) output for a training batch, in ``style`` for a multi-style network."""
        return self.model(batch) if style is None else self.model(batch, style=style)

    def trainable_parameters(self) -> list[nn.Parameter]:
        """What the optimiser updates: the network's parameters that require a gradient (a subclass freezes
        parts with ``requires_grad_(False)``: the multi-style run's shared layers, the arbitrary run's predictor)."""
        return [parameter for parameter in self.model.parameters() if parameter.requires_grad]

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.trainable_parameters())
        if self.lr_schedule == "constant":
            return optimizer
        total = max(1, int(self.trainer.max_steps))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: cosine_factor(step, total, self.min_lr_ratio)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

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


def loss_settings(loss: PerceptualLossSettings | Mapping[str, Any]) -> PerceptualLossSettings:
    """``loss`` as :class:`PerceptualLossSettings`: a training config's ``loss`` mapping is converted (once, here).

    Raises:
        InvalidValueError: an unknown setting or a value out of range (the message names it).
    """
    return loss if isinstance(loss, PerceptualLossSettings) else PerceptualLossSettings.from_mapping(loss)


def _check_optimizer(optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]) -> None:
    """Build the optimiser once on a dummy parameter: a bad ``optimizer.lr=abc`` fails here, in one line, not at step 0."""
    try:
        optimizer([nn.Parameter(torch.zeros(1))])
    except (TypeError, ValueError) as error:
        settings = getattr(optimizer, "keywords", None) or {}
        raise InvalidValueError(f"the optimizer settings {settings} are not usable: {error} "
                                "(e.g. optimizer.lr=1e-3)") from error

