"""The networks a web app serves: the shipped styles plus any checkpoints in a folder, loaded once.

Pure torch; no Gradio here, so the handlers can be tested without a server.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

import torch
from PIL import Image

from fast_style import zoo
from fast_style.checkpoint import read_checkpoint
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
        self.paths: dict[str, Path] = {}
        if include_zoo:
            self.paths.update({name: zoo.resolve(name, allow_path=False).path for name in zoo.available_styles()})
        self.skipped: dict[Path, str] = {}
        if models_dir is not None and Path(models_dir).is_dir():
            for path in sorted(Path(models_dir).glob("*.pth")):
                try:
                    read_checkpoint(path)  # one unreadable file is left out, not the whole page
                except (FastStyleError, OSError) as error:
                    self.skipped[path] = str(error)
                    warnings.warn(f"not serving {str(path)!r}: {error}", UnservedModelWarning, stacklevel=2)
                    continue
                name = path.stem if path.stem not in self.paths else f"{path.stem} (yours)"
                self.paths[name] = path
        self._models: dict[str, TransformerNet] = {}
        self._lock = threading.Lock()

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
        with self._lock:
            if name not in self._models:
                self._models[name] = load_model(self.paths[name], self.device)
            return self._models[name]

    def thumbnail(self, name: str) -> Image.Image:
        """A square picture of the style image (from the asset mirror), or a grey tile naming it."""
        from fast_style.assets import AssetNotFoundError, resolve_path_or_asset

        image = read_checkpoint(self.paths[name]).style_image
        try:
            picture = load_image(resolve_path_or_asset(image), size=THUMBNAIL)
        except (AssetNotFoundError, OSError, TypeError, ValueError):
            return Image.new("RGB", (THUMBNAIL, THUMBNAIL), (200, 200, 200))
        return tensor_to_pil(square_crop(picture, THUMBNAIL)[0])


__all__ = ["StyleLibrary"]
