"""Feed-forward network vs Gatys optimisation on the same loss: ``report.md`` and figures.

    python scripts/compare.py --style candy --limit 4 --sizes 256 512 --iters 300 --output compare_out/

The command lives in :mod:`fast_style.baseline.compare_cli` (also installed as ``fast-style-compare``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fast_style.baseline.compare_cli import main

if __name__ == "__main__":
    sys.exit(main())
