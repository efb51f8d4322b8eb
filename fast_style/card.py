"""The network card: what a checkpoint says about its network, typed and versioned.

A checkpoint of format ``fast_style.network/2`` is a plain dict that
``torch.load(path, weights_only=True)`` reads without an allow-list::

    {
        "format": "fast_style.network/2",
        "model_args": {"width": 32, ...},        # the layout the loader trusts (bounded on reading)
        "state_dict": {...},                     # the weights
        "style": "candy",                        # the network's own style name
        "styles": [{"name": "candy", "image": "styles/candy.jpg", "style_weight": 10.0}],
        "loss": {...},                           # PerceptualLossSettings.as_dict(), or None
        "lineage": {"started_from": ..., "distilled_from": ..., "legs": [{"styles": [...], "steps": ...}]},
        "training": {"steps": ..., "crop": ..., "batch": ..., "precision": ..., "machine": ..., ...},
        "zoo": {"dtype": "float16", "note": "..."} or None,
        "config": {...},                         # the full training config, for the record only: never read
    }

:class:`NetworkCard` is that dict, typed: it is written explicitly at save time
(:func:`fast_style.checkpoint.save_inference_checkpoint`) and read back by
:func:`fast_style.checkpoint.read_checkpoint`. A ``fast_style.inference/1`` file (every zoo file
before the card, users' own files) is converted in memory by :meth:`NetworkCard.from_record`,
the only code that reads the training config's layout.

Pure Python and the loss settings: no torch module, no Lightning, no Hydra.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fast_style.errors import InvalidValueError
from fast_style.loss.perceptual import PerceptualLossSettings

CARD_FORMAT = "fast_style.network/2"
LEGACY_FORMAT = "fast_style.inference/1"
ARBITRARY_FAMILY = "arbitrary"  # fast_style.models.arbitrary.FAMILY (this module imports no model)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class StyleEntry:
    """One style a network was trained on: its name, painting and style weight (``None``: not recorded)."""

    name: str
    image: str | None = None
    style_weight: float | None = None


@dataclass(frozen=True)
class Leg:
    """One training run of a network's lineage: the styles it trained, for how many steps, from what.

    Attributes:
        styles: the styles trained in this leg.
        steps: optimiser steps of the leg (``None``: not recorded).
        network: the network the leg trained, where it differs from the file's (the first leg of a
            multi-style network warm-started from a one-style one).
        init_from: what the leg started from (a zoo name or a file), ``None`` for random weights.
        machine: where it ran.
    """

    styles: tuple[str, ...]
    steps: int | None = None
    network: str | None = None
    init_from: str | None = None
    machine: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain containers (``styles`` a list), the form a checkpoint stores."""
        return {**dataclasses.asdict(self), "styles": list(self.styles)}

    @classmethod
    def from_mapping(cls, leg: Any) -> Leg:
        """A leg from :meth:`as_dict`'s form (missing entries ``None``).

        Raises:
            InvalidValueError: ``leg`` is not a mapping.
        """
        leg = _mapping(leg, "lineage.legs[]")
        return cls(tuple(str(style) for style in leg.get("styles") or ()), _count(leg.get("steps")),
                   _text(leg.get("network")), _text(leg.get("init_from")), _text(leg.get("machine")))


@dataclass(frozen=True)
class Lineage:
    """Where a network's weights came from.

    Attributes:
        started_from: what the last run's weights started from (``init_from``), or ``None``.
        distilled_from: the teacher a distilled network learned from (a zoo spec), or ``None``.
        legs: every training run, oldest first.
    """

    started_from: str | None = None
    distilled_from: str | None = None
    legs: tuple[Leg, ...] = ()


@dataclass(frozen=True)
class TrainingSummary:
    """How the last training run went (every field ``None``/empty where the file does not say).

    Attributes:
        steps: optimiser steps of the run that wrote the file.
        crop: side of the training crops, pixels.
        batch: photos per step.
        precision: Lightning's precision (``"32-true"``, ``"bf16-mixed"``).
        machine: the CPU or GPU it ran on.
        final_losses: the last logged ``train/*`` losses.
        fast_style_version: the version that wrote the file.
    """

    steps: int | None = None
    crop: int | None = None
    batch: int | None = None
    precision: str | None = None
    machine: str | None = None
    final_losses: dict[str, float] = field(default_factory=dict)
    fast_style_version: str | None = None


