"""The networks a web app serves: the shipped styles plus any checkpoints in a folder, loaded once.

Every name goes through the zoo's one resolver (:func:`fast_style.zoo.resolve`). Networks are loaded
lazily, each on its first request and under its own lock: a slow or broken file delays only the
requests for it, never the page's other styles. At start-up a folder's files are checked from their
declarations alone (:func:`fast_style.checkpoint.read_card`: bounded, no weights read), so a hostile
file is left out at once. Pure torch; no Gradio here, so the handlers can be tested without a server.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image

from fast_style import zoo
from fast_style.checkpoint import read_card
from fast_style.errors import FastStyleError, FastStyleWarning
from fast_style.infer.stylize import load_model
from fast_style.io import load_image, tensor_to_pil
from fast_style.models.transformer import TransformerNet
from fast_style.sheets import square_crop
from fast_style.zoo import UnknownStyleError

THUMBNAIL = 160  # pixels, the side of a style picker tile


class UnservedModelWarning(FastStyleWarning):
    """A checkpoint of the models folder cannot be read and is not served."""


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

    def model(self, name: str) -> TransformerNet:
        """The network for ``name``, loaded once.

        Raises:
            UnknownStyleError: ``name`` is not served (the message lists what is).
            CheckpointError: the file is broken.
        """
        if name not in self.paths:
            raise UnknownStyleError(f"unknown style {name!r}; served: {', '.join(self.paths) or '(none)'}")
        return self._loaded(name, lambda: load_model(self.paths[name], self.device))

    def _loaded(self, key: str, load: Callable[[], TransformerNet]) -> TransformerNet:
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

    def _shared_network(self, name: str) -> Path | None:
        """The multi-style network a blend with ``name`` uses: its own network, or the shipped one holding its style."""
        source = self.paths.get(name)
        if source is None or source.network is None or source.style is None:
            return None
        if len(zoo.network_styles(source.path)) > 1:
            return source.path
        holding = zoo.networks_holding([source.style], source.path.parent)
        return source.path.parent / f"{holding[0]}.pth" if holding else None

    def blendable(self, name: str) -> list[str]:
        """The served names that blend with ``name`` (other styles of the shared network holding it), one per style."""
        network = self._shared_network(name)
        if network is None:
            return []
        held, own = zoo.network_styles(network), self.paths[name].style
        partners: dict[str, str] = {}
        # A style's name on the shared network first (``shipwreck``, not ``shipwreck@shipwreck``): that is what blends.
        candidates = sorted(self.paths.items(), key=lambda item: getattr(item[1], "network", None) != network.stem)
        for other, spec in candidates:
            if spec.network is not None and spec.style in held and spec.style != own:
                partners.setdefault(spec.style, other)
        return sorted(partners.values(), key=list(self.paths).index)

    def blend(self, first: str, second: str, mix: float) -> TransformerNet:
        """``first`` and ``second`` mixed inside their shared network (γ, β), ``mix`` of the second, in [0, 1].

        Blends always use the shared network, also for a style that has a dedicated one. Folded
        networks of recent blends are kept (a few; the mix slider moves in steps).

        Raises:
            UnknownStyleError: a name not served, or two styles no one network holds.
        """
        for name in (first, second):
            if name not in self.paths:
                raise UnknownStyleError(f"unknown style {name!r}; served: {', '.join(self.paths) or '(none)'}")
        network = self._shared_network(first)
        second_style = getattr(self.paths[second], "style", None)
        if network is None or second_style not in zoo.network_styles(network) or second_style == self.paths[first].style:
            raise UnknownStyleError(f"{first!r} and {second!r} do not blend: a blend mixes styles of one network "
                                    f"(blends with {first!r}: {', '.join(self.blendable(first)) or 'none'})")
        spec = f"{self.paths[first].style}@{network.stem}:{1 - mix:g},{self.paths[second].style}@{network.stem}:{mix:g}"
        with self._lock:
            blends = [key for key in self._models if ":" in key and key != spec]
            for key in blends[: max(0, len(blends) - 7)]:  # keep the last eight blends
                del self._models[key]
        return self._loaded(spec, lambda: zoo.load(zoo.resolve(spec, allow_path=False, zoo_dir=network.parent),
                                                   self.device))

    def thumbnail(self, name: str) -> Image.Image:
        """A square picture of the style image (from the asset mirror), or a grey tile naming it."""
        from fast_style.assets import AssetNotFoundError, resolve_path_or_asset

        source = self.paths[name]
        card = read_card(source.path)
        image = card.style_image(source.style or card.style)
        try:
            picture = load_image(resolve_path_or_asset(image), size=THUMBNAIL)
        except (AssetNotFoundError, OSError, TypeError, ValueError):
            return Image.new("RGB", (THUMBNAIL, THUMBNAIL), (200, 200, 200))
        return tensor_to_pil(square_crop(picture, THUMBNAIL)[0])


__all__ = ["StyleLibrary"]
