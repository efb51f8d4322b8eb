"""A picture of what a trained style does: style image, photos, and their stylisations.

    python scripts/showcase.py --ckpt checkpoints/starry_night.pth \
        --images ../shared/assets/coco/val2017 --count 4 --size 256 --output showcase.jpg

    python scripts/showcase.py --ckpt mosaic mosaic-small --images coco/val2017 --output side_by_side.jpg

Top row: the style image, then the photos; then one row per network, the photos stylised in one forward
pass (a contact sheet of :mod:`fast_style.sheets`, each row captioned), so a student and its teacher, or a
dedicated and a shared network, are seen side by side.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from fast_style.cli import command


def _network_and_style_image(spec: str) -> tuple[torch.nn.Module, str | None]:
    """The network ``spec`` names (a style of a shared network folded) and its own style image."""
    from fast_style import zoo
    from fast_style.checkpoint import read_card

    resolved = zoo.resolve(spec)
    model = zoo.load(resolved)
    return model, read_card(resolved.path).style_image(model.style_name)


@command
def main(argv: list[str] | None = None) -> int:
    from fast_style.assets import resolve_path_or_asset
    from fast_style.checkpoint import CheckpointError
    from fast_style.io import NoImagesError, list_images, load_image
    from fast_style.sheets import contact_sheet, save_sheet, square_crop

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", required=True, nargs="+",
                        help="slim inference checkpoint(s) (checkpoints/<style>.pth) or shipped style(s): one row each, "
                             "e.g. a teacher and its student side by side")
    parser.add_argument("--images", required=True, help="folder of photos")
    parser.add_argument("--count", type=int, default=4, help="photos to show (default 4)")
    parser.add_argument("--size", type=int, default=256, help="side of each square tile (default 256)")
    parser.add_argument("--output", required=True, help="image file to write (.jpg or .png)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.size < 16:
        parser.error(f"--count must be >= 1 and --size >= 16, got {args.count} and {args.size}")
    networks = [_network_and_style_image(spec) for spec in args.ckpt]
    photos_paths = list_images(resolve_path_or_asset(args.images))[: args.count]
    if not photos_paths:
        raise NoImagesError(f"no image in {args.images!r}")

    def square(image: torch.Tensor) -> torch.Tensor:
        return square_crop(image, args.size)

    photos = torch.cat([square(load_image(path, size=args.size)) for path in photos_paths])
    # A showcase without its style image would mislead: an error instead of a blank tile.
    style_image = networks[0][1]
    if not style_image:
        raise CheckpointError(f"{args.ckpt[0]!r} does not name its style image; the showcase cannot show it")
    style = square(load_image(resolve_path_or_asset(style_image), size=args.size))
    rows = [("style image | photos", [style, *photos.split(1)])]
    blank = torch.ones(1, 3, args.size, args.size)
    for spec, (model, _) in zip(args.ckpt, networks):
        with torch.inference_mode():
            stylised = model(photos).clamp(0, 1)
        rows.append((f"stylised by {spec}", [blank, *stylised.split(1)]))
    path = save_sheet(contact_sheet(rows, tile=args.size), Path(args.output))
    print(f"wrote {path} ({len(photos_paths)} photo(s), {len(networks)} network(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