@dataclass(frozen=True)
class ZooNote:
    """How a network joined the zoo (:func:`fast_style.zoo.add_to_zoo`): stored dtype and why these settings."""

    dtype: str = "float16"
    note: str = ""


@dataclass(frozen=True)
class NetworkCard:
    """Everything a checkpoint says about its network but the weights.

    Attributes:
        model_args: the layout (keyword arguments of the network's constructor).
        style: the network's own style name (``None``: the file does not say).
        styles: the styles it holds, with their paintings and weights (one entry for a one-style network).
        loss: the perceptual-loss settings it was trained with (a multi-style network: the shared ones,
            each style's painting and weight in ``styles``), or ``None`` if the file does not say.
        lineage: where its weights came from.
        training: how its last training run went.
        zoo: how it joined the zoo, ``None`` for a file that is not a zoo network.
    """

    model_args: dict[str, Any]
    style: str | None = None
    styles: tuple[StyleEntry, ...] = ()
    loss: PerceptualLossSettings | None = None
    lineage: Lineage = Lineage()
    training: TrainingSummary = TrainingSummary()
    zoo: ZooNote | None = None

    @property
    def style_names(self) -> tuple[str, ...]:
        """The names of the styles a multi-style network holds (empty for a one-style network)."""
        return tuple(self.model_args.get("styles") or ())

    def loss_for(self, style: str | None = None) -> PerceptualLossSettings | None:
        """The loss ``style`` was trained with: the one loss of a one-style network; for a multi-style
        one, the shared settings with that style's own painting and weight. ``None`` if the file does
        not say (no loss recorded, or a style the network does not hold).

        This is "a network and the loss it was trained with": what N*, distillation's teacher and
        the showcase judge a network by.
        """
        if self.loss is None:
            return None
        if not self.style_names:
            return self.loss
        entry = next((item for item in self.styles if item.name == style), None)
        if entry is None:
            return None
        return dataclasses.replace(
            self.loss, style_image=entry.image if entry.image is not None else self.loss.style_image,
            style_weight=entry.style_weight if entry.style_weight is not None else self.loss.style_weight)

    def style_image(self, style: str | None = None) -> str | None:
        """The painting ``style`` was trained on (the network's own for a one-style network), or ``None``."""
        loss = self.loss_for(style if self.style_names else None)
        if loss is not None and loss.style_image is not None:
            return loss.style_image
        entry = next((item for item in self.styles if item.name == style), self.styles[0] if self.styles else None)
        return None if entry is None else entry.image

    def as_payload(self) -> dict[str, Any]:
        """The card as the plain top-level keys of a ``fast_style.network/2`` checkpoint (no weights)."""
        return {
            "format": CARD_FORMAT,
            "model_args": dict(self.model_args),
            "style": self.style,
            "styles": [dataclasses.asdict(entry) for entry in self.styles],
            "loss": None if self.loss is None else self.loss.as_dict(),
            "lineage": {"started_from": self.lineage.started_from, "distilled_from": self.lineage.distilled_from,
                        "legs": [leg.as_dict() for leg in self.lineage.legs]},
            "training": dataclasses.asdict(self.training),
            "zoo": None if self.zoo is None else dataclasses.asdict(self.zoo),
        }

    def renamed(self, style: str) -> NetworkCard:
        """The same card under the name ``style``: a one-style network's own entry is renamed with it.

        An arbitrary-style network (``model_args["family"] == "arbitrary"``) keeps no style entry and no
        style image in its loss: it was trained on many paintings in turn, and its stored styles are
        embeddings of the mirror's style images, not paintings it was trained on (training wrote the
        config's placeholder painting there before 2026-12-06).
        """
        if self.model_args.get("family") == ARBITRARY_FAMILY:
            loss = None if self.loss is None else dataclasses.replace(self.loss, style_image=None)
            return dataclasses.replace(self, style=style, styles=(), loss=loss)
        styles = self.styles
        if not self.style_names and len(styles) == 1:
            styles = (dataclasses.replace(styles[0], name=style),)
        return dataclasses.replace(self, style=style, styles=styles)

    def history(self) -> list[dict[str, Any]]:
        """The legs as plain dicts (``{"styles", "steps", ...}``), oldest first: what a run extends."""
        return [leg.as_dict() for leg in self.lineage.legs]

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> NetworkCard:
        """The card of a ``fast_style.network/2`` checkpoint's top-level keys.

        Raises:
            InvalidValueError: an entry of the wrong type (the message names it).
        """
        lineage = _mapping(payload.get("lineage"), "lineage")
        training = _mapping(payload.get("training"), "training")
        loss = payload.get("loss")
        zoo = payload.get("zoo")
        try:
            return cls(
                model_args=dict(_mapping(payload.get("model_args"), "model_args")),
                style=_text(payload.get("style")),
                styles=tuple(StyleEntry(**_mapping(entry, "styles[]")) for entry in _sequence(payload.get("styles"), "styles")),
                loss=None if loss is None else PerceptualLossSettings.from_mapping(_mapping(loss, "loss")),
                lineage=Lineage(_text(lineage.get("started_from")), _text(lineage.get("distilled_from")),
                                tuple(Leg.from_mapping(leg) for leg in _sequence(lineage.get("legs"), "lineage.legs"))),
                training=TrainingSummary(**training),
                zoo=None if zoo is None else ZooNote(**_mapping(zoo, "zoo")),
            )
        except TypeError as error:  # a key the card does not have
            raise InvalidValueError(f"the network card has an entry this version does not know: {error}") from error

    @classmethod
    def from_record(cls, model_args: Mapping[str, Any], style: Any, config: Mapping[str, Any],
                    meta: Mapping[str, Any]) -> NetworkCard:
        """The card of a ``fast_style.inference/1`` file, from its training config and meta (the /1 reader).

        The one place that knows the training config's layout of those files: ``loss``, ``style``,
        ``data``, ``module.styles``/``module.teacher``/``module.init_from`` and ``meta.history``.
        """
        module = config.get("module") if isinstance(config.get("module"), Mapping) else {}
        loss = stored_loss(config.get("loss"))
        style_group = config.get("style") if isinstance(config.get("style"), Mapping) else {}
        entries = [entry for entry in module.get("styles") or [] if isinstance(entry, Mapping)]
        if entries and model_args.get("styles"):
            styles = tuple(StyleEntry(str(entry["name"]), _text(entry.get("image")), _weight(entry.get("style_weight")))
                           for entry in entries)
        elif style is not None:
            # The loss's own image where the config has it (a user may override loss.style_image).
            image = (loss.style_image if loss else None) or style_group.get("image")
            weight = loss.style_weight if loss else _weight(style_group.get("style_weight"))
            styles = (StyleEntry(str(style), _text(image), weight),)
        else:
            styles = ()
        data = config.get("data") if isinstance(config.get("data"), Mapping) else {}
        zoo = meta.get("zoo")
        return cls(
            model_args=dict(model_args),
            style=_text(style),
            styles=styles,
            loss=loss,
            lineage=Lineage(_text(module.get("init_from")), _text(module.get("teacher")),
                            tuple(Leg.from_mapping(leg) for leg in meta.get("history") or [] if isinstance(leg, Mapping))),
            training=TrainingSummary(
                steps=_count(meta.get("global_step")), crop=_count(data.get("image_size")),
                batch=_count(data.get("batch_size")), precision=_text(meta.get("precision")),
                machine=_text(meta.get("machine")), final_losses=dict(meta.get("final_losses") or {}),
                fast_style_version=_text(meta.get("fast_style_version"))),
            zoo=ZooNote(str(zoo.get("dtype", "float16")), str(zoo.get("note") or "")) if isinstance(zoo, Mapping) else None,
        )


def stored_loss(loss: Any) -> PerceptualLossSettings | None:
    """The settings a training config's ``loss`` group records, or ``None`` if it records none.

    A group without its style image (no loss group at all, or a file written before the loss
    group held the style's settings) does not say which loss the network was trained with.
    """
    if not isinstance(loss, Mapping) or "style_image" not in loss:
        return None
    try:
        return PerceptualLossSettings.from_mapping(loss)
    except (TypeError, ValueError):  # a hand-edited file with settings this version does not know
        return None


def _weight(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidValueError(f"the network card's {what} must be a mapping, got {type(value).__name__}")
    return value


def _sequence(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise InvalidValueError(f"the network card's {what} must be a list, got {type(value).__name__}")
    return list(value)



__all__ = ["CARD_FORMAT", "LEGACY_FORMAT", "Leg", "Lineage", "NetworkCard", "StyleEntry", "TrainingSummary", "ZooNote",
           "stored_loss"]
