"""The zoo's registry: ``<zoo_dir>/index.json``, every shipped name in one small file.

Resolving a name is a lookup here, never a folder glob that opens every network. The index holds,
for each network (a file ``<name>.pth``): its file, the variant its name carries (``candy-small``:
``small``), the style it records, the styles it holds (a multi-style network's names) and the
copyright status of each style's painting; and the serving choices (a style served by its plain
name from another network than its own file, with why). Only :func:`fast_style.zoo.add_to_zoo`
(``scripts/zoo.py add``) and :func:`fast_style.zoo.add.set_serving` (``scripts/zoo.py serve``) write it,
under a lock and atomically.

Layout::

    {"format": "fast_style.zoo/1",
     "networks": {"candy": {"file": "candy.pth", "style": "candy", "styles": ["candy"], "variant": null,
                            "licence": {"candy": "origin not stated"}, "family": "transformer"}, ...},
     "serving": {"mondrian": {"network": "arbitrary", "why": "N* ... ; no blob ..."}}}

Pure Python: no torch.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fast_style.atomic import atomic_path
from fast_style.errors import InvalidValueError

ZOO_DIR = Path(__file__).resolve().parent  # the shipped zoo
INDEX_FILE = "index.json"
INDEX_FORMAT = "fast_style.zoo/1"


@dataclass(frozen=True)
class ZooEntry:
    """One shipped network.

    Attributes:
        name: what a spec calls it, ``NAME`` or ``NAME-VARIANT`` (the file's stem).
        file: its file in the zoo folder.
        style: the style name the file records (a variant keeps its own, ``candy-small``).
        styles: the styles it holds: its own for a one-style network, a multi-style network's names.
        variant: the ``-VARIANT`` part of the name, or ``None``.
        licence: each style's painting and its copyright status (:mod:`fast_style.zoo.paintings`).
        family: the network family (:func:`fast_style.models.build_network`): ``"transformer"``, or
            ``"arbitrary"`` (any painting a style; its named styles are reached as ``STYLE@NETWORK`` only).
    """

    name: str
    file: str
    style: str | None
    styles: tuple[str, ...]
    variant: str | None = None
    licence: dict[str, str] = field(default_factory=dict)
    family: str = "transformer"

    @property
    def is_multi_style(self) -> bool:
        """Whether it holds several styles."""
        return len(self.styles) > 1

    @property
    def serves_by_name(self) -> bool:
        """Whether its styles are served by their plain names and blended (a multi-style TransformerNet)."""
        return self.is_multi_style and self.family == "transformer"


@dataclass(frozen=True)
class ServingChoice:
    """A style served by its plain name from ``network`` rather than its own file, and why (N*, by eye)."""

    network: str
    why: str = ""


@dataclass(frozen=True)
class ZooIndex:
    """The registry of one zoo folder: its networks by name and its serving choices by style."""

    networks: dict[str, ZooEntry] = field(default_factory=dict)
    serving: dict[str, ServingChoice] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The index as plain containers, names sorted (what ``index.json`` holds)."""
        return {
            "format": INDEX_FORMAT,
            "networks": {name: {"file": entry.file, "style": entry.style, "styles": list(entry.styles),
                                "variant": entry.variant, "licence": dict(entry.licence), "family": entry.family}
                         for name, entry in sorted(self.networks.items())},
            "serving": {style: {"network": choice.network, "why": choice.why}
                        for style, choice in sorted(self.serving.items())},
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> ZooIndex:
        """The index from :meth:`as_json`'s layout.

        Raises:
            InvalidValueError: not that layout (names ``where`` and what was expected).
        """
        try:
            if data.get("format") != INDEX_FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {INDEX_FORMAT!r}")
            networks = {str(name): ZooEntry(str(name), str(entry["file"]), entry.get("style"),
                                            tuple(str(style) for style in entry["styles"]), entry.get("variant"),
                                            {str(k): str(v) for k, v in (entry.get("licence") or {}).items()},
                                            str(entry.get("family") or "transformer"))
                        for name, entry in data["networks"].items()}
            serving = {str(style): ServingChoice(str(choice["network"]), str(choice.get("why") or ""))
                       for style, choice in (data.get("serving") or {}).items()}
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise InvalidValueError(f"{where}: not a zoo index ({error}); expected {{\"format\": {INDEX_FORMAT!r}, "
                                    "\"networks\": {NAME: {\"file\", \"style\", \"styles\", ...}}, \"serving\": "
                                    "{STYLE: {\"network\", \"why\"}}}") from error
        for name, entry in networks.items():
            if Path(entry.file).name != entry.file or not entry.file.endswith(".pth"):
                raise InvalidValueError(f"{where}: network {name!r} names the file {entry.file!r}; a zoo file is "
                                        "NAME.pth inside the zoo folder")
        return cls(networks, serving)


_CACHE: dict[str, tuple[tuple[int, int, int], ZooIndex]] = {}


def read_index(zoo_dir: str | os.PathLike) -> ZooIndex:
    """The registry of ``zoo_dir`` (an empty one where the folder has no ``index.json``); cached per file version.

    Raises:
        InvalidValueError: the file is not a zoo index.
    """
    path = Path(zoo_dir) / INDEX_FILE
    try:
        stat = path.stat()
    except FileNotFoundError:
        return ZooIndex()
    version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)  # a rewrite is a new file (atomic rename)
    cached = _CACHE.get(str(path))
    if cached is None or cached[0] != version:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise InvalidValueError(f"{path}: not JSON ({error})") from error
        cached = (version, ZooIndex.from_json(data, str(path)))
        _CACHE[str(path)] = cached
    return cached[1]


def write_index(zoo_dir: str | os.PathLike, index: ZooIndex) -> Path:
    """Write ``<zoo_dir>/index.json`` atomically (readers see the old or the new index, never half)."""
    path = Path(zoo_dir) / INDEX_FILE
    with atomic_path(path) as partial:
        partial.write_text(json.dumps(index.as_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


@contextlib.contextmanager
def index_lock(zoo_dir: str | os.PathLike) -> Iterator[None]:
    """Hold the zoo folder's lock: one ``zoo.py add`` at a time reads, checks and rewrites the index."""
    folder = Path(zoo_dir)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no flock; each file is still written atomically
        yield
        return
    # The folder itself is locked (no lock file to leave behind or to ship).
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


__all__ = ["INDEX_FILE", "ZOO_DIR", "INDEX_FORMAT", "ServingChoice", "ZooEntry", "ZooIndex", "index_lock", "read_index",
           "write_index"]
