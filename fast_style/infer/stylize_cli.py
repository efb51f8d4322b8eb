"""Command line of the inference path: stylise files, folders and globs (``scripts/stylize.py``).

Every good photo is stylised at its own size (or at ``--max-size``); a bad one gets one clear
line and is skipped; the exit status is 1 when any input failed, 2 on a usage/setup error
(:func:`fast_style.cli.run`). No Lightning, no Hydra.
"""

from __future__ import annotations

import argparse
import glob
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from fast_style import zoo
from fast_style.atomic import FULL_DISK_BYTES, WriteError, check_writable
from fast_style.cli import (
    add_device_argument,
    add_network_arguments,
    add_precision_argument,
    add_style_image_arguments,
    command,
    resolve_source,
)
from fast_style.deprecated import deprecated_flag
from fast_style.errors import InputFileError, InvalidValueError
from fast_style.infer.stylize import check_options, load_model, resolve_device, stylize
from fast_style.io import (
    IMAGE_EXTENSIONS,
    ImageReadError,
    Photo,
    describe_special_file,
    glob_files,
    list_images,
    output_format,
    read_photo,
    save_image,
)
from fast_style.models.transformer import MIN_SIZE

BACKENDS = ("torch", "onnxruntime", "compiled")


@dataclass
class Job:
    """One input file and where its result goes."""

    source: Path
    target: Path


