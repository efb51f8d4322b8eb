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
import json
import sys
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    network = parser.add_mutually_exclusive_group(required=True)
    network.add_argument("--ckpt", help="slim inference checkpoint, e.g. checkpoints/starry_night.pth")
    network.add_argument("--style", help="a shipped style network by name (scripts/stylize.py --list-styles)")
    parser.add_argument(
        "--images", default="coco/val2017", help="folder of photos (path or asset name; default: coco/val2017)"
    )
    parser.add_argument("--limit", type=int, default=4, help="use the first N photos of the folder (sorted)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512], help="shorter sides to compare at")
    parser.add_argument("--iters", type=int, default=300, help="Gatys iterations per photo and size")
    parser.add_argument("--optimizer", choices=["lbfgs", "adam"], default="lbfgs")
    parser.add_argument("--init", choices=["noise", "content"], default="noise", help="Gatys start image")
    parser.add_argument("--lr", type=float, default=None, help="Gatys step size (default: per optimiser)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise start")
    parser.add_argument("--timing-repeats", type=int, default=3, help="timed feed-forward passes (median)")
    parser.add_argument("--side-by-side", type=int, default=3, help="photos shown in side_by_side.png")
    parser.add_argument(
        "--vgg-weights",
        default=None,
        help="override the checkpoint's VGG weights (e.g. 'random' in tests); the report says so",
    )
    parser.add_argument("--device", default="cpu", help="torch device for both methods (default cpu)")
    parser.add_argument("--output", required=True, help="output folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tqdm import tqdm

    from fast_style.assets import AssetNotFoundError, resolve_path_or_asset
    from fast_style.baseline.compare import run_comparison
    from fast_style.baseline.report import comparison_settings, plot_loss_curves, plot_side_by_side, render_markdown
    from fast_style.checkpoint import CheckpointError, model_from_checkpoint, read_checkpoint
    from fast_style.io import NoImagesError, list_images, load_image
    from fast_style.loss.perceptual import build_perceptual_loss

    try:
        counts = (("--iters", args.iters), ("--limit", args.limit), ("--timing-repeats", args.timing_repeats))
        for label, value in counts:
            if value < 1:
                raise ValueError(f"{label} must be at least 1, got {value}")
        bad_sizes = [s for s in args.sizes if s < 16]
        if bad_sizes:
            raise ValueError(f"--sizes must be at least 16 pixels (VGG pools 3 times), got {bad_sizes}")
        if args.style:
            from fast_style.zoo import zoo_path

            args.ckpt = str(zoo_path(args.style))
        checkpoint = read_checkpoint(args.ckpt)
        if checkpoint.loss_args is None:
            raise ValueError(
                f"checkpoint {args.ckpt!r} does not say which loss it was trained with (no training config), "
                "so the Gatys baseline cannot use the same one"
            )
        loss_kwargs = dict(checkpoint.loss_args)
        if args.vgg_weights is not None:
            loss_kwargs["vgg"] = {**loss_kwargs["vgg"], "weights": args.vgg_weights}
        style_image = load_image(resolve_path_or_asset(loss_kwargs["style_image"]))
        loss_fn = build_perceptual_loss(**{**loss_kwargs, "style_image": style_image}).to(args.device)
        model = model_from_checkpoint(checkpoint)
        folder = resolve_path_or_asset(args.images)
        photos = list_images(folder)[: args.limit]
        if not photos:
            raise NoImagesError(f"no images in {str(folder)!r}")
    except (AssetNotFoundError, CheckpointError, NoImagesError, FileNotFoundError, ValueError, OSError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    total = len(photos) * len(args.sizes) * args.iters
    with tqdm(total=total, desc="Gatys", unit="it") as bar:

        def on_iteration(iteration: int, terms: dict[str, float]) -> None:
            bar.update(1)
            if iteration % 10 == 0:
                bar.set_postfix(loss=f"{terms['total']:.3e}")

        runs = run_comparison(
            model,
            loss_fn,
            photos,
            args.sizes,
            args.iters,
            optimizer=args.optimizer,
            init=args.init,
            lr=args.lr,
            seed=args.seed,
            timing_repeats=args.timing_repeats,
            on_iteration=on_iteration,
        )

    settings = comparison_settings(
        checkpoint, args.ckpt, loss_kwargs, photos, args.images, args.sizes, optimizer=args.optimizer,
        iterations=args.iters, init=args.init, lr=args.lr, device=args.device, vgg_overridden=bool(args.vgg_weights),
    )
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "report.md").write_text(render_markdown(runs, settings), encoding="utf-8")
    plot_loss_curves(runs, output / "loss_vs_iterations.png")
    plot_side_by_side(runs, style_image, output / "side_by_side.png", max_photos=args.side_by_side)
    history = {"settings": settings, "runs": [run.to_dict() for run in runs]}
    (output / "history.json").write_text(json.dumps(history, indent=1), encoding="utf-8")
    print(f"wrote {output / 'report.md'}, loss_vs_iterations.png, side_by_side.png, history.json")
    return 0
