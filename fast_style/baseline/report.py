"""Numbers and pictures of the feed-forward vs optimisation comparison.

Johnson, Alahi & Fei-Fei, ECCV 2016, Sec. 4.2, Fig. 5 and Table 1: the loss a trained
network reaches in one pass against the loss of Gatys et al.'s optimisation after each
iteration, and the time each needs. Everything here works on plain numbers produced by
:mod:`fast_style.baseline.compare`; the figures need matplotlib (the ``plot`` extra), imported only
when a figure is drawn.

Censored values (:class:`~fast_style.baseline.stats.Bound`, lower bounds) print as ``> value``.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fast_style.baseline.stats import Bound, censored_median, mean_std

if TYPE_CHECKING:  # pragma: no cover - only for type hints
    from fast_style.baseline.compare import ComparisonRun
    from fast_style.baseline.gatys import GatysSettings
    from fast_style.checkpoint import StyleCheckpoint
    from fast_style.loss.perceptual import PerceptualLossSettings

LOSS_CHECKPOINTS = (50, 100, 300)
SUMMARY_COLUMNS = (
    "size",
    "photos",
    "photo loss",
    "feed-forward loss",
    # "Gatys @N" columns are inserted here, one per iteration checkpoint.
    "N* (median)",
    "Gatys s to N* (median)",
    "feed-forward s (median)",
    "speed-up at equal loss (median)",
)
PER_PHOTO_COLUMNS = (
    "size",
    "photo",
    "H×W",
    "photo loss",
    "feed-forward loss",
    "Gatys final loss",
    "N*",
    "Gatys s to N*",
    "feed-forward s",
    "speed-up",
)



def write_growing_table(folder: str | os.PathLike, stem: str, settings: str, rows: Mapping[str, Any],
                        render: Callable[[dict[str, Any], str], str]) -> dict[str, Any]:
    """Write ``<folder>/<stem>.json`` and ``<stem>.md``, keeping the rows already there for other labels.

    A table that grows over several sittings (``quality_table.py``, ``blob_check.py``): the stored rows are
    kept only when they were measured with the same ``settings``; a row of the same label is replaced.

    Args:
        folder: the output folder (created).
        stem: the files' name without extension.
        settings: what the rows were measured with, in words (stored beside them).
        rows: this sitting's rows, by label.
        render: ``(all rows, settings) -> Markdown``.

    Returns:
        Every row now in the table.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stored_path = folder / f"{stem}.json"
    stored = json.loads(stored_path.read_text()) if stored_path.is_file() else {}
    merged = {**stored["rows"], **rows} if stored.get("settings") == settings else dict(rows)
    stored_path.write_text(json.dumps({"settings": settings, "rows": merged}, indent=1) + "\n")
    (folder / f"{stem}.md").write_text(render(merged, settings), encoding="utf-8")
    return merged

def fmt_loss(value: float) -> str:
    """Losses span many orders of magnitude: 3 significant digits, scientific (``1.23e+05``)."""
    return f"{value:.2e}" if math.isfinite(value) else str(value)


def fmt_mean_std(values: Sequence[float]) -> str:
    """``mean ± std`` of losses (just the mean for one value)."""
    mean, std = mean_std(values)
    return fmt_loss(mean) if std is None else f"{fmt_loss(mean)} ± {fmt_loss(std)}"


def fmt_seconds(value: float) -> str:
    """Seconds with precision that suits their size (milliseconds below 1 s)."""
    if value < 1.0:
        return f"{value * 1000:.1f} ms"
    return f"{value:.1f} s" if value < 100 else f"{value:.0f} s"


def fmt_bound(bound: Bound, kind: str) -> str:
    """Format an iteration count (``kind="iter"``), seconds, or a ratio (``"ratio"``)."""
    if kind == "iter":
        text = f"{bound.value:g}"
    elif kind == "seconds":
        text = fmt_seconds(bound.value)
    elif kind == "ratio":
        text = f"{bound.value:.3g}×"
    else:
        raise ValueError(f"unknown kind {kind!r}; allowed: iter, seconds, ratio")
    return f"> {text}" if bound.lower else text


def loss_checkpoints(iterations: int, wanted: Sequence[int] = LOSS_CHECKPOINTS) -> list[int]:
    """Iterations at which the Gatys loss is tabulated: ``wanted`` up to ``iterations``, and the last."""
    chosen = [i for i in wanted if i <= iterations]
    if iterations not in chosen:
        chosen.append(iterations)
    return chosen


