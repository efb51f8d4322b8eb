"""The slim inference checkpoint: a network's weights and its card (:mod:`fast_style.card`).

Format ``fast_style.network/2`` (a plain dict, loadable with ``torch.load(path, weights_only=True)``
without an allow-list): ``format``, ``model_args``, ``state_dict`` and ``style`` at the top, then
the card's keys (``styles``, ``loss``, ``lineage``, ``training``, ``zoo``) and the training
``config`` kept for the record (nothing reads it back). Files of the earlier format
``fast_style.inference/1`` (every zoo file, users' own) are read as before, their card made in
memory from their config (:meth:`fast_style.card.NetworkCard.from_record`).

A Lightning ``.ckpt`` of the training module is read too (:func:`read_checkpoint`), so every
command takes the same files. Reading is bounded: the layout a file declares is checked against
:data:`LAYOUT_LIMITS` and :data:`MAX_PARAMETERS`, and the sizes of its tensors against that layout,
before a single weight is read or a module built (a 51 kB file that declares 10⁹ residual blocks
or a zip bomb is one line, at once). Pure torch: used by training (to write), inference and the
baseline (to read).
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fast_style import __version__
from fast_style.atomic import atomic_path
from fast_style.card import CARD_FORMAT, LEGACY_FORMAT, NetworkCard
from fast_style.checkpoint_file import ArchiveError, inspect_archive, load_metadata, load_weights, storage_bytes
from fast_style.deprecated import warn_renamed
from fast_style.errors import FastStyleError, InvalidValueError
from fast_style.models import build_network

FORMAT = CARD_FORMAT  # what this version writes
READABLE_FORMATS = (CARD_FORMAT, LEGACY_FORMAT)

# The documented bounds of a network's layout (``model_args``), inclusive: far above every network
# trained here (width 8-32, 5 blocks, kernels 3-9, 15 styles), far below what would not fit in memory.
LAYOUT_LIMITS: dict[str, tuple[int, int]] = {
    "width": (1, 256),
    "num_residual_blocks": (0, 64),
    "stem_kernel": (1, 15),
    "head_kernel": (1, 15),
    "embedding_dim": (1, 1024),  # the arbitrary family's style embedding (Ghiasi et al. use 100)
}
MAX_STYLES = 1024  # styles of a multi-style network
MAX_NAME_CHARS = 100  # a style's name
MAX_OTHER_INT = 1024  # any other integer setting of a network family (sizes of embeddings, layers...)
MAX_PARAMETERS = 64_000_000  # 256 MB of float32 weights; the default network has 1.7 M
# Copies of the float32 weights a file may hold: a slim file the weights (float64 at most), a Lightning
# file also the optimiser's state (Adam's two moments of each), all float64 at most.
_STORED_COPIES = {"inference": 2, "lightning": 8}
_SLACK_BYTES = 2**20


def save_inference_checkpoint(
    model: nn.Module,
    path: str | os.PathLike,
    style: str,
    config: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    *,
    card: NetworkCard | None = None,
) -> Path:
    """Write the slim checkpoint of ``model`` with its card, atomically (a crash never leaves half a file).

    Args:
        model: the trained network with its ``model_args`` (any device; weights are saved as float32 on CPU).
        path: target file, usually ``checkpoints/<style>.pth``; parent folders are created.
        style: the style's name.
        config: the training config as plain dicts/lists/scalars, stored for the record.
        meta: without ``card``: step, losses, machine, history, from which the card is made
            (:meth:`NetworkCard.from_record`, as for a ``/1`` file).
        card: the network card, stated explicitly (training's save path); its ``model_args`` and
            ``style`` are the model's and ``style``.

    Returns:
        The path written.
    """
    path = Path(path)
    state = {key: value.detach().float().cpu().clone() for key, value in model.state_dict().items()}
    bad = first_non_finite(state)
    if bad is not None:
        raise ValueError(f"refusing to write {str(path)!r}: weight {bad!r} has NaN/inf values (the training diverged)")
    if card is None:
        card = NetworkCard.from_record(model.model_args, style, config or {}, meta or {})
    training = card.training if card.training.fast_style_version else dataclasses.replace(
        card.training, fast_style_version=__version__)
    card = dataclasses.replace(card, model_args=dict(model.model_args), style=str(style), training=training)
    atomic_torch_save({**card.as_payload(), "state_dict": state, "config": config or {}}, path)
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
    """What a style checkpoint holds, whichever of the kinds of file it came from.

    Attributes:
        path: the file read.
        source: ``"inference"`` (a slim ``<style>.pth``, this module's format) or ``"lightning"``
            (a resumable ``.ckpt`` of the training module).
        card: what the file says about its network (:class:`fast_style.card.NetworkCard`).
        state_dict: the network's weights as stored (zoo files keep float16).
        config: the training config as plain containers, for the record (slim files; ``{}`` otherwise).
        format: the file's format tag (``"lightning"`` for a Lightning file).
    """

    path: Path
    source: str
    card: NetworkCard
    state_dict: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT

    @property
    def model_args(self) -> dict[str, Any]:
        """Keyword arguments of the network (its layout, checked against :data:`LAYOUT_LIMITS`)."""
        return self.card.model_args

    @property
    def style(self) -> str | None:
        """The style's name, or ``None`` if the file does not say."""
        return self.card.style

    @property
    def style_image(self) -> str | None:
        """The style image (asset name or path) the network's own style was trained on, or ``None``."""
        return self.card.style_image(self.card.style)

    @property
    def loss_args(self) -> dict[str, Any] | None:
        """Deprecated: ``card.loss`` (:class:`~fast_style.loss.perceptual.PerceptualLossSettings`) as a dict."""
        warn_renamed("StyleCheckpoint.loss_args", "StyleCheckpoint.card.loss (PerceptualLossSettings)")
        return None if self.card.loss is None else self.card.loss.as_dict()

    @property
    def meta(self) -> dict[str, Any]:
        """The card's training summary and legs in the ``meta`` layout of ``/1`` files (``global_step``,
        ``history``, ...), for code that extends a run's history."""
        training = self.card.training
        meta: dict[str, Any] = {"global_step": training.steps, "final_losses": dict(training.final_losses),
                                "precision": training.precision, "machine": training.machine,
                                "fast_style_version": training.fast_style_version}
        if self.card.lineage.legs:
            meta["history"] = self.card.history()
        if self.card.zoo is not None:
            meta["zoo"] = dataclasses.asdict(self.card.zoo)
        return meta

    def style_loss_args(self, style: str | None = None) -> dict[str, Any] | None:
        """Deprecated: ``card.loss_for(style)`` (:meth:`fast_style.card.NetworkCard.loss_for`) as a dict."""
        warn_renamed("StyleCheckpoint.style_loss_args(style)", "StyleCheckpoint.card.loss_for(style)")
        loss = self.card.loss_for(style)
        return None if loss is None else loss.as_dict()


def read_checkpoint(path: str | os.PathLike) -> StyleCheckpoint:
    """Read a slim ``<style>.pth`` (``/2`` or ``/1``) or a Lightning ``.ckpt`` of the training module: the one reader.

    Bounded: :func:`read_card`'s checks pass before a single weight is read. Both reads use
    ``torch.load(..., weights_only=True)``: no code in the file runs.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        CheckpointError: if the file is not a style checkpoint, or declares a layout or sizes out of
            bounds (the message names the file, the entry and what is allowed).
    """
    path = _checked(path).path
    try:
        payload = load_weights(path)
    except Exception as error:
        raise CheckpointError(f"{_unreadable(path)}: {short_load_error(error)}") from error
    return _parse(path, payload)


def read_card(path: str | os.PathLike) -> NetworkCard:
    """The card of a checkpoint (:class:`fast_style.card.NetworkCard`), read without its weights.

    The zip directory is checked first (:func:`fast_style.checkpoint_file.inspect_archive`), then the
    pickle is read with every tensor on the meta device, the layout checked (:func:`check_layout`)
    and the declared sizes of all tensors against it.

    Raises:
        FileNotFoundError, CheckpointError: as :func:`read_checkpoint`.
    """
    return _checked(path).card


def _unreadable(path: Path) -> str:
    return (f"{str(path)!r} is not a readable style checkpoint (expected a slim checkpoints/<style>.pth or a "
            "Lightning .ckpt of the training module)")


def _checked(path: str | os.PathLike) -> StyleCheckpoint:
    """The checkpoint at ``path`` with meta tensors (no weight read), once its declarations are within bounds."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    try:
        archive = inspect_archive(path)
        declared = load_metadata(path)
    except ArchiveError as error:
        raise CheckpointError(f"{_unreadable(path)}: {error}") from error
    except Exception as error:
        raise CheckpointError(f"{_unreadable(path)}: {short_load_error(error)}") from error
    checked = _parse(path, declared)
    budget = _STORED_COPIES[checked.source] * check_layout(path, checked.model_args) + _SLACK_BYTES
    stored = max(archive.data_bytes, storage_bytes(_tensors(declared)))
    if stored > budget:
        raise CheckpointError(f"{str(path)!r} declares {stored / 2**20:.1f} MB of tensors; its layout "
                              f"{checked.model_args} holds at most {budget / 2**20:.1f} MB ({checked.source} file)")
    return checked


def check_layout(path: str | os.PathLike, model_args: dict[str, Any]) -> int:
    """Check a file's declared layout against the documented limits, then its size, without memory.

    :data:`LAYOUT_LIMITS` bounds the fields every network family shares, :data:`MAX_STYLES` and
    :data:`MAX_NAME_CHARS` the styles, :data:`MAX_OTHER_INT` any other integer; the network is then
    built on the meta device (no memory) and its parameters counted against :data:`MAX_PARAMETERS`.

    Returns:
        Bytes of the network's weights as float32.

    Raises:
        CheckpointError: a field out of its limits or the wrong type, or a layout the network does
            not take (the message names the file, the field and what is allowed).
    """
    where = f"{str(path)!r}: model_args"
    for key, value in model_args.items():
        low, high = LAYOUT_LIMITS.get(key, (0, MAX_OTHER_INT))
        if not isinstance(key, str):
            raise CheckpointError(f"{where} key {key!r} ({type(key).__name__}) is not a name")
        if key in LAYOUT_LIMITS and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
            raise CheckpointError(f"{where} {key} must be an integer from {low} to {high}, got {_short(value)}")
        if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            raise CheckpointError(f"{where} {key} must be from {low} to {high}, got {_short(value)}")
        if isinstance(value, str) and len(value) > MAX_NAME_CHARS:
            raise CheckpointError(f"{where} {key} is a {len(value)}-character text; at most {MAX_NAME_CHARS}")
    styles = model_args.get("styles")
    if styles is not None and (not isinstance(styles, (list, tuple)) or len(styles) > MAX_STYLES
                               or any(not isinstance(name, str) or len(name) > MAX_NAME_CHARS for name in styles)):
        raise CheckpointError(f"{where} styles must be a list of at most {MAX_STYLES} names of at most "
                              f"{MAX_NAME_CHARS} characters, got {_short(styles)}")
    try:
        with torch.device("meta"):
            skeleton = build_network(model_args)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{str(path)!r} does not hold a network its model_args describe: "
                              f"{short_load_error(error)}") from error
    count = sum(value.numel() for value in skeleton.state_dict().values())
    if count > MAX_PARAMETERS:
        raise CheckpointError(f"{where} {model_args} describe {count:,} parameters; at most {MAX_PARAMETERS:,}")
    return 4 * count


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _tensors(value: Any) -> list[torch.Tensor]:
    """Every tensor in a loaded checkpoint's nested dicts and lists."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [tensor for item in value.values() for tensor in _tensors(item)]
    if isinstance(value, (list, tuple)):
        return [tensor for item in value for tensor in _tensors(item)]
    return []


def _parse(path: Path, payload: Any) -> StyleCheckpoint:
    if isinstance(payload, dict) and "model_args" in payload and "state_dict" in payload:
        return _slim_checkpoint(path, payload)
    if isinstance(payload, dict) and isinstance(payload.get("state_dict"), dict) and "hyper_parameters" in payload:
        return _lightning_checkpoint(path, payload)
    found = sorted(map(str, payload))[:12] if isinstance(payload, dict) else type(payload).__name__
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


def _weights(path: Path, state: dict[Any, Any]) -> dict[str, Any]:
    for key, value in state.items():
        if not isinstance(key, str):
            raise CheckpointError(f"{str(path)!r}: state_dict key {_short(key)} ({type(key).__name__}) is not a "
                                  "weight's name")
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{str(path)!r}: state_dict entry {key!r} is a {type(value).__name__}, not a tensor")
    return state


def _slim_checkpoint(path: Path, payload: dict[str, Any]) -> StyleCheckpoint:
    version = payload.get("format", LEGACY_FORMAT)
    if version not in READABLE_FORMATS:
        raise CheckpointError(f"{str(path)!r} has format {_short(version)}; this version reads "
                              f"{', '.join(READABLE_FORMATS)}")
    model_args = _mapping(path, payload["model_args"], "model_args")
    style = payload.get("style")
    if style is not None and not isinstance(style, str):
        raise CheckpointError(f"{str(path)!r}: style must be a name, got {type(style).__name__}")
    config = _mapping(path, payload.get("config"), "config", optional=True)
    try:
        card = (NetworkCard.from_payload(payload) if version == CARD_FORMAT else NetworkCard.from_record(
            model_args, style, config, _mapping(path, payload.get("meta"), "meta", optional=True)))
    except InvalidValueError as error:
        raise CheckpointError(f"{str(path)!r}: {error}") from error
    return StyleCheckpoint(path=path, source="inference", card=card, config=config, format=version,
                           state_dict=_weights(path, _mapping(path, payload["state_dict"], "state_dict")))


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
    model_args = _mapping(path, hparams.get("model"), "hyper_parameters.model", optional=True)
    entries = hparams.get("styles")
    if isinstance(entries, list) and entries and "styles" not in model_args:
        # A multi-style module records its styles as {name, image, style_weight} entries beside the model group.
        model_args["styles"] = [entry["name"] for entry in entries if isinstance(entry, dict)]
    # The module's hyper-parameters in the layout of a training config, read as a /1 file's.
    record = {"loss": {**loss, "style_image": str(image)} if image is not None else {},
              "module": {"styles": entries if isinstance(entries, list) else []}}
    step = payload.get("global_step")
    card = NetworkCard.from_record(model_args, hparams.get("style_name"), record, {"global_step": step})
    return StyleCheckpoint(path=path, source="lightning", card=card, format="lightning",
                           state_dict=_weights(path, state))


def model_from_checkpoint(checkpoint: StyleCheckpoint) -> nn.Module:
    """Rebuild the network (:func:`fast_style.models.build_network`: a TransformerNet, or the family
    ``model_args["family"]`` names), float32, in eval mode, on CPU.

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
    mismatch = f"{str(checkpoint.path)!r} does not hold a network matching its model_args"
    check_layout(checkpoint.path, checkpoint.model_args)
    # First without memory (the meta device): only a network whose every weight the file holds,
    # shape for shape, is then allocated.
    with torch.device("meta"):
        skeleton = build_network(checkpoint.model_args)
    expected = {key: tuple(value.shape) for key, value in skeleton.state_dict().items()}
    found = {key: tuple(value.shape) for key, value in checkpoint.state_dict.items()}
    if expected != found:
        differing = sorted(set(expected) ^ set(found)) or sorted(k for k in expected if expected[k] != found[k])
        raise CheckpointError(f"{mismatch} {checkpoint.model_args}: weights differ at {', '.join(differing[:3])}")
    model = build_network(checkpoint.model_args)
    try:
        model.load_state_dict(to_float32(checkpoint.state_dict))
    except RuntimeError as error:
        raise CheckpointError(f"{mismatch}: {error}") from error
    return model.eval()
