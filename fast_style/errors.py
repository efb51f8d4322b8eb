"""The project's error types: every failure a user can cause derives from :class:`FastStyleError`.

The console scripts (``fast_style.cli.run``) turn a :class:`FastStyleError` into one line on
stderr and its :attr:`~FastStyleError.exit_code`; any other exception is a bug and keeps its
traceback. Each concrete error also derives from the built-in type it was before (``ValueError``,
``OSError``, ...), so callers that catch those keep working.

Exit codes (documented in the README):

- 0: everything done;
- 1: the work ran but part of it failed (a photo of a folder, a diverged training run);
- 2: nothing was done: a bad argument, a missing or unusable file, an unknown style.
"""

from __future__ import annotations

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


__all__ = ["EXIT_OK", "EXIT_PARTIAL", "EXIT_USAGE", "FastStyleError", "FastStyleWarning", "InputFileError",
           "InvalidValueError", "MissingFileError"]
