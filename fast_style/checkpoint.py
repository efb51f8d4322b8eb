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

A Lightning ``.ckpt`` of the training module is read too (:func:`read_checkpoint`), so every
command takes the same files. Pure torch: used by training (to write), inference and the baseline
(to read).
"""

from __future__ import annotations

import os
import pathlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from fast_style import __version__
from fast_style.atomic import atomic_path
from fast_style.errors import FastStyleError
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
    """``torch.save`` through :func:`fast_style.atomic.atomic_path` (parents created).

    Raises:
        fast_style.atomic.WriteError: on a full disk (the earlier file, if any, is unchanged).
    """
    with atomic_path(path) as partial, open(partial, "wb") as file:
        try:
            torch.save(payload, file)
        except RuntimeError as error:
            # Through a Python file object the disk's OSError (ENOSPC) is there, under torch's
            # RuntimeError of the zip writer: raise it, so the writer reports a full disk as such.
            cause = _os_error_within(error)
            if cause is None:
                raise
            raise cause from error
        file.flush()
        os.fsync(file.fileno())
    return Path(path)


def _os_error_within(error: BaseException) -> OSError | None:
    seen = error.__cause__ or error.__context__
    while seen is not None and not isinstance(seen, OSError):
        seen = seen.__cause__ or seen.__context__
    return seen


def to_float32(state_dict: dict[str, Any]) -> dict[str, Any]:
    """Floating tensors as float32 (zoo files store float16); other entries unchanged."""
    return {
        key: value.float() if isinstance(value, torch.Tensor) and value.is_floating_point() else value
        for key, value in state_dict.items()
    }


class CheckpointError(FastStyleError, ValueError):
    """A file is not a usable fast_style style checkpoint; the message names the file and why."""


@dataclass(frozen=True)
class StyleCheckpoint:
    """What a style checkpoint holds, whichever of the two kinds of file it came from.

    Attributes:
        path: the file read.
        source: ``"inference"`` (a slim ``<style>.pth``, this module's format) or ``"lightning"``
            (a resumable ``.ckpt`` of the training module).
        model_args: keyword arguments of :class:`TransformerNet`.
        state_dict: the network's weights as stored (zoo files keep float16).
        style: the style's name, or ``None`` if the file does not say.
        style_image: the style image (asset name or path) it was trained on, or ``None``.
        config: the training config as plain containers (slim files; ``{}`` otherwise).
        meta: step, losses, machine, zoo notes (slim files; ``{}`` otherwise).
        loss_args: keyword arguments of :func:`fast_style.loss.perceptual.build_perceptual_loss`
            (style image included) the network was trained with, or ``None`` if the file does not say.
    """

    path: Path
    source: str
    model_args: dict[str, Any]
    state_dict: dict[str, Any]
    style: str | None
    style_image: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    loss_args: dict[str, Any] | None = None

    def style_loss_args(self, style: str | None = None) -> dict[str, Any] | None:
        """The loss ``style`` was trained with: ``loss_args`` for a one-style network; for a
        multi-style one, the shared settings with that style's own image and weight (from the
        config's ``module.styles``). ``None`` if the file does not say.
        """
        entries = ((self.config.get("module") or {}).get("styles")) or []
        if not entries or self.loss_args is None:
            return self.loss_args
        entry = next((item for item in entries if isinstance(item, dict) and item.get("name") == style), None)
        if entry is None:
            return None
        return {**self.loss_args, "style_image": str(entry["image"]), "style_weight": float(entry["style_weight"])}


def _torch_load(path: Path) -> Any:
    # Lightning may store a pathlib path among the hyper-parameters (style_image); allow just
    # those classes on top of weights_only's tensors and plain containers.
    safe = [pathlib.PosixPath, pathlib.WindowsPath, pathlib.PurePosixPath, pathlib.PureWindowsPath]
    with torch.serialization.safe_globals(safe):
        return torch.load(path, map_location="cpu", weights_only=True)


def _stored_loss_args(loss: Any) -> dict[str, Any] | None:
    """Every setting of the loss a checkpoint's ``loss`` group records, or ``None`` if it records none.

    A group without its style image (no loss group at all, or a file written before the loss
    group held the style's settings) does not say which loss the network was trained with.
    """
    from fast_style.loss.perceptual import loss_kwargs_from_config

    if not isinstance(loss, dict) or "style_image" not in loss:
        return None
    try:
        return loss_kwargs_from_config({"loss": loss})
    except (TypeError, ValueError):  # a hand-edited file with settings this version does not know
        return None


def read_checkpoint(path: str | os.PathLike) -> StyleCheckpoint:
    """Read a slim ``<style>.pth`` or a Lightning ``.ckpt`` of the training module: the one reader.

    Both are loaded with ``torch.load(..., weights_only=True)``: no code in the file runs.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        CheckpointError: if the file is not a style checkpoint (names what was expected).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    try:
        payload = _torch_load(path)
    except Exception as error:
        raise CheckpointError(
            f"{str(path)!r} is not a readable style checkpoint (expected a slim checkpoints/<style>.pth or a "
            f"Lightning .ckpt of the training module): {short_load_error(error)}"
        ) from error
    if isinstance(payload, dict) and "model_args" in payload and "state_dict" in payload:
        return _slim_checkpoint(path, payload)
    if isinstance(payload, dict) and isinstance(payload.get("state_dict"), dict) and "hyper_parameters" in payload:
        return _lightning_checkpoint(path, payload)
    found = sorted(map(str, payload)) if isinstance(payload, dict) else type(payload).__name__
    raise CheckpointError(
        f"{str(path)!r} is not a style checkpoint: expected a slim checkpoint (keys model_args, state_dict, style) "
        f"or a Lightning checkpoint (keys state_dict, hyper_parameters); found {found}"
    )


def _mapping(path: Path, value: Any, what: str, optional: bool = False) -> dict[str, Any]:
    """``value`` as a dict, or a :class:`CheckpointError` naming the file and the entry."""
    if value is None and optional:
        return {}
    if not isinstance(value, dict):
        raise CheckpointError(f"{str(path)!r}: {what} must be a mapping, got {type(value).__name__}")
    return dict(value)


def _weights(path: Path, state: dict[str, Any]) -> dict[str, Any]:
    bad = next((key for key, value in state.items() if not isinstance(value, torch.Tensor)), None)
    if bad is not None:
        raise CheckpointError(f"{str(path)!r}: state_dict entry {bad!r} is a {type(state[bad]).__name__}, not a tensor")
    return state


def _slim_checkpoint(path: Path, payload: dict[str, Any]) -> StyleCheckpoint:
    if payload.get("format", FORMAT) != FORMAT:
        raise CheckpointError(f"{str(path)!r} has format {payload['format']!r}; this version reads {FORMAT!r}")
    config = _mapping(path, payload.get("config"), "config", optional=True)
    loss_args = _stored_loss_args(config.get("loss"))
    # The loss's own style image where the config has it (a user may override loss.style_image).
    image = (loss_args or {}).get("style_image") or (_mapping(path, config.get("style"), "config.style", True)).get("image")
    return StyleCheckpoint(path=path, source="inference", model_args=_mapping(path, payload["model_args"], "model_args"),
                           state_dict=_weights(path, _mapping(path, payload["state_dict"], "state_dict")),
                           style=payload.get("style"), style_image=None if image is None else str(image), config=config,
                           meta=_mapping(path, payload.get("meta"), "meta", optional=True), loss_args=loss_args)


def _lightning_checkpoint(path: Path, payload: dict[str, Any]) -> StyleCheckpoint:
    hparams = _mapping(path, payload["hyper_parameters"], "hyper_parameters", optional=True)
    state = {k[len("model."):]: v for k, v in payload["state_dict"].items() if str(k).startswith("model.")}
    if not state:
        raise CheckpointError(
            f"{str(path)!r} is a Lightning checkpoint without 'model.*' weights; expected one written by "
            "fast_style's training module"
        )
    image = hparams.get("style_image")
    loss = _mapping(path, hparams.get("loss"), "hyper_parameters.loss", optional=True)
    loss_args = None if image is None else _stored_loss_args({**loss, "style_image": str(image)})
    model_args = _mapping(path, hparams.get("model"), "hyper_parameters.model", optional=True)
    entries = hparams.get("styles")
    if isinstance(entries, list) and entries and "styles" not in model_args:
        # A multi-style module records its styles as {name, image, style_weight} entries beside the model group.
        model_args["styles"] = [entry["name"] for entry in entries if isinstance(entry, dict)]
    return StyleCheckpoint(path=path, source="lightning", model_args=model_args,
                           state_dict=_weights(path, state), style=hparams.get("style_name"),
                           style_image=None if image is None else str(image),
                           meta={"global_step": payload.get("global_step")}, loss_args=loss_args)


def model_from_checkpoint(checkpoint: StyleCheckpoint) -> TransformerNet:
    """Rebuild the network, float32, in eval mode, on CPU.

    Raises:
        CheckpointError: if a weight holds NaN/inf (a diverged training) or the weights do not
            fit ``model_args``; the message names the file and the tensor.
    """
    bad = first_non_finite(checkpoint.state_dict)
    if bad is not None:
        raise CheckpointError(
            f"{str(checkpoint.path)!r} holds a broken network: weight {bad!r} has NaN/inf values (its training "
            "diverged); retrain it, e.g. with a lower optimizer.lr"
        )
    mismatch = f"{str(checkpoint.path)!r} does not hold a TransformerNet matching its model_args"
    try:
        # First without memory (the meta device): model_args from a file are untrusted, and a width
        # of 100000 would ask for hundreds of GB. Only a network whose every weight the file holds,
        # shape for shape, is then allocated.
        with torch.device("meta"):
            skeleton = TransformerNet(**checkpoint.model_args)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{mismatch}: {error}") from error
    expected = {key: tuple(value.shape) for key, value in skeleton.state_dict().items()}
    found = {key: tuple(value.shape) for key, value in checkpoint.state_dict.items()}
    if expected != found:
        differing = sorted(set(expected) ^ set(found)) or sorted(k for k in expected if expected[k] != found[k])
        raise CheckpointError(f"{mismatch} {checkpoint.model_args}: weights differ at {', '.join(differing[:3])}")
    model = TransformerNet(**checkpoint.model_args)
    try:
        model.load_state_dict(to_float32(checkpoint.state_dict))
    except RuntimeError as error:
        raise CheckpointError(f"{mismatch}: {error}") from error
    return model.eval()
