"""Choose a style's weights before training: a Gatys preview sweep and a labelled contact sheet.

    python scripts/tune_style.py --style-config candy --style-weights 1 3 10 30
    python scripts/tune_style.py --style-image my_painting.jpg --style-weights 3 10 --style-sizes 256 384 \\
        --photos holiday1.jpg holiday2.jpg --output tune/my_painting

For each setting (style weight × style-image size) every photo is optimised for ``--iterations``
L-BFGS steps against the training loss (same VGG, layers, Gram normalisation). The output folder
gets ``sheet.jpg`` (first row: the style image and the photos; then one row per setting, the style
image first) and ``losses.md`` (the loss terms per setting). Pick the row whose pictures carry the
painting's strokes, shapes and palette while the photo stays recognisable, then train with it:
``python scripts/train.py style=candy style.style_weight=10``. (The old ``--style NAME_OR_FILE`` still
works and warns: ``--style`` names a zoo network in the other commands.)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fast_style.baseline.style_args import add_style_source_arguments, style_source
from fast_style.cli import command

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def _style_loss(style: str):
    """The style's name and loss settings (:class:`~fast_style.loss.perceptual.PerceptualLossSettings`).

    From :func:`fast_style.train.compose.style_loss_settings`: the composed training loss for a
    config name, the library's defaults for an image file.
    """
    from fast_style.train.compose import style_loss_settings

    return style_loss_settings(style, CONFIG_DIR)


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_style_source_arguments(parser)
    parser.add_argument("--style-weights", type=float, nargs="+", default=[1.0, 3.0, 10.0, 30.0])
    parser.add_argument("--style-sizes", type=int, nargs="+", help="style image shorter sides (default: the config's)")
    parser.add_argument("--content-weight", type=float, help="default: the config's")
    parser.add_argument("--tv-weight", type=float, help="default: the config's")
    parser.add_argument("--photos", nargs="+", help="photo files (default: --count photos of coco/val2017)")
    parser.add_argument("--count", type=int, default=3, help="photos taken from coco/val2017 without --photos")
    parser.add_argument("--size", type=int, default=256, help="shorter side of the photos (default 256)")
    parser.add_argument("--iterations", type=int, default=150, help="L-BFGS iterations per photo (default 150)")
    parser.add_argument("--init", choices=["content", "noise"], default="content")
    parser.add_argument("--output", help="output folder (default: tune/<style>)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.size < 16 or args.iterations < 1:
        parser.error(f"--count, --iterations must be >= 1 and --size >= 16; got {args.count}, {args.iterations}, {args.size}")

    from fast_style.assets import resolve_path_or_asset
    from fast_style.baseline.gatys import GatysSettings
    from fast_style.baseline.tune import run_sweep, sweep_settings, write_sweep
    from fast_style.errors import InputFileError
    from fast_style.io import list_images

    name, loss = _style_loss(style_source(args))
    photos = args.photos or [str(p) for p in list_images(resolve_path_or_asset("coco/val2017"))[: args.count]]
    missing = [photo for photo in photos if not Path(photo).is_file()]
    if missing:
        raise InputFileError(f"photo(s) not found: {', '.join(missing)}")
    settings = sweep_settings(
        args.style_weights,
        args.style_sizes or [int(loss.style_size)],
        loss.content_weight if args.content_weight is None else args.content_weight,
        loss.tv_weight if args.tv_weight is None else args.tv_weight,
    )
    resolve_path_or_asset(loss.style_image)
    output = Path(args.output or Path("tune") / name)
    total = len(settings) * len(photos)
    done = 0
    start = time.perf_counter()

    def progress(setting, index, terms) -> None:
        nonlocal done
        done += 1
        elapsed = time.perf_counter() - start
        eta = elapsed / done * (total - done)
        print(f"[{done}/{total}] {setting.label()}, photo {index + 1}: total {terms['total']:.4g} "
              f"(content {terms['content']:.4g}, style {terms['style']:.4g}); ETA {eta:.0f} s", flush=True)

    print(f"{len(settings)} setting(s) x {len(photos)} photo(s), {args.iterations} L-BFGS iterations at {args.size} px")
    gatys = GatysSettings(iterations=args.iterations, init=args.init)
    rows = run_sweep(loss.style_image, photos, settings, loss, args.size, gatys, progress)
    how = f"{args.size} px, {args.iterations} L-BFGS iterations from the {args.init}"
    sheet, table = write_sweep(output, loss.style_image, photos, rows, how=how)
    print(table.read_text())
    print(f"wrote {sheet} and {table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
