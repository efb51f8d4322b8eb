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
from pathlib import Path
from typing import Any

import torch

from fast_style import __version__
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
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "model_args": dict(model.model_args),
        "state_dict": {key: value.detach().float().cpu().clone() for key, value in model.state_dict().items()},
        "style": str(style),
        "config": config or {},
        "meta": {"fast_style_version": __version__, **(meta or {})},
    }
    partial = path.with_name(path.name + ".part")
    torch.save(payload, partial)
    partial.replace(path)
    return path


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
    except Exception as error:  # noqa: BLE001 - re-raised with what was expected
        raise ValueError(f"{str(path)!r} is not a readable torch checkpoint: {error}") from error
    if not isinstance(payload, dict) or "model_args" not in payload or "state_dict" not in payload:
        keys = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(
            f"{str(path)!r} is not a fast_style inference checkpoint (expected keys model_args, state_dict, "
            f"style; found {keys})"
        )
    return payload


def model_from_checkpoint(payload: dict[str, Any]) -> TransformerNet:
    """Rebuild the network (in eval mode, on CPU) from a slim checkpoint's dict."""
    model = TransformerNet(**payload["model_args"])
    model.load_state_dict(payload["state_dict"])
    return model.eval()
