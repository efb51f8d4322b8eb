"""An exact, leaner forward pass of a trained TransformerNet for inference.

The module definition in :mod:`fast_style.models.transformer` is the paper's network
(Johnson, Alahi & Fei-Fei, ECCV 2016) written for training: reflection pad → conv → norm →
ReLU as separate modules, and nearest-neighbour upsampling followed by a 3×3 convolution
(Odena et al., Distill 2016). At inference most of the time outside the convolutions goes
into moving full-resolution tensors: the 2× upsampled activation and its padded copy alone
are 2 × 64 channels at full resolution before the last upsampling convolution. This module
runs the same weights with four rewrites that change no result beyond float rounding:

1. **Upsample + conv as a sub-pixel convolution** (:mod:`fast_style.models.conv_rewrites`):
   4 phases of 2×2 kernels on the low-resolution input, 4/9 of the multiply-adds, and the
   upsampled tensors never exist. Used whenever the upsampling is exactly ×2 in both
   directions; other sizes (an odd side) take the plain path for that layer.
2. **Instance-norm moments from sums.** ``torch.var_mean`` runs ~30× slower than plain sums
   on CPU; mean and variance come from E[x] and E[x²] (exact fallback where that is
   ill-conditioned), and norm + ReLU are applied in place.
3. **The 9×9 head on the space-to-depth input** (same module): a 5×5 convolution to 12
   channels and pixel_shuffle instead of a 9×9 one to 3, which oneDNN runs ~3× slower (a head
   with a norm, as in Ghiasi et al.'s network, too: the norm follows on the whole image).
4. **Row strips with whole-image statistics.** Each layer is computed in strips of output
   rows (reflection padding folded into gather indices) written into one whole-image output;
   instance-norm statistics are then reduced over the whole image, so strips leave no seams
   (per-tile statistics would). Memory is bounded by two whole-image activations plus one
   strip's temporaries instead of the several full-resolution copies (pads, upsampled
   images) the module's forward keeps alive. Small images run each layer in one strip.
   This is the tiled inference for images too big for memory: ``stylize(strip_size=N)`` sets the
   strip budget to an N × N piece of the widest layer (:func:`tile_elements`).

Every convolution not rewritten is the module's own, so weights are shared, not copied.

Shapes: (B, 3, H, W) in [0, 1] → (B, 3, H, W), exactly as ``model(images)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fast_style.errors import InvalidValueError
from fast_style.models.conv_rewrites import space_to_depth_conv, space_to_depth_weights, subpixel_conv, subpixel_weights
from fast_style.models.transformer import MIN_SIZE, ConvNormAct, ResidualBlock, TransformerNet, pad_for_space_to_depth

# Elements of one strip's input gather or convolution output: 8 MB in fp32, a 256×256 piece
# of the default 32-channel full-resolution layers. Measured fastest on the 2-core CPU at 512²,
# 1024² and 4K (scripts/bench_stylize.py): strips this small stay in cache and below glibc's
# mmap threshold (no page faults per strip), and bound memory to two whole-image activations.
DEFAULT_STRIP_ELEMENTS = 1 << 21
# Smallest piece side accepted from a caller (``stylize(strip_size=N)``, ``--strip-size N``).
MIN_TILE = 16


def tile_elements(model: TransformerNet, tile: int) -> int:
    """Strip budget (elements) of a ``tile × tile`` piece of ``model``'s widest full-resolution layer.

    Raises:
        InvalidValueError: if ``tile`` is not an integer of at least :data:`MIN_TILE`.
    """
    if isinstance(tile, bool) or not isinstance(tile, int) or tile < MIN_TILE:
        raise InvalidValueError(f"tile must be an integer of at least {MIN_TILE} pixels, got {tile!r}")
    return tile * tile * model.stem.conv.out_channels


def instance_moments(x: Tensor, dims: tuple[int, ...] = (2, 3)) -> tuple[Tensor, Tensor]:
    """Per-image, per-channel mean and biased variance of ``x`` over ``dims`` (the spatial ones).

    ``torch.var_mean`` uses a Welford reduction that runs ~30× slower on CPU than plain sums, so
    the moments come from E[x] and E[x²] (both reductions without temporaries). That formula
    loses precision when the mean dwarfs the spread; those (image, channel) pairs (variance
    below 1 % of E[x²]) are recomputed exactly with ``torch.var_mean``.

    Args:
        x: activation, e.g. (B, C, H, W) with ``dims=(2, 3)`` or NHWC (B, H, W, C) with ``dims=(1, 2)``.

    Returns:
        ``(mean, var)``, each with ``dims`` reduced away (e.g. (B, C)), float32.
    """
    count = 1
    for dim in dims:
        count *= x.shape[dim]
    mean = x.mean(dim=dims, dtype=torch.float32)
    mean_square = torch.linalg.vector_norm(x, ord=2, dim=dims, dtype=torch.float32).square_().div_(count)
    var = (mean_square - mean.square()).clamp_(min=0.0)
    unsafe = var < 1e-2 * mean_square
    if bool(unsafe.any()):
        exact_var, exact_mean = torch.var_mean(x.float(), dim=dims, correction=0)
        var = torch.where(unsafe, exact_var, var)
        mean = torch.where(unsafe, exact_mean, mean)
    return mean, var


def _norm_relu_(x: Tensor, norm: nn.Module | None, relu: bool) -> Tensor:
    """Apply ``norm`` (as the module would in eval mode) and ReLU to NCHW ``x`` in place."""
    if isinstance(norm, nn.InstanceNorm2d) and not norm.track_running_stats:
        # Per image and channel over H×W, biased variance: InstanceNorm2d's definition.
        mean, var = instance_moments(x)
        scale = torch.rsqrt(var + norm.eps)
        if norm.weight is not None:
            scale = scale * norm.weight
        shift = -mean * scale
        if norm.bias is not None:
            shift = shift + norm.bias
        torch.addcmul(shift[:, :, None, None].to(x.dtype), x, scale[:, :, None, None].to(x.dtype), out=x)
    elif norm is not None:
        x = norm(x)
    if relu:
        x.clamp_(min=0)
    return x


def _strips(total: int, rows: int) -> Iterator[tuple[int, int]]:
    """``[start, stop)`` row ranges of at most ``rows`` rows covering ``range(total)``."""
    for start in range(0, total, rows):
        yield start, min(start + rows, total)


def _rows_per_strip(strip_elements: int, elements_per_row: int) -> int:
    return max(1, strip_elements // max(1, elements_per_row))


def _reflect(index: Tensor, size: int) -> Tensor:
    """Map indices in [-size+1, 2·size-2] into [0, size) the way ReflectionPad2d does (no edge repeat)."""
    if size == 1:
        return torch.zeros_like(index)
    index = index.abs()
    return torch.where(index >= size, 2 * (size - 1) - index, index)


def _nearest_source(src: int, dst: int) -> Tensor:
    """Source index of each of ``dst`` outputs of ``F.interpolate(mode="nearest")`` from ``src`` inputs.

    Asked from ``F.interpolate`` itself so that rounding matches the module's forward exactly.
    """
    probe = torch.arange(src, dtype=torch.float64).view(1, 1, src, 1)
    return F.interpolate(probe, size=(dst, 1), mode="nearest").view(dst).long()


def _padded_rows(x: Tensor, start: int, stop: int, pad: int, mode: str) -> Tensor:
    """Rows ``[start - pad, stop + pad)`` of ``x`` (B, C, H, W) padded by ``pad`` with ``mode``, columns too.

    Returns:
        (B, C, stop - start + 2·pad, W + 2·pad); the whole image takes one ``F.pad`` (no gather).
    """
    height = x.shape[-2]
    if start == 0 and stop == height:
        return F.pad(x, (pad,) * 4, mode=mode)
    index = torch.arange(start - pad, stop + pad)
    index = _reflect(index, height) if mode == "reflect" else index.clamp_(0, height - 1)
    return F.pad(x.index_select(2, index.to(x.device)), (pad, pad, 0, 0), mode=mode)


class _RowWriter:
    """Collects strips of rows into one whole-image tensor, allocated on the first strip.

    Allocating from the first result (not the input) gives the dtype autocast chose; a single
    strip covering every row is returned as is, without a copy.
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape
        self.out: Tensor | None = None

    def write(self, start: int, result: Tensor) -> None:
        if self.out is None and start == 0 and result.shape[-2] == self.shape[-2]:
            self.out = result
            return
        if self.out is None:
            self.out = result.new_empty(self.shape)
        self.out[..., start:start + result.shape[-2], :] = result

    def result(self) -> Tensor:
        if self.out is None:
            raise RuntimeError(f"no rows were written into an output of shape {self.shape}")
        return self.out


