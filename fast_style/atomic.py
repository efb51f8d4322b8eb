"""Write a file under a temporary name and rename it: a killed run never leaves half a file.

The one helper behind every file the project writes (checkpoints, zoo networks, stylised
images, downloaded assets, contact sheets).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    The parent folder is created. The temporary name is hidden (``.<name>.part``) so folder
    listings and globs do not pick up a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    try:
        yield partial
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
