"""The networks a web app serves: the shipped styles plus any checkpoints in a folder, loaded once.

Every name goes through the zoo's one resolver (:func:`fast_style.zoo.resolve`). Networks are loaded
lazily, each on its first request and under its own lock: a slow or broken file delays only the
requests for it, never the page's other styles. At start-up a folder's files are checked from their
declarations alone (:func:`fast_style.checkpoint.read_card`: bounded, no weights read), so a hostile
file is left out at once. Pure torch; no Gradio here, so the handlers can be tested without a server.

A person picks a painting, not a network: :meth:`StyleLibrary.styles` lists each style once (the name
that serves it as the zoo decides), with its small network as a "fast" option; the other served names
(``candy@styles15``, ``feathers@feathers``) stay reachable by name. A painting of the user's own goes
through the arbitrary-style network (Ghiasi et al., BMVC 2017), folded into a one-style network and
kept by the painting's content hash. :meth:`StyleLibrary.serve` turns a request into the network and a
line saying which network it is.
"""

from __future__ import annotations

import hashlib
import os
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
from PIL import Image

from fast_style import zoo
from fast_style.checkpoint import read_card
from fast_style.errors import FastStyleError, FastStyleWarning, InvalidValueError
from fast_style.infer.stylize import ARBITRARY_NETWORK, load_arbitrary_network, load_model
from fast_style.io import load_image, open_rgb, tensor_to_pil
from fast_style.models.arbitrary import PAINTING_SIZE, prepare_painting
from fast_style.models.transformer import TransformerNet
from fast_style.sheets import square_crop
from fast_style.zoo import UnknownStyleError

THUMBNAIL = 160  # pixels, the side of a style picker tile
FAST_VARIANT = "small"  # the variant the "fast" switch picks: NAME-small, distilled from NAME
OWN_PAINTING = "your painting"  # the style of a request that brings its own painting (no served name has a space)
PAINTING_NETWORK = f"arbitrary network {zoo.zoo_path(ARBITRARY_NETWORK).name}, folded for your painting"
KEEP_RECENT = 8  # folded networks of blends, and of paintings, kept each
_Loaded = TypeVar("_Loaded")


class UnservedModelWarning(FastStyleWarning):
    """A checkpoint of the models folder cannot be read and is not served."""


@dataclass(frozen=True)
class Served:
    """The network that answers one request, and what the page says about it.

    Attributes:
        model: the one-style network to run (a blend or a painting comes folded).
        style: what was asked for, in words: ``"candy"``, ``"candy 70% + udnie 30%"``, ``"your painting"``.
        network: which network that is: ``"dedicated network candy.pth"``, ``"arbitrary network
            arbitrary.pth, folded for your painting"``, ... (with a note where the fast switch had no effect).
    """

    model: TransformerNet
    style: str
    network: str

    @property
    def label(self) -> str:
        """``"candy — dedicated network candy.pth"``: the line shown under the result."""
        return f"{self.style} — {self.network}"


