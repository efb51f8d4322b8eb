"""The project's error types: every failure a user can cause derives from :class:`FastStyleError`.

The console scripts (``fast_style.cli.run``) turn a :class:`FastStyleError` into one line on
stderr and its :attr:`~FastStyleError.exit_code`, and so an ``OSError`` about a path the user gave
(:func:`path_error_message`: a name over 255 bytes, no such file); ``fast-style-train`` turns
Hydra's own errors (an unknown option, a key that is not there) into an :class:`InvalidValueError`.
Any other exception is a bug and keeps its traceback. Each concrete error also derives from the
built-in type it was before (``ValueError``, ``OSError``, ...), so callers that catch those keep working.

Exit codes (documented in the README):

- 0: everything done;
- 1: the work ran but part of it failed (a photo of a folder, a diverged training run);
- 2: nothing was done: a bad argument or override, a missing or unusable file, an unknown style,
  an output that exists (training: unless ``overwrite=true``) or cannot be written.
"""

from __future__ import annotations

import errno

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2


class FastStyleError(Exception):
    """Base of every error a user can cause and fix; the message names the bad value and what is allowed."""

    exit_code: int = EXIT_USAGE


class FastStyleWarning(UserWarning):
    """Base of the warnings a user should read (work done, but not all of what was asked); one line in the CLIs."""


class InvalidValueError(FastStyleError, ValueError):
    """An argument or config value outside what is allowed."""


class InputFileError(FastStyleError, OSError):
    """A file or folder the user named cannot be read or written as asked."""


class MissingFileError(InputFileError, FileNotFoundError):
    """A file or folder the user named does not exist (also a ``FileNotFoundError``, for callers that catch that)."""


# The operating system's errors about a name or path the user gave: what the user can fix, so one line and exit 2.
_PATH_REASONS = {
    errno.ENAMETOOLONG: "the name is too long (a file name takes at most 255 bytes)",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder",
    errno.ELOOP: "too many levels of symbolic links",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the file system is read-only",
}


def path_error_message(error: OSError) -> str | None:
    """One line for an operating-system error about a path (``ENAMETOOLONG``, ``ENOENT``, ``EACCES``, ...), else ``None``.

    Only errors that name their path count: the message says which path and why, shortened to its
    first and last characters when the path itself is the problem (a 300-character name).
    """
    reason = _PATH_REASONS.get(error.errno or -1)
    if reason is None or error.filename is None:
        return None
    path = str(error.filename)
    shown = path if len(path) <= 80 else f"{path[:40]}…{path[-30:]} ({len(path)} characters)"
    return f"{shown!r}: {reason}"


__all__ = ["EXIT_OK", "EXIT_PARTIAL", "EXIT_USAGE", "FastStyleError", "FastStyleWarning", "InputFileError",
           "InvalidValueError", "MissingFileError", "path_error_message"]
