"""Old names that keep working for one release: flags, keyword arguments and API names renamed so each thing has one name.

Every rename is listed in ``CHANGELOG.md`` ("Unreleased"). An old name still does what it did and
says once, as a :class:`DeprecatedNameWarning` (one line ``warning: ...`` in the commands, see
:func:`fast_style.cli.run`), which name replaces it.
"""

from __future__ import annotations

import argparse
import warnings
from typing import Any

from fast_style.errors import FastStyleWarning, InvalidValueError


class DeprecatedNameWarning(FastStyleWarning):
    """An old name was used; it works for this release and the message names its replacement."""


def warn_renamed(old: str, new: str, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated and ``new`` replaces it (see CHANGELOG.md)."""
    warnings.warn(f"{old} is deprecated and will be removed in the next release; use {new}", DeprecatedNameWarning,
                  stacklevel=stacklevel)


def deprecated_flag(new: str) -> type[argparse.Action]:
    """An argparse action for an old flag: stores its value as the flag ``new`` would and warns that ``new`` replaces it.

    Use with ``dest`` set to the new flag's destination and ``help=argparse.SUPPRESS``.
    """

    class _Deprecated(argparse._StoreAction):
        def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                     option_string: str | None = None) -> None:
            warn_renamed(option_string or self.dest, new)
            setattr(namespace, self.dest, values)

    return _Deprecated


def renamed_keyword(value: Any, old_value: Any, old: str, new: str) -> Any:
    """The value of keyword argument ``new``, taken from its old name ``old`` (with a warning) when only that is given.

    Raises:
        InvalidValueError: both names were given.
    """
    if old_value is None:
        return value
    if value is not None:
        raise InvalidValueError(f"give {new}= only ({old}= is its deprecated name), got both")
    warn_renamed(f"{old}=", f"{new}=", stacklevel=4)
    return old_value


__all__ = ["DeprecatedNameWarning", "deprecated_flag", "renamed_keyword", "warn_renamed"]
