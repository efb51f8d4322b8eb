"""LightningModule that trains the arbitrary-style network: any painting as a style (Ghiasi et al., BMVC 2017).

Ghiasi, Lee, Kudlur, Dumoulin & Shlens, "Exploring the structure of a real-time, arbitrary neural
artistic stylization network" (BMVC 2017), Sec. 3: the style-prediction network reads a painting into
an embedding, the transform network's conditional instance norms take their γ, β from it, and both
are trained together against the perceptual loss of Johnson et al. (2016) on that painting. Each
step here is a batch of photos and one painting, in a fixed shuffled order over the training
paintings (:func:`fast_style.heldout.training_paintings`: the held-out ones never seen); a painting's
Gram targets are computed the first time it comes round and kept (one VGG pass per painting per run).
The paper's scale (80 k paintings, millions of steps) needs ``trainer=gpu``; on a CPU the recipe runs
as a fine-tune of the imported network (``module.init_from=arbitrary``) or a seconds-long test.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from fast_style.assets import resolve_asset, resolve_path_or_asset
from fast_style.errors import InvalidValueError
from fast_style.heldout import HELD_OUT_PAINTINGS, training_paintings
from fast_style.loss.perceptual import PerceptualLoss, PerceptualLossSettings
from fast_style.models.arbitrary import FAMILY, PAINTING_SIZE, ArbitraryStyleNet, prepare_painting
from fast_style.train.module import StyleTransferModule
from fast_style.train.multistyle import loss_on


class ArbitraryStyleModule(StyleTransferModule):
    """Training of :class:`ArbitraryStyleNet` (predictor and transform network) on many paintings.

    Args:
        style_name: the network's name (its checkpoint is ``checkpoints/<style_name>.pth``).
        loss: the perceptual-loss settings every painting shares (:class:`PerceptualLossSettings` or the
            config's mapping); each painting replaces ``style_image``.
        paintings: folders of paintings (asset names such as ``paintings`` or paths); held-out ones are left out.
        model: keyword arguments of :class:`ArbitraryStyleNet` (width, residual blocks, embedding length).
        painting_size: the side of the centre square the predictor reads (256 in the paper).
        init_from: a network to start from (a zoo name such as ``arbitrary``, or a file), or ``None``: random.
        preview_paintings: how many held-out paintings the preview rows show.
        train_predictor: whether the style predictor learns too (the paper trains both). ``False`` trains the
            transform network and its γ, β maps only: a fine-tune on the mirror's few hundred paintings cannot
            re-teach a predictor that Magenta trained on 80 000, and training it made unseen paintings worse
            (docs/notes/2026-12-06-arbitrary-fine-tune.md).
        seed: the order of the paintings (a fixed shuffle, so a resumed run continues it).
        kwargs: as :class:`StyleTransferModule` (optimiser, schedule, channels-last).

    Shapes:
        training batch: (B, 3, S, S) photos in [0, 1]; a painting (1, 3, painting_size, painting_size).
    """

    def __init__(self, style_name: str, loss: PerceptualLossSettings | Mapping[str, Any], paintings: Sequence[str],
                 model: Mapping[str, Any] | None = None, painting_size: int = 256, init_from: str | None = None,
                 preview_paintings: int = 3, train_predictor: bool = True, seed: int = 0, **kwargs: Any) -> None:
        if isinstance(paintings, str) or not paintings:
            raise InvalidValueError(f"paintings must be a list of folders, e.g. [paintings, styles], got {paintings!r}")
        if isinstance(painting_size, bool) or not isinstance(painting_size, int) or painting_size < 32:
            raise InvalidValueError(f"painting_size must be a whole number of pixels >= 32, got {painting_size!r}")
        if not isinstance(train_predictor, bool):
            raise InvalidValueError(f"train_predictor must be true or false, got {train_predictor!r}")
        self._init_from = init_from
        self.train_predictor = train_predictor
        super().__init__(style_name, loss=loss, model=model, **kwargs)
        folders = [resolve_path_or_asset(folder) for folder in paintings]
        self.paintings = training_paintings(folders)
        random.Random(seed).shuffle(self.paintings)
        self.painting_size = painting_size
        self.preview_set = _held_out_in(folders)[: max(0, int(preview_paintings))]
        # Each painting's loss (its Gram targets), built when it first comes round; the VGG is the shared one.
        self._losses: dict[Path, PerceptualLoss] = {}
        self._embedding: Tensor | None = None
        self.named_paintings = _named_paintings(self.model.style_names)
        self.model.predictor.requires_grad_(train_predictor)

    def build_network(self, model: Mapping[str, Any]) -> nn.Module:
        ours = super().build_network(model)
        if not isinstance(ours, ArbitraryStyleNet):  # the family is stated in the config, model=arbitrary
            raise InvalidValueError(f"experiment=arbitrary trains the {FAMILY!r} family (model=arbitrary), got {model}")
        if self._init_from is None:
            return ours
        from fast_style.checkpoint import model_from_checkpoint, read_checkpoint
        from fast_style.train.prepare import network_file

        start = model_from_checkpoint(read_checkpoint(network_file(str(self._init_from))))
        theirs = getattr(start, "architecture_args", None)
        if not isinstance(start, ArbitraryStyleNet) or theirs != ours.architecture_args:
            raise InvalidValueError(f"init_from {self._init_from!r} is a {type(start).__name__} {theirs or start.model_args}; "
                                    f"this run trains an ArbitraryStyleNet {ours.architecture_args} (model.*=...)")
        return start.train()

    def painting_of_step(self, step: int) -> Path:
        """The painting trained at global step ``step`` (the shuffled list, round and round)."""
        return self.paintings[step % len(self.paintings)]

    def loss_for(self, painting: Path) -> PerceptualLoss:
        """The perceptual loss against ``painting``: its Gram targets computed once, on the shared VGG."""
        if painting not in self._losses:
            settings = dataclasses.replace(self.loss_settings, style_image=str(painting))
            self._losses[painting] = loss_on(self.loss_fn.encoder, settings)
        return self._losses[painting]

    def embed(self, painting: Path) -> Tensor:
        """The (1, E) embedding of ``painting`` as the predictor reads it (gradients flow into the predictor)."""
        return self.model.embed(prepare_painting(painting, self.painting_size).to(self.device))

    def training_step(self, batch: Tensor, batch_idx: int) -> dict[str, Any]:
        painting = self.painting_of_step(self.global_step)
        self._embedding = self.embed(painting)
        return self.train_on(batch, self.loss_for(painting))

    def stylise(self, batch: Tensor, style: str | None = None) -> Tensor:
        return self.model(batch, self._embedding)

    def on_fit_end(self) -> None:
        if not self.train_predictor:  # the stored embeddings came from this very predictor: still valid
            return
        # The named styles a started-from network stores (mondrian@arbitrary) are embeddings of its predictor:
        # once the predictor has learnt, they are recomputed with it, as scripts/import_magenta.py made them.
        if self.named_paintings:
            with torch.no_grad():
                table = {name: self.model.embed(prepare_painting(path, PAINTING_SIZE).to(self.device))[0]
                         for name, path in self.named_paintings.items()}
            self.model = self.model.with_styles(table)

    def preview_rows(self, photos: Tensor) -> list[Tensor]:
        """One row per held-out painting: what the network makes of paintings it never trains on."""
        with torch.no_grad():
            return [self.model(photos, self.embed(painting)) for painting in self.preview_set]


def _named_paintings(names: Sequence[str]) -> dict[str, Path]:
    """The mirror's painting of each named style (``styles/<name>.*``), found before training, not after it.

    Raises:
        InvalidValueError: a stored style without its painting, whose embedding could not be recomputed.
    """
    if not names:
        return {}
    folder = resolve_asset("styles")
    found = {path.stem: path for path in sorted(folder.iterdir())}
    missing = [name for name in names if name not in found]
    if missing:
        raise InvalidValueError(f"the network stores the styles {missing}, whose paintings are not in {str(folder)!r}: "
                                "their embeddings could not be recomputed after training")
    return {name: found[name] for name in names}


def _held_out_in(folders: Sequence[Path]) -> list[Path]:
    """The held-out paintings (:data:`fast_style.heldout.HELD_OUT_PAINTINGS`) found in ``folders``, in that order."""
    found = {"/".join(path.parts[-2:]): path for folder in folders for path in sorted(Path(folder).iterdir())}
    return [found[name] for name in HELD_OUT_PAINTINGS if name in found]


__all__ = ["ArbitraryStyleModule"]
