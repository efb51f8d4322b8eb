"""``fast-style-train``: train a feed-forward style network from the packaged configs, anywhere.

``fast-style-train style=starry_night`` (or ``python scripts/train.py ...`` in a checkout). Hydra
overrides, e.g. ``experiment=cpu_quick``, ``trainer=gpu``, ``optimizer=adamw optimizer.lr=5e-4``,
``trainer.max_steps=2000``, ``data.image_size=128``, ``data.train_dir=/data/coco/train2014``,
``checkpoint_dir=out/``, ``overwrite=true``, ``ckpt_path=.../last.ckpt``, ``trainer.devices=2
trainer.strategy=ddp``, ``callbacks.previews.every_n_steps=0``. The slim inference checkpoint ends up
in ``<checkpoint_dir>/<style>.pth``; TensorBoard logs and resumable checkpoints in the Hydra run dir
(``outputs/<style>/<time>`` under the current folder).

The configs are the package's (:data:`fast_style.train.compose.CONFIG_DIR`), so an installed wheel
trains as a checkout does. Every user mistake, Hydra's own (an unknown option ``style=x``, a key that
is not there ``trainer.max_step``, an unquoted blend) included, is one line and exit 2
(:func:`fast_style.cli.run`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

import fast_style.train  # noqa: F401  (registers ${loss_default:...} before Hydra composes the config)
from fast_style.cli import run
from fast_style.errors import InvalidValueError
from fast_style.train.compose import CONFIG_DIR

log = logging.getLogger("fast_style.train")
# A task's failure, kept for _main to raise: raised inside Hydra's job, it would first print a line of its own.
_failures: list[Exception] = []


def _task(cfg: DictConfig) -> None:
    """The task Hydra runs: :func:`_train`, its failure kept for :func:`_main` to raise."""
    try:
        _train(cfg)
    except Exception as error:  # noqa: BLE001  (re-raised by _main, whatever it is)
        _failures.append(error)


def _train(cfg: DictConfig) -> None:
    """Train, and say where the network and the logs are."""
    from fast_style.train.callbacks import TrainingDivergedError
    from fast_style.train.run import train

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        path = train(cfg, run_dir)
    except TrainingDivergedError as error:
        # No slim checkpoint is written; the last periodic Lightning checkpoint is the one to resume from.
        raise TrainingDivergedError(
            f"{error}. No checkpoint was written for the diverged network; resume from the last good one "
            "with ckpt_path=last") from error
    if path is not None:
        log.info("inference checkpoint: %s (logs: %s; tensorboard --logdir %s)", path, run_dir, run_dir)


_hydra_main = hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")(_task)


def one_line(error: BaseException) -> str:
    """Hydra's or OmegaConf's message on one line: a list (``Available options in 'style':``) joined with commas.

    An OmegaConf error that Hydra wraps (``Key 'max_step' is not in struct``) is added after it; Hydra's
    config search path is left out (it names the package's folders, nothing the user typed).
    """
    text = str(error).split("Config search path:")[0]
    cause = error.__cause__
    if isinstance(error, HydraException) and isinstance(cause, OmegaConfBaseException):
        text = f"{text}\n{str(cause).splitlines()[0]}"
    joined, previous = "", ""
    for line in (line.strip() for line in text.splitlines()):
        if not line:
            continue
        if not joined or joined.endswith(":"):
            separator = " " if joined else ""
        elif _is_item(line) and _is_item(previous):
            separator = ", "
        else:
            separator = " " if joined.endswith(".") else "; "
        joined, previous = f"{joined}{separator}{line}", line
    return joined


def _is_item(line: str) -> bool:
    """Whether ``line`` is one entry of a list Hydra prints (an option name: one word, no sentence)."""
    return bool(line) and " " not in line and not line.endswith((".", ":"))


@contextlib.contextmanager
def _as_command_line(argv: Sequence[str]) -> Iterator[None]:
    """``sys.argv`` as Hydra reads it, and Hydra's errors raised rather than printed as a traceback with exit 1."""
    saved_argv, saved_full = sys.argv, os.environ.get("HYDRA_FULL_ERROR")
    sys.argv = [sys.argv[0] if sys.argv else "fast-style-train", *argv]
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    finally:
        sys.argv = saved_argv
        if saved_full is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved_full


def _main(argv: Sequence[str] | None) -> None:
    overrides = list(sys.argv[1:] if argv is None else argv)
    _failures.clear()
    with _as_command_line(overrides):
        try:
            _hydra_main()
            if _failures:
                raise _failures[0]
        except (HydraException, OmegaConfBaseException) as error:
            # A config the user composed wrongly: an unknown option or key, an override Hydra cannot parse.
            raise InvalidValueError(one_line(error)) from error
        finally:
            _failures.clear()


def main(argv: Sequence[str] | None = None) -> int:
    """Train with Hydra overrides ``argv`` (``None``: ``sys.argv[1:]``); returns the exit status.

    0 trained; 1 the run diverged (no network written); 2 nothing was trained: a bad override or
    value, a missing file, an output that exists or cannot be written (:mod:`fast_style.errors`).
    """
    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
