"""Train a feed-forward style network: ``python scripts/train.py style=starry_night``.

A checkout's way to run ``fast-style-train`` (:mod:`fast_style.train.train_cli`, which lists the
Hydra overrides): ``experiment=cpu_quick``, ``trainer=gpu``, ``trainer.max_steps=2000``,
``checkpoint_dir=out/``, ``overwrite=true``, ``ckpt_path=last``, ...
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fast_style.train.train_cli import main as train_main


def main() -> None:
    """Train with ``sys.argv``'s overrides and exit with the command's status (0, 1 diverged, 2 nothing done)."""
    sys.exit(train_main())


if __name__ == "__main__":
    main()
