"""A trained network joins the zoo: checked, tried, stored as float16, registered (``scripts/zoo.py add``).

The zoo cannot be clobbered: a name that ships (a network's, or a style a shared network serves) is
refused unless the caller says ``replace``; a network serving several styles is never replaced by
one serving fewer; the network is loaded (with the checkpoint reader's bounds) and run on a small
image before anything is written; the file and the registry are each written atomically, under the
zoo folder's lock. Pure torch.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from fast_style.atomic import atomic_path
from fast_style.card import NetworkCard, ZooNote
from fast_style.checkpoint import StyleCheckpoint, first_non_finite, model_from_checkpoint, read_checkpoint
from fast_style.errors import InputFileError, InvalidValueError
from fast_style.zoo.fold import fold_styles
from fast_style.zoo.index import ZOO_DIR, ServingChoice, ZooEntry, ZooIndex, index_lock, read_index, write_index
from fast_style.zoo.paintings import painting_status
from fast_style.zoo.spec import is_network_name, parse_spec

# What a shipped file may weigh (fp16 weights of the default network are 3.22 MB; the arbitrary one's 5 MB).
MAX_ZOO_BYTES = 6 * 1024 * 1024
TRIAL_SIZE = 32  # pixels, the side of the image a network is tried on before it joins


def zoo_entry(name: str, card: NetworkCard) -> ZooEntry:
    """The registry's entry for network ``name`` with ``card``: its file, variant, styles and their licences."""
    styles = card.style_names or ((card.style,) if card.style else ())
    variant = name.split("-", 1)[1] if "-" in name else None
    return ZooEntry(name, f"{name}.pth", card.style, tuple(styles), variant,
                    {style: painting_status(style) for style in styles}, str(card.model_args.get("family", "transformer")))


def add_to_zoo(
    checkpoint: str | os.PathLike, zoo_dir: str | os.PathLike = ZOO_DIR, note: str | None = None, *,
    replace: bool = False, serve: Sequence[str] = (),
) -> Path:
    """Copy a trained slim checkpoint into the zoo with float16 weights, and register it.

    Args:
        checkpoint: ``checkpoints/<style>.pth`` written by training.
        zoo_dir: the zoo folder (the package's by default).
        note: a line on why these settings (kept in the card's ``zoo`` note).
        replace: replace a network of the same name, or take a name a shared network serves.
        serve: styles of this network that their plain name should serve from it (the serving
            choice, e.g. a shared network better than a dedicated one); ``note`` says why.

    Returns:
        The written ``<zoo_dir>/<style>.pth``.

    Raises:
        InputFileError: if the checkpoint file does not exist.
        CheckpointError: the file is not a checkpoint or is out of the reader's bounds.
        InvalidValueError: if the checkpoint is not a slim inference checkpoint, has non-finite
            weights, names a style that is not a plain zoo name, a name that ships (without
            ``replace``), would replace a network serving styles it lacks, does not run on a small
            image, or the float16 file would exceed :data:`MAX_ZOO_BYTES` (nothing in the zoo is touched then).
    """
    if not Path(checkpoint).is_file():
        raise InputFileError(f"checkpoint {str(checkpoint)!r} does not exist")
    stored = read_checkpoint(checkpoint)
    if stored.source != "inference":
        raise InvalidValueError(f"{str(checkpoint)!r} is a {stored.source} checkpoint; the zoo takes the slim "
                                "checkpoints/<style>.pth that training writes (it carries the training config)")
    name = stored.style
    if not is_network_name(name):
        # The style becomes the file name: '../../x' would be written outside the zoo.
        raise InvalidValueError(f"{str(checkpoint)!r} names its style {name!r}; a zoo name is letters, digits and _ "
                                "(NAME or NAME-VARIANT), so it cannot be the zoo's file name")
    state = _half(str(checkpoint), stored.state_dict)
    card = dataclasses.replace(stored.card, zoo=ZooNote("float16", note or ""))
    entry = zoo_entry(name, card)
    unknown = sorted(set(serve) - set(entry.styles))
    if unknown:
        raise InvalidValueError(f"--serve {', '.join(unknown)}: {name!r} holds {', '.join(entry.styles)}")
    try_network(StyleCheckpoint(Path(checkpoint), "inference", card, state))
    data = zoo_file_bytes(name, card, state, stored.config)
    with index_lock(zoo_dir):
        index = read_index(zoo_dir)
        _check_name(index, entry, replace)
        target = Path(zoo_dir) / entry.file
        with atomic_path(target) as partial:
            partial.write_bytes(data)
        serving = {**index.serving, **{style: ServingChoice(name, note or "") for style in serve}}
        write_index(zoo_dir, ZooIndex({**index.networks, name: entry}, serving))
    return target