def _conv_block(
    block: ConvNormAct,
    x: Tensor,
    strip_elements: int,
    upsample_to: tuple[int, int] | None = None,
) -> Tensor:
    """Reflection pad → conv → norm → ReLU over strips of output rows; norm and ReLU in place.

    Args:
        block: the block (its modules are read; the conv is called on each strip).
        x: (B, C_in, h, w) activation.
        strip_elements: bound on the elements of one strip's input gather or conv output.
        upsample_to: if given, the conv sees ``x`` nearest-upsampled to this (H, W); the
            upsampled image is never materialised (its rows and columns are gathered by index).

    Returns:
        (B, C_out, H_out, W_out); normalisation statistics come from the whole image.
    """
    pad, conv = block.padding, block.conv
    kernel, stride = conv.kernel_size[0], conv.stride[0]
    batch, in_channels, h, w = x.shape
    height, width = upsample_to if upsample_to is not None else (h, w)
    out_h = (height + 2 * pad - kernel) // stride + 1
    out_w = (width + 2 * pad - kernel) // stride + 1
    per_row = batch * max(stride * (width + 2 * pad) * in_channels, out_w * conv.out_channels)
    rows = _rows_per_strip(strip_elements, per_row)
    writer = _RowWriter((batch, conv.out_channels, out_h, out_w))
    if upsample_to is None:
        for r0, r1 in _strips(out_h, rows):
            # Input rows r0·s - pad … (r1-1)·s + k - 1 - pad; one strip reads the whole image.
            stop = height if r1 == out_h else (r1 - 1) * stride + kernel - 2 * pad
            writer.write(r0, conv(_padded_rows(x, r0 * stride, stop, pad, "reflect")))
    else:
        row_source = _nearest_source(h, height)
        col_index = _nearest_source(w, width)[_reflect(torch.arange(-pad, width + pad), width)].to(x.device)
        for r0, r1 in _strips(out_h, rows):
            index = row_source[_reflect(torch.arange(r0 * stride - pad, (r1 - 1) * stride + kernel - pad), height)]
            writer.write(r0, conv(x.index_select(2, index.to(x.device)).index_select(3, col_index)))
    return _norm_relu_(writer.result(), block.norm, block.relu)


