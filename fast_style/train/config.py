"""The training config read from outside training: the loss a style is trained with.

``scripts/gatys.py`` and ``scripts/tune_style.py`` optimise photos against exactly the loss a
network of that style would be trained with; this composes it from ``configs/`` with Hydra's
compose API (Hydra belongs to the training side and the scripts, never to ``infer/`` or
``baseline/``, which take the result as plain arguments).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def style_loss_args(style: str, config_dir: str | os.PathLike) -> tuple[str, dict[str, Any]]:
    """A name and the :func:`~fast_style.loss.perceptual.build_perceptual_loss` arguments for ``style``.

    Args:
        style: a style config name (``configs/style/<name>.yaml``): the training config composed
            with ``style=<name>`` gives its ``loss`` (image, size and weights by interpolation);
            or an image file: the loss group's VGG and layers with the library's default size
            and weights (:func:`~fast_style.loss.perceptual.loss_defaults`).
        config_dir: the ``configs/`` folder.

    Returns:
        ``(name, loss arguments)``: the config name or the image file's stem.

    Raises:
        UnknownStyleError: if ``style`` is neither a style config name nor an existing image file.
    """
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from fast_style.loss.perceptual import STYLE_LOSS_KEYS, loss_defaults, loss_kwargs_from_config
    from fast_style.zoo import UnknownStyleError

    config_dir = Path(config_dir).resolve()
    names = sorted(path.stem for path in (config_dir / "style").glob("*.yaml"))
    image = Path(style).expanduser()
    if style not in names and not image.is_file():
        raise UnknownStyleError(f"unknown style {style!r}: neither a style config ({', '.join(names)}) nor an image file")
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        config = compose("train", overrides=[f"style={style}"] if style in names else [])
    loss = OmegaConf.to_container(config.loss, resolve=True)
    if style in names:
        return style, loss_kwargs_from_config({"loss": loss})
    defaults = loss_defaults()
    loss.update({key: defaults[key] for key in STYLE_LOSS_KEYS if key != "style_image"}, style_image=str(image))
    return image.stem, loss_kwargs_from_config({"loss": loss})
