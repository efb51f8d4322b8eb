"""N* along training runs: how much Gatys optimisation each checkpoint's single pass is worth.

    python scripts/quality_vs_steps.py --ckpt checkpoints/candy.pth \\
        --run-dir outputs/zoo/candy --limit 4 --size 256 --iters 200 --output docs/quality/candy_steps
    python scripts/quality_vs_steps.py --style-config woman_with_hat_matisse --minutes \\
        --run new_style=outputs/measure/new_style --run scratch=outputs/measure/scratch --output docs/new_style
    python scripts/quality_vs_steps.py --style-image painting.jpg --style-weight 10 --minutes --preview 0.4 \\
        --run new_style=RUN_DIR --run scratch=RUN_DIR --sheet sheet.jpg --output OUT

N* (Johnson et al. 2016, Fig. 5) is the first Gatys L-BFGS iteration whose loss is at or below the
network's. The Gatys curve of a photo does not depend on the network, so every photo is optimised
once (and kept under ``--curves``, :mod:`fast_style.baseline.curves`) and each checkpoint of the runs
(``<run-dir>/lightning_checkpoints/step*.ckpt``, kept with ``callbacks.model_checkpoint.save_top_k=-1``;
the zoo recipe keeps them) is placed on it.

One run: ``--ckpt`` (its final network, whose config gives the loss) and ``--run-dir``. Several runs
on one plot: ``--run LABEL=RUN_DIR`` for each (its ``step*.ckpt``, then ``last.ckpt``, the run's end,
where that is a later step) and ``--style-config NAME``, the style config whose loss judges them all
(and the style a multi-style checkpoint is read in); ``--style-image FILE`` judges them by a painting
file with the library's default weights, or with ``--style-weight W`` (give the weight the runs were
trained with: ``experiment=new_style``'s default is 10). Its curves are stored under the painting's file
stem (``<curves>/<stem>/``), so a painting's curves are computed once; a file of a style config's
painting at that config's weight shares the config's curves. (The old ``--style NAME`` still works and warns.)
``--minutes`` puts wall-clock minutes on the x axis: from ``<run-dir>/command_started`` (the Unix time
the command was started, written by whoever timed it) to each checkpoint file's modification time,
start-up included.

``--preview MINUTES`` (with ``--style-image``) adds the preview, the painting's network with no training
(Ghiasi et al. 2017: the arbitrary-style network conditioned on the painting read at 256 px and folded,
:func:`fast_style.infer.stylize.painting_model`; what ``experiment=new_style`` starts from and what
``scripts/stylize.py --style-image FILE`` paints) as one point at step 0 and MINUTES: the measured
wall-clock time of the whole command that shows it, e.g.
``scripts/stylize.py --style-image FILE --input photo.jpg --output preview.jpg`` (start-up, reading the
painting, predicting its embedding, folding, one photo). ``--sheet FILE`` draws the painting and
``--sheet-photos`` held-out photos (``HELD_OUT_PHOTOS``, never the N* photos), stylised by the preview
and by each run's last network, one row each.
Writes ``n_star.md``, ``n_star.json`` and ``n_star_vs_steps.png`` (or ``n_star_vs_minutes.png``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fast_style.baseline.style_args import add_style_source_arguments, style_source
from fast_style.cli import command

ROOT = Path(__file__).resolve().parent.parent


def _write_table(output: Path, title: str, points: dict, axis: str) -> None:
    """``n_star.md`` (median and per-photo N* per checkpoint) and the raw ``n_star.json``."""
    from fast_style.baseline.report import fmt_bound

    lines = [f"# {title}", "", f"| run | steps | {axis} | median N* | per photo |", "|---|---:|---:|---:|---|"]
    for label, rows in points.items():
        for row in rows:
            per_photo = ", ".join(fmt_bound(value, "iter") for value in row["n_star"])
            x = "" if row.get("minutes") is None else f"{row['minutes']:.1f}"
            lines.append(f"| {label} | {row['steps']} | {x} | {fmt_bound(row['median'], 'iter')} | {per_photo} |")
    (output / "n_star.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    raw = {label: [{"steps": row["steps"], "minutes": row.get("minutes"), "median": [row["median"].value, row["median"].lower],
                    "n_star": [[b.value, b.lower] for b in row["n_star"]]} for row in rows]
           for label, rows in points.items()}
    (output / "n_star.json").write_text(json.dumps(raw, indent=1) + "\n")


def _plot(points: dict, style: str | None, path: Path, minutes: bool) -> None:
    """Median N* against steps (or minutes), one line per run (a star for a single point: the preview),
    with Johnson et al.'s N* = 50 line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.4), dpi=120)
    key = "minutes" if minutes else "steps"
    for label, rows in points.items():
        ax.plot([row[key] for row in rows], [row["median"].value for row in rows], "*" if len(rows) == 1 else "o-",
                markersize=11 if len(rows) == 1 else 6, label=label)
    ax.axhline(50, color="grey", linestyle="--", linewidth=1, label="N* = 50 (Johnson et al., Fig. 5)")
    ax.set_xlabel("wall-clock minutes (whole command)" if minutes else "training steps")
    ax.set_ylabel("median N* (L-BFGS iterations)")
    ax.set_title(f"{style}: quality along training", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)