def summary_columns(iterations: int) -> list[str]:
    """Header of the summary table for a run of ``iterations`` Gatys iterations."""
    gatys = [f"Gatys @{i}" for i in loss_checkpoints(iterations)]
    return [*SUMMARY_COLUMNS[:4], *gatys, *SUMMARY_COLUMNS[4:]]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def summary_rows(runs: Sequence[ComparisonRun], iterations: int) -> list[list[str]]:
    """One row per image size: the comparison of Johnson et al.'s Table 1 / Fig. 5."""
    rows = []
    for size in sorted({run.size for run in runs}):
        group = [run for run in runs if run.size == size]
        row = [
            str(size),
            str(len(group)),
            fmt_mean_std([run.photo_loss["total"] for run in group]),
            fmt_mean_std([run.ff_loss["total"] for run in group]),
        ]
        for i in loss_checkpoints(iterations):
            row.append(fmt_mean_std([run.gatys_history[i - 1]["total"] for run in group]))
        row += [
            fmt_bound(censored_median([run.n_star_bound() for run in group]), "iter"),
            fmt_bound(censored_median([run.gatys_seconds_bound() for run in group]), "seconds"),
            fmt_seconds(statistics.median(run.ff_seconds for run in group)),
            fmt_bound(censored_median([run.speedup_bound() for run in group]), "ratio"),
        ]
        rows.append(row)
    return rows


def per_photo_rows(runs: Sequence[ComparisonRun]) -> list[list[str]]:
    """One row per (size, photo)."""
    rows = []
    for run in sorted(runs, key=lambda r: (r.size, r.photo)):
        rows.append(
            [
                str(run.size),
                run.photo,
                f"{run.shape[0]}×{run.shape[1]}",
                fmt_loss(run.photo_loss["total"]),
                fmt_loss(run.ff_loss["total"]),
                fmt_loss(run.gatys_history[-1]["total"]),
                fmt_bound(run.n_star_bound(), "iter"),
                fmt_bound(run.gatys_seconds_bound(), "seconds"),
                fmt_seconds(run.ff_seconds),
                fmt_bound(run.speedup_bound(), "ratio"),
            ]
        )
    return rows


def terms_rows(runs: Sequence[ComparisonRun]) -> list[list[str]]:
    """Mean weighted loss terms per size and method (what the totals are made of)."""
    rows = []
    for size in sorted({run.size for run in runs}):
        group = [run for run in runs if run.size == size]
        sources = (
            ("photo (unchanged)", lambda r: r.photo_loss),
            ("feed-forward", lambda r: r.ff_loss),
            (f"Gatys @{len(group[0].gatys_history)}", lambda r: r.gatys_history[-1]),
        )
        for label, get in sources:
            rows.append(
                [str(size), label]
                + [
                    fmt_loss(statistics.fmean(get(r)[term] for r in group))
                    for term in ("content", "style", "tv", "total")
                ]
            )
    return rows


def comparison_settings(
    checkpoint: StyleCheckpoint,
    checkpoint_label: str,
    loss: PerceptualLossSettings,
    gatys: GatysSettings,
    photos: Sequence[Path],
    photo_source: str,
    sizes: Sequence[int],
    *,
    device: str,
    vgg_overridden: bool = False,
) -> dict[str, Any]:
    """The plain facts about a comparison run: the header of :func:`render_markdown` and of ``history.json``.

    Args:
        checkpoint: the network's checkpoint (style, model arguments, training steps).
        checkpoint_label: how the user named it (a path or a shipped style's file).
        loss: the loss both methods were scored by.
        gatys: the Gatys runs' settings (``lr=None``: the optimiser's default).
        photos, photo_source, sizes: the photo files, the folder or asset they came from, the shorter sides.
        device: where both methods ran.
        vgg_overridden: the VGG weights are not the training loss's (``--vgg-weights``); said loudly.
    """
    import platform

    import torch

    from fast_style.machine import describe_cpu

    vgg, lbfgs = loss.vgg, gatys.optimizer == "lbfgs"
    return {
        "style": checkpoint.style or "?",
        "checkpoint": f"`{checkpoint_label}` (model {checkpoint.model_args}, trained "
                      f"{checkpoint.meta.get('global_step', '?')} steps)",
        "loss": (
            f"VGG {vgg.get('arch', 'vgg16')} weights={vgg.get('weights', 'default')} pool={vgg.get('pool', 'max')}"
            f"{' (OVERRIDDEN by --vgg-weights: not the training loss)' if vgg_overridden else ''}; "
            f"content {loss.content_layers} × {loss.content_weight}; "
            f"style {loss.style_layers} × {loss.style_weight}; "
            f"tv × {loss.tv_weight}; "
            f"style image {loss.style_image!s} at {loss.style_size} px"
        ),
        "photos": f"{len(photos)} from `{photo_source}`: {', '.join(Path(p).name for p in photos)}",
        "sizes": f"{list(sizes)} (shorter side, aspect kept)",
        "Gatys": (
            f"{gatys.optimizer}, {gatys.iterations} iterations (one optimiser step each"
            f"{', L-BFGS max_iter=1, no line search' if lbfgs else ''}), "
            f"init={gatys.init}, lr={gatys.lr if gatys.lr is not None else 'default'}, loss taken of clamp(x, 0, 1)"
            + (f", L-BFGS steps capped at RMS {gatys.max_step} per pixel" if lbfgs and gatys.max_step else "")
        ),
        "machine": (
            f"device {device}; {describe_cpu()} (torch threads {torch.get_num_threads()}), "
            f"torch {torch.__version__}, Python {platform.python_version()}"
        ),
        "iterations": gatys.iterations,
    }


