"""The shipped style networks: ``fast_style/zoo/<style>.pth``, ready to stylise without training.

Each file is a slim inference checkpoint (:mod:`fast_style.checkpoint`) with its weights stored
as float16 (half the size: 3.22 MB for the default network) and its card
(:class:`fast_style.card.NetworkCard`) describing how it was trained. The registry,
``index.json`` (:mod:`fast_style.zoo.index`), lists every shipped name: resolving one is a lookup.
Reading restores float32 (:func:`fast_style.checkpoint.to_float32`), so a zoo network computes in
float32 like any other.

Training never writes here (its output is ``checkpoints/<style>.pth``); a network joins the zoo
only through :func:`add_to_zoo` (``scripts/zoo.py add``, :mod:`fast_style.zoo.add`), after it has been
looked at.

The zoo is also the one resolver from what a user types to a network (as timm's
``create_model``/``list_models``): :func:`resolve` turns a spec (a checkpoint path, or a shipped name,
variant, style of a multi-style network or blend; grammar in :mod:`fast_style.zoo.spec`) into a
:class:`ResolvedStyle`, and :func:`load` into the network. :func:`fast_style.infer.stylize.load_model`,
every command and the web app ask it. The zoo imports nothing from the paths (``fast_style.infer``,
``fast_style.baseline``): they import it.

Pure torch: no Lightning, no Hydra.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from fast_style.assets import AssetNotFoundError, resolve_asset
from fast_style.card import NetworkCard
from fast_style.checkpoint import model_from_checkpoint, read_card, read_checkpoint
from fast_style.errors import FastStyleError, InputFileError, InvalidValueError
from fast_style.loss.perceptual import PerceptualLossSettings
from fast_style.models.transformer import TransformerNet
from fast_style.zoo.add import MAX_ZOO_BYTES, add_to_zoo
from fast_style.zoo.fold import fold_styles
from fast_style.zoo.index import ZOO_DIR, read_index
from fast_style.zoo.paintings import painting_status
from fast_style.zoo.spec import GRAMMAR, StyleSpec, StyleTerm, looks_like_spec, parse_spec


class UnknownStyleError(FastStyleError, ValueError):
    """A style, variant or network that the zoo (or the web app) does not have; the message lists what it has."""


def available_styles(zoo_dir: str | os.PathLike = ZOO_DIR) -> list[str]:
    """Names of the shipped style networks (the registry's TransformerNets, :mod:`fast_style.zoo.index`), sorted.

    The arbitrary-style networks (``arbitrary``, any painting a style, and ``arbitrary_magenta``, Magenta's as
    imported before the fine-tune) are shipped too, but are no style: :func:`zoo_path` finds them.
    """
    return sorted(name for name, entry in read_index(zoo_dir).networks.items() if entry.family == "transformer")


def zoo_path(name: str, zoo_dir: str | os.PathLike = ZOO_DIR) -> Path:
    """The file of shipped network ``name`` (a registry lookup).

    Raises:
        UnknownStyleError: if the zoo has no such network (the message lists those it has).
    """
    entry = read_index(zoo_dir).networks.get(name)
    if entry is None:
        shipped = ", ".join(available_styles(zoo_dir)) or "none"
        raise UnknownStyleError(f"unknown style {name!r}; shipped styles: {shipped}")
    return Path(zoo_dir) / entry.file


@dataclass(frozen=True)
class ResolvedStyle:
    """Which network file a spec means, and which of its styles with what weight.

    Attributes:
        spec: what the user typed (a path or a zoo spec).
        path: the checkpoint file (a slim ``.pth``, a Lightning ``.ckpt`` or an exported ``.onnx``).
        network: the shipped network's name (``"candy"``, ``"candy-small"``), or ``None`` for a user's file.
        styles: ``(style, weight)`` pairs asked for, weights summing to 1; empty for a user's file
            (its own style, known once it is read).
    """

    spec: str
    path: Path
    network: str | None = None
    styles: tuple[tuple[str, float], ...] = ()

    @property
    def style(self) -> str | None:
        """The one style asked for (``None`` for a user's file or a blend)."""
        return self.styles[0][0] if len(self.styles) == 1 else None


def serving_choices(zoo_dir: str | os.PathLike = ZOO_DIR) -> dict[str, str]:
    """The styles that a plain name serves from another shipped network than their own file.

    The registry's serving choices (:class:`fast_style.zoo.index.ServingChoice`): the decision, by N*
    and by eye side by side, that e.g. a student or the arbitrary-style network is better than a dedicated
    network cut short (``shipwreck``), or that a painting without a network of its own is served by the
    arbitrary-style network (``mondrian``). The dedicated file stays reachable as ``STYLE@STYLE``. Choices
    whose network is not shipped, and those of a name for its own file (kept for their ``why``), are left out.
    """
    index = read_index(zoo_dir)
    return {style: choice.network for style, choice in index.serving.items()
            if choice.network in index.networks and choice.network != style}


def _shipped_line(zoo_dir: str | os.PathLike) -> str:
    """The plain style names the zoo serves (one-style networks, the serving choices, then shared networks' styles)."""
    index = read_index(zoo_dir)
    names = [name for name in sorted(index.networks) if not index.networks[name].is_multi_style]
    names += [style for style in sorted(serving_choices(zoo_dir)) if style not in names]
    for network in multi_style_networks(zoo_dir):
        names += [style for style in index.networks[network].styles if style not in names]
    return f"shipped styles: {', '.join(names) or 'none'}"


def _network_path(term: StyleTerm, spec: StyleSpec, zoo_dir: Path) -> Path:
    """The zoo file of ``term``'s network, or an UnknownStyleError saying what the zoo has instead."""
    index = read_index(zoo_dir)
    if term.network in index.networks:
        return zoo_dir / index.networks[term.network].file
    what = spec.text if len(spec.terms) == 1 and not term.explicit_style else term.network
    where = "" if what == spec.text else f" in {spec.text!r}"
    if term.variant is not None:
        base = term.network.rsplit("-", 1)[0]
        variants = sorted(name for name in index.networks if name.startswith(f"{base}-")) or ["none"]
        raise UnknownStyleError(f"unknown style {what!r}{where}: no variant {term.variant!r} of {base!r} is shipped "
                                f"(variants shipped: {', '.join(variants)}); {_shipped_line(zoo_dir)}")
    if term.explicit_style:
        raise UnknownStyleError(f"unknown network {what!r}{where}; {_multi_line(zoo_dir)}")
    raise UnknownStyleError(f"unknown style {what!r}{where}; {_shipped_line(zoo_dir)}")


_STYLES_CACHE: dict[tuple[str, int, int], tuple[str, ...]] = {}


def network_styles(path: str | os.PathLike) -> tuple[str, ...]:
    """The styles a network file holds: a multi-style network's names, or a one-style network's style.

    A zoo file's come from the registry; any other file's from its card (read without its weights).
    """
    path = Path(path)
    entry = next((entry for entry in read_index(path.parent).networks.values() if entry.file == path.name), None)
    if entry is not None:
        return entry.styles
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _STYLES_CACHE:
        _STYLES_CACHE[key] = _held_styles(read_card(path))
    return _STYLES_CACHE[key]


def _held_styles(card: NetworkCard) -> tuple[str, ...]:
    return card.style_names or ((card.style,) if card.style else ())


def multi_style_networks(zoo_dir: str | os.PathLike = ZOO_DIR) -> list[str]:
    """The shipped multi-style TransformerNets: the networks whose styles are served by name and blend.

    (The arbitrary-style network, which stores named styles too, serves the plain names that the registry's
    serving choices give it, and blends: :func:`blend_networks`.)
    """
    return sorted(name for name, entry in read_index(zoo_dir).networks.items() if entry.serves_by_name)


def blend_networks(zoo_dir: str | os.PathLike = ZOO_DIR) -> list[str]:
    """The shipped networks that a blend of plain names is served from, the preferred first.

    The arbitrary-style networks first: their blend is a weighted mean of stored style embeddings (Ghiasi
    et al. 2017), a point of the space the network was trained on, so it paints as a style does; a
    multi-style TransformerNet's blend mixes its γ, β (Dumoulin et al. 2017), which no style was trained at
    (``styles15`` painted white blobs into every blend, docs/serving.md).
    """
    index = read_index(zoo_dir)
    arbitrary = sorted(name for name, entry in index.networks.items()
                       if entry.family == "arbitrary" and entry.is_multi_style)
    return arbitrary + multi_style_networks(zoo_dir)


def _multi_line(zoo_dir: str | os.PathLike) -> str:
    return f"networks that blend shipped: {', '.join(blend_networks(zoo_dir)) or 'none'}"


def networks_holding(styles: list[str], zoo_dir: str | os.PathLike = ZOO_DIR) -> list[str]:
    """The shipped networks that blend every one of ``styles`` (in :func:`blend_networks`' order)."""
    index = read_index(zoo_dir)
    return [name for name in blend_networks(zoo_dir) if set(styles) <= set(index.networks[name].styles)]


def _network_of(spec: StyleSpec, zoo_dir: Path) -> str:
    """The one network file that holds every style of ``spec``.

    ``STYLE@NETWORK`` names it. A plain name is the registry's serving choice, else its own file where
    one is shipped; a style that has no file of its own, and a blend of plain names, use a network that
    blends them all (:func:`blend_networks`: the arbitrary-style network first; for a blend, a term's own
    file first when it holds them all: a new style trained on a shared network).
    """
    explicit = {term.network for term in spec.terms if term.explicit_style}
    if explicit:
        if len(explicit) > 1 or len(explicit) != len({term.network for term in spec.terms}):
            raise InvalidValueError(
                f"cannot blend {spec.text!r}: a blend mixes styles of one network that holds them all "
                f"(STYLE@NETWORK:WEIGHT,...); {_multi_line(zoo_dir)}")
        return _network_path(spec.terms[0], spec, zoo_dir).stem
    styles = [term.style for term in spec.terms]
    index = read_index(zoo_dir)
    if not spec.is_blend and not spec.terms[0].variant:
        chosen = serving_choices(zoo_dir).get(spec.terms[0].network)
        if chosen:
            return chosen
    own = [term.network for term in spec.terms if term.network in index.networks]
    if not spec.is_blend and own:
        return own[0]
    variants = [term for term in spec.terms if term.variant]
    for term in variants:
        _network_path(term, spec, zoo_dir)  # an unknown variant is named as such
    for network in own:
        if set(styles) <= set(index.networks[network].styles):
            return network
    if variants:
        # A variant is a network of its own (candy-small, distilled from candy): its style is in no
        # shared network, so a blend with it is refused rather than served by another network.
        plain = ",".join(f"{term.style}:{term.weight:g}" for term in spec.terms)
        holding = networks_holding(styles, zoo_dir)
        instead = f"; {plain} blends them in {holding[0]}" if holding else ""
        raise InvalidValueError(
            f"cannot blend {spec.text!r}: {variants[0].network!r} is a one-style variant, and a blend mixes the "
            f"styles inside one network that holds them all{instead}")
    holding = networks_holding(styles, zoo_dir)
    if not spec.is_blend:
        # One plain name reaches the arbitrary-style network only through a serving choice (its stored
        # styles are STYLE@arbitrary otherwise), so that every plain name served is one the registry lists.
        holding = [name for name in holding if index.networks[name].serves_by_name]
        if not holding:
            _network_path(spec.terms[0], spec, zoo_dir)
    if holding:
        return holding[0]
    missing = [term for term in spec.terms
               if term.network not in index.networks and not networks_holding([term.style], zoo_dir)]
    if missing:
        _network_path(missing[0], spec, zoo_dir)
    raise InvalidValueError(
        f"cannot blend {spec.text!r}: no shipped network holds all of {', '.join(styles)} (a blend mixes the styles "
        f"inside one network); {_multi_line(zoo_dir)}")


def _resolve_zoo(spec: StyleSpec, zoo_dir: Path) -> ResolvedStyle:
    """The network and styles of a parsed zoo spec (one network, holding every style asked for)."""
    network = _network_of(spec, zoo_dir)
    entry = read_index(zoo_dir).networks[network]
    path, held = zoo_dir / entry.file, entry.styles
    styles = []
    for term in spec.terms:
        # A one-style file named by its stem, or serving a plain name, holds its own style, whatever that is
        # called: a variant (``candy-small``, distilled from candy) records the name it was trained under.
        style = held[0] if len(held) == 1 and not term.explicit_style else term.style
        if style not in held:
            raise UnknownStyleError(f"unknown style {term.style!r} in {spec.text!r}: network {network!r} holds "
                                    f"{', '.join(held) or 'no named style'}; {_multi_line(zoo_dir)}")
        styles.append((style, term.weight))
    return ResolvedStyle(spec.text, path, network, tuple(styles))


def resolve(
    spec: str | os.PathLike | ResolvedStyle, *, allow_path: bool = True, zoo_dir: str | os.PathLike = ZOO_DIR
) -> ResolvedStyle:
    """The network file and style(s) that ``spec`` names: the one resolver of every command.

    A file path wins over a zoo name (``./candy`` if such a file exists). Otherwise ``spec`` is a
    zoo spec (:mod:`fast_style.zoo.spec`): ``candy``, ``candy-small``, ``mosaic@styles15``,
    ``candy:0.7,mosaic:0.3``. Nothing heavy happens: a shipped name is not even opened.

    Args:
        spec: what the user typed, a path, or an already resolved spec (returned as it is).
        allow_path: take file paths (``--ckpt``); ``False`` for the zoo only (``--style``).
        zoo_dir: the zoo folder (the package's by default).

    Raises:
        UnknownStyleError: a name, variant, network or style the zoo does not have (lists what it has).
        InvalidValueError: a spec that breaks the grammar, or a blend of separate networks.
        InputFileError: a path (``allow_path``) that is not a file.
    """
    if isinstance(spec, ResolvedStyle):
        return spec
    text = os.fspath(spec)
    if allow_path and (isinstance(spec, os.PathLike) or not looks_like_spec(text) or Path(text).is_file()):
        if not Path(text).is_file():
            raise InputFileError(f"checkpoint {text!r} does not exist")
        return ResolvedStyle(text, Path(text))
    if not looks_like_spec(text):
        raise UnknownStyleError(f"unknown style {text!r}; {_shipped_line(zoo_dir)} (a checkpoint file goes to --ckpt)")
    return _resolve_zoo(parse_spec(text), Path(zoo_dir))


def load(spec: str | os.PathLike | ResolvedStyle, device: str | torch.device = "cpu", *,
         allow_path: bool = True) -> TransformerNet:
    """The network ``spec`` names (see :func:`resolve`), in eval mode on ``device``, float32 weights.

    A style or blend of a multi-style network comes folded into a one-style network
    (:meth:`TransformerNet.for_style`), so every inference path runs it as any other. A multi-style
    file given as a path comes as its first style. ``model.style_name`` holds the style's name as the
    file records it, or the spec of a blend.

    Raises:
        UnknownStyleError, InvalidValueError, InputFileError: see :func:`resolve`.
        CheckpointError: the file is not a style checkpoint (:func:`fast_style.checkpoint.read_checkpoint`).
    """
    return load_with_loss(spec, device, allow_path=allow_path)[0]


def load_with_loss(spec: str | os.PathLike | ResolvedStyle, device: str | torch.device = "cpu", *,
                   allow_path: bool = True) -> tuple[TransformerNet, PerceptualLossSettings | None]:
    """The network ``spec`` names (as :func:`load`) and the loss it was trained with, from one read of the file.

    "A network and the loss it was trained with": what N* (the Gatys baseline), a distilled student's
    teacher and the showcase judge a network by. One style of a multi-style file comes with its own
    painting and weight (:meth:`fast_style.card.NetworkCard.loss_for`); ``None`` where the file does not
    say, or for a blend (never trained against one loss).

    Raises:
        as :func:`load`.
    """
    resolved = resolve(spec, allow_path=allow_path)
    checkpoint = read_checkpoint(resolved.path)
    model = model_from_checkpoint(checkpoint)
    style_name = checkpoint.style
    if model.style_names:
        default = checkpoint.style if checkpoint.style in model.style_names else model.style_names[0]
        choice = dict(resolved.styles) or {default: 1.0}
        model = fold_styles(model, choice)
        style_name = next(iter(choice)) if len(choice) == 1 else resolved.spec
    elif len(resolved.styles) > 1:
        raise InvalidValueError(f"{resolved.spec!r}: {resolved.path.name} holds one style; a blend needs a multi-style network")
    model.style_name = style_name
    loss = checkpoint.card.loss_for(style_name) if len(resolved.styles) <= 1 else None
    return model.eval().to(device), loss


def served_styles(zoo_dir: str | os.PathLike = ZOO_DIR) -> dict[str, ResolvedStyle]:
    """Every style the zoo serves, by the spec that picks it: what ``--style`` and the web page offer.

    A one-style network is its own name. A serving choice (:func:`serving_choices`) is the plain name
    of its style (``mondrian``, from the arbitrary-style network). A style of a multi-style TransformerNet
    is its plain name where no file of its own is shipped or the serving choice picks that network, else
    ``STYLE@NETWORK``, so both networks of a style stay reachable: a dedicated file that is not served is
    ``STYLE@STYLE`` (``shipwreck@shipwreck``). The arbitrary-style network's other stored styles are
    ``STYLE@arbitrary``, not listed.
    """
    served: dict[str, ResolvedStyle] = {}
    folder = Path(zoo_dir)
    index = read_index(folder)
    chosen = serving_choices(folder)
    for name in available_styles(folder):
        if not index.networks[name].is_multi_style:
            spec = f"{name}@{name}" if name in chosen else name
            served[spec] = resolve(spec, allow_path=False, zoo_dir=folder)
    for style in sorted(chosen):
        served.setdefault(style, resolve(style, allow_path=False, zoo_dir=folder))
    for network in multi_style_networks(folder):
        for style in index.networks[network].styles:
            own_name = style == network or chosen.get(style) == network or (
                style not in served and style not in index.networks)
            spec = style if own_name else f"{style}@{network}"
            served.setdefault(spec, resolve(spec, allow_path=False, zoo_dir=folder))
    return served


def _mirror_painting(style: str | None) -> str | None:
    """The asset mirror's style image named ``style`` (``styles/<style>.*``), or ``None``.

    The arbitrary-style network's stored styles are the embeddings of these files (``scripts/import_magenta.py``),
    and its card records no painting per style.
    """
    try:
        folder = resolve_asset("styles")
    except AssetNotFoundError:
        return None
    found = sorted(folder.glob(f"{style}.*")) if style else []
    return f"styles/{found[0].name}" if found else None


def describe(name: str, zoo_dir: str | os.PathLike = ZOO_DIR) -> dict[str, Any]:
    """How the network serving ``name`` (a name :func:`served_styles` lists) was trained, from its card: its
    network, steps (a multi-style network's steps count all its styles' turns), crop size, weights, precision,
    machine, the teacher of a distilled network and the painting's copyright status (:mod:`fast_style.zoo.paintings`)."""
    resolved = resolve(name, allow_path=False, zoo_dir=zoo_dir)
    card = read_card(resolved.path)
    style = resolved.style or card.style
    # A blend shows its first style's painting.
    painting = resolved.styles[0][0] if resolved.styles else style
    # The loss as trained, not the style group: a command-line loss.style_weight=... overrides the style's weight.
    loss = card.loss_for(style)
    styles = network_styles(resolved.path)
    training = card.training
    return {
        "name": name,
        "network": resolved.network,
        "family": read_index(zoo_dir).networks[resolved.network].family,
        "styles_in_network": len(styles),
        "style_image": card.style_image(painting) or _mirror_painting(painting),
        "steps": sum(leg.steps or 0 for leg in card.lineage.legs if list(leg.styles) == list(styles)) or training.steps,
        "crop": training.crop,
        "batch": training.batch,
        "content_weight": None if loss is None else loss.content_weight,
        "style_weight": None if loss is None else loss.style_weight,
        "tv_weight": None if loss is None else loss.tv_weight,
        "style_size": None if loss is None else loss.style_size,
        "precision": training.precision,
        "machine": training.machine,
        "final_total_loss": training.final_losses.get("train/total"),
        "model_args": card.model_args,
        # A distilled network's teacher (experiment=distill): it learned that network's output, not the loss.
        "teacher": card.lineage.distilled_from,
        # The registry's record first: a painting added with zoo.py add --style-image is none of the mirror's.
        "painting_status": read_index(zoo_dir).networks[resolved.network].licence.get(style) or painting_status(style),
    }


__all__ = [
    "GRAMMAR",
    "MAX_ZOO_BYTES",
    "ZOO_DIR",
    "ResolvedStyle",
    "StyleSpec",
    "StyleTerm",
    "UnknownStyleError",
    "add_to_zoo",
    "available_styles",
    "blend_networks",
    "describe",
    "load",
    "load_with_loss",
    "multi_style_networks",
    "networks_holding",
    "network_styles",
    "parse_spec",
    "resolve",
    "served_styles",
    "serving_choices",
    "zoo_path",
]
