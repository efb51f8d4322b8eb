"""A painting's own network in minutes: the arbitrary network conditioned on the painting, folded, then trained.

Ghiasi et al. (BMVC 2017) predict a style embedding from a painting in one forward pass; the transform
network conditioned on it already paints the painting roughly (the *preview*). Folded
(:meth:`fast_style.models.arbitrary.ArbitraryStyleNet.fold`) it is an ordinary one-style TransformerNet, and
that is where this run starts: a few hundred Johnson et al. (2016) steps on the painting's own perceptual
loss then sharpen it. What is trained (``trained``):

- ``"all"``: every weight; the norm layers' γ, β at ``norm_lr_scale`` times the optimiser's learning rate;
- ``"norms"``: only γ, β (the convolutions stay the start's, bit for bit);
- ``"embedding"``: only the painting's E numbers, through the conditioned network (the γ, β stay on the
  predictor's affine maps); the folded network is kept in step, so every checkpoint is an ordinary one.

``widen`` > 1 first makes the folded network that many times wider with the same function (Net2Net,
:func:`fast_style.models.surgery.widen`): the start's picture, with the capacity of a wider network.

Which one pays within five minutes on two cores is measured in docs/notes/2026-12-06-new-style-from-arbitrary.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from fast_style.errors import InvalidValueError
from fast_style.models.surgery import fold_embedding
from fast_style.models.surgery import widen as widened
from fast_style.train.module import StyleTransferModule

TRAINED = ("all", "norms", "embedding")


def conditioned_start(init_from: str, painting: str, painting_size: int) -> tuple[nn.Module, Tensor]:
    """The conditioned transform network of an arbitrary-style network and the painting's embedding (1, E).

    Args:
        init_from: a zoo name (``arbitrary``) or a file of an arbitrary-style network.
        painting: a file or an asset name (``styles/candy.jpg``).
        painting_size: the side the painting is read at (:func:`fast_style.models.arbitrary.prepare_painting`).

    Raises:
        InvalidValueError: a network that is not an arbitrary-style one.
        UnknownStyleError, InputFileError: a network the zoo does not have.
    """
    from fast_style.assets import resolve_path_or_asset
    from fast_style.checkpoint import model_from_checkpoint, read_checkpoint
    from fast_style.models.arbitrary import ArbitraryStyleNet, prepare_painting
    from fast_style.train.prepare import network_file

    network = model_from_checkpoint(read_checkpoint(network_file(str(init_from))))
    if not isinstance(network, ArbitraryStyleNet):
        raise InvalidValueError(f"experiment=new_style starts from an arbitrary-style network (e.g. "
                                f"module.init_from=arbitrary); {init_from!r} is a {type(network).__name__}")
    with torch.no_grad():
        embedding = network.embed(prepare_painting(resolve_path_or_asset(painting), painting_size))
    return network.transformer, embedding


class NewStyleModule(StyleTransferModule):
    """Training of one painting's network from the arbitrary network conditioned on it.

    Args:
        style_name: the network's name.
        loss: the painting's loss settings (:func:`build_perceptual_loss` arguments); its ``style_image`` is
            also the painting the embedding is predicted from.
        init_from: the arbitrary-style network to start from, a zoo name or a file.
        trained: ``"all"``, ``"norms"`` or ``"embedding"`` (see the module docstring).
        norm_lr_scale: the γ, β learning rate (and with ``"embedding"`` the embedding's) as a multiple of the
            optimiser's.
        painting_size: the side the painting is read at for its embedding (256: the predictor's training size).
        widen: train a network this many times wider than the start (4: Johnson et al.'s width), grown
            with the start's function; 1: the start's own width.
        widen_noise: the relative noise that lets the widened copies of a channel learn apart.
        seed: the widening noise's seed.
        model: ignored (the network is the start's); accepted so that the training config's ``model`` group
            may stay.
        **kwargs: ``optimizer``, ``lr_schedule``, ``min_lr_ratio``, ``channels_last`` of
            :class:`StyleTransferModule`.

    Shapes:
        training batch: (B, 3, S, S) photos in [0, 1].
    """

    def __init__(self, style_name: str, loss: Mapping[str, Any], init_from: str = "arbitrary",
                 trained: str = "all", norm_lr_scale: float = 1.0, painting_size: int = 256,
                 widen: int = 1, widen_noise: float = 0.01, seed: int = 0,
                 model: Mapping[str, Any] | None = None,
                 optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer] | None = None,
                 **kwargs: Any) -> None:
        if trained not in TRAINED:
            raise InvalidValueError(f"unknown trained {trained!r}; allowed: {', '.join(TRAINED)}")
        if not float(norm_lr_scale) > 0.0:
            raise InvalidValueError(f"norm_lr_scale must be positive, got {norm_lr_scale!r}")
        if widen != 1 and trained == "embedding":
            raise InvalidValueError(f"widen={widen!r} needs trained=all or norms: a trained embedding conditions "
                                    "the start's own network")
        conditioned, embedding = conditioned_start(init_from, loss.get("style_image"), painting_size)
        folded = fold_embedding(conditioned, embedding)
        if widen != 1:
            folded = widened(folded, widen, noise=float(widen_noise), generator=torch.Generator().manual_seed(seed))
        super().__init__(style_name, loss=loss, model=folded.model_args, optimizer=optimizer, **kwargs)
        # The checkpoints' model_args are the folded network's, whatever the config's model group says.
        self.hparams["model"] = dict(folded.model_args)
        self.model.load_state_dict(folded.state_dict())
        self.trained = trained
        self.optimizer_factory = functools.partial(_scaled_optimizer, self.optimizer_factory)
        self.norm_lr_scale = float(norm_lr_scale)
        if trained == "embedding":
            self.conditioned = conditioned.requires_grad_(False)
            self.embedding = nn.Parameter(embedding.detach().clone())
            self.model.requires_grad_(False)
        elif trained == "norms":
            for parameter in self.model.parameters():
                parameter.requires_grad_(False)
            for parameter in _norm_parameters(self.model):
                parameter.requires_grad_(True)

    def stylise(self, batch: Tensor, style: str | None = None) -> Tensor:
        """The (B, 3, S, S) output; with ``trained="embedding"`` through the conditioned network."""
        if self.trained == "embedding":
            return self.conditioned(batch, embedding=self.embedding)
        return self.model(batch)

    def trainable_parameters(self) -> list[dict[str, Any]]:
        """The optimiser's parameter groups, each with its ``lr_scale`` (:func:`_scaled_optimizer`)."""
        if self.trained == "embedding":
            return [{"params": [self.embedding], "lr_scale": self.norm_lr_scale}]
        norms = _norm_parameters(self.model)
        groups = [{"params": norms, "lr_scale": self.norm_lr_scale}]
        if self.trained == "all":
            ids = {id(parameter) for parameter in norms}
            groups.append({"params": [p for p in self.model.parameters() if id(p) not in ids], "lr_scale": 1.0})
        return groups

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        # The folded network is what every checkpoint holds: with a trained embedding, fold it after each step.
        if self.trained == "embedding":
            with torch.no_grad():
                self.model.load_state_dict(fold_embedding(self.conditioned, self.embedding.detach()).state_dict())


def _norm_parameters(model: nn.Module) -> list[nn.Parameter]:
    """γ, β of every affine instance norm of a one-style network."""
    return [parameter for module in model.modules() if isinstance(module, nn.InstanceNorm2d) and module.affine
            for parameter in (module.weight, module.bias)]


def _scaled_optimizer(factory: Callable[[Iterable[Any]], torch.optim.Optimizer],
                      groups: Iterable[dict[str, Any]]) -> torch.optim.Optimizer:
    """``factory``'s optimiser on ``groups``, each group's learning rate times its ``lr_scale``."""
    optimizer = factory(groups)
    for group in optimizer.param_groups:
        group["lr"] *= group.pop("lr_scale", 1.0)
    return optimizer


__all__ = ["TRAINED", "NewStyleModule", "conditioned_start"]
