"""The training entry: a composed Hydra config in, ``checkpoints/<style>.pth`` out.

Every part of a run is built from its config node with ``hydra.utils.instantiate``: the
datamodule (``data``), the LightningModule (``module``, with the ``model``, ``loss`` and
``optimizer`` groups inside), the callbacks, the loggers and the Trainer. ``scripts/train.py``
calls :func:`train` with the config of ``@hydra.main``; tests call it with one from
``hydra.compose``. The library classes themselves take plain arguments.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import InterpolationResolutionError

from fast_style.card import Leg, Lineage, NetworkCard, StyleEntry, TrainingSummary
from fast_style.checkpoint import save_inference_checkpoint
from fast_style.loss.perceptual import PerceptualLossSettings
from fast_style.machine import describe_cpu, native_bf16
from fast_style.train.checks import check_max_steps, check_output, check_precision, check_resume_layout, check_seed
from fast_style.train.module import StyleTransferModule
from fast_style.train.prepare import prepare
from fast_style.train.resume import AtomicCheckpointIO, resolve_resume_path


def resolve_precision(precision: str | int, accelerator: str = "auto") -> str | int:
    """Lightning's precision, with ``"auto"`` made concrete for the machine.

    ``"auto"``: ``"bf16-mixed"`` on a CPU with native bf16 (measured by ``bench_train.py
    --precision bf16-mixed``: about 2x faster steps on an AMX Xeon), ``"32-true"`` on CPUs
    without it (bf16 is emulated there and slower). On CUDA it is ``"16-mixed"``. Anything
    else is passed through.
    """
    if precision != "auto":
        return precision
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    if on_gpu:
        return "16-mixed"
    return "bf16-mixed" if native_bf16() else "32-true"


def build(node: Any, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate``, but a bad value is the library's own error, not Hydra's wrapper.

    Raises:
        ValueError, OSError (e.g. FileNotFoundError): as raised by the target (the library's own
            error types for a bad value), so callers (and ``fast-style-train``'s one-line message)
            see the value that was wrong.
        hydra.errors.InstantiationException: for anything else (an unknown ``_target_``, a
            keyword the target does not take).
    """
    try:
        return instantiate(node, **kwargs)
    except (InstantiationException, InterpolationResolutionError) as error:
        # Also a resolver's own error (an unknown style in styles=[...]), which OmegaConf wraps in turn.
        cause = error.__cause__ or error.__context__
        while isinstance(cause, (InstantiationException, InterpolationResolutionError)):
            cause = cause.__cause__ or cause.__context__
        if isinstance(cause, (ValueError, OSError)):
            raise cause from None
        raise


