"""N* per network on the same photos, every network placed on stored Gatys curves.

    python scripts/quality_table.py candy candy@styles15 mosaic mosaic@styles15 --output docs/quality/table
    python scripts/quality_table.py --curves-only woman_with_hat_matisse brushstrokes

N* (Johnson et al. 2016, Fig. 5) is the first Gatys L-BFGS iteration whose loss, the loss the network
was trained with, is at or below the network's. Each (style, photo) curve is computed once and kept
under ``--curves`` (small JSON files, see :mod:`fast_style.baseline.curves`), so a table can grow over
several sittings and a new network costs one forward pass per photo. Writes ``table.md`` and
``table.json`` into ``--output`` (rows already there for other networks are kept).
``--curves-only`` computes the curves of style configs that have no network yet.
``--loss-from-config`` judges every network by its style config's loss (``configs/style/STYLE.yaml``),
the same for every network compared: the arbitrary-style network's file records no loss for its
stored styles (``mondrian@arbitrary``), so this is how it is placed beside the networks trained on them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fast_style.cli import command

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CURVES = ROOT / "docs" / "quality" / "gatys_curves"


def _table(rows: dict, settings: str) -> str:
    from fast_style.baseline.report import fmt_bound
    from fast_style.baseline.stats import Bound, censored_median

    lines = [f"# N* per network ({settings})", "", "| network | style | median N* | per photo |", "|---|---|---:|---|"]
    for label, row in sorted(rows.items(), key=lambda item: (item[1]["style"], item[0])):
        values = [Bound(value, lower) for value, lower in row["n_star"]]
        per_photo = ", ".join(fmt_bound(value, "iter") for value in values)
        lines.append(f"| `{label}` | {row['style']} | {fmt_bound(censored_median(values), 'iter')} | {per_photo} |")
    return "\n".join(lines) + "\n"


def _painting(spec: str) -> str:
    """The style config of a zoo spec's painting (``candy-small`` and ``candy@styles15``: ``candy``)."""
    from fast_style import zoo

    return zoo.parse_spec(spec).terms[0].style


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("specs", nargs="*", help="zoo names (candy, candy@styles15, candy-small) or checkpoint files")
    parser.add_argument("--curves-only", nargs="+", default=[], metavar="STYLE",
                        help="style config names: compute and store their curves, no network needed")
    parser.add_argument("--images", default="coco/val2017", help="photo folder (path or asset name)")
    parser.add_argument("--limit", type=int, default=8, help="first N photos of the folder")
    parser.add_argument("--size", type=int, default=256, help="shorter side in pixels")
    parser.add_argument("--iters", type=int, default=200,
                        help="Gatys L-BFGS iterations per photo, at most: a curve stops once it reaches the best network")
    parser.add_argument("--curves", default=str(DEFAULT_CURVES), help="folder of stored Gatys curves")
    parser.add_argument("--output", default=None, help="folder for table.md and table.json")
    parser.add_argument("--loss-from-config", action="store_true",
                        help="judge every network by its style's config loss (configs/style/STYLE.yaml), not the one "
                             "its file records (needed for a network that records none: STYLE@arbitrary)")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from fast_style import zoo
    from fast_style.assets import resolve_path_or_asset
    from fast_style.baseline.compare import n_star_for_models, network_with_training_loss
    from fast_style.baseline.curves import GatysCurves, loss_identity
    from fast_style.baseline.gatys import GatysSettings
    from fast_style.errors import InvalidValueError
    from fast_style.io import NoImagesError, list_images
    from fast_style.loss.perceptual import PerceptualLossSettings, build_perceptual_loss
    from fast_style.train.compose import CONFIG_DIR, style_loss_settings

    if args.limit < 1 or args.iters < 1 or args.size < 16:
        raise InvalidValueError(f"--limit, --iters must be >= 1 and --size >= 16; got {args.limit}, {args.iters}, {args.size}")
    if not args.specs and not args.curves_only:
        raise InvalidValueError("name at least one network (or --curves-only STYLE)")
    if args.specs and args.output is None:
        raise InvalidValueError("--output is needed to write the table")
    photos = list_images(resolve_path_or_asset(args.images))[: args.limit]
    if not photos:
        raise NoImagesError(f"no photos in {args.images!r}")

    gatys = GatysSettings(iterations=args.iters)
    for style in args.curves_only:
        name, loss = style_loss_settings(style, CONFIG_DIR)
        loss_fn = build_perceptual_loss(**loss.as_dict())
        curves = GatysCurves.of_loss(args.curves, loss)
        for photo in tqdm(photos, desc=f"{name}: Gatys curves", unit="photo"):
            curves.curve(loss_fn, loss, photo, args.size, gatys)

    # Networks of one style and loss share every curve and one VGG.
    groups: dict[str, tuple[PerceptualLossSettings, dict]] = {}
    for spec in args.specs:
        config_loss = style_loss_settings(_painting(spec), CONFIG_DIR)[1] if args.loss_from_config else None
        model, loss = network_with_training_loss(zoo.resolve(spec), config_loss)
        groups.setdefault(loss_identity(loss), (loss, {}))[1][spec] = model
    rows: dict = {}
    for loss, models in groups.values():
        loss_fn = build_perceptual_loss(**loss.as_dict())
        curves = GatysCurves.of_loss(args.curves, loss)
        style = curves.style  # the painting: teacher, shared network and student of one style share a row group
        with tqdm(total=len(photos), desc=f"{style}: {len(models)} network(s)", unit="photo") as bar:
            n_stars = n_star_for_models(models, loss_fn, photos, args.size, gatys, on_photo=lambda _: bar.update(1),
                                        curves=curves, loss=loss)
        for label, values in n_stars.items():
            rows[label] = {"style": style, "n_star": [[b.value, b.lower] for b in values],
                           "photos": [Path(p).name for p in photos]}

    if args.specs:
        from fast_style.baseline.report import write_growing_table

        settings = f"{len(photos)} photos of `{args.images}` at {args.size} px, {args.iters} L-BFGS iterations"
        write_growing_table(args.output, "table", settings, rows, _table)
        print((Path(args.output) / "table.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
