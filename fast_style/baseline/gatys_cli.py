"""The Gatys command: optimise one photo against a style's loss (Gatys et al., CVPR 2016).

The arguments, the optimisation with a progress bar, the output image and the history file.
Which loss a painting means is the caller's: ``scripts/gatys.py`` composes the training config
(Hydra, at the edge) and passes a function from ``--style-config NAME`` or ``--style-image FILE``
(:mod:`fast_style.baseline.style_args`) to the loss settings, so this module takes plain
arguments and imports neither Hydra nor Lightning.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fast_style.baseline.gatys import INITS, OPTIMIZERS, GatysSettings
from fast_style.baseline.style_args import add_style_source_arguments, style_source
from fast_style.cli import run
from fast_style.errors import InvalidValueError
from fast_style.loss.perceptual import PerceptualLossSettings

# A style config name or an image file → (a name for the output file, the loss settings).
StyleResolver = Callable[[str], tuple[str, PerceptualLossSettings]]


def add_gatys_arguments(parser: argparse.ArgumentParser, iterations: int, iterations_help: str) -> None:
    """``--iters --optimizer --init --lr --seed``: the fields of :class:`GatysSettings` a command sets."""
    parser.add_argument("--iters", type=int, default=iterations, help=iterations_help)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="lbfgs")
    parser.add_argument("--init", choices=INITS, default="noise", help="Gatys start image (default noise)")
    parser.add_argument("--lr", type=float, default=None, help="step size (default: 1 for L-BFGS, 0.02 for Adam)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise start")


def gatys_settings(args: argparse.Namespace) -> GatysSettings:
    """The :class:`GatysSettings` of :func:`add_gatys_arguments`' flags.

    Raises:
        InvalidValueError: ``--iters`` below 1, or a value :class:`GatysSettings` refuses (``--lr nan``).
    """
    if args.iters < 1:
        raise InvalidValueError(f"--iters must be at least 1, got {args.iters}")
    return GatysSettings(iterations=args.iters, optimizer=args.optimizer, init=args.init, lr=args.lr, seed=args.seed)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Gatys et al.'s optimisation baseline on one photo (CVPR 2016).")
    parser.add_argument("--content", required=True, help="the photo")
    add_style_source_arguments(parser)
    parser.add_argument("--size", type=int, default=512, help="shorter side of the photo (default 512)")
    add_gatys_arguments(parser, 500, "optimiser iterations (default 500)")
    parser.add_argument("--style-size", type=int, default=None, help="override the style image's shorter side")
    parser.add_argument("--content-weight", type=float, default=None, help="override the style config's weight")
    parser.add_argument("--style-weight", type=float, default=None, help="override the style config's weight")
    parser.add_argument("--tv-weight", type=float, default=None, help="override the style config's weight")
    parser.add_argument("--vgg-weights", default=None, help="override configs/loss/perceptual.yaml's VGG weights")
    parser.add_argument("--history", default=None, help="write per-iteration loss terms and seconds to this JSON")
    parser.add_argument("--output", required=True, help="output image file, or a folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None, resolve_style: StyleResolver) -> int:
    """Run the command through :func:`fast_style.cli.run`; returns the exit status (0 done, 2 bad arguments or inputs)."""
    return run(lambda args: _optimize(args, resolve_style), argv)


def loss_overrides(args: argparse.Namespace, loss: PerceptualLossSettings) -> PerceptualLossSettings:
    """``loss`` with the command line's ``--content-weight --style-weight --tv-weight --style-size --vgg-weights``."""
    changes: dict[str, Any] = {key: getattr(args, key) for key in ("content_weight", "style_weight", "tv_weight",
                                                                   "style_size") if getattr(args, key) is not None}
    if args.vgg_weights is not None:
        changes["vgg"] = {**loss.vgg, "weights": args.vgg_weights}
    return dataclasses.replace(loss, **changes)


def _loss_and_photo(args: argparse.Namespace, resolve_style: StyleResolver) -> tuple[str, Any, Any]:
    """The style's name, its loss (with the command line's overrides) and the photo, or a user error."""
    from fast_style.io import load_image
    from fast_style.loss.perceptual import build_perceptual_loss

    if args.size < 1:
        raise InvalidValueError(f"--size must be at least 1, got {args.size}")
    style_name, loss = resolve_style(style_source(args))
    loss = loss_overrides(args, loss)
    return style_name, build_perceptual_loss(**loss.as_dict()), load_image(args.content, args.size)


def _optimize(argv: list[str] | None, resolve_style: StyleResolver) -> int:
    args = parse_args(argv)
    from tqdm import tqdm

    from fast_style.atomic import check_writable
    from fast_style.baseline.gatys import optimize_image
    from fast_style.io import IMAGE_EXTENSIONS, save_image

    settings = gatys_settings(args)
    style_name, loss_fn, content = _loss_and_photo(args, resolve_style)
    output = Path(args.output)
    if output.suffix.lower() not in IMAGE_EXTENSIONS:
        output = output / f"{Path(args.content).stem}_{style_name}_gatys.png"
    check_writable(output.parent)  # before the optimisation, not after it
    with tqdm(total=settings.iterations, desc=f"Gatys {settings.optimizer}", unit="it") as bar:

        def on_iteration(iteration: int, terms: dict[str, float], image) -> None:
            bar.update(1)
            bar.set_postfix(
                loss=f"{terms['total']:.3e}", style=f"{terms['style']:.2e}", content=f"{terms['content']:.2e}"
            )

        result = optimize_image(loss_fn, content, settings, callback=on_iteration)
    save_image(result.image, output)
    last = result.history[-1]
    print(
        f"wrote {output}: loss {result.initial['total']:.3e} -> {last['total']:.3e} "
        f"(content {last['content']:.3e}, style {last['style']:.3e}) in {last['seconds']:.1f} s"
    )
    if args.history:
        history = Path(args.history)
        history.parent.mkdir(parents=True, exist_ok=True)
        history.write_text(json.dumps({"initial": result.initial, "history": result.history}, indent=1))
    return 0
