"""What a user types to name a style network: the spec grammar, parsed (no files read, no torch).

A spec is either a path to a checkpoint file (decided by the resolver, :func:`fast_style.zoo.resolve`,
before this grammar is consulted) or one or more *terms* of the zoo::

    spec    := term ("," term)*          several terms: a blend of the styles
    term    := ref [":" WEIGHT]          WEIGHT: a non-negative number; weights are normalised to sum to 1
    ref     := [STYLE "@"] NETWORK       STYLE: one style of a multi-style network (default: the network's own)
    NETWORK := NAME ["-" VARIANT]        a shipped file, fast_style/zoo/<NAME>[-<VARIANT>].pth
    NAME, STYLE, VARIANT := letters, digits and "_" (no "-", which starts the variant)

Examples: ``candy`` (the shipped candy network), ``candy-small`` (its ``small`` variant),
``mosaic@styles15`` (style ``mosaic`` of the multi-style network ``styles15``), ``candy:0.7,mosaic:0.3``
(a blend, 70 % candy). A term without ``@`` names a one-style network after its style, so its style
is ``NAME``; ``candy-small`` is style ``candy`` of the network ``candy-small``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from fast_style.errors import InvalidValueError

_WORD = r"[A-Za-z0-9_]+"
_TERM = re.compile(rf"(?:(?P<style>{_WORD})@)?(?P<name>{_WORD})(?:-(?P<variant>{_WORD}))?(?::(?P<weight>[^:,@]*))?")
_NETWORK = re.compile(rf"{_WORD}(?:-{_WORD})?")
GRAMMAR = "NAME, NAME-VARIANT, STYLE@NETWORK, or a blend such as candy:0.7,mosaic:0.3"


@dataclass(frozen=True)
class StyleTerm:
    """One style asked for: which network file holds it, and how much of it.

    Attributes:
        style: the style's name.
        network: the shipped network's name, ``NAME`` or ``NAME-VARIANT`` (the zoo file's stem).
        variant: the variant suffix, or ``None``.
        weight: the share of this style in the blend (all terms sum to 1).
        explicit_style: the spec named the style with ``STYLE@`` (rather than the network's own).
    """

    style: str
    network: str
    variant: str | None
    weight: float
    explicit_style: bool = False


@dataclass(frozen=True)
class StyleSpec:
    """A parsed zoo spec: its text and its terms (one term unless it is a blend)."""

    text: str
    terms: tuple[StyleTerm, ...]

    @property
    def is_blend(self) -> bool:
        """More than one style."""
        return len(self.terms) > 1


def _weight(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise InvalidValueError(f"bad style spec {spec!r}: weight {text!r} is not a non-negative number")
    return value


def parse_spec(text: str) -> StyleSpec:
    """Parse a zoo spec (see the module docstring for the grammar).

    Args:
        text: what the user typed, e.g. ``"candy"``, ``"candy-small"``, ``"candy:0.7,mosaic:0.3"``.

    Returns:
        The spec with its terms' weights normalised to sum to 1 (a single term weighs 1).

    Raises:
        InvalidValueError: the text does not follow the grammar, a weight is negative or not a
            number, a style appears twice (also under a variant: ``candy-small:0.5,candy:0.5``), all weights
            are zero, or a single style carries a weight.
    """
    parts = text.split(",")
    raw: list[tuple[re.Match[str], float | None]] = []
    for part in parts:
        match = _TERM.fullmatch(part)
        if match is None:
            what = "an empty term" if not part else f"{part!r}"
            raise InvalidValueError(f"bad style spec {text!r}: {what} is not a style; a spec is {GRAMMAR}")
        weight = match.group("weight")
        raw.append((match, None if weight is None else _weight(weight, text)))
    if len(raw) == 1 and raw[0][1] is not None:
        raise InvalidValueError(f"bad style spec {text!r}: a weight needs a blend of two or more styles "
                                "(for less of one style use --strength)")
    weights = [1.0 if weight is None else weight for _, weight in raw]
    if sum(weights) <= 0:
        raise InvalidValueError(f"bad style spec {text!r}: the weights sum to zero")
    # Scaled by the largest first, so that huge weights (1e308 + 1e308 = inf) cannot overflow the sum.
    weights = [weight / max(weights) for weight in weights]
    terms = []
    for (match, _), weight in zip(raw, weights):
        name, variant = match.group("name"), match.group("variant")
        network = name if variant is None else f"{name}-{variant}"
        style = match.group("style") or name
        terms.append(StyleTerm(style, network, variant, weight / sum(weights), match.group("style") is not None))
    styles = [term.style for term in terms]
    twice = next((style for style in styles if styles.count(style) > 1), None)
    if twice is not None:
        # A variant paints its network's style (candy-small is candy distilled), so candy-small:0.5,candy:0.5
        # would be candy blended with itself under two networks' names.
        networks = [term.network for term in terms if term.style == twice]
        under = "" if len(set(networks)) == 1 else (
            f" (as {' and '.join(map(repr, networks))}: a variant paints its network's style)")
        raise InvalidValueError(f"bad style spec {text!r}: the style {twice!r} appears twice{under}; a blend mixes "
                                "different styles (for less of one style use --strength)")
    return StyleSpec(text, tuple(terms))


def looks_like_spec(text: str) -> bool:
    """Whether ``text`` is meant as a zoo spec rather than a file path (no separator, no file suffix).

    ``:``/``,``/``@`` make it a spec (a weight's dot is no suffix); otherwise a dot means a file name.
    """
    if not text or "/" in text or "\\" in text:
        return False
    return any(mark in text for mark in ":,@") or "." not in text


def is_network_name(text: str) -> bool:
    """Whether ``text`` is a plain zoo file stem, ``NAME`` or ``NAME-VARIANT`` (no path, no dots, nothing else)."""
    return isinstance(text, str) and _NETWORK.fullmatch(text) is not None


__all__ = ["GRAMMAR", "StyleSpec", "StyleTerm", "is_network_name", "looks_like_spec", "parse_spec"]
