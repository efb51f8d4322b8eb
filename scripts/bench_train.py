"""Benchmark one training step: seconds/step, images/s, and where the time goes.

    python scripts/bench_train.py                 # 64, 128, 256 px, batch 4, real VGG weights
    python scripts/bench_train.py --sizes 256 --steps 5 --vgg-weights random

For each image size a fresh subprocess runs warm-up steps and timed steps of
- ``fast_style``: the project's step (content photo through VGG only to relu2_2 under
  no_grad, VGG frozen, style Grams precomputed),
- ``net only``: the transform network's forward + backward + Adam alone (its share),
- ``plain``: the same model and loss written plainly (content photo through VGG to
  relu4_3, VGG weights not frozen, the network's textbook graph without the train-mode
  conv rewrites), as the reference the speed-up is quoted against.
Peak memory is the subprocess's maximum resident set size (CPU) or CUDA's peak allocation.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import torch


def _step_fn(
    variant: str, size: int, batch: int, device: torch.device, vgg_weights: str, channels_last: bool, precision: str
):
    from fast_style.loss.ops import feature_mse, gram_matrix
    from fast_style.loss.perceptual import build_perceptual_loss
    from fast_style.models import TransformerNet

    torch.manual_seed(0)
    model = TransformerNet().to(device)
    loss = build_perceptual_loss("styles/starry_night.jpg", vgg={"weights": vgg_weights}).to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
        loss.to(memory_format=torch.channels_last)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    photos = torch.rand(batch, 3, size, size, device=device)
    if channels_last:
        photos = photos.contiguous(memory_format=torch.channels_last)

    if variant == "plain":
        loss.encoder.features.requires_grad_(True)
        # The textbook graph (interpolate + 3×3 convs, 9×9 head) without the train-mode
        # rewrites: eval mode runs it, and instance norm (no running statistics) computes the
        # same function and gradients in either mode.
        model.eval()
        layers = list(loss.style_weights)

        def objective(out):
            feats_out = loss.encoder(out, layers)
            feats_in = loss.encoder(photos, layers)  # whole depth, with grad bookkeeping
            content = feature_mse(feats_out["relu2_2"], feats_in["relu2_2"].detach())
            style = sum(feature_mse(gram_matrix(feats_out[n]), loss.style_gram(n)) for n in layers)
            return 3.0 * content + style

    elif variant == "net only":

        def objective(out):
            return out.square().mean()

    else:

        def objective(out):
            return loss(out, photos)["total"]

    # Lightning's "bf16-mixed": forward and loss under bf16 autocast, float32 weights and Adam.
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16-mixed")

    def step():
        optimiser.zero_grad(set_to_none=True)
        with autocast:
            value = objective(model(photos))
        value.backward()
        optimiser.step()

    return step


def _run_one(args: argparse.Namespace) -> None:
    """Child process: time one (variant, size) and print a JSON line."""
    torch.set_num_threads(args.threads or torch.get_num_threads())
    device = torch.device(args.device)
    step = _step_fn(args.variant, args.size, args.batch, device, args.vgg_weights, args.channels_last, args.precision)
    for _ in range(args.warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    seconds = (time.perf_counter() - start) / args.steps
    print(json.dumps({"seconds": seconds, "peak_mib": peak}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--vgg-weights", default="default", help="default | random | torchvision | PATH")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--precision", default="32-true", choices=["32-true", "bf16-mixed"],
                        help="bf16-mixed: bf16 autocast (fast where the CPU has AMX or AVX512-BF16)")
    parser.add_argument("--variants", nargs="+", default=["fast_style", "net only", "plain"])
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        _run_one(args)
        return

    print(f"# bench_train: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s), "
          f"torch {torch.__version__}, device {args.device}, batch {args.batch}, {args.steps} timed step(s) "
          f"after {args.warmup} warm-up, VGG weights {args.vgg_weights}, channels_last={args.channels_last}, "
          f"precision {args.precision}")
    header = "| size | variant | s/step | images/s | peak MiB | share of step |"
    print(header)
    print("|---:|---|---:|---:|---:|---|")
    for size in args.sizes:
        results = {}
        for variant in args.variants:
            command = [sys.executable, __file__, "--variant", variant, "--size", str(size), "--batch", str(args.batch),
                       "--steps", str(args.steps), "--warmup", str(args.warmup), "--device", args.device,
                       "--threads", str(args.threads), "--vgg-weights", args.vgg_weights,
                       "--precision", args.precision]
            if args.channels_last:
                command.append("--channels-last")
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(f"| {size} | {variant} | failed: {done.stderr.strip().splitlines()[-1:]} | | | |")
                continue
            results[variant] = json.loads(done.stdout.strip().splitlines()[-1])
        for variant, result in results.items():
            note = ""
            if variant == "net only" and "fast_style" in results:
                share = result["seconds"] / results["fast_style"]["seconds"]
                note = f"transform net {share:.0%}, VGG + loss {1 - share:.0%}"
            if variant == "plain" and "fast_style" in results:
                note = f"fast_style is {result['seconds'] / results['fast_style']['seconds']:.2f}x faster"
            print(f"| {size} | {variant} | {result['seconds']:.3f} | {args.batch / result['seconds']:.1f} "
                  f"| {result['peak_mib']:.0f} | {note} |", flush=True)


if __name__ == "__main__":
    main()