class StyleLibrary:
    """Named style networks, each loaded on first use and then kept (thread-safe).

    Args:
        models_dir: folder whose ``*.pth`` checkpoints are served beside the shipped styles
            (named by file stem; a stem that clashes with a shipped style gets `` (yours)``).
            Missing or empty is fine.
        include_zoo: serve the networks shipped in :mod:`fast_style.zoo`.
        device: where the networks run (``"cpu"``, ``"cuda"``).
    """

    def __init__(self, models_dir: str | os.PathLike | None = None, include_zoo: bool = True,
                 device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        # name -> what the zoo's resolver made of it: a shipped style's spec, or a file of the models folder.
        self.paths: dict[str, zoo.ResolvedStyle] = {}
        if include_zoo:
            self.paths.update(zoo.served_styles())
        self.skipped: dict[Path, str] = {}
        if models_dir is not None and Path(models_dir).is_dir():
            for path in sorted(Path(models_dir).glob("*.pth")):
                try:
                    read_card(path)  # bounded, no weights: one unusable file is left out, not the whole page
                except (FastStyleError, OSError) as error:
                    self.skipped[path] = str(error)
                    warnings.warn(f"not serving {str(path)!r}: {error}", UnservedModelWarning, stacklevel=2)
                    continue
                name = path.stem if path.stem not in self.paths else f"{path.stem} (yours)"
                self.paths[name] = zoo.resolve(path)
        self._models: dict[str, TransformerNet] = {}
        self._lock = threading.Lock()  # guards the two dicts, never held while a network loads
        self._loading: dict[str, threading.Lock] = {}

    def names(self) -> list[str]:
        """The served style names, shipped ones first (sorted), then the folder's."""
        return list(self.paths)

    def styles(self) -> list[str]:
        """Each style once, by the name that serves it: the shipped paintings (sorted), then the folder's networks.

        A shipped style is its plain name (the zoo decides which network serves it); the names of a
        specific network (``candy@styles15``) and the small variants (``candy-small``, see
        :meth:`small_network`) are left out, except a variant whose style has no plain name.
        """
        plain, variants, own = [], [], []
        for name, source in self.paths.items():
            term = zoo.parse_spec(name).terms[0] if source.network is not None else None
            if term is None:
                own.append(name)
            elif term.variant is not None:
                variants.append((term.style, name))
            elif not term.explicit_style:
                plain.append(name)
        alone = [name for style, name in variants if style not in plain]
        return sorted(plain + alone) + own

    def small_network(self, name: str) -> str | None:
        """The served name of ``name``'s small network (``candy-small``: the "fast" switch), or ``None``."""
        source = self.paths.get(name)
        small = f"{name}-{FAST_VARIANT}"
        return small if source is not None and source.network is not None and small in self.paths else None

    def model(self, name: str) -> TransformerNet:
        """The network for ``name``, loaded once.

        Raises:
            UnknownStyleError: ``name`` is not served (the message lists what is).
            CheckpointError: the file is broken.
        """
        if name not in self.paths:
            raise UnknownStyleError(f"unknown style {name!r}; served: {', '.join(self.paths) or '(none)'}")
        return self._loaded(name, lambda: load_model(self.paths[name], self.device))

    def _loaded(self, key: str, load: Callable[[], _Loaded]) -> _Loaded:
        """``self._models[key]``, loaded once by ``load`` under ``key``'s own lock (other keys load meanwhile)."""
        with self._lock:
            if key in self._models:
                return self._models[key]
            lock = self._loading.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._models:
                    return self._models[key]
            model = load()
            with self._lock:
                self._models[key] = model
                self._loading.pop(key, None)
            return model

    def _forget_old(self, prefix: str, keep_key: str) -> None:
        """Drop the folded networks cached under ``prefix`` beyond the newest :data:`KEEP_RECENT` (never ``keep_key``)."""
        with self._lock:
            old = [key for key in self._models if key.startswith(prefix) and key != keep_key]
            for key in old[: max(0, len(old) - KEEP_RECENT + 1)]:
                del self._models[key]

    def _blend_of(self, first: str, second: str, mix: float) -> zoo.ResolvedStyle | None:
        """The zoo's blend of ``first`` and ``second``, ``mix`` of the second, or ``None`` where the zoo cannot blend them.

        Two plain names blend as the zoo blends them (mixed embeddings, or a shared network holding both). A name
        of a specific network (``candy@styles15``) blends inside that network: its partner is named by its style
        there. The blend is resolved in the zoo folder both names were served from (a library may serve another
        zoo than the package's).
        """
        sources = [self.paths.get(name) for name in (first, second)]
        if any(source is None or source.network is None for source in sources):
            return None  # a folder's own network blends with nothing
        folders = {source.path.parent for source in sources}
        if len(folders) > 1 or sources[0].style == sources[1].style:
            return None  # a blend mixes styles of one network, so of one zoo
        terms = [zoo.parse_spec(name).terms[0] for name in (first, second)]
        chosen = {source.network for term, source in zip(terms, sources) if term.explicit_style}
        if len(chosen) > 1:
            return None
        # A style's name, not its file's (shipwreck, served by shipwreck-small, is shipwreck@styles15 there).
        names = [f"{term.style}@{next(iter(chosen))}" for term in terms] if chosen else [first, second]
        try:
            return zoo.resolve(f"{names[0]}:{1 - mix:g},{names[1]}:{mix:g}", allow_path=False, zoo_dir=folders.pop())
        except FastStyleError:
            return None

    def blendable(self, name: str) -> list[str]:
        """The styles (:meth:`styles`) that blend with ``name``: the zoo's resolver decides (a shared network holding
        both, or mixed embeddings), so whatever serves blends in the zoo serves them here."""
        return [other for other in self.styles() if self._blend_of(name, other, 0.5) is not None]

    def blend(self, first: str, second: str, mix: float) -> TransformerNet:
        """``first`` and ``second`` mixed, ``mix`` of the second, in [0, 1]: the zoo's blend ``first:1-mix,second:mix``.

        The zoo folds a blend into a one-style network (mixed γ, β or mixed embeddings, never mixed
        pixels). Folded networks of recent blends are kept (a few; the mix slider moves in steps).

        Raises:
            UnknownStyleError: a name not served, or two styles that do not blend.
        """
        for name in (first, second):
            if name not in self.paths:
                raise UnknownStyleError(f"unknown style {name!r}; served: {', '.join(self.paths) or '(none)'}")
        source = self._blend_of(first, second, mix)
        if source is None:
            raise UnknownStyleError(f"{first!r} and {second!r} do not blend (blends with {first!r}: "
                                    f"{', '.join(self.blendable(first)) or 'none'})")
        key = f"blend {source.path} {source.spec}"
        self._forget_old("blend ", key)
        return self._loaded(key, lambda: zoo.load(source, self.device))

    def painting(self, path: str | os.PathLike, max_pixels: int | None = None,
                 size: int = PAINTING_SIZE) -> TransformerNet:
        """The arbitrary-style network folded for the painting in file ``path`` (Ghiasi et al., BMVC 2017).

        The fold is kept by the file's content hash (SHA-256), so the next photo with the same painting
        skips the predictor; the last :data:`KEEP_RECENT` paintings are kept.

        Args:
            path: the painting (an upload, bounded in bytes by the server).
            max_pixels: decompression-bomb limit (``None``: Pillow's), as for photos.
            size: the side its centre square is read at: the stroke scale (default 256).

        Raises:
            ImageReadError: not an image, damaged, or over ``max_pixels``.
            InvalidValueError: a size below 32.
        """
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        key = f"painting {digest} {size}"
        self._forget_old("painting ", key)

        @torch.no_grad()
        def fold() -> TransformerNet:
            square = prepare_painting(open_rgb(path, max_pixels), size)  # (1, 3, size, size)
            network = self._loaded("arbitrary network", load_arbitrary_network)
            return network.fold(network.embed(square)[0]).eval().to(self.device)

        return self._loaded(key, fold)

    def network_text(self, name: str) -> str:
        """Which network serves ``name``, in words: ``"dedicated network candy.pth"``, ``"shared network
        styles15.pth (15 styles)"``, ``"small network candy-small.pth, distilled from candy"``, ..."""
        return _network_text(self.paths[name])

    def serve(self, style: str, *, fast: bool = False, blend_with: str | None = None, mix: float = 0.0,
              painting: str | os.PathLike | None = None, max_pixels: int | None = None) -> Served:
        """The network for one request, and what to say about it.

        Args:
            style: a name from :meth:`names` (:meth:`styles` or a specific network), or :data:`OWN_PAINTING`.
            fast: the style's small network (:meth:`small_network`) where one exists; ignored, with a
                note, where none does, for a blend and for a painting (the arbitrary network is small).
            blend_with: a style of :meth:`blendable`, or ``None``/``""``.
            mix: ``blend_with``'s share, 0 (only ``style``) to 1; 0 is no blend.
            painting: the painting file of :data:`OWN_PAINTING`.
            max_pixels: the painting's decompression-bomb limit.

        Raises:
            UnknownStyleError: a name not served, or two styles that do not blend.
            InvalidValueError: :data:`OWN_PAINTING` without a painting, or a blend with it.
            ImageReadError: a painting that cannot be read.
        """
        if style == OWN_PAINTING:
            if painting is None:
                raise InvalidValueError("Upload a painting first, or pick one of the styles.")
            if blend_with and mix > 0:
                raise InvalidValueError("Your own painting does not blend with a style; set the mix to 0.")
            return Served(self.painting(painting, max_pixels), OWN_PAINTING, PAINTING_NETWORK)
        if blend_with and mix > 0:
            model = self.blend(style, blend_with, mix)
            source = self._blend_of(style, blend_with, mix)
            return Served(model, f"{style} {1 - mix:.0%} + {blend_with} {mix:.0%}", _network_text(source))
        name, network = self._plain_choice(style, fast)
        return Served(self.model(name), style, network)

    def choice_label(self, style: str, fast: bool = False) -> str:
        """The line :meth:`serve` would give for ``style`` without a blend (``"candy — dedicated network candy.pth"``),
        without loading anything: what the page shows while a style is picked.

        Raises:
            UnknownStyleError: a name not served.
        """
        if style == OWN_PAINTING:
            return f"{OWN_PAINTING} — {PAINTING_NETWORK}"
        return f"{style} — {self._plain_choice(style, fast)[1]}"

    def _plain_choice(self, style: str, fast: bool) -> tuple[str, str]:
        """The served name that answers ``style`` (its small network if ``fast`` and there is one) and its words."""
        if style not in self.paths:
            raise UnknownStyleError(f"unknown style {style!r}; served: {', '.join(self.paths) or '(none)'}")
        small = self.small_network(style) if fast else None
        note = f"; no small network for {style}" if fast and small is None else ""
        return small or style, self.network_text(small or style) + note

    def thumbnail(self, name: str) -> Image.Image:
        """A square picture of the style image (from the asset mirror), or a grey tile naming it."""
        from fast_style.assets import AssetNotFoundError, resolve_path_or_asset

        source = self.paths[name]
        card = read_card(source.path)
        style = source.style or card.style
        # A style stored as an embedding (the arbitrary network's) records no file: the mirror's painting of that name.
        image = card.style_image(style) or f"styles/{style}.jpg"
        try:
            picture = load_image(resolve_path_or_asset(image), size=THUMBNAIL)
        except (AssetNotFoundError, OSError, TypeError, ValueError):
            return Image.new("RGB", (THUMBNAIL, THUMBNAIL), (200, 200, 200))
        return tensor_to_pil(square_crop(picture, THUMBNAIL)[0])


def _network_text(source: zoo.ResolvedStyle) -> str:
    """What kind of network ``source`` is, from its card (bounded, no weights): see :meth:`StyleLibrary.network_text`."""
    file = source.path.name
    if source.network is None:
        return f"your network {file}"
    card = read_card(source.path)
    blend = len(source.styles) > 1
    if card.model_args.get("family") == "arbitrary":
        return f"arbitrary network {file}, " + ("mixed embeddings" if blend else "the painting's stored embedding")
    held = len(zoo.network_styles(source.path))
    if held > 1:
        return f"blend inside the shared network {file}" if blend else f"shared network {file} ({held} styles)"
    if card.lineage.distilled_from:
        return f"small network {file}, distilled from {card.lineage.distilled_from}"
    return f"dedicated network {file}"


__all__ = ["FAST_VARIANT", "OWN_PAINTING", "PAINTING_NETWORK", "Served", "StyleLibrary"]
