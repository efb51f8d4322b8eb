"""The slim inference checkpoint: everything needed to rebuild a trained TransformerNet.

Format (a plain dict, loadable with ``torch.load(path, weights_only=True)``)::

    {
        "format": "fast_style.inference/1",
        "model_args": {"width": 32, "num_residual_blocks": 5, ...},
        "state_dict": {...},            # TransformerNet weights, float32, CPU
        "style": "starry_night",
        "config": {...},                # the training config as plain containers
        "meta": {"global_step": ..., "fast_style_version": ...},
    }

Pure torch: used by training (to write) and by the inference path (to read).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch

from fast_style import __version__
from fast_style.atomic import atomic_path
from fast_style.models.transformer import TransformerNet

FORMAT = "fast_style.inference/1"


def save_inference_checkpoint(
    model: TransformerNet,
    path: str | os.PathLike,
    style: str,
    config: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write the slim checkpoint of ``model`` atomically (a crash never leaves half a file).

    Args:
        model: the trained network (any device; weights are saved as float32 on CPU).
        path: target file, usually ``checkpoints/<style>.pth``; parent folders are created.
        style: the style's name.
        config: the training config as plain dicts/lists/scalars.
        meta: extra plain information (step, losses, …).

    Returns:
        The path written.
    """
    path = Path(path)
    state = {key: value.detach().float().cpu().clone() for key, value in model.state_dict().items()}
    bad = first_non_finite(state)
    if bad is not None:
        raise ValueError(f"refusing to write {str(path)!r}: weight {bad!r} has NaN/inf values (the training diverged)")
    payload = {
        "format": FORMAT,
        "model_args": dict(model.model_args),
        "state_dict": state,
        "style": str(style),
        "config": config or {},
        "meta": {"fast_style_version": __version__, **(meta or {})},
    }
    atomic_torch_save(payload, path)
    return path


def short_load_error(error: BaseException) -> str:
    """One short reason for a failed ``torch.load`` (PyTorch's ``weights_only`` text runs to a page)."""
    text = str(error)
    if "Weights only load failed" in text:
        unsupported = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
        found = f" ({unsupported.group(1)})" if unsupported else ""
        return f"it holds Python objects{found} that the safe loader (weights_only=True) refuses to run"
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return first if len(first) <= 200 else first[:197] + "..."


def first_non_finite(state_dict: dict[str, Any]) -> str | None:
    """Name of the first floating tensor holding NaN or inf, or ``None`` when all are finite."""
    for key, value in state_dict.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not torch.isfinite(value).all():
            return key
    return None


def atomic_torch_save(payload: dict[str, Any], path: str | os.PathLike) -> Path:
    """``torch.save`` through :func:`fast_style.atomic.atomic_path` (parents created)."""
    with atomic_path(path) as partial:
        torch.save(payload, partial)
    return Path(path)


def to_float32(state_dict: dict[str, Any]) -> dict[str, Any]:
    """Floating tensors as float32 (zoo files store float16); other entries unchanged."""
    return {
        key: value.float() if isinstance(value, torch.Tensor) and value.is_floating_point() else value
        for key, value in state_dict.items()
    }


def read_inference_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a slim checkpoint (``weights_only=True``).

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if it is not a fast_style inference checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"{str(path)!r} is not a readable torch checkpoint: {short_load_error(error)}") from error
    if not isinstance(payload, dict) or "model_args" not in payload or "state_dict" not in payload:
        keys = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(
            f"{str(path)!r} is not a fast_style inference checkpoint (expected keys model_args, state_dict, "
            f"style; found {keys})"
        )
    return payload


def model_from_checkpoint(payload: dict[str, Any]) -> TransformerNet:
    """Rebuild the network (in eval mode, on CPU) from a slim checkpoint's dict.

    Raises:
        ValueError: if a weight holds NaN/inf (a diverged training), naming the tensor.
    """
    bad = first_non_finite(payload["state_dict"])
    if bad is not None:
        raise ValueError(f"the checkpoint holds a broken network: weight {bad!r} has NaN/inf values")
    model = TransformerNet(**payload["model_args"])
    model.load_state_dict(to_float32(payload["state_dict"]))
    return model.eval()
