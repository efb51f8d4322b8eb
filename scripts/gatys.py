"""Gatys et al.'s optimisation baseline on one photo (CVPR 2016).

    python scripts/gatys.py --content photo.jpg --style-config starry_night --size 512 --iters 500 \\
        --optimizer lbfgs --output out/

``--style-config NAME`` is a style config (``configs/style/<NAME>.yaml``: the image and its style
weight; the loss is the training config's ``loss`` composed with ``style=<NAME>``, so it is the one
training uses); ``--style-image FILE`` a painting file (the library's default weights). The old
``--style NAME_OR_FILE`` still works and warns. ``--output`` is an image file or a folder (then
``<photo>_<style>_gatys.png`` is written there). ``--history`` writes the per-iteration loss
and seconds as JSON.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def training_loss(style: str, config_dir: Path = CONFIG_DIR):
    """The name and loss settings of a style config or image file: :func:`fast_style.train.compose.style_loss_settings`."""
    from fast_style.train.compose import style_loss_settings

    return style_loss_settings(style, config_dir)


def main(argv: list[str] | None = None) -> int:
    from fast_style.baseline.gatys_cli import main as run

    return run(argv, training_loss)


if __name__ == "__main__":
    sys.exit(main())