def _checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    return sorted(
        (int(match.group(1)), path)
        for path in (run_dir / "lightning_checkpoints").glob("step*.ckpt")
        if (match := re.fullmatch(r"step(\d+)", path.stem))
    )


def _run_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """``step*.ckpt`` of a run, then ``last.ckpt`` where it is a later step: a run stopped by
    ``trainer.max_time``, or checkpointed by time, ends between its periodic checkpoints."""
    from fast_style.checkpoint import read_card

    found = _checkpoints(run_dir)
    last = run_dir / "lightning_checkpoints" / "last.ckpt"
    if last.is_file():
        step = int(read_card(last).training.steps or 0)
        if step > max((known for known, _ in found), default=0):
            found.append((step, last))
    return found


def _network(path: Path, style: str | None):
    """The network of a checkpoint, in ``style`` when it holds several."""
    from fast_style.checkpoint import model_from_checkpoint, read_checkpoint
    from fast_style.models.surgery import fold_style

    model = model_from_checkpoint(read_checkpoint(path))
    return fold_style(model, style) if model.style_names else model


def _style_weight(args: argparse.Namespace) -> float | None:
    """``--style-weight``: a positive number, and only with ``--style-image`` (a style config has its own)."""
    import math

    from fast_style.errors import InvalidValueError

    if args.style_weight is None:
        return None
    if args.style_image is None:
        raise InvalidValueError(f"--style-weight {args.style_weight:g} is for --style-image FILE only (a style config "
                                "has its own weight: configs/style/<NAME>.yaml)")
    if not (math.isfinite(args.style_weight) and args.style_weight > 0):
        raise InvalidValueError(f"--style-weight must be a positive number, got {args.style_weight:g}")
    return args.style_weight


def _sheet(path: Path, painting: str, networks: list[tuple[str, object]], count: int) -> Path:
    """The painting and ``count`` held-out photos, then a row per ``(caption, network)``: the photos it paints."""
    import torch

    from fast_style.assets import resolve_path_or_asset
    from fast_style.heldout import HELD_OUT_PHOTOS
    from fast_style.io import load_image
    from fast_style.sheets import contact_sheet, save_sheet

    tile = 256
    photos = [load_image(resolve_path_or_asset(name), tile) for name in HELD_OUT_PHOTOS[:count]]
    blank = torch.ones(1, 3, tile, tile)
    rows = [("painting | held-out photos", [load_image(resolve_path_or_asset(painting), tile), *photos])]
    with torch.inference_mode():
        for caption, network in networks:
            rows.append((caption, [blank, *(network(photo).clamp(0, 1) for photo in photos)]))
    return save_sheet(contact_sheet(rows, tile=tile), path)


