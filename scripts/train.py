"""Train a feed-forward style network: ``python scripts/train.py style=starry_night``.

Hydra overrides, e.g. ``experiment=cpu_quick``, ``trainer=gpu``, ``optimizer=adamw optimizer.lr=5e-4``,
``trainer.max_steps=2000``, ``data.image_size=128``, ``data.train_dir=/data/coco/train2014``,
``checkpoint_dir=out/``, ``ckpt_path=.../last.ckpt``, ``trainer.devices=2 trainer.strategy=ddp``,
``callbacks.model_checkpoint.every_n_train_steps=500``, ``callbacks.previews.every_n_steps=0``.
The slim inference checkpoint ends up in ``<checkpoint_dir>/<style>.pth``; TensorBoard logs and
resumable checkpoints in the Hydra run dir.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fast_style.train  # noqa: F401  (registers ${loss_default:...} before Hydra composes the config)
from fast_style.cli import run

CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "configs")
log = logging.getLogger("fast_style.train")


def _train(cfg: DictConfig) -> None:
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


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def main(cfg: DictConfig) -> None:
    # The user's mistakes (bad override, missing asset, divergence) as one line and their exit code.
    status = run(lambda _: _train(cfg))
    if status:
        sys.exit(status)


if __name__ == "__main__":
    main()
