"""LightningModule that distils a trained style network into a smaller one.

The student learns the teacher's output on the training crops (Hinton, Vinyals & Dean,
"Distilling the Knowledge in a Neural Network", 2015, applied to an image-to-image network):
no VGG runs, so a step costs the teacher's forward pass and the student's forward and backward
passes, several times less than a step against the perceptual loss of Johnson et al. (2016).
The student is judged as its teacher is, by N* on the teacher's perceptual loss, which the
slim checkpoint records (the ``loss`` group is the teacher's).

A pixel distance lets the student learn the teacher's colours and shapes but blur its finest
strokes, which the Gram matrices of the style loss weigh heavily (mosaic's student after 2000
steps: style loss 14× the teacher's, N* 4 against 32). So the last ``perceptual_steps`` steps
train against the teacher's own perceptual loss (Johnson et al. 2016), starting from the
distilled network: the VGG then runs, but only for those steps. That loss also rewards a fixed
2-pixel grain that a space-to-depth head can paint (its Gram energy is cheap), so at the end of a
run the head's 2×2 block phases are re-centred (:func:`fast_style.models.surgery.recenter_block_phases`).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fast_style.errors import InvalidValueError
from fast_style.infer.fast_forward import FastTransformerNet
from fast_style.loss.perceptual import PerceptualLossSettings, build_perceptual_loss
from fast_style.models.surgery import recenter_block_phases
from fast_style.train.module import StyleTransferModule

PIXEL_LOSSES = ("l1", "mse")
# Training batches whose mean pre-activations re-centre the head's block phases (4 crops each).
RECENTER_BATCHES = 16
log = logging.getLogger(__name__)


class DistillationLoss(nn.Module):
    """Distance of the student's output to the frozen teacher's on the same photos.

    Args:
        teacher: a one-style TransformerNet (kept frozen, float32 and in eval mode).
        pixel_loss: ``"l1"`` (mean absolute difference, sharper edges) or ``"mse"``.
        edge_weight: weight of the same distance between the images' horizontal and vertical
            differences (their edges and strokes), which a pixel distance alone lets blur.
        perceptual: the teacher's perceptual loss, for the fine-tuning steps (kept here so that its
            frozen VGG stays out of checkpoints with the rest of the loss), or ``None``.

    Shapes:
        forward: stylised (B, 3, H, W), photos (B, 3, H, W) → ``{"pixel", "edge", "total"}`` scalars.
    """

    def __init__(self, teacher: nn.Module, pixel_loss: str = "l1", edge_weight: float = 0.0,
                 perceptual: nn.Module | None = None) -> None:
        super().__init__()
        if pixel_loss not in PIXEL_LOSSES:
            raise InvalidValueError(f"unknown pixel_loss {pixel_loss!r}; allowed: {', '.join(PIXEL_LOSSES)}")
        if isinstance(edge_weight, bool) or not isinstance(edge_weight, (int, float)) or not edge_weight >= 0:
            raise InvalidValueError(f"edge_weight must be a number >= 0, got {edge_weight!r}")
        self.edge_weight = float(edge_weight)
        self.teacher = teacher.eval().requires_grad_(False)
        self.fast_teacher = FastTransformerNet(self.teacher)
        self.pixel_loss = pixel_loss
        self.perceptual = perceptual

    def train(self, mode: bool = True) -> DistillationLoss:
        # The teacher is an inference network whatever the trainer switches the module to.
        super().train(mode)
        self.teacher.eval()
        return self

    def target(self, photos: Tensor) -> Tensor:
        """The teacher's (B, 3, H, W) output, float32, without autograd (the fast engine's exact forward)."""
        with torch.autocast(photos.device.type, enabled=False):
            # A clone outside inference mode: a normal tensor autograd may save for the backward pass.
            return self.fast_teacher(photos.float()).clone()

    def forward(self, stylised: Tensor, photos: Tensor) -> dict[str, Tensor]:
        target = self.target(photos)
        stylised = stylised.float()
        distance = F.l1_loss if self.pixel_loss == "l1" else F.mse_loss
        pixel = distance(stylised, target)
        edge = pixel.new_zeros(())
        if self.edge_weight > 0:
            edge = self.edge_weight * sum(distance(torch.diff(stylised, dim=dim), torch.diff(target, dim=dim))
                                          for dim in (-1, -2))
        return {"pixel": pixel, "edge": edge, "total": pixel + edge}


class DistillationModule(StyleTransferModule):
    """Training of a (small) student network on a trained teacher's outputs.

    Args:
        style_name: the student's name (its checkpoint is ``checkpoints/<style_name>.pth``), e.g. ``candy-small``.
        teacher: the teacher: a zoo name (``candy``, ``candy@styles15``) or a network file.
        loss: the teacher's perceptual-loss settings: not trained against, but recorded in the
            checkpoint, so that N* judges the student on the teacher's loss.
        model: keyword arguments of the student's :class:`TransformerNet`.
        pixel_loss, edge_weight: the distance to the teacher (:class:`DistillationLoss`).
        perceptual_steps: the last this many steps of the run train against ``loss`` instead (0: none).
        init_from: a network file of the student's layout to start from (e.g. an earlier student), or ``None``.
        recenter_phases: at the end of the run, re-centre a space-to-depth head's 2×2 block phases on
            :data:`RECENTER_BATCHES` training batches (removes a fixed grain; no-op for other heads).
        **kwargs: ``optimizer``, ``lr_schedule``, ``min_lr_ratio``, ``channels_last`` of
            :class:`StyleTransferModule`.

    Shapes:
        training batch: (B, 3, S, S) photos in [0, 1].
    """

    def __init__(
        self,
        style_name: str,
        teacher: str,
        loss: PerceptualLossSettings | Mapping[str, Any],
        model: Mapping[str, Any] | None = None,
        pixel_loss: str = "l1",
        edge_weight: float = 0.0,
        perceptual_steps: int = 0,
        init_from: str | None = None,
        recenter_phases: bool = False,
        optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer] | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(teacher, str) or not teacher:
            raise InvalidValueError(f"teacher must name a network (a zoo name or a file), got {teacher!r}")
        if pixel_loss not in PIXEL_LOSSES:
            raise InvalidValueError(f"unknown pixel_loss {pixel_loss!r}; allowed: {', '.join(PIXEL_LOSSES)}")
        if isinstance(perceptual_steps, bool) or not isinstance(perceptual_steps, int) or perceptual_steps < 0:
            raise InvalidValueError(f"perceptual_steps must be a whole number >= 0, got {perceptual_steps!r}")
        self._teacher_spec, self._pixel_loss, self._edge_weight = teacher, pixel_loss, edge_weight
        self.perceptual_steps, self.recenter_phases = perceptual_steps, bool(recenter_phases)
        super().__init__(style_name, loss=loss, model=model, optimizer=optimizer, **kwargs)
        if init_from is not None:
            self._start_from(init_from, style_name)

    def build_loss(self, loss: PerceptualLossSettings) -> nn.Module:
        from fast_style import zoo

        perceptual = build_perceptual_loss(**loss.as_dict()) if self.perceptual_steps else None
        # A style of a shared network comes folded into a one-style network (zoo.load), as for inference.
        return DistillationLoss(zoo.load(self._teacher_spec), self._pixel_loss, self._edge_weight, perceptual)

    def _start_from(self, path: str, style_name: str) -> None:
        """Load a network of the student's layout (a name the zoo resolves or a file) into the student."""
        from fast_style import zoo
        from fast_style.checkpoint import read_checkpoint

        resolved = zoo.resolve(path)
        start = zoo.load(resolved)
        if start.model_args != self.model.model_args:
            raise InvalidValueError(f"init_from {path!r} has the layout {start.model_args}; this run trains "
                                    f"{self.model.model_args} (model=...)")
        self.model.load_state_dict(start.state_dict())
        # The legs this student was trained in (as a multi-style run records them), so that --list-styles
        # counts the distillation and the fine-tune together; a start without a history is the first leg.
        meta = read_checkpoint(resolved.path).meta
        self.style_order = [style_name]
        self.history = list(meta.get("history") or [
            {"network": start.style_name, "styles": [start.style_name], "steps": meta.get("global_step")}])

    def on_fit_end(self) -> None:
        if not (self.recenter_phases and self.model.space_to_depth):
            return
        batches = itertools.islice(self.trainer.datamodule.train_dataloader(), RECENTER_BATCHES)
        shift = recenter_block_phases(self.model, (batch.to(self.device) for batch in batches))
        log.info("re-centred the head's 2x2 block phases: largest shift %.3f (pre-activation)", shift.abs().max())

    def fine_tuning(self) -> bool:
        """Whether this step belongs to the last ``perceptual_steps``, against the teacher's perceptual loss."""
        return bool(self.perceptual_steps) and self.global_step >= int(self.trainer.max_steps) - self.perceptual_steps

    def training_step(self, batch: Tensor, batch_idx: int) -> dict[str, Any]:
        return self.train_on(batch, self.loss_fn.perceptual if self.fine_tuning() else self.loss_fn)


__all__ = ["PIXEL_LOSSES", "RECENTER_BATCHES", "DistillationLoss", "DistillationModule"]
