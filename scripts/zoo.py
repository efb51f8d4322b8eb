"""The shipped style networks (fast_style/zoo/): list them, add a trained one, draw the gallery.

    python scripts/zoo.py list
    python scripts/zoo.py add checkpoints/candy.pth --note "style weight 10: the candy palette, faces kept"
    python scripts/zoo.py add --style-image painting.jpg --name mine   # a painting as a style, no training
    python scripts/zoo.py serve mondrian arbitrary --why "no blob on the held-out photos (docs/serving.md)"
    python scripts/zoo.py gallery --output docs/images/zoo_gallery.jpg --count 3

``add`` tries the network on a small image, stores it with float16 weights (at most 6 MB) and registers
it in the zoo's index; a name that ships is refused unless ``--replace`` is given. ``add --style-image``
stores a painting's embedding as a named style of the arbitrary-style network (then ``--style mine``,
``mine@arbitrary``, blends). ``serve`` records which
shipped network a style's plain name is served from, and why (docs/serving.md). Training itself never
writes into the zoo. No Lightning, no Hydra.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fast_style.cli import command


@command
def main(argv: list[str] | None = None) -> int:
    from fast_style.assets import resolve_path_or_asset
    from fast_style.errors import InvalidValueError
    from fast_style.infer.gallery import gallery_sheet
    from fast_style.infer.stylize_cli import list_styles_text
    from fast_style.io import list_images
    from fast_style.models.arbitrary import PAINTING_SIZE
    from fast_style.sheets import save_sheet
    from fast_style.zoo import ZOO_DIR, add_to_zoo, resolve
    from fast_style.zoo.add import set_serving
    from fast_style.zoo.add_painting import ARBITRARY, OWN_PAINTING, add_painting

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the shipped styles and how each was trained")
    add = commands.add_parser("add", help="copy a trained checkpoint into the zoo (float16), or store a painting's style")
    add.add_argument("checkpoint", nargs="?", help="slim checkpoint written by training (checkpoints/<style>.pth)")
    add.add_argument("--style-image", metavar="PAINTING",
                     help=f"instead of a checkpoint: store this painting's embedding as the style --name of {ARBITRARY} "
                          "(Ghiasi et al. 2017; no training)")
    add.add_argument("--name", help="with --style-image: the style's name (letters, digits, _)")
    add.add_argument("--style-image-size", type=int, default=PAINTING_SIZE, metavar="N",
                     help=f"with --style-image: side the painting's centre square is read at (default {PAINTING_SIZE}); "
                          "it sets the stroke scale: larger, smaller strokes")
    add.add_argument("--note", default="", help=f"why these settings, in one line (with --style-image: the "
                                                f"painting's licence, default {OWN_PAINTING!r})")
    add.add_argument("--replace", action="store_true",
                     help="replace the network of that name (never one serving styles the new one lacks); with "
                          "--style-image, the stored style of that name")
    add.add_argument("--serve", nargs="+", default=[], metavar="STYLE",
                     help="styles of this network that their plain name should serve from it (--note says why)")
    add.add_argument("--zoo-dir", default=str(ZOO_DIR), help=argparse.SUPPRESS)
    serve = commands.add_parser("serve", help="serve a style's plain name from a shipped network, saying why")
    serve.add_argument("style", help="the plain name (mondrian)")
    serve.add_argument("network", help="the shipped network that serves it (arbitrary, shipwreck-small)")
    serve.add_argument("--why", required=True, help="the measurements behind the choice (N*, blobs, by eye)")
    serve.add_argument("--zoo-dir", default=str(ZOO_DIR), help=argparse.SUPPRESS)
    gallery = commands.add_parser("gallery", help="one picture: a row per style, its image then stylised photos")
    gallery.add_argument("--output", required=True, help="image file (.jpg or .png)")
    gallery.add_argument("--photos", nargs="+", help="photo files (default: --count photos of coco/val2017)")
    gallery.add_argument("--count", type=int, default=3)
    gallery.add_argument("--tile", type=int, default=256)
    gallery.add_argument("--styles", nargs="+", help="shipped styles to show (default: all)")
    args = parser.parse_args(argv)

    if args.command == "list":
        print(list_styles_text())
    elif args.command == "serve":
        set_serving(args.style, args.network, args.why, args.zoo_dir)
        print(f"{args.style} is served by {args.network}")
    elif args.command == "add" and (args.style_image or args.name):
        if args.checkpoint or args.serve or not (args.style_image and args.name):
            raise InvalidValueError("add takes a checkpoint, or --style-image PAINTING with --name NAME "
                                    "(and no checkpoint or --serve)")
        path = add_painting(args.style_image, args.name, args.zoo_dir, size=args.style_image_size, note=args.note,
                            replace=args.replace)
        served = resolve(args.name, allow_path=False, zoo_dir=args.zoo_dir).network
        print(f"stored the style {args.name} in {path}: --style {args.name} is served by {served}, "
              f"{args.name}@{ARBITRARY} is the painting")
    elif args.command == "add":
        if not args.checkpoint:
            raise InvalidValueError("add takes a checkpoint (checkpoints/<style>.pth), or --style-image PAINTING --name NAME")
        path = add_to_zoo(args.checkpoint, args.zoo_dir, args.note, replace=args.replace, serve=args.serve)
        print(f"added {path} ({path.stat().st_size / 2**20:.2f} MB)")
    else:
        if args.count < 1 or args.tile < 16:
            raise InvalidValueError(f"--count must be >= 1 and --tile >= 16, got {args.count} and {args.tile}")
        photos = args.photos or [str(p) for p in list_images(resolve_path_or_asset("coco/val2017"))[: args.count]]
        path = save_sheet(gallery_sheet(photos, args.styles, args.tile), args.output)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
