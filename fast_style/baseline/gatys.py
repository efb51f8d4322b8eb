"""The optimisation baseline: optimise one image against the perceptual loss.

Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks",
CVPR 2016: start from white noise (or the photo) and descend the content + style loss
measured by a frozen VGG, pixel by pixel. Johnson, Alahi & Fei-Fei, ECCV 2016, Sec. 4.2
and Fig. 5 compare their feed-forward networks against exactly this, with the *same*
loss; here the caller passes the very :class:`~fast_style.loss.perceptual.PerceptualLoss` the
network was trained with, so the two losses are the same number.

Pixels stay in [0, 1] without moving the iterate behind the optimiser's back: the
optimiser owns an unconstrained tensor ``x`` and the loss is taken of ``clamp(x, 0, 1)``.
The objective is then a continuous, piecewise-smooth function of the optimiser's variable,
so L-BFGS's curvature pairs stay consistent (clamping the iterate in place between steps,
as many implementations do, invalidates them). Johnson et al. used projected L-BFGS
(clip every iteration) for the same purpose. A sigmoid reparameterisation was tried and
dropped: without a line search, fixed-step L-BFGS can throw pixels into the sigmoid's flat
tails, where they never come back (the loss of one 64-px COCO photo went from 2.5e6 to
1.5e8), while the clamp kept every run stable.

Pure torch: no Lightning, no Hydra.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import torch
from torch import Tensor

from fast_style.errors import InvalidValueError
from fast_style.loss.perceptual import LOSS_TERMS, PerceptualLoss

OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise")
# Default step sizes per optimiser. L-BFGS scales its own steps from the curvature history
# (lr=1 is the textbook full quasi-Newton step); Adam's is in pixel units (neural-style's
# Adam default of 10 on the 0–255 scale is 0.04).
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}
# Largest root-mean-square pixel change of one L-BFGS iteration (see ``optimize_image``).
DEFAULT_MAX_STEP = 0.05


@dataclass(frozen=True)
class GatysSettings:
    """How one Gatys run optimises: everything but the loss and the photo (Gatys et al. 2016, Sec. 2-3).

    One value travels from the command line through :func:`optimize_image`, the comparison
    (:mod:`fast_style.baseline.compare`), its report and the stored curves
    (:mod:`fast_style.baseline.curves`), instead of five loose arguments.

    Attributes:
        iterations: optimiser steps (at least 1); one L-BFGS iteration each.
        optimizer: ``"lbfgs"`` or ``"adam"``.
        init: ``"noise"`` or ``"content"`` (see :func:`initial_image`).
        lr: step size; ``None`` takes ``DEFAULT_LR[optimizer]`` (:attr:`step_size`).
        seed: seed of the noise start.
        max_step: L-BFGS only: largest RMS pixel change of one iteration (``None``: no cap).

    Raises:
        InvalidValueError: an unknown optimiser or init, fewer than 1 iteration, an ``lr`` or
            ``max_step`` that is not a finite number > 0.
    """

    iterations: int = 500
    optimizer: str = "lbfgs"
    init: str = "noise"
    lr: float | None = None
    seed: int = 0
    max_step: float | None = DEFAULT_MAX_STEP

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise InvalidValueError(f"unknown optimizer {self.optimizer!r}; allowed: {', '.join(OPTIMIZERS)}")
        if self.init not in INITS:
            raise InvalidValueError(f"unknown init {self.init!r}; allowed: {', '.join(INITS)}")
        if isinstance(self.iterations, bool) or not isinstance(self.iterations, int) or self.iterations < 1:
            raise InvalidValueError(f"iterations must be an integer of at least 1, got {self.iterations!r}")
        for name in ("lr", "max_step"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise InvalidValueError(f"{name} must be a finite number > 0 or None (the default), got {value!r}")

    @property
    def step_size(self) -> float:
        """``lr``, or the optimiser's default step size."""
        return DEFAULT_LR[self.optimizer] if self.lr is None else float(self.lr)

    def overrides(self) -> dict[str, Any]:
        """The settings that differ from the defaults, ``iterations`` aside (what keys a stored curve)."""
        default = GatysSettings()
        return {item.name: getattr(self, item.name) for item in fields(self)
                if item.name != "iterations" and getattr(self, item.name) != getattr(default, item.name)}