def _upsample_conv_block(
    block: ConvNormAct,
    x: Tensor,
    size: tuple[int, int],
    cache: dict,
    strip_elements: int,
) -> Tensor:
    """Nearest upsample of ``x`` to ``size`` → reflection pad → conv → norm → ReLU.

    Args:
        block: the UpsampleConv's ConvNormAct.
        x: (B, C_in, h, w).
        size: (H, W) output size; the sub-pixel path runs when (H, W) == (2h, 2w).
        cache: per-model store of the collapsed weights (computed once per block).
        strip_elements: bound on the elements of one strip's input gather or conv output.

    Returns:
        (B, C_out, H, W).
    """
    conv = block.conv
    batch, in_channels, h, w = x.shape
    if tuple(size) != (2 * h, 2 * w) or block.padding != 1 or conv.kernel_size != (3, 3) or conv.stride != (1, 1):
        return _conv_block(block, x, strip_elements, upsample_to=tuple(size))
    weights = _cached(cache, "subpixel", conv, subpixel_weights)
    rows = _rows_per_strip(strip_elements, batch * (w + 2) * max(in_channels, 4 * conv.out_channels))
    whole: Tensor | None = None  # (B, C, h, 2, w, 2): output row 2k + r, column 2l + c at [k, r, l, c]
    for k0, k1 in _strips(h, rows):
        padded = _padded_rows(x, k0, k1, 1, "replicate")
        if whole is None:
            # Allocated from the first strip's result: the dtype autocast chose for the conv.
            first = subpixel_conv(padded, weights)
            if k1 == h:
                whole = first.view(batch, conv.out_channels, h, 2, w, 2)
                break
            whole = first.new_empty((batch, conv.out_channels, h, 2, w, 2))
            whole[:, :, k0:k1] = first.view(batch, conv.out_channels, k1 - k0, 2, w, 2)
            del first
        else:
            # Small-image rows k0 … k1-1 are output rows 2·k0 … 2·k1-1, written in place.
            subpixel_conv(padded, weights, out=whole[:, :, k0:k1])
    if whole is None:
        raise RuntimeError(f"no rows to upsample in an input of shape {tuple(x.shape)}")
    return _norm_relu_(whole.view(batch, conv.out_channels, 2 * h, 2 * w), block.norm, block.relu)


