"""Gatys et al.'s optimisation baseline on one photo (CVPR 2016).

    python scripts/gatys.py --content photo.jpg --style starry_night --size 512 --iters 500 \\
        --optimizer lbfgs --output out/

``--style`` is a style config name (``configs/style/<name>.yaml``: image, size and loss
weights) or an image file (the library's default weights); the loss is the training config's
``loss`` composed with ``style=<name>``, so it is the one training uses. ``--output`` is an image file or a folder (then
``<photo>_<style>_gatys.png`` is written there). ``--history`` writes the per-iteration loss
and seconds as JSON.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def training_loss(style: str, config_dir: Path = CONFIG_DIR) -> tuple[str, dict]:
    """The name and :func:`build_perceptual_loss` arguments for ``--style``.

    A style config name composes the training config with ``style=<name>`` and takes its
    ``loss`` (the loss that style's network is trained with); an image file gets the loss
    group's VGG and layers with the library's default weights and style size.

    Raises:
        ValueError: if ``style`` is neither a style config name nor an existing image file.
    """
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from fast_style.loss.perceptual import STYLE_LOSS_KEYS, loss_defaults, loss_kwargs_from_config

    names = sorted(p.stem for p in (config_dir / "style").glob("*.yaml"))
    path = Path(style).expanduser()
    if style not in names and not path.is_file():
        raise ValueError(f"unknown style {style!r}; available: {', '.join(names)} (or give an image file)")
    with initialize_config_dir(config_dir=str(config_dir.resolve()), version_base="1.3"):
        config = compose("train", overrides=[f"style={style}"] if style in names else [])
    loss = OmegaConf.to_container(config.loss, resolve=True)
    if style in names:
        return style, loss_kwargs_from_config({"loss": loss})
    defaults = loss_defaults()
    loss.update({key: defaults[key] for key in STYLE_LOSS_KEYS if key != "style_image"}, style_image=str(path))
    return path.stem, loss_kwargs_from_config({"loss": loss})


def main(argv: list[str] | None = None) -> int:
    from fast_style.baseline.gatys_cli import main as run

    return run(argv, training_loss)


if __name__ == "__main__":
    sys.exit(main())
