"""Steps/s of experiment=new_style against from scratch (experiment=zoo), measured as a ratio on a shared machine.

    python scripts/bench_new_style.py --style woman_with_hat_matisse --blocks 6 --steps 5

Both recipes' LightningModules are built from their composed configs (the same style, loss, crop, batch and
precision as ``scripts/train.py`` would use), and blocks of training steps (forward, loss, backward, Adam)
alternate between them in one process, so that whatever else the machine runs slows both alike; the median
seconds per step of each and their ratio are printed. The ratio scales a from-scratch curve's steps/s to a
new-style run's on the same machine (docs/notes/2026-12-06-new-style-from-arbitrary.md). Data loading and
Lightning's own overhead are left out: both recipes share them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from fast_style.cli import command


def _step_fn(experiment: str, style: str, crop: int, batch: int):
    """One training step of ``experiment``'s module on random photos (the module's own loss and optimiser)."""
    from hydra import compose, initialize_config_dir

    from fast_style.train.compose import CONFIG_DIR
    from fast_style.train.prepare import prepare
    from fast_style.train.run import build, resolve_precision

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        config = compose("train", overrides=[f"experiment={experiment}", f"style={style}"])
    module = build(prepare(config).module)
    optimiser = module.optimizer_factory(module.trainable_parameters())
    bf16 = resolve_precision(config.trainer.get("precision", "auto"), "cpu") == "bf16-mixed"
    photos = torch.rand(batch, 3, crop, crop)

    def step() -> None:
        optimiser.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = module.loss_fn(module.stylise(photos), photos)["total"]
        loss.backward()
        optimiser.step()

    return step


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="woman_with_hat_matisse", help="a style config (configs/style/)")
    parser.add_argument("--crop", type=int, default=128, help="training crop (the recipes' 128)")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--blocks", type=int, default=6, help="alternating blocks per recipe")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per block")
    args = parser.parse_args(argv)

    from fast_style.machine import describe_cpu

    recipes = {name: _step_fn(name, args.style, args.crop, args.batch) for name in ("new_style", "zoo")}
    for step in recipes.values():  # warm-up: oneDNN picks its kernels on the first steps
        step()
    seconds: dict[str, list[float]] = {name: [] for name in recipes}
    for _ in range(args.blocks):
        for name, step in recipes.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            seconds[name].append((time.perf_counter() - start) / args.steps)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    print(f"{describe_cpu()}, {torch.get_num_threads()} threads, crop {args.crop}, batch {args.batch}")
    for name, value in median.items():
        print(f"experiment={name}: {value:.3f} s/step median ({1 / value:.2f} steps/s) over "
              f"{args.blocks} blocks of {args.steps}: {', '.join(f'{v:.3f}' for v in seconds[name])}")
    print(f"ratio new_style / zoo steps/s: {median['zoo'] / median['new_style']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