def _head_block(block: ConvNormAct, x: Tensor, cache: dict, strip_elements: int) -> Tensor:
    """The last conv (to RGB) through the space-to-depth rewrite, in row strips.

    A head with a norm (``head_norm``: Ghiasi et al.'s network normalises its 3 channels before
    the sigmoid) takes the same rewrite; the norm is applied once every strip is written, on
    whole-image statistics, as in :func:`_conv_block`.
    """
    pad, conv = block.padding, block.conv
    if conv.out_channels > 4 or conv.stride != (1, 1) or conv.kernel_size[0] % 2 == 0:
        return _conv_block(block, x, strip_elements)
    batch, in_channels, height, width = x.shape
    weights = _cached(cache, "space_to_depth", conv, space_to_depth_weights)
    rows = _rows_per_strip(strip_elements, batch * (width + 2 * pad + 1) * in_channels)
    writer = _RowWriter((batch, conv.out_channels, height, width))
    for r0, r1 in _strips(height, rows):
        writer.write(r0, space_to_depth_conv(_padded_rows(x, r0, r1, pad, "reflect"), conv, weights))
    return _norm_relu_(writer.result(), block.norm, block.relu)


def _cached(
    cache: dict, kind: str, conv: nn.Conv2d, build: Callable[[nn.Conv2d], tuple[Tensor, Tensor | None]]
) -> tuple[Tensor, Tensor | None]:
    # The rewritten weights are kept with a copy of the weights they came from: moving,
    # casting, loading or editing the model's weights in place is never served stale ones
    # (comparing a few thousand numbers per call costs nothing next to the convolutions).
    key = (kind, id(conv))
    entry = cache.get(key)
    source = (conv.weight, conv.bias)
    if entry is None or not all(_same(a, b) for a, b in zip(entry[0], source)):
        entry = (tuple(None if t is None else t.detach().clone() for t in source), build(conv))
        cache[key] = entry
    return entry[1]


def _same(kept: Tensor | None, current: Tensor | None) -> bool:
    if kept is None or current is None:
        return kept is current
    return kept.device == current.device and kept.dtype == current.dtype and torch.equal(kept, current)


