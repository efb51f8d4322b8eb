"""A painting joins the zoo as a named style, without training (``scripts/zoo.py add --style-image``).

Ghiasi et al. (BMVC 2017): the arbitrary-style network's style-prediction network turns a painting into
an embedding, and the transform network conditioned on it paints that style. Stored as a row of the
zoo's arbitrary-style network (its ``style_embeddings`` buffer and ``styles``, as the mirror's 17
paintings are), the painting is a style like any shipped one: ``--style NAME`` (a serving choice of the
registry), ``NAME@arbitrary``, blends (a weighted mean of embeddings), ``--list-styles``, the web page.

The network's weights are copied as stored (float16, bit for bit); the embedding table is stored as
float32 (400 bytes a row; the float16 rows convert exactly), so that the name paints exactly what
``--style-image PAINTING`` read at the same size paints. Everything is checked (the name, the painting,
the network run on a small image, the file's size) before anything is written; the file and the
registry are each written atomically, under the zoo folder's lock. Pure torch.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch
from PIL import Image

from fast_style.atomic import atomic_path
from fast_style.checkpoint import StyleCheckpoint
from fast_style.errors import InvalidValueError
from fast_style.io import open_rgb
from fast_style.models.arbitrary import FAMILY, MIN_PAINTING_SIZE, PAINTING_SIZE, ArbitraryStyleNet, prepare_painting
from fast_style.zoo.add import try_network, zoo_file_bytes
from fast_style.zoo.fold import read_arbitrary_network
from fast_style.zoo.index import ZOO_DIR, ServingChoice, ZooEntry, ZooIndex, index_lock, read_index, write_index
from fast_style.zoo.spec import is_network_name

ARBITRARY = "arbitrary"  # the zoo's arbitrary-style network, which stores the named styles
OWN_PAINTING = "your own painting"  # the licence recorded when --note says nothing


def add_painting(
    painting: str | os.PathLike, name: str, zoo_dir: str | os.PathLike = ZOO_DIR, *,
    size: int = PAINTING_SIZE, note: str | None = None, replace: bool = False,
) -> Path:
    """Store ``painting``'s embedding as the named style ``name`` of the zoo's arbitrary-style network.

    Args:
        painting: any image file (read with the project's reader and its decompression-bomb limit).
        name: the style's name: letters, digits and ``_``.
        zoo_dir: the zoo folder (the package's by default).
        size: the side the painting's centre square is read at (the stroke scale; default 256, as
            :func:`fast_style.infer.stylize.load_model`'s ``style_image_size``).
        note: the painting's licence as the registry records it (default ``"your own painting"``).
        replace: replace the stored style ``name`` (only that row), or add a row under a name another
            network serves (that network keeps serving the plain name; the painting is ``NAME@arbitrary``).

    Returns:
        The rewritten ``<zoo_dir>/arbitrary.pth``.

    Raises:
        ImageReadError: the painting is missing or not an image.
        InvalidValueError: a name outside the grammar, one that exists (without ``replace``) or that is a
            network's, a painting whose shorter side is under 32 pixels, a bad ``size``, a zoo without the
            arbitrary-style network (nothing in the zoo is touched then).
    """
    if not is_network_name(name) or "-" in name:  # a "-" would start a variant
        raise InvalidValueError(f"style name {name!r}: a style's name is letters, digits and _ (no '-', '@', ':', ',')")
    image = _read_painting(painting)
    with index_lock(zoo_dir):
        index = read_index(zoo_dir)
        entry = _arbitrary_entry(index, zoo_dir)
        _check_name(index, name, replace)
        target = Path(zoo_dir) / entry.file
        stored, network = read_arbitrary_network(target)
        with torch.no_grad():
            embedding = network.eval().embed(prepare_painting(image, size))[0]
        source = Path(painting).name
        updated = _with_style(stored, network, name, embedding, {"file": source, "size": size})
        try_network(updated, name)
        data = zoo_file_bytes(ARBITRARY, updated.card, updated.state_dict, updated.config)
        with atomic_path(target) as partial:
            partial.write_bytes(data)
        write_index(zoo_dir, _registry_with(index, entry, updated.card.model_args["styles"], name,
                                            note or OWN_PAINTING, source, size))
    return target


def _arbitrary_entry(index: ZooIndex, zoo_dir: str | os.PathLike) -> ZooEntry:
    """The registry's entry of the arbitrary-style network, or an InvalidValueError naming the zoo without one."""
    entry = index.networks.get(ARBITRARY)
    if entry is None or entry.family != FAMILY:
        raise InvalidValueError(f"the zoo {str(zoo_dir)!r} has no arbitrary-style network {ARBITRARY!r} to store "
                                "a painting's style in")
    return entry


def _with_style(stored: StyleCheckpoint, network: ArbitraryStyleNet, name: str, embedding: torch.Tensor,
                painting: dict[str, object]) -> StyleCheckpoint:
    """``stored`` with ``embedding`` (shape (D,)) as the row of style ``name`` and ``painting`` (file, size) recorded.

    The weights stay as stored (float16, bit for bit); a replaced style keeps its row's place in the table.
    """
    table = dict(zip(network.style_names, network.style_embeddings))
    table[name] = embedding
    state = {**stored.state_dict, "style_embeddings": torch.stack(list(table.values()))}
    card = dataclasses.replace(stored.card, model_args={**stored.card.model_args, "styles": list(table)})
    recorded = dict(stored.config.get("paintings") or {})
    config = {**stored.config, "paintings": {**recorded, name: painting}}
    return StyleCheckpoint(stored.path, "inference", card, state, config)


def _registry_with(index: ZooIndex, entry: ZooEntry, styles: list[str], name: str, licence: str, source: str,
                   size: int) -> ZooIndex:
    """The registry with the arbitrary network's ``styles`` and ``name``'s ``licence``, serving the plain name
    ``name`` from that network where no other network serves it."""
    serving = index.serving
    if _unserved(index, name):
        why = (f"{OWN_PAINTING}: the embedding of {source} read at {size} px (zoo.py add --style-image); "
               "not trained, not measured")
        serving = {**serving, name: ServingChoice(ARBITRARY, why)}
    entry = dataclasses.replace(entry, styles=tuple(styles), licence={**entry.licence, name: licence})
    return ZooIndex({**index.networks, ARBITRARY: entry}, serving)


def _read_painting(painting: str | os.PathLike) -> Image.Image:
    """The painting as RGB, once it is an image whose shorter side the predictor can read."""
    image = open_rgb(painting)
    if min(image.size) < MIN_PAINTING_SIZE:
        raise InvalidValueError(f"painting {str(painting)!r} is {image.width}×{image.height} pixels; a painting's "
                                f"shorter side must be at least {MIN_PAINTING_SIZE} pixels")
    return image


def _check_name(index: ZooIndex, name: str, replace: bool) -> None:
    """Refuse a network's name, and a name that exists (a stored, shipped or served style) unless ``replace``."""
    if name in index.networks[ARBITRARY].styles:
        if not replace:
            raise InvalidValueError(f"{name!r} exists already: it is a style {ARBITRARY} stores; to replace that "
                                    "style with this painting, add with --replace")
        return
    if name in index.networks:
        raise InvalidValueError(f"{name!r} is a network of the zoo ({index.networks[name].file}); --replace replaces a "
                                "stored style, not a network: choose another name")
    holders = sorted(network for network, entry in index.networks.items() if name in entry.styles)
    if (holders or name in index.serving) and not replace:
        what = f"a style {holders[0]} holds" if holders else f"a style served by {index.serving[name].network}"
        raise InvalidValueError(f"{name!r} exists already: it is {what}; to add this painting under that name "
                                f"beside it ({name}@{ARBITRARY}), add with --replace")


def _unserved(index: ZooIndex, name: str) -> bool:
    """Whether no other network serves the plain name ``name`` (then the arbitrary-style network serves it)."""
    return name not in index.serving and name not in index.networks and not any(
        name in entry.styles for network, entry in index.networks.items() if network != ARBITRARY)


__all__ = ["ARBITRARY", "OWN_PAINTING", "add_painting"]
