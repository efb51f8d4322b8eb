"""What a training run checks before it spends a step: the output, the settings the trainer takes, a resume's layout.

An hour of training must not end in an error that was knowable at start-up: the checkpoint folder
is writable and a folder, the output name is a plain file name, an earlier network of that name is
kept unless the run says ``overwrite=true``, the seed and precision are usable, and a run resumed
from a Lightning checkpoint trains the layout that checkpoint holds. Each failure is one of the
project's errors (:mod:`fast_style.errors`), one line naming the bad value and what is allowed.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fast_style.atomic import check_writable
from fast_style.errors import InputFileError, InvalidValueError, path_error_message

# What Lightning's Trainer takes as ``precision`` (and its older aliases), plus "auto" (run.resolve_precision).
PRECISIONS = ("auto", "32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true")
_PRECISION_ALIASES = ("32", "16", "bf16", "64")
# A file name of most file systems (ext4, APFS, NTFS): at most 255 bytes.
MAX_NAME_BYTES = 255
CHECKPOINT_SUFFIX = ".pth"


def check_output_name(name: Any, what: str = "style.name") -> str:
    """``name`` if it is a plain file name (no folder, no separator) that fits a file system with its ``.pth``.

    Raises:
        InvalidValueError: an empty name, ``.``/``..``, a name with ``/``, ``\\`` or NUL, or one whose file
            name is over 255 bytes; ``style.name=../../x`` would write outside the checkpoint folder.
    """
    text = str(name)
    if not text or text in (".", "..") or any(char in text for char in "/\\\0"):
        raise InvalidValueError(f"{what}={text!r} must be a plain name (no folders, no / or \\): the network is "
                                f"written to <checkpoint_dir>/<{what}>{CHECKPOINT_SUFFIX}")
    size = len((text + CHECKPOINT_SUFFIX).encode("utf-8", "surrogateescape"))
    if size > MAX_NAME_BYTES:
        raise InvalidValueError(f"{what} is {len(text)} characters long; with {CHECKPOINT_SUFFIX} a file name takes "
                                f"at most {MAX_NAME_BYTES} bytes, got {size}")
    return text


def check_output(checkpoint_dir: str | os.PathLike, name: Any, overwrite: bool = False) -> Path:
    """The file a run will write, ``<checkpoint_dir>/<name>.pth``, checked before training.

    Args:
        checkpoint_dir: the folder (created by the writer; not here).
        name: the network's name (``style.name``).
        overwrite: replace an existing file of that name (``overwrite=true``); otherwise it is kept.

    Raises:
        InvalidValueError: a name that is not a plain file name (:func:`check_output_name`).
        InputFileError: ``checkpoint_dir`` is a file or cannot be written (read-only, no permission,
            a name too long), or the output exists and ``overwrite`` is false.
    """
    target = Path(checkpoint_dir).expanduser() / f"{check_output_name(name)}{CHECKPOINT_SUFFIX}"
    try:
        # Probed where it will be created, so that a run refused for another reason leaves no empty folder.
        existing = target.parent
        while not existing.exists() and existing.parent != existing:
            existing = existing.parent
        check_writable(existing)
        exists = target.exists() or target.is_symlink()
    except InputFileError as error:
        raise InputFileError(f"checkpoint_dir={str(checkpoint_dir)!r} cannot be written: {error}") from error
    except OSError as error:  # e.g. a folder name over 255 bytes (ENAMETOOLONG)
        raise InputFileError(f"checkpoint_dir cannot be used: {path_error_message(error) or error}") from error
    if exists and not overwrite:
        raise InputFileError(f"{str(target)!r} exists and is kept; train under another style.name, another "
                             "checkpoint_dir, or replace it with overwrite=true")
    return target


def check_max_steps(max_steps: Any) -> int:
    """``trainer.max_steps`` if it is a positive whole number of steps.

    Raises:
        InvalidValueError: anything else (0, -1, 2.5, abc).
    """
    if not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps <= 0:
        raise InvalidValueError(f"trainer.max_steps must be a positive number of steps, got {max_steps!r}")
    return max_steps


def check_seed(seed: Any) -> int:
    """``seed`` as an integer.

    Raises:
        InvalidValueError: a seed that is not a whole number (``seed=abc``, ``seed=1.5``).
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidValueError(f"seed must be a whole number, e.g. seed=0, got {seed!r}")
    return seed


def check_precision(precision: Any) -> str | int:
    """``precision`` if Lightning's Trainer (or :func:`fast_style.train.run.resolve_precision`) takes it.

    Raises:
        InvalidValueError: anything else (``trainer.precision=bogus``), naming what is allowed.
    """
    if str(precision) in PRECISIONS or str(precision) in _PRECISION_ALIASES:
        return precision
    raise InvalidValueError(f"trainer.precision={precision!r} is not a precision; allowed: {', '.join(PRECISIONS)}")


def layout_difference(theirs: Mapping[str, Any], ours: Mapping[str, Any]) -> list[str]:
    """The layout fields (``model_args`` keys) in which a stored network ``theirs`` differs from ``ours``.

    Only the fields ``theirs`` states and a style list count: a Lightning checkpoint's hyper-parameters
    hold the config's ``model`` node, not every default of the network; a field one side leaves out is
    :class:`TransformerNet`'s default.
    """
    from fast_style.models.transformer import TransformerNet

    defaults = {name: parameter.default for name, parameter in inspect.signature(TransformerNet).parameters.items()}
    keys = set(theirs) | ({"styles"} if ours.get("styles") or theirs.get("styles") else set())

    def value(args: Mapping[str, Any], key: str) -> Any:
        found = args.get(key, defaults.get(key))
        return list(found) if isinstance(found, (list, tuple)) else found

    return sorted(key for key in keys if value(theirs, key) != value(ours, key))


def check_resume_layout(path: str | os.PathLike, model_args: Mapping[str, Any]) -> None:
    """Refuse to resume from a Lightning checkpoint of another layout than the network this run built.

    Args:
        path: the ``.ckpt`` to resume from (``ckpt_path``).
        model_args: the run's network's :attr:`TransformerNet.model_args`.

    Raises:
        InvalidValueError: one line naming both layouts (instead of a 69-line ``load_state_dict`` error).
    """
    from fast_style.checkpoint import read_checkpoint

    theirs = dict(read_checkpoint(path).model_args or {})
    differing = layout_difference(theirs, model_args)
    if differing:
        shown = lambda args: "{" + ", ".join(f"{key}: {args.get(key)!r}" for key in differing) + "}"
        raise InvalidValueError(f"ckpt_path {str(path)!r} holds a network of layout {shown(theirs)}; this run builds "
                                f"{shown(model_args)}: resume with the checkpoint's settings (model=..., styles=...) "
                                "or start a fresh run without ckpt_path")


__all__ = ["MAX_NAME_BYTES", "PRECISIONS", "check_max_steps", "check_output", "check_output_name", "check_precision",
           "check_resume_layout", "check_seed", "layout_difference"]
