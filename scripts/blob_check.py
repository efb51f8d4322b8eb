"""Blobs per served style: saturated white or black pixels that a network paints where the photo has none.

    python scripts/blob_check.py candy mondrian mondrian@arbitrary "candy:0.5,udnie:0.5" \\
        --style-image ../shared/assets/styles/brushstrokes.jpg --output docs/serving/ --sheet blends.jpg

Each spec (a zoo name, variant, ``STYLE@NETWORK`` or blend; ``--style-image`` paintings through the
arbitrary-style network) stylises the held-out photos (:data:`fast_style.heldout.HELD_OUT_PHOTOS`,
COCO val2017 files 64–95, never trained on and not N*'s photos) at their full size through the
default :func:`fast_style.infer.stylize.stylize` path, and is scored by
:func:`fast_style.baseline.blobs.blob_shares` over all their pixels (and on its worst photo). Writes
``blobs.md`` and ``blobs.json`` into ``--output`` (rows already there for other specs are kept);
``--sheet NAME.jpg`` also writes a side-by-side sheet there (a row of the first ``--sheet-photos``
photos, then one row per spec), to look at. ``--paintings`` measures paintings' own saturated shares
(:func:`fast_style.baseline.blobs.saturated_shares`, every pixel) into ``paintings.md``/``.json``: a
painting that holds pure white or black of its own (feathers' white paper) raises its limit to that share.

    python scripts/blob_check.py --paintings styles/feathers.jpg styles/sketch.png --output docs/serving/heldout32
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fast_style.cli import command

PAINTING_PREFIX = "painting:"


def _percent(value: float) -> str:
    return f"{100 * value:.3f}"


def _table(rows: dict, settings: str) -> str:
    lines = [f"# Blob shares ({settings})", "",
             "Share of pixels saturated white (every channel > 250/255) where the photo's luminance is < 235/255, "
             "and black (every channel < 5/255) where it is > 20/255, in %: over all photos' pixels, and on the "
             "worst photo.", "",
             "| spec | network | white % | black % | worst photo white % | worst photo black % |",
             "|---|---|---:|---:|---:|---:|"]
    for label, row in sorted(rows.items()):
        lines.append(f"| `{label}` | {row['network']} | {_percent(row['white'])} | {_percent(row['black'])} | "
                     f"{_percent(row['white_max'])} | {_percent(row['black_max'])} |")
    return "\n".join(lines) + "\n"


def _painting_table(rows: dict, settings: str) -> str:
    lines = [f"# Paintings' own saturated shares ({settings})", "",
             "Share of the painting's pixels saturated white (every channel > 250/255) and black (every channel "
             "< 5/255), in %.", "", "| painting | size | white % | black % |", "|---|---|---:|---:|"]
    lines += [f"| `{label}` | {row['width']}×{row['height']} | {_percent(row['white'])} | {_percent(row['black'])} |"
              for label, row in sorted(rows.items())]
    return "\n".join(lines) + "\n"


def _painting_shares(paintings: list[str], output: Path) -> None:
    """Each painting's own saturated white and black shares, into ``output``'s paintings.md and .json."""
    from fast_style.assets import resolve_path_or_asset
    from fast_style.baseline.blobs import saturated_shares
    from fast_style.baseline.report import write_growing_table
    from fast_style.io import load_image

    rows = {}
    for painting in paintings:
        image = load_image(resolve_path_or_asset(painting))
        shares = saturated_shares(image)
        rows[painting] = {"white": shares.white, "black": shares.black,
                          "height": image.shape[-2], "width": image.shape[-1]}
        print(f"{painting}: white {_percent(shares.white)} %, black {_percent(shares.black)} % (the painting)")
    write_growing_table(output, "paintings", "every pixel of the painting as stored", rows, _painting_table)


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("specs", nargs="*", help="zoo specs: candy, candy-small, mondrian@arbitrary, candy:0.5,udnie:0.5")
    parser.add_argument("--style-image", action="append", default=[], metavar="PAINTING",
                        help="a painting, through the arbitrary-style network (repeatable)")
    parser.add_argument("--photos", nargs="+", default=None, metavar="PHOTO",
                        help="photo files or asset names (default: the 32 held-out photos, fast_style.heldout)")
    parser.add_argument("--limit", type=int, default=None, help="the first N photos only")
    parser.add_argument("--output", required=True, help="folder for blobs.md, blobs.json and the sheet")
    parser.add_argument("--sheet", default=None, metavar="NAME.jpg", help="a side-by-side sheet into --output")
    parser.add_argument("--sheet-photos", type=int, default=3, help="photos on the sheet (the first N)")
    parser.add_argument("--paintings", nargs="+", default=[], metavar="PAINTING",
                        help="paintings (files or asset names) whose own saturated shares go to paintings.md")
    args = parser.parse_args(argv)
    if args.paintings:
        _painting_shares(args.paintings, Path(args.output))
        if not (args.specs or args.style_image):
            return 0

    from tqdm import tqdm

    from fast_style import zoo
    from fast_style.assets import resolve_path_or_asset
    from fast_style.baseline.blobs import blob_shares
    from fast_style.baseline.report import write_growing_table
    from fast_style.errors import InvalidValueError
    from fast_style.heldout import HELD_OUT_PHOTOS
    from fast_style.infer.stylize import load_model, stylize
    from fast_style.io import load_image
    from fast_style.sheets import contact_sheet, save_sheet

    labels = [*args.specs, *(PAINTING_PREFIX + path for path in args.style_image)]
    if not labels:
        raise InvalidValueError("name at least one spec or --style-image PAINTING")
    if args.sheet_photos < 1 or (args.limit is not None and args.limit < 1):
        raise InvalidValueError(f"--sheet-photos and --limit must be >= 1, got {args.sheet_photos}, {args.limit}")
    photo_paths = [resolve_path_or_asset(photo) for photo in (args.photos or HELD_OUT_PHOTOS)[: args.limit]]
    photos = [load_image(path) for path in photo_paths]
    on_sheet = photos[: args.sheet_photos] if args.sheet else []
    sheet_columns: list[list] = [list(on_sheet)]  # the photos' row, then one row per spec
    rows: dict = {}
    for label in labels:
        if label.startswith(PAINTING_PREFIX):
            model, network = load_model(style_image=label[len(PAINTING_PREFIX):]), "arbitrary (painting)"
        else:
            resolved = zoo.resolve(label, allow_path=False)
            model, network = load_model(resolved), resolved.network
        white = black = pixels = 0.0
        worst_white = worst_black = 0.0
        column = []
        for index, photo in enumerate(tqdm(photos, desc=label, unit="photo", leave=False)):
            out = stylize(model, photo)
            shares = blob_shares(photo, out)
            count = photo.shape[-1] * photo.shape[-2]
            white, black, pixels = white + shares.white * count, black + shares.black * count, pixels + count
            worst_white, worst_black = max(worst_white, shares.white), max(worst_black, shares.black)
            if index < len(on_sheet):
                column.append(out)
        sheet_columns.append(column)
        rows[label] = {"network": network, "white": white / pixels, "black": black / pixels,
                       "white_max": worst_white, "black_max": worst_black, "photos": len(photos)}
        print(f"{label}: white {_percent(white / pixels)} %, black {_percent(black / pixels)} % ({network})")

    output = Path(args.output)
    which = "photos" if args.photos else "held-out photos (the first of fast_style.heldout.HELD_OUT_PHOTOS)"
    write_growing_table(output, "blobs", f"{len(photos)} {which} at full size, stylize()'s default path", rows, _table)
    if args.sheet:
        names = ", ".join(path.name for path in photo_paths[: len(on_sheet)])
        sheet_rows = list(zip([f"photos: {names}", *labels], sheet_columns))
        print(f"sheet: {save_sheet(contact_sheet(sheet_rows, tile=200), output / args.sheet, quality=70)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
