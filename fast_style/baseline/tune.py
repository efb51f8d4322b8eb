"""Choose a style's loss weights by looking: a Gatys preview sweep over style weights and sizes.

Training a network takes most of an hour on a CPU; optimising a few photos against the same
:class:`~fast_style.loss.perceptual.PerceptualLoss` (Gatys, Ecker & Bethge, CVPR 2016) takes a minute
each and shows what a setting asks for: the network trained with it approaches the same
pictures (Johnson, Alahi & Fei-Fei, ECCV 2016, Fig. 5 and Sec. 4.2 compare exactly these).
So a style's weights are chosen on a sweep, and only then trained.

Pure torch: no Lightning, no Hydra.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from torch import Tensor

from fast_style.baseline.gatys import GatysSettings, optimize_image
from fast_style.errors import InvalidValueError
from fast_style.io import load_image
from fast_style.loss.perceptual import LOSS_TERMS, PerceptualLoss, PerceptualLossSettings, build_perceptual_loss
from fast_style.sheets import contact_sheet

# A preview, not a baseline: a short run from the photo itself.
SWEEP_GATYS = GatysSettings(iterations=150, init="content")


@dataclass
class SweepSetting:
    """One row of the sweep: the loss weights and the style image's shorter side."""

    style_weight: float
    style_size: int
    content_weight: float
    tv_weight: float

    def label(self) -> str:
        return (
            f"style_weight {self.style_weight:g}, size {self.style_size}, content {self.content_weight:g}, "
            f"tv {self.tv_weight:g}"
        )


@dataclass
class SweepRow:
    """What one setting gave on every photo.

    Attributes:
        setting: the weights used.
        images: one (1, 3, H, W) result in [0, 1] per photo (Gatys after ``iterations``).
        terms: per photo, the weighted loss terms ``content``, ``style``, ``tv``, ``total`` of the result.
    """

    setting: SweepSetting
    images: list[Tensor] = field(default_factory=list, repr=False)
    terms: list[dict[str, float]] = field(default_factory=list)

    def mean_terms(self) -> dict[str, float]:
        """Loss terms averaged over the photos."""
        return {name: sum(t[name] for t in self.terms) / len(self.terms) for name in LOSS_TERMS}


def sweep_settings(
    style_weights: Sequence[float],
    style_sizes: Sequence[int],
    content_weight: float,
    tv_weight: float,
) -> list[SweepSetting]:
    """Every (style size, style weight) pair, sizes outermost.

    Raises:
        InvalidValueError: for an empty list, a negative weight or a style size under 16 pixels.
    """
    if not style_weights or not style_sizes:
        raise InvalidValueError("the sweep needs at least one style weight and one style size")
    bad_weights = [w for w in style_weights if w < 0]
    if bad_weights or content_weight < 0 or tv_weight < 0:
        raise InvalidValueError(
            f"weights must be >= 0, got style weights {list(style_weights)}, content {content_weight}, tv {tv_weight}"
        )
    bad_sizes = [s for s in style_sizes if s < 16]
    if bad_sizes:
        raise InvalidValueError(f"style sizes must be at least 16 pixels, got {bad_sizes}")
    return [
        SweepSetting(float(weight), int(size), float(content_weight), float(tv_weight))
        for size, weight in itertools.product(style_sizes, style_weights)
    ]