def zoo_file_bytes(name: str, card: NetworkCard, state: dict[str, torch.Tensor], config: dict) -> bytes:
    """The zoo file of network ``name`` (its card, weights as stored and config), serialised in memory.

    Sized before anything is written: a file that would be refused never replaces (or deletes) a shipped one.

    Raises:
        InvalidValueError: the file would exceed :data:`MAX_ZOO_BYTES`.
    """
    buffer = io.BytesIO()
    torch.save({**card.as_payload(), "state_dict": state, "config": config}, buffer)
    if buffer.tell() > MAX_ZOO_BYTES:
        raise InvalidValueError(f"{name}: the float16 file is {buffer.tell() / 2**20:.1f} MB; the zoo allows "
                                f"{MAX_ZOO_BYTES / 2**20:.0f} MB")
    return buffer.getvalue()


def _half(where: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Floating weights as float16, once they are finite and fit it."""
    bad = first_non_finite(state)
    if bad is not None:
        raise InvalidValueError(f"{where!r}: tensor {bad!r} has non-finite values; it cannot join the zoo")
    for key, value in state.items():
        if value.is_floating_point() and value.numel() and value.abs().max() > torch.finfo(torch.float16).max:
            raise InvalidValueError(f"{where!r}: tensor {key!r} does not fit float16")
    return {key: value.half() if value.is_floating_point() else value for key, value in state.items()}


def set_serving(style: str, network: str, why: str, zoo_dir: str | os.PathLike = ZOO_DIR) -> Path:
    """Serve the plain name ``style`` from the shipped ``network`` (the registry's serving choice), saying ``why``.

    ``network`` is a network that holds ``style`` (``mondrian`` in ``arbitrary``) or a one-style network of that
    style (``shipwreck``, ``shipwreck-small``): measured best, by N* and by eye (``scripts/zoo.py serve``).

    Raises:
        InvalidValueError: a network not shipped, one that does not hold ``style``, or no ``why``.
    """
    if not why.strip():
        raise InvalidValueError(f"say why {network!r} serves {style!r} (the measurements: N*, blobs, by eye)")
    with index_lock(zoo_dir):
        index = read_index(zoo_dir)
        entry = index.networks.get(network)
        if entry is None:
            raise InvalidValueError(f"network {network!r} is not shipped; shipped: {', '.join(sorted(index.networks))}")
        own = not entry.is_multi_style and parse_spec(network).terms[0].style == style
        if not own and (not entry.is_multi_style or style not in entry.styles):
            raise InvalidValueError(f"network {network!r} does not hold style {style!r}; it holds "
                                    f"{', '.join(entry.styles) or 'none'}")
        return write_index(zoo_dir, dataclasses.replace(index, serving={**index.serving,
                                                                        style: ServingChoice(network, why)}))


def _check_name(index: ZooIndex, entry: ZooEntry, replace: bool) -> None:
    """Refuse a name that ships (unless ``replace``) and the replacement of a network by one serving fewer styles."""
    name = entry.name
    existing = index.networks.get(name)
    chosen = index.serving.get(name)
    holders = sorted(other for other, held in index.networks.items()
                     if (held.serves_by_name or (chosen and chosen.network == other)) and name in held.styles)
    if (existing or holders) and not replace:
        what = f"a network of the zoo ({existing.file})" if existing else f"a style {holders[0]} serves"
        raise InvalidValueError(f"{name!r} ships already: it is {what}; to replace it, add with --replace")
    if existing is not None and existing.is_multi_style:
        lost = [style for style in existing.styles if style not in entry.styles]
        if lost:
            raise InvalidValueError(
                f"{name!r} serves {len(existing.styles)} styles and this network holds {len(entry.styles)}: it would "
                f"drop {', '.join(lost[:5])}{' ...' if len(lost) > 5 else ''}; a network serving several styles is "
                "replaced only by one that holds them all")


def try_network(checkpoint: StyleCheckpoint, style: str | None = None) -> None:
    """Build the network as it will be shipped (float16 weights) and run it on a small image.

    A multi-style network runs folded for ``style`` (``None``: its first).

    Raises:
        InvalidValueError: the output is not an image of the input's shape with finite values.
    """
    model = model_from_checkpoint(checkpoint)
    names = tuple(getattr(model, "style_names", ()))
    if names:
        model = fold_styles(model, {style or names[0]: 1.0})
    image = torch.rand(1, 3, TRIAL_SIZE, TRIAL_SIZE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        output = model(image)
    if tuple(output.shape) != tuple(image.shape) or not torch.isfinite(output).all():
        raise InvalidValueError(f"{str(checkpoint.path)!r}: on a {TRIAL_SIZE}×{TRIAL_SIZE} test image the network "
                                f"gives {tuple(output.shape)} {'finite' if torch.isfinite(output).all() else 'NaN/inf'} "
                                "values; it cannot join the zoo")


__all__ = ["MAX_ZOO_BYTES", "add_to_zoo", "set_serving", "try_network", "zoo_entry", "zoo_file_bytes"]
