"""A picture of what a trained style does: style image, photos, and their stylisations.

    python scripts/showcase.py --ckpt checkpoints/starry_night.pth \
        --images ../shared/assets/coco/val2017 --count 4 --size 256 --output showcase.jpg

Top row: the style image, then the photos; bottom row: the photos stylised in one forward pass
(a contact sheet of :mod:`fast_style.sheets`, each row captioned).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch


def main(argv: list[str] | None = None) -> int:
    from fast_style.assets import resolve_path_or_asset
    from fast_style.checkpoint import model_from_checkpoint, read_checkpoint
    from fast_style.io import list_images, load_image
    from fast_style.sheets import contact_sheet, save_sheet, square_crop

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", required=True, help="slim inference checkpoint (checkpoints/<style>.pth)")
    parser.add_argument("--images", required=True, help="folder of photos")
    parser.add_argument("--count", type=int, default=4, help="photos to show (default 4)")
    parser.add_argument("--size", type=int, default=256, help="side of each square tile (default 256)")
    parser.add_argument("--output", required=True, help="image file to write (.jpg or .png)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.size < 16:
        parser.error(f"--count must be >= 1 and --size >= 16, got {args.count} and {args.size}")
    try:
        checkpoint = read_checkpoint(args.ckpt)
        photos_paths = list_images(args.images)[: args.count]
        model = model_from_checkpoint(checkpoint)
    except (FileNotFoundError, ValueError) as error:
        print(f"showcase.py: error: {error}", file=sys.stderr)
        return 2
    if not photos_paths:
        print(f"showcase.py: error: no image in {args.images!r}", file=sys.stderr)
        return 2

    def square(image: torch.Tensor) -> torch.Tensor:
        return square_crop(image, args.size)

    photos = torch.cat([square(load_image(path, size=args.size)) for path in photos_paths])
    with torch.inference_mode():
        stylised = model(photos).clamp(0, 1)
    style_path = checkpoint.style_image
    try:
        if not style_path:
            raise ValueError(f"{args.ckpt!r} does not name its style image")
        style = square(load_image(resolve_path_or_asset(style_path), size=args.size))
    except (FileNotFoundError, OSError, ValueError) as error:
        # A showcase without its style image would mislead: say so instead of a blank tile.
        print(f"showcase.py: error: cannot show the style image: {error}", file=sys.stderr)
        return 2
    rows = [("style image | photos", [style, *photos.split(1)]),
            (f"stylised by {checkpoint.style or Path(args.ckpt).stem}", [torch.ones(1, 3, args.size, args.size),
                                                                       *stylised.split(1)])]
    path = save_sheet(contact_sheet(rows, tile=args.size), Path(args.output))
    print(f"wrote {path} ({len(photos_paths)} photo(s), style {checkpoint.style!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