@dataclass
class GatysResult:
    """What :func:`optimize_image` returns.

    Attributes:
        image: (1, 3, H, W) float32 in [0, 1], the image after the last iteration.
        history: one dict per iteration ``i = 1 … iterations`` with ``"iteration"``,
            the weighted loss terms ``"content"``, ``"style"``, ``"tv"``, ``"total"`` of the
            image *after* iteration ``i`` (floats), ``"seconds"``: wall-clock seconds from
            the start of the run (content features included) until that image existed,
            cumulative, and ``"evaluations"``: VGG forward/backward passes made until then.
        initial: the loss terms of the starting image (iteration 0).
        optimizer: ``"lbfgs"`` or ``"adam"``.
        init: ``"content"`` or ``"noise"``.
    """

    image: Tensor
    history: list[dict[str, float]] = field(default_factory=list)
    initial: dict[str, float] = field(default_factory=dict)
    optimizer: str = "lbfgs"
    init: str = "noise"

    def totals(self) -> list[float]:
        """Total loss after each iteration (``len == iterations``)."""
        return [entry["total"] for entry in self.history]


# Called after each iteration with (iteration, loss terms incl. "seconds", image (1, 3, H, W)).
IterationCallback = Callable[[int, dict[str, float], Tensor], None]


def initial_image(content: Tensor, init: str = "noise", seed: int = 0) -> Tensor:
    """The starting image of the optimisation.

    Args:
        content: (1, 3, H, W) photo in [0, 1].
        init: ``"content"`` (start from the photo, as many implementations do) or
            ``"noise"`` (white noise, as in Gatys et al. 2016).
        seed: seed of the noise (the photo start is deterministic).

    Returns:
        (1, 3, H, W) float32 image in [0, 1] (a new tensor).

    Raises:
        InvalidValueError: if ``init`` is not one of ``INITS``.
    """
    if init == "content":
        return content.detach().float().clamp(0.0, 1.0).clone()
    if init == "noise":
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        noise = torch.rand(content.shape, generator=generator, dtype=torch.float32)
        # Uniform in [0.25, 0.75]: white noise around mid-grey, inside the valid range.
        return (0.25 + 0.5 * noise).to(content.device)
    raise InvalidValueError(f"unknown init {init!r}; allowed: {', '.join(INITS)}")


