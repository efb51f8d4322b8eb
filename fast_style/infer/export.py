"""Export a trained TransformerNet to ONNX or TorchScript, with dynamic batch, height and width.

Johnson et al.'s network (ECCV 2016) is fully convolutional, so one exported graph serves
every image size. ``F.interpolate`` to the encoder stages' sizes (how odd sizes come out
exact) is recorded symbolically by both exporters; :func:`parity` checks an exported file
against the eager network on several odd sizes.

The slim inference checkpoint itself lives in :mod:`fast_style.checkpoint`. ONNX needs the
optional extra ``pip install fast_style[onnx]`` (onnx, onnxscript, onnxruntime).
"""

from __future__ import annotations

import errno
import os
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from fast_style.atomic import WriteError, atomic_path, check_writable
from fast_style.errors import EXIT_PARTIAL, FastStyleError, InvalidValueError
from fast_style.models.transformer import MIN_SIZE, TransformerNet

FORMATS = ("onnx", "torchscript")
INPUT_NAME = "images"
# "stylised" until this release (CHANGELOG.md); the readers take the graph's only output, whatever its name.
OUTPUT_NAME = "stylized"
ONNX_OPSET = 18
# Example input for tracing: batch 2 and odd sizes, so no dimension is specialised to 0/1 or to even values.
_EXAMPLE_SHAPE = (2, 3, 37, 45)
# Room an export needs beyond its weights (graph, metadata): checked before writing, since
# TorchScript's writer aborts the process on a full disk instead of raising.
_EXPORT_OVERHEAD_BYTES = 8 * 2**20


class ParityError(FastStyleError):
    """The exported file does not compute what the network computes (beyond the tolerance); it was not kept."""

    exit_code = EXIT_PARTIAL


class MissingExtraError(FastStyleError, ImportError):
    """An optional extra (``onnx``) is needed for what was asked; the message names the pip command."""


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidValueError(f"unknown export format {fmt!r}; allowed: {', '.join(FORMATS)}")
    return fmt


def format_from_path(path: str | os.PathLike) -> str:
    """``.onnx`` → ``"onnx"``; ``.pt``/``.ts``/``.torchscript`` → ``"torchscript"``.

    Raises:
        ValueError: for any other extension.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".onnx":
        return "onnx"
    if suffix in (".pt", ".ts", ".torchscript", ".jit"):
        return "torchscript"
    raise InvalidValueError(f"cannot tell the export format of {str(path)!r}; use .onnx or .pt (TorchScript)")


def _cpu_copy(model: TransformerNet) -> TransformerNet:
    """A CPU fp32 eval copy, leaving the caller's model (device, dtype, mode) untouched."""
    _check_exportable(model)
    copy = TransformerNet(**model.model_args)
    copy.load_state_dict({k: v.detach().float().cpu() for k, v in model.state_dict().items()})
    return copy.eval()


def _check_exportable(model: nn.Module) -> None:
    """Only a one-style TransformerNet exports: its graph takes images alone."""
    if not isinstance(model, TransformerNet) or model.embedding_dim is not None or model.style_names:
        raise InvalidValueError(
            f"export takes a one-style network (a TransformerNet taking images alone), got a {type(model).__name__} "
            "that needs a style; fold it first: ArbitraryStyleNet.fold(embedding) or "
            "fast_style.models.surgery.fold_style(net, style)")


def export_model(model: TransformerNet, path: str | os.PathLike, fmt: str) -> Path:
    """Write ``model`` (CPU, fp32, eval) to ``path`` as ONNX or TorchScript with dynamic B, H, W.

    Args:
        model: the trained network (not modified: a CPU fp32 copy is exported).
        path: output file; parent folders are created.
        fmt: ``"onnx"`` or ``"torchscript"``.

    Returns:
        The path written.

    Raises:
        ValueError: unknown format, or a network that needs a style (an arbitrary-style or
            multi-style one: export its fold).
        ImportError: ONNX export without the ``onnx`` extra installed (names the extra).
    """
    _check_format(fmt)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    eager = _cpu_copy(model)
    example = torch.rand(*_EXAMPLE_SHAPE)
    if fmt == "torchscript":
        # Tracing, not scripting: the size checks in forward are Python-level and the
        # interpolate sizes are traced from the (dynamic) activation shapes.
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            # TorchScript is deprecated upstream but still the one format C++/mobile runtimes load.
            warnings.simplefilter("ignore", FutureWarning)
            traced = torch.jit.trace(eager, example, check_trace=False)
            traced.save(str(path))
        return path
    try:
        import onnxscript  # noqa: F401 - the dynamo exporter needs it
    except ImportError as error:
        raise MissingExtraError("ONNX export needs the 'onnx' extra: pip install 'fast_style[onnx]'") from error
    dims = {
        0: torch.export.Dim("batch", min=1),
        2: torch.export.Dim("height", min=MIN_SIZE),
        3: torch.export.Dim("width", min=MIN_SIZE),
    }
    with warnings.catch_warnings():
        # Only upstream API churn is silenced; any other exporter warning (a fallback, an
        # unsupported op, a specialised shape) reaches the user. parity() checks the result.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        torch.onnx.export(
            eager,
            (example,),
            str(path),
            dynamo=True,
            # One self-contained file (the weights are a few MB): a .data file beside it would be
            # named after the temporary file and lost at the rename.
            external_data=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes={"images": dims},
            opset_version=ONNX_OPSET,
            verbose=False,
        )
    return path


