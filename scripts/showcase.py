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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from fast_style.cli import command


@command
def main(argv: list[str] | None = None) -> int:
    from fast_style import zoo
    from fast_style.assets import resolve_path_or_asset
    from fast_style.checkpoint import CheckpointError, model_from_checkpoint, read_checkpoint
    from fast_style.io import NoImagesError, list_images, load_image
    from fast_style.sheets import contact_sheet, save_sheet, square_crop

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", required=True, help="slim inference checkpoint (checkpoints/<style>.pth) or a shipped style")
    parser.add_argument("--images", required=True, help="folder of photos")
    parser.add_argument("--count", type=int, default=4, help="photos to show (default 4)")
    parser.add_argument("--size", type=int, default=256, help="side of each square tile (default 256)")
    parser.add_argument("--output", required=True, help="image file to write (.jpg or .png)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.size < 16:
        parser.error(f"--count must be >= 1 and --size >= 16, got {args.count} and {args.size}")
    checkpoint = read_checkpoint(zoo.resolve(args.ckpt).path)
    photos_paths = list_images(resolve_path_or_asset(args.images))[: args.count]
    model = model_from_checkpoint(checkpoint)
    if not photos_paths:
        raise NoImagesError(f"no image in {args.images!r}")

    def square(image: torch.Tensor) -> torch.Tensor:
        return square_crop(image, args.size)

    photos = torch.cat([square(load_image(path, size=args.size)) for path in photos_paths])
    with torch.inference_mode():
        stylised = model(photos).clamp(0, 1)
    # A showcase without its style image would mislead: an error instead of a blank tile.
    if not checkpoint.style_image:
        raise CheckpointError(f"{args.ckpt!r} does not name its style image; the showcase cannot show it")
    style = square(load_image(resolve_path_or_asset(checkpoint.style_image), size=args.size))
    rows = [("style image | photos", [style, *photos.split(1)]),
            (f"stylised by {checkpoint.style or Path(args.ckpt).stem}", [torch.ones(1, 3, args.size, args.size),
                                                                       *stylised.split(1)])]
    path = save_sheet(contact_sheet(rows, tile=args.size), Path(args.output))
    print(f"wrote {path} ({len(photos_paths)} photo(s), style {checkpoint.style!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
