"""The ``compare`` command: feed-forward network vs Gatys optimisation, scored by the same loss (Johnson et al. 2016, Fig. 5).

    python scripts/compare.py --ckpt checkpoints/starry_night.pth --images ../shared/assets/coco/val2017 \\
        --limit 4 --sizes 256 512 --iters 300 --output compare_out/

For each photo and size: the network's output (one timed pass after a warm-up) and a Gatys
run (loss and cumulative seconds after every iteration), both scored by the loss the network
was trained with (rebuilt from the checkpoint's config). Writes ``report.md``,
``loss_vs_iterations.png``, ``side_by_side.png`` and ``history.json`` into ``--output``.

No Lightning, no Hydra: the loss comes from the checkpoint itself.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fast_style.baseline.gatys import GatysSettings
from fast_style.baseline.gatys_cli import add_gatys_arguments, gatys_settings
from fast_style.cli import add_device_argument, add_network_arguments, command, resolve_network
from fast_style.errors import InvalidValueError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_network_arguments(parser, ckpt_help="slim inference checkpoint, e.g. checkpoints/starry_night.pth")
    parser.add_argument(
        "--images", default="coco/val2017", help="folder of photos (path or asset name; default: coco/val2017)"
    )
    parser.add_argument("--limit", type=int, default=4, help="use the first N photos of the folder (sorted)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512], help="shorter sides to compare at")
    add_gatys_arguments(parser, 300, "Gatys iterations per photo and size")
    parser.add_argument("--timing-repeats", type=int, default=3, help="timed feed-forward passes (median)")
    parser.add_argument("--side-by-side", type=int, default=3, help="photos shown in side_by_side.png")
    parser.add_argument(
        "--vgg-weights",
        default=None,
        help="override the checkpoint's VGG weights (e.g. 'random' in tests); the report says so",
    )
    add_device_argument(parser, default="cpu")
    parser.add_argument("--output", required=True, help="output folder")
    return parser.parse_args(argv)


@dataclass
class Setup:
    """What a comparison runs on: the network, the loss it was trained with, the Gatys settings, the photos."""

    checkpoint: Any  # fast_style.checkpoint.StyleCheckpoint
    loss: Any  # fast_style.loss.perceptual.PerceptualLossSettings
    gatys: GatysSettings
    style_image: Any  # (1, 3, H, W) tensor
    loss_fn: Any  # PerceptualLoss
    model: Any  # TransformerNet
    photos: list[Path]


def _check_counts(args: argparse.Namespace) -> None:
    for label, value in (("--limit", args.limit), ("--timing-repeats", args.timing_repeats)):
        if value < 1:
            raise InvalidValueError(f"{label} must be at least 1, got {value}")
    bad_sizes = [s for s in args.sizes if s < 16]
    if bad_sizes:
        raise InvalidValueError(f"--sizes must be at least 16 pixels (VGG pools 3 times), got {bad_sizes}")


def load_setup(args: argparse.Namespace) -> Setup:
    """The network, its training loss (rebuilt from the checkpoint's config) and the photos, or a user error."""
    from fast_style.assets import resolve_path_or_asset
    from fast_style.baseline.compare import network_with_training_loss
    from fast_style.checkpoint import read_checkpoint
    from fast_style.infer.stylize import resolve_device
    from fast_style.io import NoImagesError, list_images, load_image, open_rgb
    from fast_style.loss.perceptual import build_perceptual_loss

    gatys = gatys_settings(args)
    _check_counts(args)
    resolved = resolve_network(args)
    args.ckpt = str(resolved.path)
    model, loss = network_with_training_loss(resolved)
    checkpoint = read_checkpoint(resolved.path)
    if args.vgg_weights is not None:
        loss = dataclasses.replace(loss, vgg={**loss.vgg, "weights": args.vgg_weights})
    style_image = load_image(resolve_path_or_asset(loss.style_image))
    loss_fn = build_perceptual_loss(**{**loss.as_dict(), "style_image": style_image}).to(resolve_device(args.device))
    folder = resolve_path_or_asset(args.images)
    photos = list_images(folder)[: args.limit]
    if not photos:
        raise NoImagesError(f"no images in {str(folder)!r}")
    for photo in photos:  # an unreadable one stops here, naming it, not part-way through the runs
        open_rgb(photo).close()
    return Setup(checkpoint, loss, gatys, style_image, loss_fn, model, photos)


def _compare(args: argparse.Namespace, setup: Setup) -> list:
    """Both methods on every photo and size, with a progress bar over the Gatys iterations."""
    from tqdm import tqdm

    from fast_style.baseline.compare import run_comparison

    with tqdm(total=len(setup.photos) * len(args.sizes) * setup.gatys.iterations, desc="Gatys", unit="it") as bar:

        def on_iteration(iteration: int, terms: dict[str, float]) -> None:
            bar.update(1)
            if iteration % 10 == 0:
                bar.set_postfix(loss=f"{terms['total']:.3e}")

        return run_comparison(setup.model, setup.loss_fn, setup.photos, args.sizes, setup.gatys,
                              timing_repeats=args.timing_repeats, on_iteration=on_iteration)


@command
def main(argv: list[str] | None = None) -> int:
    """Run the comparison and write the report; returns the exit status (0 done, 2 bad arguments or inputs)."""
    from fast_style.atomic import check_writable
    from fast_style.baseline.report import comparison_settings, plot_loss_curves, plot_side_by_side, render_markdown

    args = parse_args(argv)
    output = check_writable(args.output)  # before the comparison, not after it
    setup = load_setup(args)
    runs = _compare(args, setup)
    settings = comparison_settings(setup.checkpoint, args.ckpt, setup.loss, setup.gatys, setup.photos, args.images,
                                   args.sizes, device=args.device, vgg_overridden=bool(args.vgg_weights))
    (output / "report.md").write_text(render_markdown(runs, settings), encoding="utf-8")
    plot_loss_curves(runs, output / "loss_vs_iterations.png")
    plot_side_by_side(runs, setup.style_image, output / "side_by_side.png", max_photos=args.side_by_side)
    history = {"settings": settings, "runs": [run.to_dict() for run in runs]}
    (output / "history.json").write_text(json.dumps(history, indent=1), encoding="utf-8")
    print(f"wrote {output / 'report.md'}, loss_vs_iterations.png, side_by_side.png, history.json")
    return 0
