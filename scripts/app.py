"""Serve a web page to stylise photos with the shipped styles and your checkpoints (Gradio).

    python scripts/app.py                 # http://127.0.0.1:7860
    python scripts/app.py --help

See the README's "Stylising in the browser".
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fast_style.infer.app.ui import main

if __name__ == "__main__":
    sys.exit(main())
