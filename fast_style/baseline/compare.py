"""Run a trained feed-forward network and the Gatys baseline on the same photos.

Johnson, Alahi & Fei-Fei, ECCV 2016, Sec. 4.2 (Fig. 5, Table 1): for each photo and size,
the network's output (one pass, timed) and an optimisation run (loss and time after every
iteration) are scored by the same :class:`~fast_style.loss.perceptual.PerceptualLoss`. The numbers
are turned into a report by :mod:`fast_style.baseline.report`.

Pure torch: no Lightning, no Hydra.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from fast_style.baseline.gatys import GatysResult, GatysSettings, initial_image, optimize_image
from fast_style.baseline.stats import Bound, first_reaching
from fast_style.errors import InvalidValueError
from fast_style.io import load_image
from fast_style.loss.perceptual import LOSS_TERMS, PerceptualLoss, PerceptualLossSettings

if TYPE_CHECKING:
    from fast_style.baseline.curves import GatysCurves
    from fast_style.zoo import ResolvedStyle


@dataclass
class ComparisonRun:
    """Feed-forward and Gatys results for one photo at one size.

    Attributes:
        photo: file name of the photo.
        size: shorter side the photo was resized to.
        shape: (H, W) of the resized photo.
        photo_loss: loss terms of the unchanged photo (the reference).
        ff_loss: loss terms of the network's output.
        ff_seconds: median seconds of one forward pass (after a warm-up).
        gatys_initial: loss terms of the Gatys start image (iteration 0).
        gatys_history: per-iteration entries of :class:`~fast_style.baseline.gatys.GatysResult`.
        n_star: first iteration with Gatys loss ≤ feed-forward loss (0: the start), or
            ``None`` if not reached.
        content_image, ff_image, gatys_at_n_star, gatys_final: (1, 3, H, W) images in [0, 1]
            (``gatys_at_n_star`` is ``None`` when N* was not reached).
    """

    photo: str
    size: int
    shape: tuple[int, int]
    photo_loss: dict[str, float]
    ff_loss: dict[str, float]
    ff_seconds: float
    gatys_initial: dict[str, float]
    gatys_history: list[dict[str, float]]
    n_star: int | None
    content_image: Tensor | None = field(default=None, repr=False)
    ff_image: Tensor | None = field(default=None, repr=False)
    gatys_at_n_star: Tensor | None = field(default=None, repr=False)
    gatys_final: Tensor | None = field(default=None, repr=False)

    @property
    def iterations(self) -> int:
        return len(self.gatys_history)

    def gatys_loss_at(self, iteration: int) -> float:
        """Total Gatys loss after ``iteration`` (0: the start image)."""
        return self.gatys_initial["total"] if iteration == 0 else self.gatys_history[iteration - 1]["total"]

    def n_star_bound(self) -> Bound:
        """N*, or a lower bound (the iteration count) when it was not reached."""
        return Bound(float(self.iterations), lower=True) if self.n_star is None else Bound(float(self.n_star))

    def gatys_seconds_bound(self) -> Bound:
        """Seconds Gatys needed to reach N* (a lower bound: the whole run, if never reached)."""
        if self.n_star is None:
            return Bound(self.gatys_history[-1]["seconds"], lower=True)
        if self.n_star == 0:
            return Bound(0.0)
        return Bound(self.gatys_history[self.n_star - 1]["seconds"])

    def speedup_bound(self) -> Bound:
        """Gatys seconds to equal loss / feed-forward seconds."""
        seconds = self.gatys_seconds_bound()
        return Bound(seconds.value / max(self.ff_seconds, 1e-12), seconds.lower)

    def to_dict(self) -> dict:
        """Plain numbers (no images) for ``history.json``."""
        return {
            "photo": self.photo,
            "size": self.size,
            "shape": list(self.shape),
            "photo_loss": self.photo_loss,
            "ff_loss": self.ff_loss,
            "ff_seconds": self.ff_seconds,
            "n_star": self.n_star,
            "gatys_initial": self.gatys_initial,
            "gatys_total": [h["total"] for h in self.gatys_history],
            "gatys_seconds": [round(h["seconds"], 4) for h in self.gatys_history],
        }


def network_with_training_loss(resolved: ResolvedStyle, loss: PerceptualLossSettings | None = None
                               ) -> tuple[nn.Module, PerceptualLossSettings]:
    """The network a resolved style names and the loss it was trained with: what N* is measured by.

    One style of a multi-style file comes folded (its own γ, β) and is judged by its own loss.

    Args:
        resolved: what :func:`fast_style.zoo.resolve` made of the user's spec.
        loss: judge it by this loss instead of the file's (the style config's, the same for every network
            compared; needed where the file records none: a stored style of the arbitrary-style network).

    Returns:
        (network, the loss settings it was trained with, or ``loss``).

    Raises:
        InvalidValueError: for a blend (never trained against a loss, so there is nothing to optimise).
        CheckpointError: if the file does not say which loss trained it.
    """
    from fast_style import zoo
    from fast_style.checkpoint import CheckpointError

    if len(resolved.styles) > 1:
        raise InvalidValueError(f"{resolved.spec!r} is a blend: it was never trained against a loss, so the Gatys "
                                "baseline has nothing to optimise; name one style")
    model, recorded = zoo.load_with_loss(resolved)
    loss = loss or recorded
    if loss is None:
        raise CheckpointError(f"{str(resolved.path)!r} does not say which loss it was trained with (no training "
                              "config), so the Gatys baseline cannot use the same one")
    return model, loss


def time_forward(model: nn.Module, image: Tensor, repeats: int = 3, warmup: int = 1) -> tuple[Tensor, float]:
    """Stylise ``image`` and time one forward pass.

    The model is put in eval mode and run under ``torch.inference_mode`` (how a user would
    stylise). ``warmup`` untimed passes first (allocator, oneDNN kernel selection), then the
    median of ``repeats`` timed passes.

    Args:
        model: the feed-forward network.
        image: (1, 3, H, W) photo in [0, 1].
        repeats: timed passes (at least 1).
        warmup: untimed passes before them.

    Returns:
        (output clamped to [0, 1] — what a saved image holds —, median seconds).
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    model.eval()
    times = []
    # CUDA kernels run asynchronously: without a sync the clock would stop at the launch.
    sync = torch.cuda.synchronize if image.is_cuda else (lambda: None)
    with torch.inference_mode():
        for _ in range(max(0, warmup)):
            model(image)
        for _ in range(repeats):
            sync()
            begin = time.perf_counter()
            output = model(image)
            sync()
            times.append(time.perf_counter() - begin)
    return output.clone().clamp_(0.0, 1.0), statistics.median(times)


