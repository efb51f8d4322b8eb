"""Which painting a Gatys command optimises towards: ``--style-config NAME`` or ``--style-image FILE``.

One name per thing (issue #31): ``--style`` is a zoo spec in every command that runs a network,
so the commands that optimise towards a painting (``scripts/gatys.py``, ``tune_style.py``,
``quality_vs_steps.py``) name a style config ``--style-config`` (``configs/style/<NAME>.yaml``: its
painting, weight and the training loss) and a painting file ``--style-image`` (the library's
default weights). Their old ``--style NAME_OR_FILE`` still works for one release and warns
(:mod:`fast_style.deprecated`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fast_style.deprecated import deprecated_flag
from fast_style.errors import InvalidValueError
from fast_style.io import require_file


def add_style_source_arguments(parser: argparse.ArgumentParser, *, required: bool = True,
                               config_help: str = "a style config (configs/style/<NAME>.yaml): its painting, "
                                                  "style weight and the training loss") -> None:
    """``--style-config NAME`` | ``--style-image FILE`` (and the deprecated ``--style``), one of them ``required``."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--style-config", metavar="NAME", help=config_help)
    group.add_argument("--style-image", metavar="FILE", help="a painting file (the library's default loss weights)")
    group.add_argument("--style", dest="style_legacy", metavar="NAME_OR_FILE",
                       action=deprecated_flag("--style-config NAME (a configs/style name) or --style-image FILE"),
                       help=argparse.SUPPRESS)


def style_source(args: argparse.Namespace) -> str | None:
    """What :func:`fast_style.train.compose.style_loss_settings` takes: a style config name or an image file.

    Raises:
        InvalidValueError: a ``--style-config`` that is a file name (it names ``--style-image``).
        InputFileError: a ``--style-image`` that is not a file.
    """
    if args.style_config is not None:
        if Path(args.style_config).suffix or Path(args.style_config).name != args.style_config:
            raise InvalidValueError(f"--style-config takes a style config name (configs/style/<NAME>.yaml), got "
                                    f"{args.style_config!r}; for a painting file use --style-image")
        return args.style_config
    if args.style_image is not None:
        # Absolute, so that a file named like a style config is still taken as the file.
        return str(require_file(args.style_image, "--style-image").resolve())
    return args.style_legacy


__all__ = ["add_style_source_arguments", "style_source"]
