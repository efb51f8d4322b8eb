"""LightningModule that trains one network on several styles (conditional instance norm).

Dumoulin, Shlens & Kudlur, "A Learned Representation for Artistic Style", ICLR 2017: the
convolutions are shared, each style owns one γ, β row per norm layer, and each training batch
is one style's (its own Gram targets and weights), so a style's loss is exactly its
one-style loss. Styles take turns step by step (step ``t`` trains style ``t mod S``): every
style gets the same number of batches, also across a resume.

A new painting (Sec. 4 of the paper) is learned the same way with ``train_styles=[name]``:
only that style's γ, β rows change; the convolutions and every other style stay as they were.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from fast_style.errors import InvalidValueError
from fast_style.loss.perceptual import PerceptualLoss, PerceptualLossSettings, read_style_image
from fast_style.models.surgery import with_styles
from fast_style.train.module import StyleTransferModule, loss_settings


class MultiStyleTransferModule(StyleTransferModule):
    """Training of one multi-style TransformerNet.

    Args:
        style_name: the network's name (its checkpoint is ``checkpoints/<style_name>.pth``).
        styles: one entry per style, in row order: ``{"name", "image", "style_weight"}`` (what
            the training entry (:mod:`fast_style.train.prepare`) makes of ``styles=[candy, mosaic, ...]``).
        loss: the loss settings every style shares (:class:`PerceptualLossSettings` or the config's
            mapping); each style replaces its ``style_image`` and ``style_weight``.
        model: keyword arguments of :class:`TransformerNet` (``styles`` is set from ``styles``).
        init_from: the network to start from, a file or a zoo name (:func:`fast_style.zoo.resolve`, as
            distillation's ``init_from``; ``candy@styles15`` is the whole shared file), ``None``: random. Its
            convolutions and, per style of the same name, its γ, β; other rows start from the mean of its rows.
        train_styles: names whose γ, β rows are trained, with everything else frozen (a new
            style on a shared network); ``None`` trains the whole network.
        **kwargs: ``optimizer``, ``lr_schedule``, ``min_lr_ratio``, ``channels_last`` of
            :class:`StyleTransferModule`.

    Shapes:
        training batch: (B, 3, S, S) photos in [0, 1], all stylised in the step's style.
    """

    def __init__(
        self,
        style_name: str,
        styles: Sequence[Mapping[str, Any]],
        loss: PerceptualLossSettings | Mapping[str, Any],
        model: Mapping[str, Any] | None = None,
        init_from: str | None = None,
        train_styles: Sequence[str] | None = None,
        optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer] | None = None,
        **kwargs: Any,
    ) -> None:
        names, losses = _check_styles(styles, loss_settings(loss))
        if train_styles is not None:
            unknown = [name for name in train_styles if name not in names]
            if unknown or not train_styles:
                raise InvalidValueError(f"train_styles {list(train_styles)} must name styles of the network: "
                                        f"{', '.join(names)}")
            _check_no_weight_decay(optimizer)
        super().__init__(style_name, loss=losses[0], model={**dict(model or {}), "styles": names},
                         optimizer=optimizer, **kwargs)
        self.style_order = names
        encoder = self.loss_fn.encoder
        # One VGG for every style: the first style's loss built it; the others reuse it. The ModuleDict keeps the
        # "loss_fn." prefix, so checkpoints still leave the VGG and the Gram targets out (StyleTransferModule).
        self.loss_fn = nn.ModuleDict({names[0]: self.loss_fn})
        for name, loss in zip(names[1:], losses[1:]):
            self.loss_fn[name] = loss_on(encoder, loss)
        if init_from is not None:
            self._warm_start(init_from)
        self.train_styles = None if train_styles is None else list(train_styles)
        if self.train_styles is not None:
            self._freeze_all_but(self.train_styles)

    def style_of_step(self, step: int) -> str:
        """The style trained at global step ``step`` (round robin over the styles)."""
        return self.style_order[step % len(self.style_order)]

    def training_step(self, batch: Tensor, batch_idx: int) -> dict[str, Any]:
        name = self.style_of_step(self.global_step)
        return self.train_on(batch, self.loss_fn[name], style=name)

    def preview_rows(self, photos: Tensor) -> list[Tensor]:
        """One row of stylised ``photos`` (B, 3, H, W) per style (what the preview callback shows)."""
        return [self.model(photos, style=name) for name in self.style_order]

    def _warm_start(self, path: str) -> None:
        from fast_style import zoo
        from fast_style.checkpoint import model_from_checkpoint, read_checkpoint

        checkpoint = read_checkpoint(zoo.resolve(path).path)  # a file first, then a zoo name: one meaning
        source = model_from_checkpoint(checkpoint)
        # Where the weights came from, leg by leg: a long run continues over sittings from the committed
        # network, whose history this run extends; a one-style source is the first entry.
        self.history = list(checkpoint.meta.get("history") or [
            {"network": checkpoint.style, "styles": list(source.style_names) or [checkpoint.style],
             "steps": checkpoint.meta.get("global_step")}])
        ours, theirs = self.model.architecture_args, source.architecture_args
        if ours != theirs:
            raise InvalidValueError(f"init_from {path!r} is a {theirs} network; this run trains {ours}")
        started = with_styles(source, self.style_order)
        self.model.load_state_dict(started.state_dict())

    def _freeze_all_but(self, names: Sequence[str]) -> None:
        rows = torch.tensor([self.style_order.index(name) for name in names])
        mask = torch.zeros(len(self.style_order), 1)
        mask[rows] = 1.0
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)
        for norm in self.model.conditional_norms():
            for table in (norm.weight, norm.bias):
                table.requires_grad_(True)
                table.register_hook(lambda grad, mask=mask: grad * mask.to(grad.device, grad.dtype))


def _check_styles(styles: Sequence[Mapping[str, Any]],
                  loss: PerceptualLossSettings) -> tuple[list[str], list[PerceptualLossSettings]]:
    """The styles' names and each one's loss settings (the shared ``loss`` with its image and weight)."""
    if isinstance(styles, (str, Mapping)) or not styles or len(styles) < 2:
        raise InvalidValueError(f"a multi-style network trains two or more styles, got {styles!r} "
                                "(e.g. styles=[candy,mosaic,udnie])")
    names, losses = [], []
    for entry in styles:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str) or not entry.get("image"):
            raise InvalidValueError(f"each style is {{name, image, style_weight}}, got {entry!r}")
        names.append(entry["name"])
        losses.append(dataclasses.replace(loss, style_image=str(entry["image"]),
                                          style_weight=float(entry.get("style_weight", loss.style_weight))))
    if len(set(names)) != len(names):
        raise InvalidValueError(f"a style appears twice in {names}")
    return names, losses


def loss_on(encoder: nn.Module, loss: PerceptualLossSettings) -> PerceptualLoss:
    """A style's loss (``loss`` settings, its ``style_image`` included) on an existing VGG encoder: its Gram targets only."""
    return PerceptualLoss(encoder, read_style_image(loss.style_image), loss)


def _check_no_weight_decay(optimizer: Any) -> None:
    settings = getattr(optimizer, "keywords", None) or {}
    if float(settings.get("weight_decay") or 0.0) > 0.0:
        # Decoupled weight decay moves every parameter the optimiser holds, frozen rows included.
        raise InvalidValueError(f"train_styles needs an optimizer without weight decay, got weight_decay="
                                f"{settings['weight_decay']} (use optimizer=adam)")
