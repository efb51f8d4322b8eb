"""Named assets (VGG weights, style images, image folders): where to find them.

A name such as ``"weights/vgg16_imagenet_caffe.pth"`` or ``"styles/starry_night.jpg"`` is
looked up, in order, in:

1. an explicit path given by the config or the command line,
2. ``$FAST_STYLE_ASSETS``,
3. ``./assets`` (relative to the working directory),
4. the download cache (``$FAST_STYLE_CACHE``, default ``~/.cache/fast_style``), where an
   asset with a known URL is downloaded and checked by sha256 when the network is reachable.

When nothing is found the error says what was looked for, where, and how to provide it.
The build machines have no internet; the mirror described in ``../shared/assets/README.md``
provides every asset (``FAST_STYLE_ASSETS=../shared/assets``).
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from fast_style.atomic import atomic_path

ENV_VAR = "FAST_STYLE_ASSETS"
CACHE_ENV_VAR = "FAST_STYLE_CACHE"
DEFAULT_VGG_WEIGHTS = "weights/vgg16_imagenet_caffe.pth"
DEFAULT_TRAIN_DIR = "coco/train2017"
DEFAULT_VAL_DIR = "coco/val2017"


class AssetNotFoundError(FileNotFoundError):
    """A named asset could not be found in any of the places it is looked up."""


@dataclass(frozen=True)
class RemoteAsset:
    """Where a named asset can be downloaded from, and its expected sha256."""

    url: str
    sha256: str


# Assets with a known public URL. The mirrored VGG weights are a conversion made for this
# project and have no public URL; they must come from the mirror.
REMOTE_ASSETS: dict[str, RemoteAsset] = {}


def search_roots() -> list[Path]:
    """Folders searched for named assets, in order: ``$FAST_STYLE_ASSETS``, ``./assets``, the cache."""
    roots = []
    env = os.environ.get(ENV_VAR)
    if env:
        roots.append(Path(env).expanduser())
    roots.append(Path("assets"))
    roots.append(cache_dir())
    return roots


def cache_dir() -> Path:
    """The download cache folder (``$FAST_STYLE_CACHE`` or ``~/.cache/fast_style``)."""
    return Path(os.environ.get(CACHE_ENV_VAR, Path.home() / ".cache" / "fast_style")).expanduser()


def resolve_asset(name: str, explicit: str | os.PathLike | None = None) -> Path:
    """Find a named asset (file or folder) and return its path.

    Args:
        name: the asset's name relative to an asset root, e.g. ``"styles/candy.jpg"``.
        explicit: a path that overrides the lookup; it must exist.

    Returns:
        Path of the existing file or folder.

    Raises:
        AssetNotFoundError: if ``explicit`` does not exist, or the asset is in none of the
            search roots and cannot be downloaded; the message lists every place tried.
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
    remote = REMOTE_ASSETS.get(name)
    if remote is not None:
        try:
            return _download(name, remote)
        except OSError as error:
            tried.append(f"{remote.url} (download failed: {error})")
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


def sha256sum(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(name: str, remote: RemoteAsset) -> Path:
    target = cache_dir() / name
    with atomic_path(target) as partial:
        urllib.request.urlretrieve(remote.url, partial)
        actual = sha256sum(partial)
        if actual != remote.sha256:
            raise OSError(f"sha256 mismatch for {remote.url}: expected {remote.sha256}, got {actual}")
    return target