def run_sweep(
    style_image: str | os.PathLike,
    photos: Sequence[str | os.PathLike],
    settings: Sequence[SweepSetting],
    loss: PerceptualLossSettings | None = None,
    size: int = 256,
    gatys: GatysSettings = SWEEP_GATYS,
    on_done: Callable[[SweepSetting, int, dict[str, float]], None] | None = None,
) -> list[SweepRow]:
    """Optimise every photo against every setting's loss (L-BFGS, :func:`~fast_style.baseline.gatys.optimize_image`).

    One VGG is built and shared: a setting only changes the loss's weights and the style Grams.

    Args:
        style_image: image path or asset name (``"styles/candy.jpg"``).
        photos: photo files; each is resized to ``size`` on its shorter side.
        settings: from :func:`sweep_settings`.
        loss: the loss's VGG and layers (its weights, style image and size are the sweep's;
            ``None``: the library's defaults).
        size: shorter side of the photos in pixels.
        gatys: the runs' settings (default :data:`SWEEP_GATYS`: 150 L-BFGS iterations from the photo,
            the structure a network keeps; Johnson et al. compare at 50–500).
        on_done: called after each photo with (setting, photo index, its loss terms).

    Returns:
        One :class:`SweepRow` per setting, in order.

    Raises:
        InvalidValueError: for no photos or no settings.
    """
    if not photos:
        raise InvalidValueError("the sweep needs at least one photo")
    if not settings:
        raise InvalidValueError("the sweep needs at least one setting")
    from fast_style.assets import resolve_path_or_asset

    style = load_image(resolve_path_or_asset(style_image))
    loss = loss or PerceptualLossSettings()
    loss_fn = build_perceptual_loss(style, vgg=loss.vgg, content_layers=loss.content_layers,
                                    style_layers=loss.style_layers, style_size=settings[0].style_size)
    contents = [load_image(photo, size) for photo in photos]
    rows: list[SweepRow] = []
    for previous, setting in zip([settings[0], *settings], settings):
        if setting.style_size != previous.style_size:  # new style Grams only when the size changes
            loss_fn.set_style(style, setting.style_size)
        loss_fn.content_weight = setting.content_weight
        loss_fn.style_weight = setting.style_weight
        loss_fn.tv_weight = setting.tv_weight
        rows.append(_optimize_photos(loss_fn, contents, setting, gatys, on_done))
    return rows


def _optimize_photos(
    loss_fn: PerceptualLoss,
    contents: Sequence[Tensor],
    setting: SweepSetting,
    gatys: GatysSettings,
    on_done: Callable[[SweepSetting, int, dict[str, float]], None] | None,
) -> SweepRow:
    """One row of the sweep: every (1, 3, H, W) photo optimised against ``loss_fn`` as ``setting`` set it."""
    row = SweepRow(setting)
    for index, content in enumerate(contents):
        result = optimize_image(loss_fn, content, gatys)
        final = {name: result.history[-1][name] for name in LOSS_TERMS}
        row.images.append(result.image.cpu())
        row.terms.append(final)
        if on_done is not None:
            on_done(setting, index, final)
    return row


def sweep_sheet(
    style_image: str | os.PathLike,
    photos: Sequence[str | os.PathLike],
    rows: Sequence[SweepRow],
    tile: int = 160,
    how: str = "",
) -> Image.Image:
    """Contact sheet: first row the style image and the photos (captioned with ``how``); then one row per setting."""
    from fast_style.assets import resolve_path_or_asset

    style = load_image(resolve_path_or_asset(style_image), tile)
    originals = [load_image(photo, tile) for photo in photos]
    sheet_rows = [(f"style image | photos{f' ({how})' if how else ''}", [style, *originals])]
    sheet_rows += [(row.setting.label(), [style, *row.images]) for row in rows]
    return contact_sheet(sheet_rows, tile=tile)


def sweep_table(rows: Sequence[SweepRow]) -> str:
    """Markdown table of the mean loss terms per setting (and style/content ratio)."""
    lines = [
        "| style_weight | style size | content_weight | tv_weight | content | style | tv | total | style/content |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        mean, s = row.mean_terms(), row.setting
        ratio = mean["style"] / mean["content"] if mean["content"] > 0 else float("inf")
        lines.append(
            f"| {s.style_weight:g} | {s.style_size} | {s.content_weight:g} | {s.tv_weight:g} | {mean['content']:.4g} "
            f"| {mean['style']:.4g} | {mean['tv']:.4g} | {mean['total']:.4g} | {ratio:.3g} |"
        )
    return "\n".join(lines) + "\n"


def write_sweep(
    output_dir: str | os.PathLike,
    style_image: str | os.PathLike,
    photos: Sequence[str | os.PathLike],
    rows: Sequence[SweepRow],
    tile: int = 160,
    how: str = "",
) -> tuple[Path, Path]:
    """Write ``sheet.jpg`` and ``losses.md`` (``how`` the sweep was run, as their caption) into ``output_dir``."""
    from fast_style.sheets import save_sheet

    output_dir = Path(output_dir)
    sheet = save_sheet(sweep_sheet(style_image, photos, rows, tile, how), output_dir / "sheet.jpg")
    table = output_dir / "losses.md"
    table.write_text((f"{how}\n\n" if how else "") + sweep_table(rows))
    return sheet, table
