"""Feed-forward network vs Gatys optimisation, scored by the same loss (Johnson et al. 2016, Fig. 5).

    python scripts/compare.py --ckpt checkpoints/starry_night.pth --images ../shared/assets/coco/val2017 \\
        --limit 4 --sizes 256 512 --iters 300 --output compare_out/

For each photo and size: the network's output (one timed pass after a warm-up) and a Gatys
run (loss and cumulative seconds after every iteration), both scored by the loss the network
was trained with (rebuilt from the checkpoint's config). Writes ``report.md``,
``loss_vs_iterations.png``, ``side_by_side.png`` and ``history.json`` into ``--output``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fast_style.baseline.compare_cli import main

if __name__ == "__main__":
    sys.exit(main())