def collect_inputs(specs: Sequence[str], recursive: bool) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Expand ``--input`` values into ``(file, name relative to its folder)`` pairs.

    Returns:
        The inputs (duplicates removed, order kept) and one error line per value that matched nothing.
    """
    found: list[tuple[Path, Path]] = []
    errors: list[str] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            files = list_images(path, recursive)
            if not files:
                what = "recursively " if recursive else ""
                hint = "" if recursive else " (use --recursive for subfolders)"
                errors.append(f"{spec}: no images found {what}in this folder{hint}; extensions: {', '.join(IMAGE_EXTENSIONS)}")
            found.extend((f, f.relative_to(path)) for f in files)
        elif path.is_file():
            found.append((path, Path(path.name)))
        elif glob.has_magic(spec):
            matches = glob_files(spec)
            if not matches:
                errors.append(f"{spec}: the pattern matches no file")
            found.extend((m, Path(m.name)) for m in matches)
        elif path.exists():
            errors.append(f"{spec}: {describe_special_file(path)}, not an image file or folder")
        else:
            errors.append(f"{spec}: no such file or folder")
    unique: dict[Path, tuple[Path, Path]] = {}
    for source, name in found:
        unique.setdefault(source.resolve(), (source, name))
    return list(unique.values()), errors


def plan_jobs(inputs: list[tuple[Path, Path]], output: str, overwrite: bool) -> list[Job]:
    """Decide every output path, refusing before any work is done when a result would clobber something.

    ``output`` is a file when it has an image extension and is not an existing folder (one input
    only), otherwise a folder that keeps the inputs' names (and subfolders of folder inputs).

    Raises:
        InvalidValueError: output would replace an input, two inputs map to one output, outputs exist
            without ``overwrite``, or a file output is given for several inputs.
    """
    out = Path(output)
    is_file = not out.is_dir() and out.suffix.lower() != "" and out.suffix.lower() in _known_extensions()
    if is_file:
        if len(inputs) != 1:
            raise InvalidValueError(f"--output {output!r} is a file but {len(inputs)} inputs were given; pass a folder")
        output_format(out)
        jobs = [Job(inputs[0][0], out)]
    else:
        jobs = [Job(source, out / name) for source, name in inputs]
    sources = {job.source.resolve(): job.source for job in jobs}
    seen: dict[Path, Path] = {}
    existing = []
    for job in jobs:
        target = job.target.resolve()
        if target in sources:
            # Name the input that would be lost (with --recursive it is often not the one being stylised).
            victim = sources[target]
            whose = "" if victim == job.source else f" (the result of {str(job.source)!r})"
            raise InvalidValueError(
                f"output {str(job.target)!r}{whose} would overwrite the input {str(victim)!r}; choose another --output"
            )
        if target in seen:
            raise InvalidValueError(
                f"inputs {str(seen[target])!r} and {str(job.source)!r} would both be written to {str(job.target)!r}"
            )
        seen[target] = job.source
        if job.target.exists():
            existing.append(str(job.target))
    if existing and not overwrite:
        shown = ", ".join(existing[:3]) + (f" and {len(existing) - 3} more" if len(existing) > 3 else "")
        raise InvalidValueError(f"{len(existing)} output file(s) already exist ({shown}); pass --overwrite to replace them")
    return jobs


def check_targets_writable(jobs: Sequence[Job]) -> None:
    """Probe every output folder before any photo is stylised (README: a read-only folder or full disk is exit 2, up front).

    A folder must also have room for one result (about its largest input, at most
    :data:`~fast_style.atomic.FULL_DISK_BYTES`: ``--max-size`` can make results much smaller): a full disk
    still takes the empty probe file.

    Raises:
        WriteError, InputFileError: see :func:`fast_style.atomic.check_writable`.
    """
    need: dict[Path, int] = {}
    for job in jobs:
        need[job.target.parent] = max(need.get(job.target.parent, 0), min(job.source.stat().st_size, FULL_DISK_BYTES))
    for folder, size in need.items():
        check_writable(folder, min_free=size)


def _known_extensions() -> set[str]:
    from PIL import Image

    return set(Image.registered_extensions())


def build_backend(model: torch.nn.Module, backend: str, device: torch.device) -> Callable[[Tensor], Tensor]:
    """The callable that runs the network: the module itself (see :func:`stylize`), ``torch.compile`` or ONNX Runtime.

    Raises:
        InvalidValueError: unknown backend.
        ImportError: onnxruntime backend without the ``onnx`` extra.
    """
    if backend not in BACKENDS:
        raise InvalidValueError(f"unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    if backend == "onnxruntime":
        from fast_style.infer.export import OnnxRuntimeModel, export_model

        # ONNX Runtime reads the whole file when the session is made, so the export can go at once.
        with tempfile.TemporaryDirectory(prefix="fast_style_") as folder:
            return OnnxRuntimeModel(export_model(model, Path(folder) / "model.onnx", "onnx"), device)
    if backend == "compiled":
        # As measured by bench_stylize.py (channels-last graph, shapes dynamic so that every
        # photo size does not recompile).
        return torch.compile(model.to(memory_format=torch.channels_last), dynamic=True)
    # The module itself: stylize() runs it through the fast engine on CPU (README, "Speed and
    # memory": fastest at 512² and above, 2.4 GB at 4K) and its own forward on CUDA.
    return model


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Stylise photos with a trained fast_style network (Johnson et al. 2016): one forward pass per photo.",
    )
    source = add_network_arguments(parser, required=False,
                                   ckpt_help="checkpoints/<style>.pth, a Lightning .ckpt, or an exported .onnx")
    source.add_argument("--list-styles", action="store_true", help="list the shipped styles and how each was trained")
    add_style_image_arguments(parser, source)
    parser.add_argument("--input", nargs="+", help="image file(s), folder(s) or glob(s)")
    parser.add_argument("--output", help="output file (one input) or folder (created; names kept)")
    parser.add_argument("--recursive", action="store_true", help="also stylise images in subfolders of input folders")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_device_argument(parser)
    add_precision_argument(parser)
    parser.add_argument("--backend", default="torch", choices=BACKENDS,
                        help="torch (default: the exact fast engine on CPU, see --strip-size), compiled (torch.compile), "
                             "onnxruntime")
    parser.add_argument("--batch-size", type=int, default=1, help="stylise up to this many same-size images at once")
    parser.add_argument("--max-size", type=int, default=None, help="downsize so the longest side is at most this")
    parser.add_argument("--strength", type=float, default=1.0, help="0 = the photo, 1 = full style (default 1)")
    parser.add_argument("--preserve-color", action="store_true", help="keep the photo's colours (luminance-only)")
    parser.add_argument("--strip-size", dest="strip_size", type=int, default=None, metavar="N",
                        help="compute each layer in row strips of about N×N pixels with whole-image norm statistics "
                             "(same result, less memory for smaller N; default on CPU: the fast engine with ~256-pixel "
                             "strips; 0 = the network's plain forward on the whole image)")
    parser.add_argument("--tile", dest="strip_size", type=int, action=deprecated_flag("--strip-size"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--max-pixels", type=int, default=None,
                        help="decompression-bomb limit in pixels (default: Pillow's, about 89 MP)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _steps_text(info: dict) -> str:
    """A network's training steps, per style too where a multi-style network holds several ("-" for imported
    weights; the arbitrary-style network's steps saw many paintings, not its stored styles)."""
    if info["steps"] is None:
        return "-"
    if info["styles_in_network"] > 1 and info["steps"] and info["family"] == "transformer":
        return f"{info['steps']} ({info['steps'] // info['styles_in_network']}/style)"
    return str(info["steps"])


