"""Stylise a video with a trained network (Johnson et al. 2016), keeping its sound.

    python scripts/stylize_video.py --style candy --input clip.mp4 --output clip_candy.mp4 --temporal-smoothing 0.9

See ``--help`` and the README's "Stylising videos". No Lightning, no Hydra.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fast_style.infer.video_cli import main

if __name__ == "__main__":
    sys.exit(main())
