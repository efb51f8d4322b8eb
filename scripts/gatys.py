"""Gatys et al.'s optimisation baseline on one photo (CVPR 2016).

    python scripts/gatys.py --content photo.jpg --style starry_night --size 512 --iters 500 \\
        --optimizer lbfgs --output out/

``--style`` is a style config name (``configs/style/<name>.yaml``: image, size and loss
weights) or an image file (the library's default weights); the loss is the training config's
``loss`` composed with ``style=<name>``, so it is the one training uses. ``--output`` is an image file or a folder (then
``<photo>_<style>_gatys.png`` is written there). ``--history`` writes the per-iteration loss
and seconds as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--content", required=True, help="the photo")
    parser.add_argument("--style", required=True, help="style name (configs/style/<name>.yaml) or an image file")
    parser.add_argument("--size", type=int, default=512, help="shorter side of the photo (default 512)")
    parser.add_argument("--iters", type=int, default=500, help="optimiser iterations (default 500)")
    parser.add_argument("--optimizer", choices=["lbfgs", "adam"], default="lbfgs")
    parser.add_argument("--init", choices=["noise", "content"], default="noise", help="start image (default noise)")
    parser.add_argument("--lr", type=float, default=None, help="step size (default: 1 for L-BFGS, 0.02 for Adam)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise start")
    parser.add_argument("--style-size", type=int, default=None, help="override the style image's shorter side")
    parser.add_argument("--content-weight", type=float, default=None, help="override the style config's weight")
    parser.add_argument("--style-weight", type=float, default=None, help="override the style config's weight")
    parser.add_argument("--tv-weight", type=float, default=None, help="override the style config's weight")
    parser.add_argument("--vgg-weights", default=None, help="override configs/loss/perceptual.yaml's VGG weights")
    parser.add_argument("--history", default=None, help="write per-iteration loss terms and seconds to this JSON")
    parser.add_argument("--output", required=True, help="output image file, or a folder")
    return parser.parse_args(argv)


def training_loss(style: str, config_dir: Path = CONFIG_DIR) -> tuple[str, dict]:
    """The name and :func:`build_perceptual_loss` arguments for ``--style``.

    A style config name composes the training config with ``style=<name>`` and takes its
    ``loss`` (the loss that style's network is trained with); an image file gets the loss
    group's VGG and layers with the library's default weights and style size.

    Raises:
        ValueError: if ``style`` is neither a style config name nor an existing image file.
    """
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from fast_style.loss.perceptual import STYLE_LOSS_KEYS, loss_defaults, loss_kwargs_from_config

    names = sorted(p.stem for p in (config_dir / "style").glob("*.yaml"))
    path = Path(style).expanduser()
    if style not in names and not path.is_file():
        raise ValueError(f"unknown style {style!r}; available: {', '.join(names)} (or give an image file)")
    with initialize_config_dir(config_dir=str(config_dir.resolve()), version_base="1.3"):
        config = compose("train", overrides=[f"style={style}"] if style in names else [])
    loss = OmegaConf.to_container(config.loss, resolve=True)
    if style in names:
        return style, loss_kwargs_from_config({"loss": loss})
    defaults = loss_defaults()
    loss.update({key: defaults[key] for key in STYLE_LOSS_KEYS if key != "style_image"}, style_image=str(path))
    return path.stem, loss_kwargs_from_config({"loss": loss})


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tqdm import tqdm

    from fast_style.assets import AssetNotFoundError
    from fast_style.baseline.gatys import optimise_image
    from fast_style.io import IMAGE_EXTENSIONS, load_image, save_image
    from fast_style.loss.perceptual import build_perceptual_loss

    try:
        for label, value in (("--size", args.size), ("--iters", args.iters)):
            if value < 1:
                raise ValueError(f"{label} must be at least 1, got {value}")
        style_name, loss_kwargs = training_loss(args.style)
        for key in ("content_weight", "style_weight", "tv_weight"):
            if getattr(args, key) is not None:
                loss_kwargs[key] = getattr(args, key)
        if args.style_size is not None:
            loss_kwargs["style_size"] = args.style_size
        if args.vgg_weights is not None:
            loss_kwargs["vgg"]["weights"] = args.vgg_weights
        loss_fn = build_perceptual_loss(**loss_kwargs)
        content = load_image(args.content, args.size)
    except (AssetNotFoundError, FileNotFoundError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    output = Path(args.output)
    if output.suffix.lower() not in IMAGE_EXTENSIONS:
        output = output / f"{Path(args.content).stem}_{style_name}_gatys.png"
    with tqdm(total=args.iters, desc=f"Gatys {args.optimizer}", unit="it") as bar:

        def on_iteration(iteration: int, terms: dict[str, float], image) -> None:
            bar.update(1)
            bar.set_postfix(
                loss=f"{terms['total']:.3e}", style=f"{terms['style']:.2e}", content=f"{terms['content']:.2e}"
            )

        result = optimise_image(
            loss_fn, content, args.iters, optimizer=args.optimizer, init=args.init, lr=args.lr, seed=args.seed,
            callback=on_iteration,
        )
    save_image(result.image, output)
    last = result.history[-1]
    print(
        f"wrote {output}: loss {result.initial['total']:.3e} -> {last['total']:.3e} "
        f"(content {last['content']:.3e}, style {last['style']:.3e}) in {last['seconds']:.1f} s"
    )
    if args.history:
        history = Path(args.history)
        history.parent.mkdir(parents=True, exist_ok=True)
        history.write_text(json.dumps({"initial": result.initial, "history": result.history}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
