"""The shipped style networks: ``fast_style/zoo/<style>.pth``, ready to stylise without training.

Each file is a slim inference checkpoint (:mod:`fast_style.checkpoint`) with its weights stored
as float16 (half the size: 3.22 MB for the default network) and ``meta["zoo"]`` describing
how it was trained. Reading restores float32 (:func:`fast_style.checkpoint.to_float32`), so a
zoo network computes in float32 like any other.

Training never writes here (its output is ``checkpoints/<style>.pth``); a network joins the zoo
only through :func:`add_to_zoo` (``scripts/zoo.py add``), after it has been looked at.

The zoo is also the one resolver from what a user types to a network (as timm's
``create_model``/``list_models``): :func:`resolve` turns a spec (a checkpoint path, or a shipped name,
variant, style of a multi-style network or blend; grammar in :mod:`fast_style.zoo.spec`) into a
:class:`ResolvedStyle`, and :func:`load` into the network. :func:`fast_style.infer.stylize.load_model`,
every command and the web app ask it. The zoo imports nothing from the paths (``fast_style.infer``,
``fast_style.baseline``): they import it.

Pure torch: no Lightning, no Hydra.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from fast_style.atomic import atomic_path
from fast_style.checkpoint import FORMAT, first_non_finite, model_from_checkpoint, read_checkpoint
from fast_style.errors import FastStyleError, InputFileError, InvalidValueError
from fast_style.models.transformer import TransformerNet
from fast_style.zoo.paintings import painting_status
from fast_style.zoo.spec import GRAMMAR, StyleSpec, StyleTerm, is_network_name, looks_like_spec, parse_spec

ZOO_DIR = Path(__file__).resolve().parent
# What a shipped file may weigh (fp16 weights of the default network are 3.22 MB).
MAX_ZOO_BYTES = 4 * 1024 * 1024


class UnknownStyleError(FastStyleError, ValueError):
    """A style, variant or network that the zoo (or the web app) does not have; the message lists what it has."""


def available_styles(zoo_dir: str | os.PathLike = ZOO_DIR) -> list[str]:
    """Names of the shipped styles, sorted."""
    return sorted(path.stem for path in Path(zoo_dir).glob("*.pth"))


def zoo_path(name: str, zoo_dir: str | os.PathLike = ZOO_DIR) -> Path:
    """The file of shipped style ``name``.

    Raises:
        UnknownStyleError: if the zoo has no such style (the message lists those it has).
    """
    path = Path(zoo_dir) / f"{name}.pth"
    if not name or Path(name).name != name or not path.is_file():
        shipped = ", ".join(available_styles(zoo_dir)) or "none"
        raise UnknownStyleError(f"unknown style {name!r}; shipped styles: {shipped}")
    return path


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


SERVING_FILE = "serving.json"


def serving_choices(zoo_dir: str | os.PathLike = ZOO_DIR) -> dict[str, str]:
    """The styles that a plain name serves from another shipped network than their own file.

    ``<zoo_dir>/serving.json`` maps a style to ``{"network": NAME, "why": ...}``: the decision, by N*
    and by eye side by side, that e.g. the shared network is better than a dedicated one cut short. The
    dedicated file stays reachable as ``STYLE@STYLE``. Choices whose network is not shipped are ignored.

    Raises:
        InvalidValueError: the file is not such a mapping.
    """
    path = Path(zoo_dir) / SERVING_FILE
    if not path.is_file():
        return {}
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        choices = {str(style): str(entry["network"]) for style, entry in entries.items()}
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise InvalidValueError(f"{path}: expected {{STYLE: {{\"network\": NAME, \"why\": TEXT}}}} ({error})") from error
    return {style: network for style, network in choices.items() if (Path(zoo_dir) / f"{network}.pth").is_file()}


def _shipped_line(zoo_dir: str | os.PathLike) -> str:
    """The plain style names the zoo serves (one-style networks, then the shared network's own styles)."""
    folder = Path(zoo_dir)
    names = [name for name in available_styles(folder) if len(network_styles(folder / f"{name}.pth")) <= 1]
    for network in multi_style_networks(folder):
        names += [style for style in network_styles(folder / f"{network}.pth") if style not in names]
    return f"shipped styles: {', '.join(names) or 'none'}"


def _network_path(term: StyleTerm, spec: StyleSpec, zoo_dir: Path) -> Path:
    """The zoo file of ``term``'s network, or an UnknownStyleError saying what the zoo has instead."""
    path = zoo_dir / f"{term.network}.pth"
    if path.is_file():
        return path
    what = spec.text if len(spec.terms) == 1 and not term.explicit_style else term.network
    where = "" if what == spec.text else f" in {spec.text!r}"
    if term.variant is not None:
        base = term.network.rsplit("-", 1)[0]
        variants = sorted(p.stem for p in zoo_dir.glob(f"{base}-*.pth")) or ["none"]
        raise UnknownStyleError(f"unknown style {what!r}{where}: no variant {term.variant!r} of {base!r} is shipped "
                                f"(variants shipped: {', '.join(variants)}); {_shipped_line(zoo_dir)}")
    if term.explicit_style:
        raise UnknownStyleError(f"unknown network {what!r}{where}; {_multi_line(zoo_dir)}")
    raise UnknownStyleError(f"unknown style {what!r}{where}; {_shipped_line(zoo_dir)}")


_STYLES_CACHE: dict[tuple[str, int, int], tuple[str, ...]] = {}


def network_styles(path: str | os.PathLike) -> tuple[str, ...]:
    """The styles a network file holds: a multi-style network's names, or a one-style network's style."""
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _STYLES_CACHE:
        checkpoint = read_checkpoint(path)
        styles = (checkpoint.model_args or {}).get("styles")
        _STYLES_CACHE[key] = tuple(styles) if styles else ((checkpoint.style,) if checkpoint.style else ())
    return _STYLES_CACHE[key]


def multi_style_networks(zoo_dir: str | os.PathLike = ZOO_DIR) -> list[str]:
    """The shipped networks that hold several styles (the ones a ``STYLE@NETWORK`` spec or a blend can use)."""
    return [path.stem for path in sorted(Path(zoo_dir).glob("*.pth")) if len(network_styles(path)) > 1]


def _multi_line(zoo_dir: str | os.PathLike) -> str:
    return f"multi-style networks shipped: {', '.join(multi_style_networks(zoo_dir)) or 'none'}"


def networks_holding(styles: list[str], zoo_dir: str | os.PathLike = ZOO_DIR) -> list[str]:
    """The shipped multi-style networks that hold every one of ``styles`` (sorted by name)."""
    folder = Path(zoo_dir)
    return [name for name in multi_style_networks(folder) if set(styles) <= set(network_styles(folder / f"{name}.pth"))]


def _network_of(spec: StyleSpec, zoo_dir: Path) -> str:
    """The one network file that holds every style of ``spec``.

    ``STYLE@NETWORK`` names it. A plain name is its own file where one is shipped; a style that has no
    file of its own, and a blend of plain names, use a multi-style network that holds them all (for a
    blend, a term's own file first when it holds them all: a new style trained on the shared network).
    """
    explicit = {term.network for term in spec.terms if term.explicit_style}
    if explicit:
        if len(explicit) > 1 or len(explicit) != len({term.network for term in spec.terms}):
            raise InvalidValueError(
                f"cannot blend {spec.text!r}: a blend mixes styles of one network that holds them all "
                f"(STYLE@NETWORK:WEIGHT,...); {_multi_line(zoo_dir)}")
        return _network_path(spec.terms[0], spec, zoo_dir).stem
    styles = [term.style for term in spec.terms]
    if not spec.is_blend and not spec.terms[0].variant:
        chosen = serving_choices(zoo_dir).get(spec.terms[0].network)
        if chosen:
            return chosen
    own = [term.network for term in spec.terms if (zoo_dir / f"{term.network}.pth").is_file()]
    if not spec.is_blend and own:
        return own[0]
    if any(term.variant for term in spec.terms) and not own:
        _network_path(next(term for term in spec.terms if term.variant), spec, zoo_dir)
    for network in own:
        if set(styles) <= set(network_styles(zoo_dir / f"{network}.pth")):
            return network
    holding = networks_holding(styles, zoo_dir)
    if holding:
        return holding[0]
    missing = [term for term in spec.terms
               if not (zoo_dir / f"{term.network}.pth").is_file() and not networks_holding([term.style], zoo_dir)]
    if missing:
        _network_path(missing[0], spec, zoo_dir)
    raise InvalidValueError(
        f"cannot blend {spec.text!r}: no shipped network holds all of {', '.join(styles)} (a blend mixes the styles "
        f"inside one network); {_multi_line(zoo_dir)}")


def _resolve_zoo(spec: StyleSpec, zoo_dir: Path) -> ResolvedStyle:
    """The network and styles of a parsed zoo spec (one network, holding every style asked for)."""
    network = _network_of(spec, zoo_dir)
    path = zoo_dir / f"{network}.pth"
    held = network_styles(path)
    styles = []
    for term in spec.terms:
        # A one-style file named by its stem holds its own style, whatever that is called: a variant
        # (``candy-small``, distilled from candy) records the name it was trained under.
        style = held[0] if len(held) == 1 and term.network == network and not term.explicit_style else term.style
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
    resolved = resolve(spec, allow_path=allow_path)
    checkpoint = read_checkpoint(resolved.path)
    model = model_from_checkpoint(checkpoint)
    style_name = checkpoint.style
    if model.style_names:
        default = checkpoint.style if checkpoint.style in model.style_names else model.style_names[0]
        choice = dict(resolved.styles) or {default: 1.0}
        model = model.for_style(choice)
        style_name = next(iter(choice)) if len(choice) == 1 else resolved.spec
    elif len(resolved.styles) > 1:
        raise InvalidValueError(f"{resolved.spec!r}: {resolved.path.name} holds one style; a blend needs a multi-style network")
    model.style_name = style_name
    return model.eval().to(device)


def served_styles(zoo_dir: str | os.PathLike = ZOO_DIR) -> dict[str, ResolvedStyle]:
    """Every style the zoo serves, by the spec that picks it: what ``--style`` and the web page offer.

    A one-style network is its own name. A style of a multi-style network is its plain name where
    no file of its own is shipped (``mondrian``) or the serving choice (:func:`serving_choices`) picks
    that network, else ``STYLE@NETWORK`` (``candy@styles15``), so both networks of a style stay
    reachable: a dedicated file that is not served is ``STYLE@STYLE`` (``feathers@feathers``).
    """
    served: dict[str, ResolvedStyle] = {}
    folder = Path(zoo_dir)
    chosen = serving_choices(folder)
    for name in available_styles(folder):
        held = network_styles(folder / f"{name}.pth")
        if len(held) <= 1:
            spec = f"{name}@{name}" if name in chosen else name
            served[spec] = resolve(spec, allow_path=False, zoo_dir=folder)
    for network in multi_style_networks(folder):
        for style in network_styles(folder / f"{network}.pth"):
            own_name = style == network or chosen.get(style) == network or (
                style not in served and not (folder / f"{style}.pth").is_file())
            spec = style if own_name else f"{style}@{network}"
            served.setdefault(spec, resolve(spec, allow_path=False, zoo_dir=folder))
    return served


def describe(name: str, zoo_dir: str | os.PathLike = ZOO_DIR) -> dict[str, Any]:
    """How the network serving ``name`` (a name :func:`served_styles` lists) was trained: its network,
    steps (a multi-style network's steps count all its styles' turns), crop size, weights, precision, machine,
    the teacher of a distilled network and the painting's copyright status (:mod:`fast_style.zoo.paintings`)."""
    resolved = resolve(name, allow_path=False, zoo_dir=zoo_dir)
    checkpoint = read_checkpoint(resolved.path)
    config = checkpoint.config
    style = resolved.style or checkpoint.style
    # The loss as trained, not the style group: a command-line loss.style_weight=... overrides the style's weight.
    loss = checkpoint.style_loss_args(style) or {}
    meta = checkpoint.meta
    styles = network_styles(resolved.path)
    history = meta.get("history") or []
    return {
        "name": name,
        "network": resolved.network,
        "styles_in_network": len(styles),
        "style_image": loss.get("style_image"),
        "steps": sum(leg.get("steps") or 0 for leg in history if leg.get("styles") == list(styles)) or meta.get("global_step"),
        "crop": (config.get("data") or {}).get("image_size"),
        "batch": (config.get("data") or {}).get("batch_size"),
        "content_weight": loss.get("content_weight"),
        "style_weight": loss.get("style_weight"),
        "tv_weight": loss.get("tv_weight"),
        "style_size": loss.get("style_size"),
        "precision": meta.get("precision"),
        "machine": meta.get("machine"),
        "final_total_loss": (meta.get("final_losses") or {}).get("train/total"),
        "model_args": checkpoint.model_args,
        # A distilled network's teacher (experiment=distill): it learned that network's output, not the loss.
        "teacher": (config.get("module") or {}).get("teacher"),
        "painting_status": painting_status(style),
    }


def add_to_zoo(
    checkpoint: str | os.PathLike, zoo_dir: str | os.PathLike = ZOO_DIR, note: str | None = None
) -> Path:
    """Copy a trained slim checkpoint into the zoo with float16 weights.

    Args:
        checkpoint: ``checkpoints/<style>.pth`` written by training.
        zoo_dir: the zoo folder (the package's by default).
        note: a line on why these settings (kept in ``meta["zoo"]``).

    Returns:
        The written ``<zoo_dir>/<style>.pth``.

    Raises:
        InputFileError: if the checkpoint file does not exist.
        InvalidValueError: if the checkpoint is not a slim inference checkpoint, has non-finite
            weights, names a style that is not a plain zoo name, or the float16 file would exceed
            :data:`MAX_ZOO_BYTES` (nothing in the zoo is touched then).
    """
    if not Path(checkpoint).is_file():
        raise InputFileError(f"checkpoint {str(checkpoint)!r} does not exist")
    stored = read_checkpoint(checkpoint)
    if stored.source != "inference":
        raise InvalidValueError(f"{str(checkpoint)!r} is a {stored.source} checkpoint; the zoo takes the slim "
                         "checkpoints/<style>.pth that training writes (it carries the training config)")
    state = stored.state_dict
    bad = first_non_finite(state)
    if bad is not None:
        raise InvalidValueError(f"{str(checkpoint)!r}: tensor {bad!r} has non-finite values; it cannot join the zoo")
    for key, value in state.items():
        if value.is_floating_point() and value.abs().max() > torch.finfo(torch.float16).max:
            raise InvalidValueError(f"{str(checkpoint)!r}: tensor {key!r} does not fit float16")
    style = stored.style
    if not is_network_name(style):
        # The style becomes the file name: '../../x' would be written outside the zoo.
        raise InvalidValueError(f"{str(checkpoint)!r} names its style {style!r}; a zoo name is letters, digits and _ "
                                "(NAME or NAME-VARIANT), so it cannot be the zoo's file name")
    shipped = {
        "format": FORMAT,
        "model_args": stored.model_args,
        "state_dict": {k: v.half() if v.is_floating_point() else v for k, v in state.items()},
        "style": style,
        "config": stored.config,
        "meta": {**stored.meta, "zoo": {"dtype": "float16", "note": note or ""}},
    }
    # Sized in memory first: a file that would be refused never replaces (or deletes) a shipped one.
    buffer = io.BytesIO()
    torch.save(shipped, buffer)
    if buffer.tell() > MAX_ZOO_BYTES:
        raise InvalidValueError(f"{style}: the float16 file is {buffer.tell() / 2**20:.1f} MB; the zoo allows "
                                f"{MAX_ZOO_BYTES / 2**20:.0f} MB")
    target = Path(zoo_dir) / f"{style}.pth"
    with atomic_path(target) as partial:
        partial.write_bytes(buffer.getvalue())
    return target


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
    "describe",
    "load",
    "multi_style_networks",
    "networks_holding",
    "network_styles",
    "parse_spec",
    "resolve",
    "served_styles",
    "serving_choices",
    "zoo_path",
]