def _terms(loss_fn: PerceptualLoss, image: Tensor, content_features: dict[str, Tensor]) -> dict[str, float]:
    with torch.no_grad():
        terms = loss_fn(image, content_features=content_features)
    return {name: float(terms[name]) for name in LOSS_TERMS}


def compare_photo(
    model: nn.Module,
    loss_fn: PerceptualLoss,
    photo: str | os.PathLike,
    size: int,
    settings: GatysSettings,
    timing_repeats: int = 3,
    on_iteration: Callable[[int, dict[str, float]], None] | None = None,
) -> ComparisonRun:
    """Feed-forward vs Gatys on one photo at one size, scored by ``loss_fn``.

    Args:
        model: the trained network (moved to the loss's device).
        loss_fn: the loss the network was trained with.
        photo: image file.
        size: shorter side to resize the photo to.
        settings: the Gatys run's settings (:class:`~fast_style.baseline.gatys.GatysSettings`).
        timing_repeats: timed forward passes (median taken).
        on_iteration: progress hook called with (iteration, loss terms).

    Returns:
        A :class:`ComparisonRun` holding the numbers and the images.
    """
    device = next(iter(loss_fn.encoder.buffers())).device
    model.to(device)
    content = load_image(photo, size).to(device)
    content_features = loss_fn.content_features(content)
    ff_image, ff_seconds = time_forward(model, content, repeats=timing_repeats)
    ff_loss = _terms(loss_fn, ff_image, content_features)
    photo_loss = _terms(loss_fn, content, content_features)
    gatys, n_star, at_n_star = _gatys_to_reach(loss_fn, content, ff_loss["total"], settings, on_iteration)
    return ComparisonRun(
        photo=Path(photo).name,
        size=int(size),
        shape=(int(content.shape[-2]), int(content.shape[-1])),
        photo_loss=photo_loss,
        ff_loss=ff_loss,
        ff_seconds=ff_seconds,
        gatys_initial=gatys.initial,
        gatys_history=gatys.history,
        n_star=n_star,
        content_image=content.cpu(),
        ff_image=ff_image.cpu(),
        gatys_at_n_star=None if at_n_star is None else at_n_star.cpu(),
        gatys_final=gatys.image.cpu(),
    )


