"""Statistics of the comparison: N* and medians over photos, some values only lower bounds.

Censored values: when Gatys never reaches the feed-forward loss within the iterations
given, its N* is only known to be larger than the number of iterations. Such a value is
kept as a lower bound (``Bound(value, lower=True)``); medians treat it as larger than every
reached value and become lower bounds themselves when a middle element is censored.

Used by :mod:`fast_style.baseline.compare` (the data) and :mod:`fast_style.baseline.report`
(its presentation), so that the data never depends on how it is shown.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bound:
    """A number that may be only a lower bound (``lower=True`` prints as ``> value``)."""

    value: float
    lower: bool = False


def first_reaching(totals: Sequence[float], target: float, initial: float | None = None) -> int | None:
    """N*: the first iteration whose loss is at or below ``target``.

    Args:
        totals: loss after iterations 1, 2, … (``totals[i - 1]`` is iteration ``i``).
        target: the loss to reach (the feed-forward network's).
        initial: loss of the starting image; if it already reaches ``target``, N* is 0.

    Returns:
        The 1-based iteration, 0 for the start, or ``None`` if never reached.
    """
    if initial is not None and initial <= target:
        return 0
    for index, value in enumerate(totals):
        if value <= target:
            return index + 1
    return None


def censored_median(values: Sequence[Bound]) -> Bound:
    """Median of values some of which are lower bounds.

    Lower bounds sort as larger than every exact value (a censored N* is beyond the
    iterations run; every reached N* is within them). The median is exact when the middle
    element(s) are exact; otherwise it is computed with the bounds' values and marked as a
    lower bound, which it is, since every true value is larger than its bound.

    Raises:
        ValueError: on an empty sequence.
    """
    if not values:
        raise ValueError("censored_median needs at least one value")
    ordered = sorted(values, key=lambda b: (b.lower, b.value))
    n = len(ordered)
    middle = ordered[n // 2 : n // 2 + 1] if n % 2 else ordered[n // 2 - 1 : n // 2 + 1]
    return Bound(statistics.fmean(b.value for b in middle), any(b.lower for b in middle))


def mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (``None`` for a single value)."""
    if not values:
        raise ValueError("mean_std needs at least one value")
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else None)


__all__ = ["Bound", "censored_median", "first_reaching", "mean_std"]
