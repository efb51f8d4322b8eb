"""Where the training configs are, configs composed outside ``@hydra.main``, and the link to the loss's defaults.

:data:`CONFIG_DIR` is the package's ``configs`` folder: in a checkout ``fast_style/configs`` links to
the top-level ``configs/`` (where users look for them), in a wheel it is a copy, so
``fast-style-train`` composes the same configs installed or not.

``configs/loss/perceptual.yaml`` takes every setting a style does not tune from
:class:`~fast_style.loss.perceptual.PerceptualLossSettings` through the ``loss_default``
resolver registered here (``${loss_default:content_weight}``), so the defaults are stated
once, in the library, while every key stays in the config where Hydra users override it
(``loss.content_weight=5``). It is a lookup of a constant and the only resolver: what a recipe
names (a teacher, a base network, a list of styles) is resolved once by the training entry
(:mod:`fast_style.train.prepare`), not while the config is composed.

``scripts/gatys.py`` and ``scripts/tune_style.py`` optimise photos against exactly the loss a
network of a style is trained with: :func:`style_loss_settings` composes it from ``configs/`` with
Hydra's compose API. Hydra belongs to the training side and the scripts, never to ``infer/`` or
``baseline/``, which take the result as plain arguments.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from fast_style.errors import InvalidValueError
from fast_style.loss.perceptual import PerceptualLossSettings

LOSS_DEFAULT_RESOLVER = "loss_default"
# The package's configs (fast_style/configs: in a checkout a link to the top-level configs/, in a wheel a copy),
# so that an installed package trains as a checkout does. Not resolved: the package's own path, wherever it is.
CONFIG_DIR = Path(__file__).absolute().parents[1] / "configs"


def loss_default(name: str) -> Any:
    """The library's default of loss setting ``name`` (a field, or ``vgg.<key>``).

    Raises:
        InvalidValueError: for a name that is not a loss setting.
    """
    value: Any = PerceptualLossSettings().as_dict()
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            raise InvalidValueError(f"${{{LOSS_DEFAULT_RESOLVER}:{name}}}: {name!r} is not a loss setting")
        value = value[part]
    return value


def _loss_default_node(name: str) -> Any:
    value = loss_default(name)
    # A list or mapping as an OmegaConf container: in-place OmegaConf.resolve (as Hydra's
    # instantiate does) replaces the interpolation with a container, not with a plain value.
    return OmegaConf.create(value) if isinstance(value, (list, dict)) else value


def style_entry(entry: Any, config_dir: str | os.PathLike = CONFIG_DIR) -> dict[str, Any]:
    """What a style of a multi-style run is: ``{"name", "image", "style_weight"}``.

    Args:
        entry: a style config name (``candy``: its tuned image and weight), an image file
            (its stem names it, with the library's default weight), or a mapping with ``name``,
            ``image`` and optionally ``style_weight``.
        config_dir: the ``configs/`` folder.

    Raises:
        UnknownStyleError: a name that is neither a style config nor an image file.
        InvalidValueError: a mapping without ``name`` and ``image``.
    """
    from fast_style.zoo import UnknownStyleError

    if isinstance(entry, Mapping) or OmegaConf.is_dict(entry):
        entry = dict(entry)
        if not isinstance(entry.get("name"), str) or not entry.get("image"):
            raise InvalidValueError(f"a style given as a mapping needs name and image, got {entry}")
        return {"name": entry["name"], "image": str(entry["image"]),
                "style_weight": float(entry.get("style_weight", loss_default("style_weight")))}
    text = str(entry)
    config_file = Path(config_dir) / "style" / f"{text}.yaml"
    if "/" not in text and config_file.is_file():
        style = OmegaConf.load(config_file)
        return {"name": str(style.name), "image": str(style.image), "style_weight": float(style.style_weight)}
    if Path(text).expanduser().is_file():
        return {"name": Path(text).stem, "image": text, "style_weight": float(loss_default("style_weight"))}
    names = sorted(path.stem for path in (Path(config_dir) / "style").glob("*.yaml"))
    raise UnknownStyleError(f"unknown style {text!r}: neither a style config ({', '.join(names)}) nor an image file")


def register_resolvers() -> None:
    """Register ``${loss_default:...}`` with OmegaConf (idempotent): a lookup in the library, no I/O.

    The names a recipe gives (a teacher, a base network, styles) are made concrete by
    :func:`fast_style.train.prepare.prepare` in the training entry, not while the config is composed.
    """
    if not OmegaConf.has_resolver(LOSS_DEFAULT_RESOLVER):
        OmegaConf.register_new_resolver(LOSS_DEFAULT_RESOLVER, _loss_default_node)


def style_loss_settings(style: str, config_dir: str | os.PathLike = CONFIG_DIR) -> tuple[str, PerceptualLossSettings]:
    """A name and the loss settings (:class:`~fast_style.loss.perceptual.PerceptualLossSettings`) of ``style``.

    Args:
        style: a style config name (``configs/style/<name>.yaml``): the training config composed
            with ``style=<name>`` gives its ``loss``; or an image file: the loss group with that
            image and the library's default style weight (no style config's tuning).
        config_dir: the ``configs/`` folder.

    Returns:
        ``(name, loss settings)``: the config name or the image file's stem.

    Raises:
        UnknownStyleError: if ``style`` is neither a style config name nor an existing image file.
    """
    from hydra import compose, initialize_config_dir

    from fast_style.zoo import UnknownStyleError

    register_resolvers()
    config_dir = Path(config_dir).resolve()
    names = sorted(path.stem for path in (config_dir / "style").glob("*.yaml"))
    image = Path(style).expanduser()
    if style not in names and not image.is_file():
        raise UnknownStyleError(f"unknown style {style!r}: neither a style config ({', '.join(names)}) nor an image file")
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        config = compose("train", overrides=[f"style={style}"] if style in names else [])
    loss = OmegaConf.to_container(config.loss, resolve=True)
    if style in names:
        return style, PerceptualLossSettings.from_mapping(loss)
    loss.update(style_image=str(image), style_weight=loss_default("style_weight"))
    return image.stem, PerceptualLossSettings.from_mapping(loss)