def _gatys_to_reach(
    loss_fn: PerceptualLoss,
    content: Tensor,
    target: float,
    settings: GatysSettings,
    on_iteration: Callable[[int, dict[str, float]], None] | None,
) -> tuple[GatysResult, int | None, Tensor | None]:
    """A Gatys run on ``content``, the first iteration N* whose loss is at most ``target``, and that image.

    Returns:
        ``(result, N*, image at N*)``; N* is 0 when the start image already reaches ``target``,
        and ``None`` (with no image) when no iteration does.
    """
    snapshot: dict[str, Tensor] = {}

    def callback(iteration: int, terms: dict[str, float], image: Tensor) -> None:
        # Keep the first image that reaches the feed-forward loss (the "Gatys at N*" panel).
        if "image" not in snapshot and terms["total"] <= target:
            snapshot["image"] = image
        if on_iteration is not None:
            on_iteration(iteration, terms)

    result = optimize_image(loss_fn, content, settings, callback=callback)
    n_star = first_reaching(result.totals(), target, initial=result.initial["total"])
    if n_star == 0:
        return result, 0, initial_image(content, settings.init, settings.seed)
    return result, n_star, None if n_star is None else snapshot.get("image")


def run_comparison(
    model: nn.Module,
    loss_fn: PerceptualLoss,
    photos: Sequence[str | os.PathLike],
    sizes: Sequence[int],
    settings: GatysSettings,
    **kwargs: Any,
) -> list[ComparisonRun]:
    """:func:`compare_photo` for every size and photo (sizes outermost; ``kwargs``: its ``timing_repeats``, ``on_iteration``).

    Raises:
        ValueError: if there are no photos or no sizes.
    """
    if not photos:
        raise ValueError("run_comparison needs at least one photo")
    if not sizes:
        raise ValueError("run_comparison needs at least one size")
    return [
        compare_photo(model, loss_fn, photo, size, settings, **kwargs) for size in sizes for photo in photos
    ]


def _network_losses(models: Mapping[str, nn.Module], loss_fn: PerceptualLoss, content: Tensor,
                    content_features: dict[str, Tensor]) -> dict[str, float]:
    """label → total loss of that network's output for the (1, 3, H, W) photo ``content``."""
    losses = {}
    for label, model in models.items():
        with torch.inference_mode():
            output = model.to(content.device).eval()(content).clamp(0.0, 1.0)
        losses[label] = _terms(loss_fn, output, content_features)["total"]
    return losses


def n_star_for_models(
    models: Mapping[str, nn.Module],
    loss_fn: PerceptualLoss,
    photos: Sequence[str | os.PathLike],
    size: int,
    settings: GatysSettings,
    on_photo: Callable[[int], None] | None = None,
    curves: GatysCurves | None = None,
    loss: PerceptualLossSettings | None = None,
) -> dict[str, list[Bound]]:
    """N* of several networks trained for the same loss (e.g. one run's checkpoints along its steps).

    The Gatys curve of a photo depends on the loss only, not on the network, so each photo is
    optimised once, only until it reaches the best network's loss (N* needs no more), and every
    network's feed-forward loss is located on that one curve.

    Args:
        models: label → network (moved to the loss's device).
        loss_fn: the loss all of them were trained with.
        photos: photo files, resized to ``size`` on the shorter side.
        size: shorter side in pixels.
        settings: the Gatys runs' settings (their ``iterations`` per photo at most).
        on_photo: called with the photo index after each photo's Gatys run.
        curves: stored curves to reuse and extend (:mod:`fast_style.baseline.curves`); ``None`` runs
            Gatys on every photo.
        loss: the settings ``loss_fn`` was built with; required with ``curves`` (they key the curves).

    Returns:
        label → one N* :class:`~fast_style.baseline.report.Bound` per photo (a lower bound where not reached).

    Raises:
        ValueError: for no models or no photos, or ``curves`` without ``loss``.
    """
    if not models or not photos:
        raise ValueError("n_star_for_models needs at least one model and one photo")
    if curves is not None and loss is None:
        raise ValueError("n_star_for_models needs the loss settings that key the stored curves")
    device = next(iter(loss_fn.encoder.buffers())).device
    results: dict[str, list[Bound]] = {label: [] for label in models}
    for index, photo in enumerate(photos):
        content = load_image(photo, size).to(device)
        content_features = loss_fn.content_features(content)
        targets = _network_losses(models, loss_fn, content, content_features)
        # The curve is only needed until it reaches the best network's loss.
        reach = min(targets.values())
        if curves is None:
            gatys = optimize_image(loss_fn, content, settings, stop_below=reach)
            totals, initial = gatys.totals(), gatys.initial["total"]
        else:
            curve = curves.curve(loss_fn, loss, photo, size, settings, reach=reach)
            totals, initial = list(curve.totals), curve.initial
        for label, target in targets.items():
            n_star = first_reaching(totals, target, initial=initial)
            results[label].append(Bound(float(settings.iterations), lower=True) if n_star is None
                                  else Bound(float(n_star)))
        if on_photo is not None:
            on_photo(index)
    return results