class FastTransformerNet(nn.Module):
    """Inference-only view of a trained :class:`TransformerNet`: same weights, same outputs, faster.

    Holds a reference to ``model`` (weights are shared, not copied) and the rewritten weights of
    its two upsampling layers and head, computed on first use. Use it for inference only: it
    never builds an autograd graph and reads batch-norm running statistics as in eval mode.

    Args:
        model: a TransformerNet (put in eval mode by the caller, as :func:`fast_style.infer.stylize.load_model` does).
        strip_elements: bound on the elements (not bytes) of one strip's temporaries; images
            with a layer smaller than this run that layer in one piece. The default, 2**21
            (8 MB in fp32), is a 256×256 piece of the default model's widest layer;
            :func:`tile_elements` gives the budget of a ``tile × tile`` piece.

    Shapes:
        forward: (B, 3, H, W) in [0, 1], H, W ≥ 5 → (B, 3, H, W).
    """

    def __init__(self, model: TransformerNet, strip_elements: int = DEFAULT_STRIP_ELEMENTS) -> None:
        super().__init__()
        if not isinstance(model, TransformerNet):
            raise TypeError(f"FastTransformerNet wraps a TransformerNet, got {type(model).__name__}")
        if isinstance(strip_elements, bool) or not isinstance(strip_elements, int) or strip_elements < 1:
            raise InvalidValueError(f"strip_elements must be a positive integer, got {strip_elements!r}")
        self.model = model
        self.strip_elements = strip_elements
        self._weight_cache: dict[tuple, tuple[Tensor, Tensor | None]] = {}
        self.model_args = model.model_args

    @torch.inference_mode()
    def forward(self, images: Tensor) -> Tensor:
        """Stylise (B, 3, H, W) images in [0, 1]; the same result as ``TransformerNet.forward``.

        The caller's tensor is never modified.
        """
        if images.dim() != 4 or images.shape[1] != 3:
            raise InvalidValueError(f"expected (B, 3, H, W) images, got shape {tuple(images.shape)}")
        if min(images.shape[-2:]) < MIN_SIZE:
            raise InvalidValueError(f"images must be at least {MIN_SIZE}×{MIN_SIZE} pixels, got {tuple(images.shape[-2:])}")
        net = self.model
        images = images.to(next(net.parameters()).dtype)
        if net.space_to_depth:
            height, width = images.shape[-2:]
            blocks = F.pixel_unshuffle(pad_for_space_to_depth(images), 2)
            head = _conv_block(net.head, self._body(blocks), self.strip_elements)
            return net.activate(F.pixel_shuffle(head, 2)[..., :height, :width])
        return net.activate(_head_block(net.head, self._body(images), self._weight_cache, self.strip_elements))

    def _body(self, images: Tensor) -> Tensor:
        """Stem to the last upsampling layer, as ``TransformerNet._body``."""
        net, budget, cache = self.model, self.strip_elements, self._weight_cache
        # Each assignment drops the previous activation: at full and half resolution at most
        # two whole-image activations (a layer's input and output) plus one strip's
        # temporaries are alive; the quarter-resolution residual blocks hold three.
        x = _conv_block(net.stem, images, budget)
        full = tuple(x.shape[-2:])
        x = _conv_block(net.down1, x, budget)
        half = tuple(x.shape[-2:])
        x = _conv_block(net.down2, x, budget)
        for block in net.residuals:
            if not isinstance(block, ResidualBlock):
                raise TypeError(f"expected ResidualBlocks, got {type(block).__name__}")
            y = _conv_block(block.body[0], x, budget)
            y = _conv_block(block.body[1], y, budget)
            x = y.add_(x)
            del y
        x = _upsample_conv_block(net.up1.conv, x, half, cache, budget)
        return _upsample_conv_block(net.up2.conv, x, full, cache, budget)


__all__ = ["DEFAULT_STRIP_ELEMENTS", "MIN_TILE", "FastTransformerNet", "instance_moments", "space_to_depth_weights",
           "subpixel_weights", "tile_elements"]
