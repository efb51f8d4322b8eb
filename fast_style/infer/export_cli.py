"""The ``export`` command: export a trained network to ONNX or TorchScript (dynamic batch, height and width).

    python scripts/export.py --ckpt checkpoints/starry_night.pth --format onnx --output starry_night.onnx

The exported file is checked against the eager network on odd-sized random images; the
command fails (exit 1) if the largest difference exceeds ``--tolerance``; a usage or setup error
exits 2 (:func:`fast_style.cli.run`).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

from fast_style.cli import add_network_arguments, add_style_image_arguments, command, resolve_source
from fast_style.errors import InvalidValueError
from fast_style.infer.export import FORMATS, export_checked
from fast_style.infer.stylize import load_model


@command
def main(argv: Sequence[str] | None = None) -> int:
    """Export, then check parity; returns the exit status (0 ok, 1 parity failed, 2 setup error)."""
    parser = argparse.ArgumentParser(prog="fast-style-export", description=__doc__.splitlines()[0])
    add_style_image_arguments(parser, add_network_arguments(parser))
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--output", required=True, help="file to write (.onnx or .pt)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed |exported - eager| on [0, 1] images")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    args = parser.parse_args(argv)
    if not (math.isfinite(args.tolerance) and args.tolerance >= 0):
        # Checked before the export, which takes the longest; NaN would let any export through.
        raise InvalidValueError(f"--tolerance must be a finite number >= 0 (e.g. 1e-4), got {args.tolerance}")
    output = Path(args.output)
    if output.exists() and not args.overwrite:
        raise InvalidValueError(f"{str(output)!r} already exists; pass --overwrite to replace it")
    model = load_model(resolve_source(args), "cpu", style_image=args.style_image, style_image_size=args.style_image_size)
    # Written under a temporary name and renamed only once within tolerance (ParityError: exit 1, no file).
    worst = export_checked(model, output, args.format, args.tolerance)
    print(f"wrote {output} ({args.format}); max |exported - eager| = {worst:.2e} (tolerance {args.tolerance:.0e}): ok")
    return 0