def list_styles_text() -> str:
    """One row per served style, the same columns for every kind of network (for ``--list-styles``)."""
    names = list(zoo.served_styles())
    if not names:
        return "no shipped styles in this installation; train one with scripts/train.py and pass --ckpt"
    infos = [zoo.describe(name) for name in names]
    steps = [_steps_text(info) for info in infos]
    # Each column as wide as its longest entry, so the rows line up under the header.
    status_width = max(len("painting status"), *(len(info["painting_status"]) for info in infos))
    network_width = max(len("network"), *(len(info["network"]) for info in infos))
    steps_width = max(len("steps"), *(len(text) for text in steps))
    name_width = max(30, *(len(name) for name in names))
    blends = zoo.blend_networks()
    blend = f"mixes the styles in {blends[0]}" if blends else "needs a network that holds both"
    lines = [f"{len(names)} shipped style(s); use --style NAME (a blend, --style a:0.7,b:0.3, {blend}):",
             f"  {'name':<{name_width}} {'network':<{network_width}} {'steps':>{steps_width}} {'style weight':>12}  "
             f"{'painting status':<{status_width}}  how it was trained"]
    for name, info, steps_text in zip(names, infos, steps):
        if info["style_weight"] is None:
            # The arbitrary-style network's stored styles: the painting's predicted embedding.
            how = f"the painting's embedding, stored in {info['network']} ({info['styles_in_network']} styles)"
        elif info["teacher"]:
            # A student never saw the painting: its loss is its teacher's output (judged on the teacher's loss).
            how = f"distilled from {info['teacher']}, {info['crop']} px crops, batch {info['batch']}"
        else:
            kind = f"{info['styles_in_network']} styles, " if info["styles_in_network"] > 1 else ""
            how = (f"{kind}{info['crop']} px crops, batch {info['batch']}, style image at {info['style_size']} px, "
                   f"content {info['content_weight']:g}, tv {info['tv_weight']:g}")
        weight = "-" if info["style_weight"] is None else f"{info['style_weight']:g}"
        trained = "" if info["machine"] is None else f", {info['precision']}; on {info['machine']}"
        lines.append(f"  {name:<{name_width}} {info['network']:<{network_width}} {steps_text:>{steps_width}} "
                     f"{weight:>12}  {info['painting_status']:<{status_width}}  {how}{trained}")
    return "\n".join(lines)


def _validate(args: argparse.Namespace) -> None:
    """The command's own rules (what :func:`stylize` checks, it checks: see :func:`check_options`)."""
    if not (args.style or args.ckpt or args.style_image):
        raise InvalidValueError("give a network: --style NAME (a shipped style, see --list-styles), --ckpt FILE or "
                                "--style-image PAINTING")
    if not args.input or not args.output:
        raise InvalidValueError("--input and --output are required to stylise")
    if args.batch_size < 1:
        raise InvalidValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.max_size is not None and args.max_size < MIN_SIZE:
        raise InvalidValueError(f"--max-size must be at least {MIN_SIZE} pixels, got {args.max_size}")
    if args.strip_size and args.backend != "torch":
        raise InvalidValueError(f"--strip-size works with --backend torch only, got --backend {args.backend}")
    if args.max_pixels is not None and args.max_pixels < 1:
        raise InvalidValueError(f"--max-pixels must be positive, got {args.max_pixels}")
    if args.backend == "onnxruntime" and args.precision != "fp32":
        raise InvalidValueError(f"--backend onnxruntime runs fp32 only, got --precision {args.precision}")


