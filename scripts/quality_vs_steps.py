"""N* along one training run: how much Gatys optimisation each checkpoint's single pass is worth.

    python scripts/quality_vs_steps.py --ckpt checkpoints/candy.pth \\
        --run-dir outputs/zoo/candy --limit 4 --size 256 --iters 200 --output docs/quality/candy_steps

N* (Johnson et al. 2016, Fig. 5) is the first Gatys L-BFGS iteration whose loss is at or below the
network's. The Gatys curve of a photo does not depend on the network, so every photo is optimised
once and each checkpoint of the run (``<run-dir>/lightning_checkpoints/step*.ckpt``, kept with
``callbacks.model_checkpoint.save_top_k=-1``; the zoo recipe keeps them) is placed on it. Writes ``n_star.md`` and
``n_star_vs_steps.png`` into ``--output``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fast_style.cli import command


def _write_table(output: Path, title: str, n_stars: dict, medians: dict) -> None:
    """``n_star.md`` (median and per-photo N* per step) and the raw ``n_star.json``."""
    from fast_style.baseline.report import fmt_bound

    lines = [f"# {title}", "", "| steps | median N* | per photo |", "|---:|---:|---|"]
    for step, values in n_stars.items():
        per_photo = ", ".join(fmt_bound(value, "iter") for value in values)
        lines.append(f"| {step} | {fmt_bound(medians[step], 'iter')} | {per_photo} |")
    (output / "n_star.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (output / "n_star.json").write_text(
        json.dumps({str(step): [[b.value, b.lower] for b in values] for step, values in n_stars.items()}, indent=1)
    )


def _plot(medians: dict, style: str | None, path: Path) -> None:
    """Median N* against training steps, with Johnson et al.'s N* = 50 line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=120)
    steps = list(medians)
    ax.plot(steps, [medians[s].value for s in steps], "o-", label="median N*")
    ax.axhline(50, color="grey", linestyle="--", linewidth=1, label="N* = 50 (Johnson et al., Fig. 5)")
    ax.set_xlabel("training steps")
    ax.set_ylabel("N* (L-BFGS iterations)")
    ax.set_title(f"{style}: quality along training", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", required=True, help="the run's final slim checkpoint (its config gives the loss)")
    parser.add_argument("--run-dir", required=True, help="the run's Hydra folder (holds lightning_checkpoints/)")
    parser.add_argument("--images", default="coco/val2017", help="photo folder (path or asset name)")
    parser.add_argument("--limit", type=int, default=4, help="first N photos of the folder")
    parser.add_argument("--size", type=int, default=256, help="shorter side in pixels")
    parser.add_argument("--iters", type=int, default=200, help="Gatys L-BFGS iterations per photo")
    parser.add_argument("--output", required=True, help="output folder")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from fast_style import zoo
    from fast_style.assets import resolve_path_or_asset
    from fast_style.baseline.compare import n_star_for_models
    from fast_style.baseline.stats import censored_median
    from fast_style.checkpoint import read_checkpoint
    from fast_style.errors import InvalidValueError
    from fast_style.infer.stylize import load_model
    from fast_style.io import NoImagesError, list_images
    from fast_style.loss.perceptual import build_perceptual_loss

    if args.limit < 1 or args.iters < 1 or args.size < 16:
        raise InvalidValueError(f"--limit, --iters must be >= 1 and --size >= 16; got {args.limit}, {args.iters}, {args.size}")
    resolved = zoo.resolve(args.ckpt)
    checkpoint = read_checkpoint(resolved.path)
    checkpoints = sorted(
        (int(match.group(1)), path)
        for path in (Path(args.run_dir) / "lightning_checkpoints").glob("step*.ckpt")
        if (match := re.fullmatch(r"step(\d+)", path.stem))
    )
    photos = list_images(resolve_path_or_asset(args.images))[: args.limit]
    if not photos:
        raise NoImagesError(f"no photos in {args.images!r}")
    final_step = int(checkpoint.meta["global_step"])
    models = {step: load_model(path, "cpu") for step, path in checkpoints if step != final_step}
    models[final_step] = load_model(resolved, "cpu")
    models = dict(sorted(models.items()))
    loss_fn = build_perceptual_loss(**checkpoint.loss_args)
    with tqdm(total=len(photos), desc="Gatys runs", unit="photo") as bar:
        n_stars = n_star_for_models(models, loss_fn, photos, args.size, args.iters, on_photo=lambda _: bar.update(1))

    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    medians = {step: censored_median(values) for step, values in n_stars.items()}
    title = (f"N* along training: {checkpoint.style} ({len(photos)} photos of `{args.images}` at {args.size} px, "
             f"{args.iters} L-BFGS iterations)")
    _write_table(output, title, n_stars, medians)
    _plot(medians, checkpoint.style, output / "n_star_vs_steps.png")
    print((output / "n_star.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
