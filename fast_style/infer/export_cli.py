"""The ``export`` command: export a trained network to ONNX or TorchScript (dynamic batch, height and width).

    python scripts/export.py --ckpt checkpoints/starry_night.pth --format onnx --output starry_night.onnx

The exported file is checked against the eager network on odd-sized random images; the
command fails (exit 1) if the largest difference exceeds ``--tolerance``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from fast_style.checkpoint import CheckpointError
from fast_style.infer.export import FORMATS, ParityError, export_checked
from fast_style.infer.stylize import load_model


def main(argv: Sequence[str] | None = None) -> int:
    """Export, then check parity; returns the exit status (0 ok, 1 parity failed, 2 setup error)."""
    parser = argparse.ArgumentParser(prog="fast-style-export", description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", required=True, help="checkpoints/<style>.pth or a Lightning .ckpt")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--output", required=True, help="file to write (.onnx or .pt)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed |exported - eager| on [0, 1] images")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    args = parser.parse_args(argv)
    output = Path(args.output)
    try:
        if output.exists() and not args.overwrite:
            raise ValueError(f"{str(output)!r} already exists; pass --overwrite to replace it")
        model = load_model(args.ckpt, "cpu")
        worst = export_checked(model, output, args.format, args.tolerance)
    except ParityError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except (ValueError, OSError, ImportError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {output} ({args.format}); max |exported - eager| = {worst:.2e} (tolerance {args.tolerance:.0e}): ok")
    return 0