class _Runner:
    """Groups same-size photos into batches, stylises them and writes the results."""

    def __init__(self, args: argparse.Namespace, network: Callable[[Tensor], Tensor], report: Callable[[str], None]) -> None:
        self.args, self.network, self.report = args, network, report
        self.pending: dict[tuple[int, int], list[tuple[Job, Photo]]] = {}
        self.done = 0
        self.failed = 0
        self.progress: Callable[[int], None] = lambda n: None

    def fail(self, source: Path | str, message: str) -> None:
        self.failed += 1
        self.report(f"error: {message}" if str(source) in message else f"error: {source}: {message}")

    def add(self, job: Job) -> None:
        try:
            photo = read_photo(job.source, max_size=self.args.max_size, max_pixels=self.args.max_pixels)
        except ImageReadError as error:
            self.fail(job.source, str(error))
            self.progress(1)
            return
        height, width = photo.rgb.shape[-2:]
        if min(height, width) < MIN_SIZE:
            self.fail(job.source, f"{width}×{height} is too small; images need at least {MIN_SIZE}×{MIN_SIZE} pixels")
            self.progress(1)
            return
        group = self.pending.setdefault((height, width), [])
        group.append((job, photo))
        if len(group) >= self.args.batch_size:
            self.flush((height, width))
        elif sum(map(len, self.pending.values())) >= 4 * self.args.batch_size:
            # Bound memory in folders of many different sizes: run the biggest waiting group.
            self.flush(max(self.pending, key=lambda key: len(self.pending[key])))

    def flush(self, key: tuple[int, int] | None = None) -> None:
        for size in [key] if key is not None else list(self.pending):
            items = self.pending.pop(size, [])
            if items:
                self._run(items)

    def _run(self, items: list[tuple[Job, Photo]]) -> None:
        batch = torch.stack([photo.rgb for _, photo in items])
        try:
            out = stylize(
                self.network,
                batch,
                strength=self.args.strength,
                preserve_color=self.args.preserve_color,
                strip_size=self.args.strip_size if self.args.backend == "torch" else None,
                precision=self.args.precision,
            )
        except (RuntimeError, ValueError, MemoryError) as error:
            for job, _ in items:
                self.fail(job.source, f"stylisation failed: {error}")
            self.progress(len(items))
            return
        for (job, photo), image in zip(items, out.cpu()):
            try:
                save_image(image, job.target, alpha=photo.alpha)
                self.done += 1
            except WriteError:
                # A full disk or a folder gone read-only fails every later photo too: stop with its one line.
                raise
            except (OSError, ValueError) as error:
                self.fail(job.source, f"cannot write {str(job.target)!r}: {error}")
            self.progress(1)


def _network(args: argparse.Namespace, resolved: zoo.ResolvedStyle | None,
             device: torch.device) -> Callable[[Tensor], Tensor]:
    """The network ``--style``/``--ckpt``/``--style-image`` names, run the way ``--backend`` asks; options checked."""
    if resolved is not None and resolved.network is None and resolved.path.suffix.lower() == ".onnx":
        if args.backend != "onnxruntime":
            raise InvalidValueError(f"{str(resolved.path)!r} is an ONNX file: use --backend onnxruntime")
        from fast_style.infer.export import OnnxRuntimeModel

        network = OnnxRuntimeModel(resolved.path, device)
    else:
        model = load_model(resolved, device, style_image=args.style_image, style_image_size=args.style_image_size)
        network = build_backend(model, args.backend, device)
    check_options(network, strength=args.strength, strip_size=args.strip_size if args.backend == "torch" else None,
                  precision=args.precision, fallback_device=device)
    return network


def _plan(args: argparse.Namespace) -> tuple[list[Job], list[str], Callable[[Tensor], Tensor]]:
    """Everything checked before any photo is read: the jobs, the inputs that matched nothing, the network."""
    _validate(args)
    # An unknown name or a missing painting stops here, before any input is read.
    resolved = resolve_source(args)
    device = resolve_device(args.device)
    inputs, input_errors = collect_inputs(args.input, args.recursive)
    if not inputs:
        for line in input_errors:
            print(f"error: {line}", file=sys.stderr)
        raise InputFileError("no input image found")
    jobs = plan_jobs(inputs, args.output, args.overwrite)
    network = _network(args, resolved, device)
    check_targets_writable(jobs)  # last, so that a refused command leaves no empty output folder
    return jobs, input_errors, network


@command
def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 all good, 1 some input failed, 2 usage/setup error)."""
    args = build_parser().parse_args(argv)
    if args.list_styles:
        print(list_styles_text())
        return 0
    started = time.perf_counter()
    jobs, input_errors, network = _plan(args)

    from tqdm import tqdm

    bar = tqdm(total=len(jobs), unit="img", disable=args.quiet or len(jobs) < 2, file=sys.stderr)
    runner = _Runner(args, network, lambda line: tqdm.write(line, file=sys.stderr))
    runner.progress = bar.update
    for line in input_errors:
        runner.fail("", line)
    for job in jobs:
        runner.add(job)
    runner.flush()
    bar.close()
    total = len(jobs) + len(input_errors)
    elapsed = time.perf_counter() - started
    print(
        f"{runner.done} of {total} stylised into {args.output!r}, {runner.failed} failed ({elapsed:.1f} s)",
        file=sys.stderr if runner.failed else sys.stdout,
    )
    return 1 if runner.failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