def render_markdown(runs: Sequence[ComparisonRun], settings: Mapping[str, Any]) -> str:
    """The whole ``report.md``.

    Args:
        runs: one :class:`~fast_style.baseline.compare.ComparisonRun` per (photo, size).
        settings: plain facts about the run printed in the header (checkpoint, loss,
            optimiser, machine, …); must include ``"iterations"``.
    """
    if not runs:
        raise ValueError("render_markdown needs at least one comparison run")
    iterations = int(settings["iterations"])
    lines = [
        f"# Feed-forward vs optimisation: {settings.get('style', '?')}",
        "",
        "Both methods are scored by one and the same perceptual loss object (the loss the network "
        "was trained with): content + style + TV, weighted, as in Johnson et al. 2016, Eq. 5.",
        "",
    ]
    lines += [f"- **{key}**: {value}" for key, value in settings.items()]
    lines += [
        "",
        "## Summary (per image size)",
        "",
        "Losses are mean ± std over photos; N*, seconds and speed-ups are medians over photos.",
        "",
        *_table(summary_columns(iterations), summary_rows(runs, iterations)),
        "",
        "## Per photo",
        "",
        *_table(PER_PHOTO_COLUMNS, per_photo_rows(runs)),
        "",
        "## Loss terms (means)",
        "",
        *_table(("size", "image", "content", "style", "tv", "total"), terms_rows(runs)),
        "",
        "## How to read this",
        "",
        "- *photo loss*: the loss of the unchanged photo (content term 0): the reference any "
        "stylisation must beat.",
        "- *Gatys @k*: loss of the optimised image after k iterations (one optimiser step each).",
        "- *N\\**: the first Gatys iteration whose loss is at or below that photo's feed-forward loss. "
        f"`> {iterations}` means Gatys did not get there within the {iterations} iterations run. "
        "In the median such photos count as larger than every reached N*; when a middle value is "
        "one of them, the median is printed as a lower bound (`> x`, computed with the iteration "
        "limit in their place).",
        "- *Gatys s to N\\**: cumulative wall-clock seconds of the optimisation until iterate N* existed "
        "(VGG features of the photo included); a lower bound (the whole run) when N* was not reached.",
        "- *feed-forward s*: one forward pass of the network, model in eval mode under "
        "`torch.inference_mode`, after a warm-up pass; median of several timed passes.",
        "- *speed-up*: Gatys seconds to N* / feed-forward seconds, per photo, then the median.",
        "",
    ]
    return "\n".join(lines)


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the comparison figures need matplotlib; install the 'plot' extra (pip install matplotlib)"
        ) from error
    return plt


