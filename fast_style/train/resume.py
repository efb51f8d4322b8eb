"""Resumable Lightning checkpoints that are never half-written, and the choice of the one to resume from.

Lightning writes its checkpoints straight to their final name: a full disk leaves a truncated
``last.ckpt`` where the good one was. :class:`AtomicCheckpointIO` writes each one through
:func:`fast_style.atomic.atomic_path` (a unique temporary name beside the target, renamed when
complete), so the earlier file survives any failure and a full disk is reported as such.

``ckpt_path`` is checked before anything is built (:func:`resolve_resume_path`): a file that
does not exist names the checkpoints that do, and ``ckpt_path=last`` takes the newest readable
checkpoint of the style's earlier runs (``outputs/<style>/*/lightning_checkpoints/``), whichever
way they stopped (periodic, ``last.ckpt``, ``on_exception_step<N>.ckpt``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lightning.pytorch.plugins.io import TorchCheckpointIO

from fast_style.checkpoint import CheckpointError, atomic_torch_save, read_checkpoint
from fast_style.errors import InputFileError

LAST = "last"
_SHOWN = 5  # existing checkpoints named in an error


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's ``torch.save`` checkpoint IO, written atomically (:func:`fast_style.checkpoint.atomic_torch_save`)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        atomic_torch_save(checkpoint, path)


def run_checkpoints(runs_root: str | os.PathLike) -> list[Path]:
    """Lightning checkpoints of every run under ``runs_root`` (``<run>/lightning_checkpoints/*.ckpt``), newest first."""
    found = Path(runs_root).glob("*/lightning_checkpoints/*.ckpt")
    return sorted(found, key=lambda path: path.stat().st_mtime, reverse=True)


def resolve_resume_path(ckpt_path: str | os.PathLike | None, runs_root: str | os.PathLike) -> Path | None:
    """The Lightning checkpoint a run resumes from, checked before training starts.

    Args:
        ckpt_path: ``None`` (a fresh run), ``"last"`` (the newest readable checkpoint under
            ``runs_root``) or a ``.ckpt`` file.
        runs_root: the folder holding this style's run dirs (``outputs/<style>``: the Hydra
            run dir's parent).

    Returns:
        The file to pass to ``Trainer.fit(ckpt_path=...)``, or ``None`` for a fresh run.

    Raises:
        InputFileError: if the file does not exist, or ``last`` finds no readable checkpoint;
            the message names the checkpoints that do exist.
        CheckpointError: if the file is not a resumable checkpoint of the training module
            (a slim ``<style>.pth`` holds no optimiser state).
    """
    if ckpt_path is None or str(ckpt_path) == "":
        return None
    candidates = run_checkpoints(runs_root)
    if str(ckpt_path) == LAST:
        for candidate in candidates:
            try:
                if read_checkpoint(candidate).source == "lightning":
                    return candidate
            except (CheckpointError, OSError):
                continue  # truncated or foreign: the next newest
        raise InputFileError(f"ckpt_path=last: no readable Lightning checkpoint under {str(runs_root)!r}"
                             f"{_listing(candidates)}")
    path = Path(ckpt_path).expanduser()
    if not path.is_file():
        raise InputFileError(f"ckpt_path {str(ckpt_path)!r} does not exist{_listing(candidates)}; "
                             f"ckpt_path={LAST} takes the newest readable one")
    if read_checkpoint(path).source != "lightning":
        raise CheckpointError(f"ckpt_path {str(path)!r} is a slim inference checkpoint; resuming needs a Lightning "
                              f".ckpt of a run (optimiser state included){_listing(candidates)}")
    return path


def _listing(candidates: list[Path]) -> str:
    if not candidates:
        return " (no checkpoints of earlier runs were found)"
    shown = ", ".join(str(path) for path in candidates[:_SHOWN])
    more = f" and {len(candidates) - _SHOWN} more" if len(candidates) > _SHOWN else ""
    return f"; checkpoints of earlier runs, newest first: {shown}{more}"


__all__ = ["LAST", "AtomicCheckpointIO", "resolve_resume_path", "run_checkpoints"]
