"""The inference path: load a trained style network and stylise images in one forward pass.

Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution", ECCV 2016: once trained, a style is applied to any photo by a single
forward pass of the TransformerNet. Colour preservation is the luminance-only transfer of
Gatys, Bethge, Hertzmann & Shechtman, "Preserving Color in Neural Artistic Style Transfer"
(arXiv 1606.05897, 2016).

Pure torch: importing or using this module never
imports Lightning or Hydra, so it runs on a laptop with only torch installed.

Typical use::

    from fast_style.infer.stylize import load_model, stylize
    model = load_model("checkpoints/starry_night.pth")
    out = stylize(model, images)            # (B, 3, H, W) in [0, 1] → same shape
    model = load_model(style_image="painting.jpg")   # any painting (Ghiasi et al. 2017), folded
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from torch import Tensor, nn

from fast_style import zoo
from fast_style.deprecated import renamed_keyword
from fast_style.errors import FastStyleError, InvalidValueError
from fast_style.infer.fast_forward import DEFAULT_STRIP_ELEMENTS, MIN_TILE, FastTransformerNet, tile_elements
from fast_style.machine import DEVICES, PRECISIONS
from fast_style.models.arbitrary import PAINTING_SIZE, ArbitraryStyleNet, prepare_painting
from fast_style.models.transformer import MIN_SIZE, TransformerNet
from fast_style.zoo.fold import read_arbitrary_network

_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
# The served arbitrary-style network (Magenta's, fine-tuned: docs/multistyle.md): any painting as a style. Its name
# in the zoo's registry (fast_style/zoo/index.json), which says where its file is: zoo.zoo_path(ARBITRARY_NETWORK).
ARBITRARY_NETWORK = "arbitrary"
# ITU-R BT.601 luma weights (the Y of JPEG's YCbCr), used for luminance-only transfer.
_LUMA = (0.299, 0.587, 0.114)


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None``/``"auto"`` → CUDA when available, else CPU; ``"cpu"``/``"cuda[:n]"`` as given.

    Raises:
        InvalidValueError: for an unknown device, or ``cuda`` on a machine without CUDA.
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise InvalidValueError(f"unknown device {device!r}; allowed: {', '.join(DEVICES)}") from error
    if resolved.type not in ("cpu", "cuda"):
        raise InvalidValueError(f"unsupported device {device!r}; allowed: {', '.join(DEVICES)}")
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InvalidValueError(f"device {device!r} was requested but CUDA is not available; use --device cpu or auto")
    return resolved


def load_model(
    source: str | os.PathLike | zoo.ResolvedStyle | None = None,
    device: str | torch.device | None = None,
    *,
    style_image: str | os.PathLike | None = None,
    style_image_size: int | None = None,
) -> TransformerNet:
    """Rebuild a trained TransformerNet, in eval mode, on ``device``; or make one from any painting.

    Args:
        source: what :func:`fast_style.zoo.resolve` takes: a checkpoint file (a slim
            ``checkpoints/<style>.pth`` or a Lightning ``.ckpt``; a file wins over a zoo name), the
            name of a shipped style (``"candy"``, see :func:`fast_style.zoo.available_styles`) or a
            resolved spec. Weights are float32 whatever the file stores (zoo files keep float16).
            With ``style_image``: an arbitrary-style network file, ``None`` for the shipped one.
        device: ``None``/``"auto"``, ``"cpu"``, ``"cuda"``.
        style_image: a painting (any image file) to use as the style: the arbitrary-style network
            (Ghiasi et al. 2017) folded for its embedding (:func:`painting_model`).
        style_image_size: the side the painting's centre square is read at (``None``: 256, the
            network's training size); it sets the stroke scale (larger: smaller strokes).

    Returns:
        The network; ``model.style_name`` holds the style's name (or ``None``).

    Raises:
        UnknownStyleError, InputFileError, CheckpointError: see :func:`fast_style.zoo.load`.
        InvalidValueError: neither a network nor a style image.
    """
    if style_image is not None:
        return painting_model(style_image, style_image_size or PAINTING_SIZE, device, network=source)
    if source is None:
        raise InvalidValueError("load_model needs a style network (a file or a shipped style's name) or style_image=")
    return zoo.load(source, resolve_device(device))


def load_arbitrary_network(path: str | os.PathLike | None = None) -> ArbitraryStyleNet:
    """The arbitrary-style network (float32, eval, CPU) of ``path``; ``None``: the zoo's (the registry's ``arbitrary``).

    Raises:
        CheckpointError: an unreadable file; InvalidValueError: a file holding another kind of network.
    """
    _, network = read_arbitrary_network(zoo.zoo_path(ARBITRARY_NETWORK) if path is None else path)
    return network.eval()


@torch.no_grad()
def painting_model(
    painting: str | os.PathLike,
    size: int = PAINTING_SIZE,
    device: str | torch.device | None = None,
    network: str | os.PathLike | None = None,
) -> TransformerNet:
    """The one-style network of any painting: the arbitrary-style network folded for its embedding.

    Ghiasi et al. (BMVC 2017): the predictor reads the painting's centre square at ``size`` pixels
    (:func:`fast_style.models.arbitrary.prepare_painting`); the transform network conditioned on its
    embedding folds into an ordinary TransformerNet, which :func:`stylize` runs at the photo's own
    size through the same engine as every other network.

    Raises:
        ImageReadError: an unreadable painting; InvalidValueError: a size below 32.
    """
    net = load_arbitrary_network(network)
    embedding = net.embed(prepare_painting(painting, size))
    model = net.fold(embedding[0]).eval().to(resolve_device(device))
    model.style_name = Path(painting).stem
    return model


def luminance(images: Tensor) -> Tensor:
    """BT.601 luma of (B, 3, H, W) RGB images → (B, 1, H, W)."""
    weights = images.new_tensor(_LUMA).view(1, 3, 1, 1)
    return (images * weights).sum(dim=1, keepdim=True)


def preserve_colors(stylised: Tensor, content: Tensor) -> Tensor:
    """Luminance-only transfer (Gatys et al. 2016, arXiv 1606.05897): the stylised Y with the photo's chroma.

    In YCbCr each RGB channel is Y plus a chroma term, so replacing the content's Y by the
    stylised one is adding the luma difference to every channel of the content.

    Args:
        stylised: (B, 3, H, W) in [0, 1].
        content: (B, 3, H, W) in [0, 1], the photo.

    Returns:
        (B, 3, H, W) in [0, 1], a new tensor.
    """
    return (content + (luminance(stylised) - luminance(content))).clamp_(0.0, 1.0)


@contextlib.contextmanager
def _autocast(device: torch.device, precision: str) -> Iterator[None]:
    if precision == "fp32":
        yield
        return
    with torch.autocast(device_type=device.type, dtype=_DTYPES[precision]):
        yield


def check_precision(precision: str, device: torch.device) -> None:
    """Raise InvalidValueError for an unknown precision, or fp16 on CPU (no fast fp16 convolutions there)."""
    if precision not in PRECISIONS:
        raise InvalidValueError(f"unknown precision {precision!r}; allowed: {', '.join(PRECISIONS)}")
    if precision == "fp16" and device.type != "cuda":
        raise InvalidValueError("precision 'fp16' needs a CUDA device; on CPU use fp32 (or bf16 on CPUs with AMX/AVX512-BF16)")


def _model_device(model: Callable[[Tensor], Tensor], fallback: torch.device) -> torch.device:
    if isinstance(model, nn.Module):
        for parameter in model.parameters():
            return parameter.device
    device = getattr(model, "device", None)
    return torch.device(device) if device is not None else fallback


def _is_channels_last(model: Callable[[Tensor], Tensor]) -> bool:
    if isinstance(model, nn.Module):
        for parameter in model.parameters():
            if parameter.dim() == 4:
                return parameter.is_contiguous(memory_format=torch.channels_last) and not parameter.is_contiguous()
    return False


def _forward(model: Callable[[Tensor], Tensor], content: Tensor, strip_size: int | None) -> Tensor:
    """Run ``model`` on (B, 3, H, W) ``content`` the way ``strip_size`` asks (see :func:`stylize`)."""
    if isinstance(model, TransformerNet):
        if strip_size:
            return FastTransformerNet(model, strip_elements=tile_elements(model, strip_size))(content)
        # The fast engine's rewrites are measured on CPU only; channels-last weights mean the
        # caller chose oneDNN's blocked layout for the module itself.
        if strip_size is None and content.device.type == "cpu" and not _is_channels_last(model):
            return FastTransformerNet(model, strip_elements=DEFAULT_STRIP_ELEMENTS)(content)
    if _is_channels_last(model):
        content = content.contiguous(memory_format=torch.channels_last)
    return model(content)


def check_options(
    model: Callable[[Tensor], Tensor], *, strength: float = 1.0, strip_size: int | None = None, precision: str = "fp32",
    fallback_device: torch.device | None = None, tile: int | None = None,
) -> torch.device:
    """Raise InvalidValueError for options :func:`stylize` cannot honour with ``model``, before any work.

    :func:`stylize` calls it; a command calls it once after loading the network so that a bad
    option stops it before any photo is read. ``tile`` is the deprecated name of ``strip_size``.

    Returns:
        The device ``model`` runs on (``fallback_device``, else CPU, for a callable that does not say).
    """
    if not isinstance(strength, (int, float)) or not 0.0 <= float(strength) <= 1.0:
        raise InvalidValueError(f"strength must be a number in [0, 1], got {strength!r}")
    strip_size = renamed_keyword(strip_size, tile, "tile", "strip_size")
    if strip_size is not None and not isinstance(model, TransformerNet):
        raise InvalidValueError(f"strip_size={strip_size} needs a TransformerNet (the torch backend), "
                                f"got {type(model).__name__}")
    if strip_size is not None and strip_size != 0:
        try:
            tile_elements(model, strip_size)  # type: ignore[arg-type]
        except ValueError:
            raise InvalidValueError(f"strip_size must be an integer of at least {MIN_TILE} pixels, got {strip_size!r} "
                                    "(or 0: the network's plain forward, whole image)") from None
    device = _model_device(model, fallback_device or torch.device("cpu"))
    check_precision(precision, device)
    return device


class NonFiniteOutputError(FastStyleError, ValueError):
    """The network computed NaN/inf for an image (broken weights or a precision overflow)."""


def _check_images(images: Tensor) -> None:
    """Raise InvalidValueError for anything but (B, 3, H, W) or (3, H, W) images of at least 5 × 5 pixels."""
    if not isinstance(images, Tensor) or images.dim() not in (3, 4) or images.shape[-3] != 3:
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise InvalidValueError(f"expected (B, 3, H, W) or (3, H, W) images, got {shape}")
    if min(images.shape[-2:]) < MIN_SIZE:
        raise InvalidValueError(f"images must be at least {MIN_SIZE}×{MIN_SIZE} pixels, got {tuple(images.shape[-2:])}")


def stylize(
    model: Callable[[Tensor], Tensor],
    images: Tensor,
    *,
    strength: float = 1.0,
    preserve_color: bool = False,
    strip_size: int | None = None,
    precision: str = "fp32",
    tile: int | None = None,
) -> Tensor:
    """Stylise images with a trained network in one forward pass.

    Args:
        model: a :class:`TransformerNet` (from :func:`load_model`), or any callable mapping
            (B, 3, H, W) → (B, 3, H, W) in [0, 1] (a compiled module, an ONNX Runtime runner).
        images: (B, 3, H, W) or (3, H, W) float tensor in [0, 1]; H, W ≥ 5; any device.
        strength: 0 gives the photo back, 1 the full style; values between blend linearly.
        preserve_color: keep the photo's colours (luminance-only transfer).
        strip_size: how a :class:`TransformerNet` runs. ``None`` (default): on CPU, the exact fast
            engine :class:`fast_style.infer.fast_forward.FastTransformerNet` in pieces of about
            256×256 pixels (bounded memory at any size; the fastest CPU path measured by
            ``scripts/bench_stylize.py``); on CUDA, the module's own forward. ``N ≥ 16``: the
            fast engine in pieces of about N×N pixels on any device (see :func:`fast_style.infer.fast_forward.tile_elements`).
            ``0``: the module's own forward, whole image at once. All give the same result
            (whole-image norm statistics) up to float rounding.
        precision: ``"fp32"``, or ``"fp16"``/``"bf16"`` autocast (fp16 on CUDA only).
        tile: the deprecated name of ``strip_size`` (it warns; see CHANGELOG.md).

    Returns:
        Float32 tensor of the input's shape, in [0, 1], on the input's device. The input is
        never modified.

    Raises:
        InvalidValueError: for a bad shape, size, strength, precision or strip size.
        NonFiniteOutputError: if the network's output is not finite.
    """
    _check_images(images)
    strip_size = renamed_keyword(strip_size, tile, "tile", "strip_size")
    device = check_options(model, strength=strength, strip_size=strip_size, precision=precision,
                           fallback_device=images.device)
    single = images.dim() == 3
    batch = images.unsqueeze(0) if single else images
    content = batch.to(device=device, dtype=torch.float32)
    if strength == 0.0:
        out = content.clone()
    else:
        with torch.inference_mode(), _autocast(device, precision):
            out = _forward(model, content, strip_size)
        if not torch.isfinite(out).all():
            # Clamped and saved, NaN becomes a black image: refuse it instead of writing one.
            raise NonFiniteOutputError("the network's output has NaN/inf values (its weights are out of range, or "
                                       f"{precision} overflowed); nothing was written for this image")
        out = out.float().clamp(0.0, 1.0).contiguous()
        if preserve_color:
            out = preserve_colors(out, content)
        if strength < 1.0:
            out = torch.lerp(content, out, float(strength))
    out = out.to(images.device)
    return out[0] if single else out


__all__ = [
    "ARBITRARY_NETWORK",
    "DEVICES",
    "NonFiniteOutputError",
    "PRECISIONS",
    "check_options",
    "check_precision",
    "load_arbitrary_network",
    "load_model",
    "luminance",
    "painting_model",
    "preserve_colors",
    "resolve_device",
    "stylize",
]
