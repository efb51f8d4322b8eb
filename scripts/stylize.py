"""Stylise photos with a trained network (Johnson et al. 2016): files, folders or globs.

    python scripts/stylize.py --ckpt checkpoints/starry_night.pth --input photos/ --output out/

See ``--help`` and the README's "Stylising photos". No Lightning, no Hydra.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fast_style.infer.stylize_cli import main

if __name__ == "__main__":
    sys.exit(main())
