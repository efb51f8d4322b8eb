"""Export a trained network to ONNX or TorchScript (dynamic batch, height and width).

    python scripts/export.py --ckpt checkpoints/starry_night.pth --format onnx --output starry_night.onnx

The exported file is checked against the eager network on odd-sized random images; the
command fails (exit 1) if the largest difference exceeds ``--tolerance``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fast_style.infer.export_cli import main

if __name__ == "__main__":
    sys.exit(main())