def train(config: DictConfig | Mapping[str, Any], run_dir: str | os.PathLike) -> Path | None:
    """Train one style network and write its slim inference checkpoint.

    Args:
        config: the composed training config (``configs/train.yaml``): ``style``, ``model``,
            ``loss``, ``optimizer`` and ``module`` (the LightningModule), ``data`` (the datamodule),
            ``callbacks``, ``logger``, ``trainer``, ``seed``, ``checkpoint_dir``, ``ckpt_path``.
        run_dir: folder for TensorBoard logs and resumable Lightning checkpoints; the config's
            ``run_dir`` (the Hydra run dir) is set to it.

    Returns:
        Path of ``<checkpoint_dir>/<style>.pth`` on the global-zero process, ``None`` on others.

    Raises:
        InvalidValueError, InputFileError: for a bad setting (``trainer.max_steps``, ``seed``,
            ``trainer.precision``, data sizes or folders, the style image, ``ckpt_path``: see
            :func:`fast_style.train.resume.resolve_resume_path`), an output that is not a plain name
            or cannot be written, or exists without ``overwrite=true``
            (:func:`fast_style.train.checks.check_output`): before the VGG is loaded where the check
            is cheap, and always before the first step (a resume into another layout:
            :func:`fast_style.train.checks.check_resume_layout`).
        fast_style.train.callbacks.TrainingDivergedError: if the loss or gradients stop being
            finite; no slim checkpoint is written then.
    """
    run_dir = Path(run_dir)
    cfg = copy.deepcopy(config) if isinstance(config, DictConfig) else OmegaConf.create(dict(config))
    with open_dict(cfg):
        cfg.run_dir = str(run_dir)
    check_max_steps(cfg.trainer.get("max_steps"))
    seed = check_seed(cfg.get("seed", 0))
    precision = resolve_precision(check_precision(cfg.trainer.get("precision", "32-true")),
                                  cfg.trainer.get("accelerator", "auto"))
    # What the recipe names (teacher, base network, styles) becomes values, once, before the output is checked.
    prepare(cfg)
    target = check_output(cfg.get("checkpoint_dir") or "checkpoints", cfg.style.name, bool(cfg.get("overwrite", False)))
    # Before anything is built: a resume from a file that is not there must not cost a VGG load.
    resume_from = resolve_resume_path(cfg.get("ckpt_path"), run_dir.parent)
    L.seed_everything(seed, workers=True, verbose=False)

    # Cheap checks first (sizes, worker count, folders), then the module: the style image is read before the VGG.
    datamodule = build(cfg.data)
    module = build(cfg.module)
    if resume_from is not None:
        check_resume_layout(resume_from, module.model.model_args)
    callbacks = [build(node) for node in (cfg.get("callbacks") or {}).values() if node is not None and "_target_" in node]
    loggers = [build(node) for node in (cfg.get("logger") or {}).values() if node is not None and "_target_" in node]
    trainer: L.Trainer = build(
        cfg.trainer, precision=precision, default_root_dir=str(run_dir), callbacks=callbacks, logger=loggers or False,
        plugins=[AtomicCheckpointIO()],
    )
    trainer.fit(module, datamodule=datamodule, ckpt_path=None if resume_from is None else str(resume_from))
    if not trainer.interrupted:
        # max_steps rarely falls on a checkpoint boundary: make last.ckpt the true end,
        # so resuming with a larger max_steps continues exactly where this run stopped.
        folder = getattr(trainer.checkpoint_callback, "dirpath", None) or run_dir / "lightning_checkpoints"
        trainer.save_checkpoint(Path(folder) / "last.ckpt", weights_only=False)  # keep optimiser state
    return _save_slim(trainer, module, cfg, precision, target) if trainer.is_global_zero else None


def _save_slim(trainer: L.Trainer, module: StyleTransferModule, cfg: DictConfig, precision: str | int,
               target: Path) -> Path:
    """``target`` (``<checkpoint_dir>/<style>.pth``): the trained network, its card and the resolved config."""
    config = OmegaConf.to_container(cfg, resolve=True)
    card = _network_card(trainer, module, config, str(precision))
    return save_inference_checkpoint(module.model, target, style=str(cfg.style.name), config=config, card=card)


def _network_card(trainer: L.Trainer, module: StyleTransferModule, config: dict[str, Any], precision: str) -> NetworkCard:
    """The network card (:mod:`fast_style.card`) of the run, field by field: the styles with their paintings and
    weights, the loss, the lineage (what it started from, its teacher, every leg) and how the run went."""
    machine = describe_cpu() if not torch.cuda.is_available() else torch.cuda.get_device_name()
    module_config, data = config.get("module") or {}, config.get("data") or {}
    loss = PerceptualLossSettings.from_mapping(config["loss"])
    entries = module_config.get("styles") or [
        {"name": config["style"]["name"], "image": loss.style_image, "style_weight": loss.style_weight}]
    # A multi-style or distilled network extends the legs of the network it started from.
    legs = [*module.history,
            {"styles": list(module.style_order), "steps": trainer.global_step, "init_from": module_config.get("init_from"),
             "machine": machine}]
    card = NetworkCard(
        model_args=dict(module.model.model_args), style=str(config["style"]["name"]),
        styles=tuple(StyleEntry(str(entry["name"]), entry["image"], float(entry["style_weight"])) for entry in entries),
        loss=loss,
        lineage=Lineage(module_config.get("init_from"), module_config.get("teacher"),
                        tuple(Leg.from_mapping(leg) for leg in legs)),
        training=TrainingSummary(
            steps=trainer.global_step, crop=data.get("image_size"), batch=data.get("batch_size"), precision=precision,
            machine=machine, final_losses={key: float(value) for key, value in trainer.callback_metrics.items()
                                           if key.startswith("train/")}))
    return card.renamed(str(config["style"]["name"]))  # an arbitrary-style network: no placeholder painting