def optimize_image(loss_fn: PerceptualLoss, content: Tensor, settings: GatysSettings | None = None, *,
                   callback: IterationCallback | None = None, stop_below: float | None = None) -> GatysResult:
    """Optimise an image against ``loss_fn`` (Gatys et al. 2016, Sec. 2–3).

    One iteration is one optimiser step. For L-BFGS each ``step`` runs with ``max_iter=1``,
    so iteration ``i`` is L-BFGS iteration ``i`` of one long run (the optimiser keeps its
    curvature history across steps), the loss is known after each one, and iterations count
    as in Johnson et al.'s Fig. 5. As in Johnson's ``neural-style`` (Torch's ``optim.lbfgs``)
    there is no line search, so every iteration costs exactly one VGG forward and backward
    pass (PyTorch's strong-Wolfe search was tried: at this loss's scale, around 1e6, it
    stalled in place); ``max_step`` guards against the steps that can then run away (:func:`_cap_step`).

    Args:
        loss_fn: the perceptual loss (same VGG, layers, Gram normalisation and weights as the
            network being compared).
        content: (1, 3, H, W) photo in [0, 1]; its VGG features are computed once.
        settings: iterations, optimiser, start, step size, seed and step cap (:class:`GatysSettings`;
            ``None``: its defaults).
        callback: called after every iteration with ``(iteration, terms, image)``; ``image``
            is the current (1, 3, H, W) image (a detached tensor the callback may keep).
        stop_below: stop once the total loss is at or below this (``None``: run them all). N* needs
            no more, and the shorter history is exactly the start of the full one.

    Returns:
        :class:`GatysResult` with the final image and one history entry per iteration run
        (``iterations`` of them, fewer when ``stop_below`` was reached).

    Raises:
        InvalidValueError: for a bad ``content`` shape (the settings check themselves).
        FloatingPointError: if the loss stops being finite (the message names the iteration and what to try).
    """
    settings = settings or GatysSettings()
    content = _checked_content(content).to(next(iter(loss_fn.encoder.buffers())).device, torch.float32)
    recorder = _Recorder(callback)  # the clock starts here: the content features are part of the cost
    content_features = loss_fn.content_features(content)
    # L-BFGS views gradients as flat vectors: the parameter must be contiguous (loaded photos are permuted HWC arrays).
    param = initial_image(content, settings.init, settings.seed).contiguous().requires_grad_(True)
    opt = _make_optimizer(settings.optimizer, param, settings.step_size)

    def closure() -> Tensor:
        opt.zero_grad(set_to_none=True)
        image = _to_image(param)
        terms = loss_fn(image, content_features=content_features)
        terms["total"].backward()
        recorder.evaluated(terms, image)
        return terms["total"]

    iteration = _steps(opt, closure, param, recorder, settings.iterations,
                       settings.max_step if settings.optimizer == "lbfgs" else None, stop_below)
    with torch.no_grad():
        image = _to_image(param.detach())
        recorder.finish(iteration, loss_fn(image, content_features=content_features), image)
    return GatysResult(image.clone(), recorder.history, recorder.initial, optimizer=settings.optimizer,
                       init=settings.init)


def _steps(opt: torch.optim.Optimizer, closure: Callable[[], Tensor], param: Tensor, recorder: _Recorder,
           iterations: int, max_step: float | None, stop_below: float | None) -> int:
    """Run up to ``iterations`` optimiser steps; the number run (fewer once ``stop_below`` is reached)."""
    iteration = 0
    while iteration < iterations:
        iteration += 1
        before = param.detach().clone()
        opt.step(closure)
        if max_step is not None:
            _cap_step(opt, param, before, max_step)
        recorder.step_done(iteration)
        if stop_below is not None and recorder.last_total() <= stop_below:
            break  # iterate ``iteration - 1`` reached it; iterate ``iteration`` is recorded by the caller
    return iteration


def _checked_content(content: Tensor) -> Tensor:
    """``content`` as (1, 3, H, W), or an InvalidValueError naming its shape."""
    if content.dim() == 3:
        content = content.unsqueeze(0)
    if content.dim() != 4 or content.shape[:2] != (1, 3):
        raise InvalidValueError(f"content must be one (1, 3, H, W) image, got shape {tuple(content.shape)}")
    return content


