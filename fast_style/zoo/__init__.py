"""The shipped style networks: ``fast_style/zoo/<style>.pth``, ready to stylise without training.

Each file is a slim inference checkpoint (:mod:`fast_style.checkpoint`) with its weights stored
as float16 (half the size: 3.22 MB for the default network) and ``meta["zoo"]`` describing
how it was trained. Reading restores float32 (:func:`fast_style.checkpoint.to_float32`), so a
zoo network computes in float32 like any other.

Training never writes here (its output is ``checkpoints/<style>.pth``); a network joins the zoo
only through :func:`add_to_zoo` (``scripts/zoo.py add``), after it has been looked at.

Pure torch: no Lightning, no Hydra.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from fast_style.checkpoint import FORMAT, atomic_torch_save, first_non_finite, read_checkpoint
from fast_style.errors import FastStyleError

ZOO_DIR = Path(__file__).resolve().parent
# What a shipped file may weigh (fp16 weights of the default network are 3.22 MB).
MAX_ZOO_BYTES = 4 * 1024 * 1024


class UnknownStyleError(FastStyleError, ValueError):
    """A style name that the zoo does not ship."""


def available_styles(zoo_dir: str | os.PathLike = ZOO_DIR) -> list[str]:
    """Names of the shipped styles, sorted."""
    return sorted(path.stem for path in Path(zoo_dir).glob("*.pth"))


def zoo_path(name: str, zoo_dir: str | os.PathLike = ZOO_DIR) -> Path:
    """The file of shipped style ``name``.

    Raises:
        UnknownStyleError: if the zoo has no such style (the message lists those it has).
    """
    path = Path(zoo_dir) / f"{name}.pth"
    if not name or Path(name).name != name or not path.is_file():
        shipped = ", ".join(available_styles(zoo_dir)) or "none"
        raise UnknownStyleError(f"unknown style {name!r}; shipped styles: {shipped}")
    return path


def describe(name: str, zoo_dir: str | os.PathLike = ZOO_DIR) -> dict[str, Any]:
    """How shipped style ``name`` was trained: steps, crop size, weights, precision, losses, machine."""
    checkpoint = read_checkpoint(zoo_path(name, zoo_dir))
    config = checkpoint.config
    # The loss as trained (read from either config layout), not the style group: a command-line
    # loss.style_weight=... overrides the style's weight.
    loss = checkpoint.loss_args or {}
    meta = checkpoint.meta
    return {
        "name": name,
        "style_image": loss.get("style_image"),
        "steps": meta.get("global_step"),
        "crop": (config.get("data") or {}).get("image_size"),
        "batch": (config.get("data") or {}).get("batch_size"),
        "content_weight": loss.get("content_weight"),
        "style_weight": loss.get("style_weight"),
        "tv_weight": loss.get("tv_weight"),
        "style_size": loss.get("style_size"),
        "precision": meta.get("precision"),
        "machine": meta.get("machine"),
        "final_total_loss": (meta.get("final_losses") or {}).get("train/total"),
        "model_args": checkpoint.model_args,
    }


def add_to_zoo(
    checkpoint: str | os.PathLike, zoo_dir: str | os.PathLike = ZOO_DIR, note: str | None = None
) -> Path:
    """Copy a trained slim checkpoint into the zoo with float16 weights.

    Args:
        checkpoint: ``checkpoints/<style>.pth`` written by training.
        zoo_dir: the zoo folder (the package's by default).
        note: a line on why these settings (kept in ``meta["zoo"]``).

    Returns:
        The written ``<zoo_dir>/<style>.pth``.

    Raises:
        ValueError: if the checkpoint is not a slim inference checkpoint, has non-finite
            weights, or the float16 file would exceed :data:`MAX_ZOO_BYTES`.
    """
    stored = read_checkpoint(checkpoint)
    if stored.source != "inference":
        raise ValueError(f"{str(checkpoint)!r} is a {stored.source} checkpoint; the zoo takes the slim "
                         "checkpoints/<style>.pth that training writes (it carries the training config)")
    state = stored.state_dict
    bad = first_non_finite(state)
    if bad is not None:
        raise ValueError(f"{str(checkpoint)!r}: tensor {bad!r} has non-finite values; it cannot join the zoo")
    for key, value in state.items():
        if value.is_floating_point() and value.abs().max() > torch.finfo(torch.float16).max:
            raise ValueError(f"{str(checkpoint)!r}: tensor {key!r} does not fit float16")
    style = stored.style
    if not style:
        raise ValueError(f"{str(checkpoint)!r} names no style; cannot choose its zoo file name")
    shipped = {
        "format": FORMAT,
        "model_args": stored.model_args,
        "state_dict": {k: v.half() if v.is_floating_point() else v for k, v in state.items()},
        "style": style,
        "config": stored.config,
        "meta": {**stored.meta, "zoo": {"dtype": "float16", "note": note or ""}},
    }
    target = Path(zoo_dir) / f"{style}.pth"
    atomic_torch_save(shipped, target)
    size = target.stat().st_size
    if size > MAX_ZOO_BYTES:
        target.unlink()
        raise ValueError(f"{style}: the float16 file is {size / 2**20:.1f} MB; the zoo allows {MAX_ZOO_BYTES / 2**20:.0f} MB")
    return target


__all__ = ["MAX_ZOO_BYTES", "UnknownStyleError", "ZOO_DIR", "add_to_zoo", "available_styles", "describe", "zoo_path"]
