"""A composed training config made concrete once, before anything is built: the names a recipe gives become values.

The YAML files are data: they name a teacher (``experiment=distill teacher=candy``), a base network
(``experiment=new_style base_network=styles15``) or a list of styles (``experiment=multistyle
styles=[candy,mosaic]``). What those names mean, which takes reading a network file or a style
config, is worked out here, in the training entry, through :func:`fast_style.zoo.resolve` (the one
place a name becomes a network), and written into the config, so that the stored config of a run
says what it trained with:

- ``styles``: each entry as :func:`fast_style.train.compose.style_entry` gives it (name, image, weight);
- ``base_network``: ``module.init_from`` is its file, and ``styles`` its styles (each from the file's own
  record) followed by the new painting;
- ``teacher``: every ``null`` of the ``loss`` group is the teacher's own setting, ``style.image`` and
  ``style.style_weight`` follow the loss, and a ``null`` ``style.name`` is ``<teacher's style>-small``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from fast_style.errors import InvalidValueError
from fast_style.train.compose import style_entry


def prepare(cfg: DictConfig) -> DictConfig:
    """Fill in, in place, what ``cfg``'s recipe names (a base network, styles, a teacher); returns ``cfg``.

    :func:`fast_style.train.run.train` calls it; a test that builds a module from a composed config
    (``build(prepare(config).module)``) does too. Preparing a prepared config changes nothing.

    Raises:
        UnknownStyleError, InputFileError: a base network, teacher or style the zoo does not have.
        InvalidValueError: a base network that holds one style, a new style it already holds, a
            ``styles`` that is not a list, or a teacher that does not record its loss.
    """
    with open_dict(cfg):
        # Each step fills only what is still a name or null, so that a prepared config prepares to itself.
        if cfg.get("base_network") is not None and cfg.get("styles") is None:
            _add_to_base_network(cfg)
        if cfg.get("styles") is not None:
            cfg.styles = _style_entries(cfg.styles)
        if cfg.get("teacher") is not None:
            _follow_teacher(cfg)
    return cfg


def _style_entries(entries: Any) -> list[dict[str, Any]]:
    """``styles=[candy, painting.jpg, {name, image}]``: each as :func:`style_entry` gives it."""
    if not (OmegaConf.is_list(entries) or isinstance(entries, (list, tuple))):
        raise InvalidValueError(f"styles must be a list, e.g. styles=[candy,mosaic,udnie], got {entries!r}")
    return [style_entry(entry) for entry in entries]


def _add_to_base_network(cfg: DictConfig) -> None:
    """``experiment=new_style``: start from ``base_network``; its styles (as it was trained on them), then the new one."""
    from fast_style.checkpoint import read_checkpoint

    network = str(cfg.base_network)
    path = network_file(network)
    checkpoint = read_checkpoint(path)
    styles = (checkpoint.model_args or {}).get("styles")
    name = str(cfg.style.name)
    if not styles:
        raise InvalidValueError(f"experiment=new_style starts from a multi-style network; {network!r} holds one style")
    if name in styles:
        raise InvalidValueError(f"style.name={name!r} is already a style of {network!r}; give the new painting a new name")
    entries = []
    for style in styles:
        loss = checkpoint.card.loss_for(style)
        image, weight = (None, None) if loss is None else (loss.style_image, loss.style_weight)
        entries.append({"name": style, "image": image, "style_weight": weight})
    new = {"name": name, "image": cfg.style.image, "style_weight": cfg.style.style_weight}
    cfg.styles = [*entries, new]
    cfg.module.init_from = str(path)


def network_file(network: str) -> Path:
    """The file of a network a run starts from: a file, a shipped network by its own name (``styles15``, which is
    no style; ``arbitrary``), else what :func:`fast_style.zoo.resolve` makes of it (a style's network).

    Raises:
        UnknownStyleError, InputFileError: a name the zoo does not have, a path that is not a file.
    """
    from fast_style import zoo

    if Path(network).is_file():
        return Path(network)
    try:
        return zoo.zoo_path(network)
    except zoo.UnknownStyleError:
        return zoo.resolve(network).path  # a spec (candy@styles15), or its error naming what the zoo has


def teacher_loss(teacher: str) -> tuple[str, dict[str, Any]]:
    """The style a teacher spec stylises in (as ``zoo.load`` picks it) and the loss settings it was trained with.

    Raises:
        InvalidValueError: the teacher does not record its loss (its student could not be judged on it).
    """
    from fast_style.zoo import load_with_loss

    model, loss = load_with_loss(teacher)
    if loss is None:
        raise InvalidValueError(f"teacher {teacher!r} does not record the loss it was trained with, so its student "
                                "could not be judged on it; retrain it with fast-style-train")
    return model.style_name, loss.as_dict()


def _follow_teacher(cfg: DictConfig) -> None:
    """``experiment=distill``: the student is judged on its teacher's loss; settings a run gives win."""
    style, loss = teacher_loss(str(cfg.teacher))
    _fill_nulls(cfg.loss, loss)
    if cfg.style.get("name") is None:
        cfg.style.name = f"{style}-small"
    cfg.style.image = cfg.loss.style_image
    cfg.style.style_weight = cfg.loss.style_weight


def _fill_nulls(node: DictConfig, values: dict[str, Any]) -> None:
    """Every ``null`` of ``node`` (recursively) that ``values`` has, set to it."""
    for key in list(node.keys()):
        if OmegaConf.is_dict(node[key]) and isinstance(values.get(key), dict):
            _fill_nulls(node[key], values[key])
        elif node[key] is None and key in values:
            node[key] = copy.deepcopy(values[key])


__all__ = ["network_file", "prepare", "teacher_loss"]