def _caption(label: str, row: dict) -> str:
    from fast_style.baseline.report import fmt_bound

    minutes = "" if row.get("minutes") is None else f", {row['minutes']:.1f} min"
    return f"{label}: {row['steps']} steps{minutes}, median N* {fmt_bound(row['median'], 'iter')}"


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", help="one run: its final slim checkpoint (its config gives the loss)")
    parser.add_argument("--run-dir", help="one run: its Hydra folder (holds lightning_checkpoints/)")
    parser.add_argument("--run", action="append", default=[], metavar="LABEL=RUN_DIR", help="a run to plot (repeatable)")
    add_style_source_arguments(parser, required=False,
                               config_help="with --run: the style config whose loss judges every run")
    parser.add_argument("--style-weight", type=float, metavar="W",
                        help="with --style-image: the style weight that judges the runs (default: the library's, 1); "
                             "the weight they trained with (experiment=new_style: 10)")
    parser.add_argument("--preview", type=float, metavar="MINUTES",
                        help="with --style-image: add the preview (the painting's folded arbitrary network, no "
                             "training) at step 0 and MINUTES, the measured time of the command that shows it")
    parser.add_argument("--minutes", action="store_true", help="x axis: wall-clock minutes from <run-dir>/command_started")
    parser.add_argument("--sheet", metavar="FILE", help="with --run: also draw the painting, the preview and each run's "
                                                        "last network on held-out photos (.jpg or .png)")
    parser.add_argument("--sheet-photos", type=int, default=3, metavar="N", help="held-out photos on the sheet (default 3)")
    parser.add_argument("--images", default="coco/val2017", help="photo folder (path or asset name)")
    parser.add_argument("--limit", type=int, default=8, help="first N photos of the folder")
    parser.add_argument("--size", type=int, default=256, help="shorter side in pixels")
    parser.add_argument("--iters", type=int, default=200, help="Gatys L-BFGS iterations per photo")
    parser.add_argument("--curves", default=str(ROOT / "docs" / "quality" / "gatys_curves"),
                        help="folder of stored Gatys curves")
    parser.add_argument("--output", required=True, help="output folder")
    args = parser.parse_args(argv)

    import dataclasses

    from tqdm import tqdm

    from fast_style import zoo
    from fast_style.assets import resolve_path_or_asset
    from fast_style.baseline.compare import n_star_for_models
    from fast_style.baseline.curves import GatysCurves
    from fast_style.baseline.gatys import GatysSettings
    from fast_style.baseline.stats import censored_median
    from fast_style.checkpoint import read_card
    from fast_style.errors import InvalidValueError
    from fast_style.heldout import HELD_OUT_PHOTOS
    from fast_style.infer.stylize import load_model, painting_model
    from fast_style.io import NoImagesError, list_images
    from fast_style.loss.perceptual import build_perceptual_loss
    from fast_style.train.compose import CONFIG_DIR, style_loss_settings

    if args.limit < 1 or args.iters < 1 or args.size < 16:
        raise InvalidValueError(f"--limit, --iters must be >= 1 and --size >= 16; got {args.limit}, {args.iters}, {args.size}")
    if bool(args.run) == bool(args.ckpt or args.run_dir) or (args.ckpt is None) != (args.run_dir is None):
        raise InvalidValueError("give either --ckpt and --run-dir (one run) or --run LABEL=RUN_DIR ... with --style-config")
    style_weight = _style_weight(args)
    if args.preview is not None and (args.style_image is None or not args.run or not args.preview >= 0):
        raise InvalidValueError(f"--preview takes the minutes (>= 0) of the command that shows the preview, with "
                                f"--style-image FILE and --run; got --preview {args.preview:g}")
    if args.sheet is not None and (not args.run or not 1 <= args.sheet_photos <= len(HELD_OUT_PHOTOS)):
        raise InvalidValueError(f"--sheet goes with --run, and --sheet-photos from 1 to {len(HELD_OUT_PHOTOS)}; got "
                                f"--sheet-photos {args.sheet_photos}")
    photos = list_images(resolve_path_or_asset(args.images))[: args.limit]
    if not photos:
        raise NoImagesError(f"no photos in {args.images!r}")

    # label → [(steps, checkpoint file or None, network)] and the loss that judges them.
    runs: dict[str, list[tuple[int, Path | None, object]]] = {}
    run_dirs: dict[str, Path] = {}
    if args.ckpt:
        resolved = zoo.resolve(args.ckpt)
        final, loss = zoo.load_with_loss(resolved)
        style = final.style_name
        final_step = int(read_card(resolved.path).training.steps or 0)
        found = [(step, path, load_model(path, "cpu")) for step, path in _checkpoints(Path(args.run_dir))
                 if step != final_step]
        at_end = Path(args.run_dir) / "lightning_checkpoints" / f"step{final_step:07d}.ckpt"
        found.append((final_step, at_end if at_end.is_file() else None, final))
        runs[style or "run"] = sorted(found, key=lambda item: item[0])
        run_dirs[style or "run"] = Path(args.run_dir)
    else:
        source = style_source(args)
        if not source:
            raise InvalidValueError("--run needs --style-config NAME (the style config whose loss judges the runs) "
                                    "or --style-image FILE")
        style, loss = style_loss_settings(source, CONFIG_DIR)
        if style_weight is not None:
            loss = dataclasses.replace(loss, style_weight=style_weight)
        if args.preview is not None:
            runs["preview"] = [(0, None, painting_model(source, device="cpu"))]
        for item in args.run:
            label, _, folder = item.partition("=")
            if not label or not folder or not Path(folder).is_dir() or label in runs:
                raise InvalidValueError(f"--run takes LABEL=RUN_DIR with an existing folder and a label of its own, "
                                        f"got {item!r}")
            found = _run_checkpoints(Path(folder))
            if not found:
                raise InvalidValueError(f"{folder!r} has no lightning_checkpoints/step*.ckpt")
            runs[label] = [(step, path, _network(path, style)) for step, path in found]
            run_dirs[label] = Path(folder)
    if loss is None:
        raise InvalidValueError(f"{args.ckpt!r} does not say which loss it was trained with")

    models = {(label, step): model for label, rows in runs.items() for step, _, model in rows}
    loss_fn = build_perceptual_loss(**loss.as_dict())
    with tqdm(total=len(photos), desc="photos", unit="photo") as bar:
        n_stars = n_star_for_models(models, loss_fn, photos, args.size, GatysSettings(iterations=args.iters),
                                    on_photo=lambda _: bar.update(1), curves=GatysCurves.of_loss(args.curves, loss),
                                    loss=loss)

    points: dict[str, list[dict]] = {}
    for label, rows in runs.items():
        points[label] = []
        if label not in run_dirs:  # the preview: its minutes are the ones measured for it
            values = n_stars[(label, 0)]
            points[label].append({"steps": 0, "minutes": args.preview, "n_star": values, "median": censored_median(values)})
            continue
        started = run_dirs[label] / "command_started"
        start = float(started.read_text()) if started.is_file() else None
        if args.minutes and start is None:
            raise InvalidValueError(f"--minutes needs {str(started)!r} (the Unix time the run's command started)")
        for step, path, _ in rows:
            minutes = (path.stat().st_mtime - start) / 60 if start is not None and path is not None else None
            values = n_stars[(label, step)]
            points[label].append({"steps": step, "minutes": minutes, "n_star": values, "median": censored_median(values)})

    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    weight = "" if style_weight is None else f", style weight {style_weight:g}"
    title = (f"N* along training: {style}{weight} ({len(photos)} photos of `{args.images}` at {args.size} px, "
             f"{args.iters} L-BFGS iterations)")
    _write_table(output, title, points, "minutes")
    _plot(points, style, output / ("n_star_vs_minutes.png" if args.minutes else "n_star_vs_steps.png"), args.minutes)
    print((output / "n_star.md").read_text())
    if args.sheet:
        shown = [(_caption(label, points[label][-1]), runs[label][-1][2]) for label in runs]
        print(f"wrote {_sheet(Path(args.sheet), str(loss.style_image), shown, args.sheet_photos)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
