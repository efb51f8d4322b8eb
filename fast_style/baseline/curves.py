"""Gatys loss curves kept on disk: each (loss, photo, size) optimised once, every network placed on it.

Johnson, Alahi & Fei-Fei, ECCV 2016, Fig. 5: a feed-forward network's quality is N*, the first
L-BFGS iteration of Gatys et al.'s optimisation whose loss is at or below the network's. The
curve of a photo depends on the loss (style image, weights, layers), the photo, its size and the
optimiser's settings only, never on the network, so it is computed once and kept as a small JSON
file (``<folder>/<painting>/<photo>_<size>px.json``); every later network of that style, on any
sitting, is placed on the stored curve in one forward pass.

A stored curve is reused when its key (a hash of the loss settings with the style image's
*content*, the photo's content, the size and the optimiser settings) matches and it has at least
the iterations asked for, or already reaches the loss asked for; otherwise it is computed again
and replaced. A curve is only run until it reaches the lowest loss of the networks being placed
(``reach``): N* needs no more, and since every iteration is the same whatever the run's length,
the stored start is exactly the start of the full curve. This is what makes a table of nine styles
affordable on a CPU (an N* of about 25 costs an eighth of 200 iterations).

Pure torch: no Lightning, no Hydra.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fast_style.atomic import atomic_path
from fast_style.baseline.gatys import GatysSettings, optimize_image
from fast_style.io import load_image
from fast_style.loss.perceptual import PerceptualLoss, PerceptualLossSettings


@dataclass(frozen=True)
class GatysCurve:
    """The total loss of one Gatys run, iteration by iteration.

    Attributes:
        initial: total loss of the start image (iteration 0).
        totals: total loss after iterations 1, 2, … (``totals[i - 1]`` is iteration ``i``).
        seconds: cumulative wall-clock seconds after each iteration, on the machine that ran it.
        machine: the CPU the curve was computed on.
    """

    initial: float
    totals: tuple[float, ...]
    seconds: tuple[float, ...]
    machine: str


def _file_digest(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _canonical(value: Any) -> Any:
    """``value`` with every number a float, so that a weight stored as ``5`` and as ``5.0`` is one loss."""
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def loss_identity(loss: PerceptualLossSettings) -> str:
    """The loss settings as one canonical string (style image by name): networks with equal ones share curves."""
    return json.dumps(_canonical(loss.as_dict()), sort_keys=True, default=str)


def curve_key(loss: PerceptualLossSettings, photo: str | os.PathLike, size: int, settings: GatysSettings) -> str:
    """The identity of a curve: a hash of everything its losses depend on (iterations aside).

    The style image and the photo enter by content, so a moved or renamed file keeps its curves
    and a changed painting under the same name does not. The Gatys settings enter by what differs
    from their defaults (:meth:`GatysSettings.overrides`), so that the curves stored before the
    settings were one value keep their keys.
    """
    from fast_style.assets import resolve_path_or_asset

    record = {
        "loss": _canonical({key: value for key, value in loss.as_dict().items() if key != "style_image"}),
        "style_image": _file_digest(resolve_path_or_asset(loss.style_image)),
        "photo": _file_digest(photo),
        "size": int(size),
        "gatys": settings.overrides(),
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()[:16]


class GatysCurves:
    """A folder of stored Gatys curves (see the module docstring).

    Args:
        folder: where the JSON files live (created on first write).
        style: the style's name: the subfolder of its curves.
    """

    def __init__(self, folder: str | os.PathLike, style: str) -> None:
        self.folder = Path(folder) / style
        self.style = style

    @classmethod
    def of_loss(cls, folder: str | os.PathLike, loss: PerceptualLossSettings) -> GatysCurves:
        """The curves of the painting ``loss`` optimises towards (the subfolder is its image's stem).

        Networks of one painting share its curves whatever they are called (``candy``, ``candy@styles15``,
        ``candy-small``); the key still tells the losses apart.
        """
        return cls(folder, Path(str(loss.style_image)).stem)

    def path(self, photo: str | os.PathLike, size: int) -> Path:
        """Where the curve of ``photo`` at ``size`` is stored."""
        return self.folder / f"{Path(photo).stem}_{int(size)}px.json"

    def stored(self, key: str, photo: str | os.PathLike, size: int, iterations: int,
               reach: float | None = None) -> GatysCurve | None:
        """The stored curve with this key, cut to ``iterations``, or ``None``.

        It must have at least ``iterations`` iterations, or (with ``reach``) a loss at or below ``reach``.
        """
        path = self.path(photo, size)
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # a damaged file is recomputed, never trusted
        if record.get("key") != key:
            return None
        totals = record.get("totals", ())
        reached = reach is not None and min([record["initial"], *totals[:iterations]]) <= reach
        if len(totals) < iterations and not reached:
            return None
        return GatysCurve(initial=float(record["initial"]), totals=tuple(totals[:iterations]),
                          seconds=tuple(record["seconds"][:iterations]), machine=str(record.get("machine", "")))

    def curve(self, loss_fn: PerceptualLoss, loss: PerceptualLossSettings, photo: str | os.PathLike, size: int,
              settings: GatysSettings, reach: float | None = None) -> GatysCurve:
        """The curve of ``photo`` at ``size`` under ``loss_fn``: the stored one, or a new run that is then stored.

        Args:
            loss_fn: the loss built from ``loss`` (the caller builds it once for many photos).
            loss: the settings ``loss_fn`` was built with (they enter the key).
            photo: image file, resized to ``size`` on the shorter side.
            size: shorter side in pixels.
            settings: the Gatys run's settings: ``settings.iterations`` at most (with ``reach``), the
                others keyed (:func:`curve_key`).
            reach: the lowest loss the caller will look up: the run stops once it gets there
                (``None``: all the iterations).
        """
        from fast_style.machine import describe_cpu

        key = curve_key(loss, photo, size, settings)
        iterations = settings.iterations
        found = self.stored(key, photo, size, iterations, reach)
        if found is not None:
            return found
        device = next(iter(loss_fn.encoder.buffers())).device
        result = optimize_image(loss_fn, load_image(photo, size).to(device), settings, stop_below=reach)
        curve = GatysCurve(initial=float(result.initial["total"]), totals=tuple(result.totals()),
                           seconds=tuple(round(float(entry["seconds"]), 3) for entry in result.history),
                           machine=describe_cpu())
        record = {"key": key, "style": self.style, "photo": Path(photo).name, "size": int(size),
                  "iterations": len(curve.totals), "asked_iterations": iterations,
                  "stopped_at_loss": reach, "gatys": {k: str(v) for k, v in settings.overrides().items()},
                  "loss": {k: v for k, v in loss.as_dict().items() if k != "style_image"},
                  "style_image": str(loss.style_image), "machine": curve.machine,
                  "initial": curve.initial, "totals": list(curve.totals), "seconds": list(curve.seconds)}
        with atomic_path(self.path(photo, size)) as partial:
            partial.write_text(json.dumps(record, indent=0, default=str) + "\n", encoding="utf-8")
        return curve


__all__ = ["GatysCurve", "GatysCurves", "curve_key", "loss_identity"]