class OnnxRuntimeModel:
    """An ONNX file run by ONNX Runtime, callable like the network: (B, 3, H, W) → (B, 3, H, W).

    Args:
        path: the ``.onnx`` file from :func:`export_model`.
        device: ``"cpu"`` or ``"cuda"`` (the CUDA execution provider must be installed).
        threads: intra-op threads (``None``: ONNX Runtime's default, one per core).
    """

    def __init__(self, path: str | os.PathLike, device: str | torch.device = "cpu", threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as error:
            raise MissingExtraError("the onnxruntime backend needs the 'onnx' extra: pip install 'fast_style[onnx]'") from error
        self.device = torch.device(device)
        providers = ["CPUExecutionProvider"]
        if self.device.type == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise InvalidValueError(
                    "onnxruntime has no CUDAExecutionProvider here; install onnxruntime-gpu or use --device cpu")
            providers.insert(0, "CUDAExecutionProvider")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads is not None:
            options.intra_op_num_threads = int(threads)
        self.session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, images: Tensor) -> Tensor:
        array = images.detach().float().contiguous().cpu().numpy()
        (out,) = self.session.run(None, {self.input_name: array})
        return torch.from_numpy(np.ascontiguousarray(out)).to(images.device)


def load_exported(path: str | os.PathLike, device: str | torch.device = "cpu", fmt: str | None = None):
    """Open an exported file as a callable (B, 3, H, W) → (B, 3, H, W): ONNX Runtime or TorchScript.

    ``fmt`` (``"onnx"``/``"torchscript"``) for a file whose name does not say it (a temporary name).
    """
    fmt = format_from_path(path) if fmt is None else _check_format(fmt)
    if fmt == "onnx":
        return OnnxRuntimeModel(path, device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(path), map_location=torch.device(device)).eval()


@torch.inference_mode()
def parity(
    model: TransformerNet,
    path: str | os.PathLike,
    shapes: Sequence[tuple[int, int, int, int]] = ((1, 3, 37, 45), (2, 3, 64, 33), (1, 3, 130, 97)),
    seed: int = 0,
    fmt: str | None = None,
) -> float:
    """Largest absolute difference between the exported file and the eager network on random [0, 1] images.

    The shapes differ from the export example (other batch, odd, larger) so that a graph
    specialised to one size fails the check.
    """
    runner = load_exported(path, fmt=fmt)
    eager = _cpu_copy(model)
    generator = torch.Generator().manual_seed(seed)
    worst = 0.0
    for shape in shapes:
        images = torch.rand(*shape, generator=generator)
        worst = max(worst, float((runner(images).float() - eager(images)).abs().max()))
    return worst


def export_checked(model: TransformerNet, path: str | os.PathLike, fmt: str, tolerance: float = 1e-4) -> float:
    """Export, check parity, and only then give the file its final name: no bad or partial file is ever left there.

    The export is written under a temporary name beside ``path`` (:func:`fast_style.atomic.atomic_path`),
    checked with :func:`parity`, and renamed only when it is within ``tolerance``; the disk's
    free space is checked first.

    Returns:
        The largest absolute difference found (at most ``tolerance``).

    Raises:
        InvalidValueError: an unknown format, or an extension that names another format (``.pt``
            for ONNX).
        WriteError: not enough free space for the export (nothing is written).
        ParityError: the exported file is off by more than ``tolerance`` (it is removed).
    """
    _check_format(fmt)
    path = Path(path)
    try:
        named = format_from_path(path)
    except InvalidValueError:
        named = fmt  # an extension that names no format: the caller's choice stands
    if named != fmt:
        raise InvalidValueError(f"{str(path)!r} names a {named} file, not {fmt}; use .onnx for onnx and .pt for "
                                "torchscript")
    needed = sum(p.numel() * 4 for p in model.parameters()) + _EXPORT_OVERHEAD_BYTES
    free = shutil.disk_usage(check_writable(path.parent)).free
    if free < needed:
        raise WriteError(errno.ENOSPC, f"cannot write {str(path)!r}: no space left on the device "
                                       f"({free / 2**20:.1f} MB free, the export needs about {needed / 2**20:.0f} MB)")
    with atomic_path(path) as partial:
        export_model(model, partial, fmt)
        worst = parity(model, partial, fmt=fmt)
        if not worst <= tolerance:
            raise ParityError(f"the {fmt} export differs from the network by {worst:.2e} (tolerance {tolerance:.0e}); "
                              f"{str(path)!r} was not written")
    return worst