def plot_loss_curves(runs: Sequence[ComparisonRun], path: str | os.PathLike) -> Path:
    """``loss_vs_iterations.png``: Gatys loss per iteration, feed-forward loss as a horizontal line.

    One panel per image size (as in Johnson et al.'s Fig. 5): thin lines per photo, a thick
    line for their mean, the mean feed-forward loss dashed and the mean photo loss dotted.
    """
    plt = _pyplot()
    sizes = sorted({run.size for run in runs})
    fig, axes = plt.subplots(1, len(sizes), figsize=(5.0 * len(sizes), 3.8), squeeze=False)
    for ax, size in zip(axes[0], sizes):
        group = [run for run in runs if run.size == size]
        iters = range(0, len(group[0].gatys_history) + 1)
        curves = [[run.gatys_initial["total"], *(h["total"] for h in run.gatys_history)] for run in group]
        for curve in curves:
            ax.plot(iters, curve, color="tab:blue", alpha=0.25, linewidth=0.8)
        mean_curve = [statistics.fmean(values) for values in zip(*curves)]
        ax.plot(iters, mean_curve, color="tab:blue", linewidth=2.0, label="Gatys (mean over photos)")
        ff = statistics.fmean(run.ff_loss["total"] for run in group)
        photo = statistics.fmean(run.photo_loss["total"] for run in group)
        ax.axhline(ff, color="tab:red", linestyle="--", linewidth=1.5, label=f"feed-forward ({fmt_loss(ff)})")
        ax.axhline(photo, color="gray", linestyle=":", linewidth=1.2, label=f"unchanged photo ({fmt_loss(photo)})")
        ax.set_yscale("log")
        ax.set_xlabel("Gatys iteration")
        ax.set_ylabel("loss (content + style + TV)")
        ax.set_title(f"{size} px (shorter side), {len(group)} photo(s)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_side_by_side(
    runs: Sequence[ComparisonRun], style_image: Any, path: str | os.PathLike, max_photos: int = 3
) -> Path:
    """``side_by_side.png``: content | style | feed-forward | Gatys at N* | Gatys final.

    Uses the largest size compared and the first ``max_photos`` photos.

    Args:
        runs: comparison runs that kept their images.
        style_image: (1, 3, H, W) style image in [0, 1].
        path: PNG to write.
        max_photos: rows of the figure.
    """
    plt = _pyplot()
    size = max(run.size for run in runs)
    group = sorted((run for run in runs if run.size == size), key=lambda r: r.photo)[:max_photos]
    columns = ("content", "style", "feed-forward", "Gatys at N*", "Gatys final")
    fig, axes = plt.subplots(len(group), len(columns), figsize=(2.6 * len(columns), 2.4 * len(group)), squeeze=False)
    for row, run in zip(axes, group):
        n_star = run.n_star
        final_iter = len(run.gatys_history)
        panels = [
            (run.content_image, f"{run.photo}\nloss {fmt_loss(run.photo_loss['total'])}"),
            (style_image, "style"),
            (run.ff_image, f"feed-forward, {fmt_seconds(run.ff_seconds)}\nloss {fmt_loss(run.ff_loss['total'])}"),
            (
                run.gatys_at_n_star,
                f"Gatys N*={n_star}, {fmt_seconds(run.gatys_seconds_bound().value)}\n"
                f"loss {fmt_loss(run.gatys_loss_at(n_star))}"
                if n_star is not None
                else f"Gatys: N* > {final_iter}\n(feed-forward loss not reached)",
            ),
            (
                run.gatys_final,
                f"Gatys {final_iter} it, {fmt_seconds(run.gatys_history[-1]['seconds'])}\n"
                f"loss {fmt_loss(run.gatys_history[-1]['total'])}",
            ),
        ]
        for ax, (image, title) in zip(row, panels):
            ax.set_axis_off()
            ax.set_title(title, fontsize=7)
            if image is not None:
                ax.imshow(_to_hwc(image))
    fig.suptitle(f"{size} px: feed-forward network vs Gatys optimisation (same loss)", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    quantize_png(path)
    return path


def quantize_png(path: str | os.PathLike, colors: int = 256) -> Path:
    """Rewrite a PNG with an adaptive palette (dithered): a grid of photos drops from over
    1 MB to a few hundred kB, small enough to keep in the repository for the README."""
    from PIL import Image

    with Image.open(path) as image:
        quantized = image.convert("RGB").quantize(colors=colors)
    quantized.save(path, optimize=True)
    return Path(path)


def _to_hwc(image: Any) -> Any:
    """(1, 3, H, W) or (3, H, W) tensor in [0, 1] → (H, W, 3) numpy array for imshow."""
    if image.dim() == 4:
        image = image[0]
    return image.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


__all__ = [
    "PER_PHOTO_COLUMNS",
    "SUMMARY_COLUMNS",
    "comparison_settings",
    "fmt_bound",
    "fmt_loss",
    "loss_checkpoints",
    "plot_loss_curves",
    "plot_side_by_side",
    "render_markdown",
    "summary_columns",
]
