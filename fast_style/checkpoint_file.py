"""A checkpoint file read without trusting it: its zip entries and its pickle, no weights.

``torch.save`` writes a zip archive: ``<name>/data.pkl`` (the pickled dict, tensors as references
to storages) and one uncompressed entry ``<name>/data/<key>`` per storage. Before a single weight
is read, :func:`inspect_archive` checks the archive's own declarations (the pickle's size, that no
entry is compressed, so no entry can inflate beyond the bytes on disk) and :func:`load_metadata`
unpickles the dict with every tensor on the ``meta`` device (shapes and dtypes, no memory, no data
read). :mod:`fast_style.checkpoint` then checks the layout and the declared sizes against each other.

Both use PyTorch's ``weights_only`` unpickler: no code in the file runs. Pure torch.
"""

from __future__ import annotations

import pathlib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

# The pickle of a checkpoint is its small part (config and card: a few kB; a Lightning file's
# loops and hyper-parameters: tens of kB): a larger one is refused before it is unpickled.
MAX_PICKLE_BYTES = 16 * 2**20

_MAGIC = ((b"\xff\xd8\xff", "a JPEG image"), (b"\x89PNG", "a PNG image"), (b"GIF8", "a GIF image"),
          (b"RIFF", "a RIFF (WebP/AVI/WAV) file"), (b"%PDF", "a PDF document"), (b"\x1f\x8b", "a gzip archive"),
          (b"\x80", "a pickle in PyTorch's legacy (pre-1.6) format, which this version does not read; re-save it "
                    "with torch.save"))


class ArchiveError(ValueError):
    """The file is not a checkpoint archive as ``torch.save`` writes it; the message says what it is instead."""


@dataclass(frozen=True)
class Archive:
    """What a checkpoint archive declares, from its zip directory alone.

    Attributes:
        pickle_bytes: size of ``data.pkl``.
        data_bytes: the summed sizes of the storage entries (what reading every weight costs).
    """

    pickle_bytes: int
    data_bytes: int


def describe_non_checkpoint(path: Path) -> str:
    """What ``path`` looks like when it is not a zip archive: an image, a text file, an empty file..."""
    with open(path, "rb") as file:
        head = file.read(512)
    if not head:
        return "it is empty"
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return f"it is {what}"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "it is not a zip archive as torch.save writes"
    return "it is a text file"


def inspect_archive(path: Path) -> Archive:
    """Check a checkpoint's zip directory: one ``data.pkl`` of at most :data:`MAX_PICKLE_BYTES`, every
    entry stored uncompressed (``torch.save`` never compresses; a compressed entry could inflate to any size).

    Raises:
        ArchiveError: the file is not such an archive (names what it is, or which entry is wrong).
    """
    if not zipfile.is_zipfile(path):
        raise ArchiveError(describe_non_checkpoint(path))
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ArchiveError(f"its zip archive is damaged ({error})") from error
    pickles = [entry for entry in entries if entry.filename.count("/") == 1 and entry.filename.endswith("/data.pkl")]
    if len(pickles) != 1:
        raise ArchiveError("it is a zip archive but not one torch.save wrote (no single <name>/data.pkl)")
    compressed = next((entry for entry in entries if entry.compress_type != zipfile.ZIP_STORED), None)
    if compressed is not None:
        raise ArchiveError(f"its entry {compressed.filename!r} is compressed ({compressed.file_size} bytes declared "
                           f"in {compressed.compress_size}); torch.save stores every entry as it is, so the file "
                           "was rewritten by another tool")
    if pickles[0].file_size > MAX_PICKLE_BYTES:
        raise ArchiveError(f"its data.pkl declares {pickles[0].file_size} bytes; a checkpoint's holds at most "
                           f"{MAX_PICKLE_BYTES} (the weights are separate entries)")
    prefix = pickles[0].filename[: -len("data.pkl")] + "data/"
    return Archive(pickles[0].file_size, sum(entry.file_size for entry in entries if entry.filename.startswith(prefix)))


# Lightning may store a pathlib path among the hyper-parameters (style_image); allow just those
# classes on top of weights_only's tensors and plain containers.
_SAFE = [pathlib.PosixPath, pathlib.WindowsPath, pathlib.PurePosixPath, pathlib.PureWindowsPath]


def load_metadata(path: Path) -> Any:
    """The checkpoint's dict with every tensor on the ``meta`` device: shapes and dtypes, no weight read.

    Call :func:`inspect_archive` first (a compressed or oversized entry is refused there).
    """
    with torch.serialization.safe_globals(_SAFE):
        return torch.load(path, map_location="meta", weights_only=True)


def load_weights(path: Path) -> Any:
    """The checkpoint's dict with its weights (CPU), once :func:`load_metadata`'s view was checked."""
    with torch.serialization.safe_globals(_SAFE):
        return torch.load(path, map_location="cpu", weights_only=True)


def storage_bytes(tensors: list[torch.Tensor]) -> int:
    """Bytes of the distinct storages behind ``tensors`` (meta tensors: what their pickle declares)."""
    seen: dict[int, int] = {}
    for tensor in tensors:
        storage = tensor.untyped_storage()
        seen[storage._cdata] = storage.nbytes()
    return sum(seen.values())


__all__ = ["MAX_PICKLE_BYTES", "Archive", "ArchiveError", "describe_non_checkpoint", "inspect_archive", "load_metadata",
           "load_weights", "storage_bytes"]
