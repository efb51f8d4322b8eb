"""Write a file under a temporary name and rename it: a killed run never leaves half a file.

The one helper behind every file the project writes (slim and Lightning checkpoints, zoo
networks, stylised images and videos, exports, contact sheets). The temporary file sits beside
the target (so the rename is atomic, never a copy across file systems) under a name unique to
the writer (two writers to one file never share it). A full disk, a read-only folder or a
missing permission is reported as such (:class:`WriteError`), naming the file, and the file
that was there before is left as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from fast_style.errors import InputFileError

# What the user can fix about a write: the disk, the folder, the permissions.
_REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder",
}


# Free bytes below which a disk counts as full before a run starts (a run asks for the least of this and what
# it will write): an empty probe file still fits on a full disk, a result does not.
FULL_DISK_BYTES = 2**20


class WriteError(InputFileError):
    """A file could not be written for a reason the user can fix (full disk, read-only, permissions)."""

    def __str__(self) -> str:
        return str(self.strerror)  # the message names the file and the reason; no "[Errno 28]" before it


def write_error(path: Path, error: OSError) -> OSError:
    """``error`` as a :class:`WriteError` naming ``path`` and the reason, or ``error`` itself if it is not one of those."""
    reason = _REASONS.get(error.errno or -1)
    if reason is None or isinstance(error, WriteError):
        return error
    free = ""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        with contextlib.suppress(OSError):
            # The folder itself when the path is one (a mount point's parent is another disk).
            free = f" ({shutil.disk_usage(path if path.is_dir() else path.parent).free / 2**20:.1f} MB free)"
    return WriteError(error.errno, f"cannot write {str(path)!r}: {reason}{free}; any earlier file there is unchanged")


def partial_name(path: Path) -> Path:
    """A hidden temporary name beside ``path``, unique to this writer: ``.<name>.<pid>-<random>.part``."""
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")


@contextlib.contextmanager
def _reported(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as error:
        converted = write_error(path, error)
        if converted is error:
            raise
        raise converted from error


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    The parent folder is created. The temporary name is hidden (``.<name>.<id>.part``) so folder
    listings and globs do not pick up a half-written file.

    Raises:
        WriteError: for a full disk, a read-only file system or a missing permission, raised by
            the writer in the ``with`` body or by the rename.
    """
    path = Path(path)
    with _reported(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_name(path)
    try:
        with _reported(path):
            yield partial
            partial.replace(path)
    finally:
        # Never let the clean-up hide the error that brought us here (e.g. a read-only folder).
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)


def check_writable(folder: str | os.PathLike, min_free: int = 0) -> Path:
    """Make sure files can be written into ``folder`` (created if missing) before a long run, not after it.

    Args:
        folder: where the run will write.
        min_free: bytes the run needs at least (e.g. one output's worth): a disk with less free is full
            for it, although an empty probe file still fits.

    Raises:
        WriteError: for a read-only file system, a missing permission or a full disk.
        InputFileError: if ``folder`` exists and is not a folder.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputFileError(f"{str(folder)!r} is a file, not a folder to write into")
    probe = partial_name(folder / "write-check")
    with _reported(folder):
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
        if min_free > 0 and shutil.disk_usage(folder).free < min_free:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return folder


__all__ = ["FULL_DISK_BYTES", "WriteError", "atomic_path", "check_writable", "partial_name", "write_error"]
