"""Export a trained network to ONNX or TorchScript, checked against the eager network.

    python scripts/export.py --ckpt checkpoints/starry_night.pth --format onnx --output starry_night.onnx

The command lives in :mod:`fast_style.infer.export_cli` (also installed as ``fast-style-export``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fast_style.infer.export_cli import main

if __name__ == "__main__":
    sys.exit(main())