def _make_optimizer(name: str, param: Tensor, lr: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam([param], lr=lr)
    # Never stop early (tolerances 0): the caller asked for a number of iterations, and losses
    # under random test weights have gradients far below the default tolerance.
    return torch.optim.LBFGS([param], lr=lr, max_iter=1, history_size=100, tolerance_grad=0.0, tolerance_change=0.0)


class _Recorder:
    """The bookkeeping of one run: each iterate's loss terms, when it existed and what it cost.

    The first closure call of step ``i`` evaluates iterate ``i - 1``: its loss is recorded one
    step late, with the time and the evaluation count at which step ``i - 1`` ended; the last
    iterate gets one extra evaluation at the end (:meth:`finish`). Time spent in the callback
    (progress bars, snapshots) is not part of the method's cost.

    Args:
        callback: called with each entry as it is recorded, see :data:`IterationCallback`.
    """

    def __init__(self, callback: IterationCallback | None) -> None:
        self.callback = callback
        self.history: list[dict[str, float]] = []
        self.initial: dict[str, float] = {}
        self.start, self.paused = time.perf_counter(), 0.0
        self.evaluations = 0
        self.first: tuple[dict[str, float], Tensor] | None = None  # the current step's first evaluation
        self.step_end: tuple[float, int] = (0.0, 0)  # (seconds, evaluations) when the last step ended

    def evaluated(self, terms: dict[str, Tensor], image: Tensor) -> None:
        """One VGG forward and backward pass, of ``image``, gave ``terms``."""
        self.evaluations += 1
        if self.first is None:
            self.first = ({name: float(terms[name].detach()) for name in LOSS_TERMS}, image.detach())

    def step_done(self, iteration: int) -> None:
        """Optimiser step ``iteration`` ended: record iterate ``iteration - 1`` (the start image for 1)."""
        if self.first is None:
            raise RuntimeError(f"optimiser step {iteration} never evaluated the loss")
        (terms, image), self.first = self.first, None
        previous_end = self.step_end
        self.step_end = (time.perf_counter() - self.start - self.paused, self.evaluations)
        _check_finite(terms, iteration - 1)
        if iteration == 1:
            self.initial = terms
        else:
            self._record(iteration - 1, terms, previous_end, image)

    def last_total(self) -> float:
        """Total loss of the latest recorded iterate (the start image before iteration 1 is recorded)."""
        return self.history[-1]["total"] if self.history else self.initial["total"]

    def finish(self, iteration: int, loss_terms: dict[str, Tensor], image: Tensor) -> None:
        """Record the last iterate, ``iteration``, from the extra evaluation ``loss_terms`` of ``image``."""
        terms = {name: float(value) for name, value in loss_terms.items()}
        _check_finite(terms, iteration)
        self._record(iteration, terms, self.step_end, image)

    def _record(self, iteration: int, terms: dict[str, float], end: tuple[float, int], image: Tensor) -> None:
        entry = {"iteration": iteration, **{name: terms[name] for name in LOSS_TERMS}, "seconds": end[0],
                 "evaluations": end[1]}
        self.history.append(entry)
        if self.callback is not None:
            begin = time.perf_counter()
            self.callback(iteration, dict(entry), image)
            self.paused += time.perf_counter() - begin


def _cap_step(opt: torch.optim.Optimizer, param: Tensor, before: Tensor, max_step: float) -> None:
    """Shorten the L-BFGS step just taken to an RMS pixel change of ``max_step``.

    Without a line search, a poor early curvature estimate can throw the whole image far
    outside [0, 1] in one step, where the clamp's gradient is zero and the run never recovers
    (seen on 40-px photos: loss 2.2e6 → 2.8e8 at iteration 2). So a longer step is shortened,
    and the optimiser's step length scaled to match, so that its next curvature pair uses the
    step actually taken: ``torch.optim.LBFGS`` builds that pair from ``s = t * d`` (its stored
    step length and direction), so scaling ``t`` by the same factor keeps it exact.
    """
    with torch.no_grad():
        delta = param - before
        rms = float(delta.pow(2).mean().sqrt())
        if rms <= max_step:
            return
        factor = max_step / rms
        param.copy_(before + delta * factor)
        opt.state[param]["t"] = opt.state[param]["t"] * factor


def _to_image(variable: Tensor) -> Tensor:
    """The image the loss sees: the optimiser's unconstrained variable clamped to [0, 1]."""
    return variable.clamp(0.0, 1.0)


def _check_finite(terms: dict[str, float], iteration: int) -> None:
    if not math.isfinite(terms["total"]):
        raise FloatingPointError(
            f"Gatys loss is {terms['total']} at iteration {iteration}; "
            "try a smaller lr or optimizer='adam'"
        )
