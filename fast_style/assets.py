"""Named assets (VGG weights, style images, image folders): where to find them.

A name such as ``"weights/vgg16_imagenet_caffe.pth"`` or ``"styles/starry_night.jpg"`` is
looked up, in order, in:

1. an explicit path given by the config or the command line,
2. ``$FAST_STYLE_ASSETS``,
3. ``./assets`` (relative to the working directory).

When nothing is found the error says what was looked for, where, and how to provide it.
Nothing is downloaded: the default VGG16 weights are a Caffe-convention conversion made for
this project with no public URL to check a download against, so they, the style images and
the photo folders come from the mirror described in ``../shared/assets/README.md``
(``FAST_STYLE_ASSETS=../shared/assets``) or from paths the user gives.
"""

from __future__ import annotations

import os
from pathlib import Path

from fast_style.errors import FastStyleError

ENV_VAR = "FAST_STYLE_ASSETS"
DEFAULT_VGG_WEIGHTS = "weights/vgg16_imagenet_caffe.pth"


class AssetNotFoundError(FastStyleError, FileNotFoundError):
    """A named asset could not be found in any of the places it is looked up."""


def search_roots() -> list[Path]:
    """Folders searched for named assets, in order: ``$FAST_STYLE_ASSETS``, then ``./assets``."""
    roots = []
    env = os.environ.get(ENV_VAR)
    if env:
        roots.append(Path(env).expanduser())
    roots.append(Path("assets"))
    return roots


def resolve_asset(name: str, explicit: str | os.PathLike | None = None) -> Path:
    """Find a named asset (file or folder) and return its path.

    Args:
        name: the asset's name relative to an asset root, e.g. ``"styles/candy.jpg"``.
        explicit: a path that overrides the lookup; it must exist.

    Returns:
        Path of the existing file or folder.

    Raises:
        AssetNotFoundError: if ``explicit`` does not exist, or the asset is in none of the
            search roots; the message lists every place tried.
    """
    if explicit is not None:
        path = Path(explicit).expanduser()
        if path.exists():
            return path
        raise AssetNotFoundError(f"{name!r}: the given path {str(path)!r} does not exist")
    tried = []
    for root in search_roots():
        candidate = root / name
        if candidate.exists():
            return candidate
        tried.append(str(candidate))
    env_note = "" if os.environ.get(ENV_VAR) else f" (${ENV_VAR} is not set)"
    raise AssetNotFoundError(
        f"asset {name!r} not found; looked in: {', '.join(tried)}{env_note}. "
        f"Point ${ENV_VAR} at a folder holding {name} (e.g. FAST_STYLE_ASSETS=../shared/assets), "
        f"put it under ./assets/, or pass its path explicitly."
    )


def resolve_path_or_asset(value: str | os.PathLike) -> Path:
    """Interpret ``value`` as an existing path first, else as a named asset.

    Lets configs say either ``coco/train2017`` (an asset) or ``/data/coco/train2014`` (a path).

    Raises:
        AssetNotFoundError: if it is neither.
    """
    path = Path(value).expanduser()
    if path.exists():
        return path
    if path.is_absolute():
        raise AssetNotFoundError(f"path {str(path)!r} does not exist")
    return resolve_asset(str(value))
