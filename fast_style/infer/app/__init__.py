"""A web page for stylising photos (Gradio): the served networks, the request handler, the page.

``library`` and ``handlers`` need only torch and Pillow; ``ui`` imports Gradio (the ``app`` extra).
Gradio reads its settings from the environment when it is imported, so they are set here, before
``ui`` imports it: no analytics (``--analytics`` turns them on per app), and a cache folder of the
app's own (every upload and result is copied there), removed when the process ends (``atexit``;
SIGTERM and Ctrl-C end ``ui.main`` normally through :func:`fast_style.cli.run`), instead of a
shared ``/tmp/gradio`` that only grows.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
OWN_GRADIO_CACHE: str | None = None
if "GRADIO_TEMP_DIR" not in os.environ:
    OWN_GRADIO_CACHE = os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(prefix="fast_style_gradio_")
    atexit.register(shutil.rmtree, OWN_GRADIO_CACHE, ignore_errors=True)
