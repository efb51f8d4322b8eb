"""Stylise videos frame by frame, streaming, with the sound kept and the flicker tamed.

A feed-forward network (Johnson, Alahi & Fei-Fei, ECCV 2016) stylises each frame in one pass,
so a video is a stream of photos: decode (PyAV) → batch → :func:`fast_style.infer.stylize.stylize`
→ encode H.264 (yuv420p) at the input's frame rate; the audio stream is copied packet by
packet, unchanged. Only one batch of frames (plus the codecs' own small buffers) is ever held,
so memory does not grow with the video's length.

Flicker: each frame stylised alone answers small changes between frames (motion, sensor noise,
compression) with visibly different strokes. Two remedies, both reset at scene cuts so that
one shot never smears into the next:

- ``temporal_smoothing=alpha`` (:class:`MomentSmoother`) replaces every instance norm's
  per-frame mean and variance (Ulyanov et al. 2016) by an exponential moving average across
  frames (``m_t = alpha·m_{t-1} + (1-alpha)·x_t``, through the fast engine's
  :data:`~fast_style.infer.fast_forward.MomentFilter` hook). It steadies colour shifts when the whole
  picture's statistics jump (lighting, exposure); measured on pans and on noisy still shots
  (``scripts/bench_video.py``, README) it changes the flicker by 1-2 % (up, not down): the moments of a
  whole frame barely move there.
- ``temporal_blend=strength`` (:class:`StillBlend`) keeps the previous stylised pixels where
  the input is still, which is where the shimmer is most visible.

Flicker is measured as in the video style-transfer literature's simplest form: the mean
absolute difference between consecutive output frames divided by that of the input frames
(pairs across a detected cut left out). 1 means the output changes as much as the input.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fast_style.atomic import atomic_path
from fast_style.errors import FastStyleError
from fast_style.infer.fast_forward import DEFAULT_STRIP_ELEMENTS, FastTransformerNet
from fast_style.infer.stylize import check_precision, stylize
from fast_style.models.transformer import MIN_SIZE, TransformerNet

# Containers written, by extension; all take H.264 video and AAC audio.
OUTPUT_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
# Mean absolute difference (in [0, 1]) between 16×16 colour thumbnails of consecutive frames
# above which a new shot starts. Slow pans and zooms stay far below it (≈0.01-0.03 on the demo
# clip); a cut between two unrelated photos lands well above (≈0.1-0.3).
DEFAULT_CUT_THRESHOLD = 0.08
_THUMBNAIL = 16


class VideoError(FastStyleError, ValueError):
    """The input is not a usable video, or an option does not fit it."""


@dataclass
class VideoResult:
    """What :func:`stylize_video` wrote and measured."""

    path: Path
    frames: int
    width: int
    height: int
    fps: Fraction
    audio: bool
    cuts: list[int] = field(default_factory=list)
    input_change: float = 0.0
    output_change: float = 0.0

    @property
    def duration(self) -> float:
        """Seconds of video written (frames / fps)."""
        return self.frames / float(self.fps)

    @property
    def flicker(self) -> float:
        """Output change / input change between consecutive frames (cuts left out); nan if static."""
        return self.output_change / self.input_change if self.input_change > 0 else math.nan


class MomentSmoother:
    """Exponential moving average of instance-norm moments across frames, reset at scene cuts.

    Call :meth:`begin` with each batch's cut flags, then run the batch through a
    :class:`FastTransformerNet` built with ``moment_filter=smoother``. Frames inside a batch are
    smoothed in order, so the result does not depend on the batch size.

    Args:
        alpha: weight of the previous frames, in [0, 1). 0 leaves every frame's own moments.
    """

    def __init__(self, alpha: float) -> None:
        if not isinstance(alpha, (int, float)) or not 0.0 <= float(alpha) < 1.0:
            raise ValueError(f"temporal smoothing alpha must be in [0, 1), got {alpha!r}")
        self.alpha = float(alpha)
        self._state: dict[int, tuple[Tensor, Tensor]] = {}
        self._starts: list[bool] = []

    def begin(self, starts_shot: list[bool]) -> None:
        """Flags for the next batch: ``starts_shot[i]`` resets the averages at frame ``i``."""
        self._starts = list(starts_shot)

    def __call__(self, norm: nn.Module, mean: Tensor, var: Tensor) -> tuple[Tensor, Tensor]:
        """(B, C) moments of one norm layer for the batch → the smoothed (B, C) moments."""
        if len(self._starts) != mean.shape[0]:
            raise RuntimeError(f"begin() was given {len(self._starts)} flags for a batch of {mean.shape[0]} frames")
        previous = self._state.get(id(norm))
        means, variances = [], []
        for index in range(mean.shape[0]):
            current = (mean[index], var[index])
            if previous is not None and not self._starts[index]:
                current = (torch.lerp(current[0], previous[0], self.alpha), torch.lerp(current[1], previous[1], self.alpha))
            means.append(current[0])
            variances.append(current[1])
            previous = current
        self._state[id(norm)] = previous
        return torch.stack(means), torch.stack(variances)


class StillBlend:
    """Hold the stylised picture where the input does not change: per-pixel blending with the last output.

    The network answers tiny input changes (sensor noise, compression) with visibly different
    strokes, and instance-norm moments barely move then, so :class:`MomentSmoother` cannot help
    there. Where the input is still, this keeps the previous output instead:
    ``out_t = w·out_{t-1} + (1-w)·styled_t`` with ``w = strength·exp(-(d/tolerance)²)`` and ``d``
    the input's change around each pixel (mean over channels, 5×5 box-averaged). Moving
    regions (``d`` ≫ tolerance) take the new frame, so nothing moving leaves a trail; the
    first frame of each shot is taken as it is.

    Args:
        strength: largest weight of the previous output, in [0, 1); 0 is off.
        tolerance: input change (in [0, 1] units) treated as still; about 2× the camera's noise.
    """

    def __init__(self, strength: float, tolerance: float = 0.03) -> None:
        if not isinstance(strength, (int, float)) or not 0.0 <= float(strength) < 1.0:
            raise ValueError(f"temporal blend strength must be in [0, 1), got {strength!r}")
        if not tolerance > 0:
            raise ValueError(f"temporal blend tolerance must be > 0, got {tolerance!r}")
        self.strength, self.tolerance = float(strength), float(tolerance)
        self._previous: tuple[Tensor, Tensor] | None = None

    def __call__(self, frames: Tensor, styled: Tensor, starts_shot: list[bool]) -> Tensor:
        """(B, 3, H, W) inputs and their stylised frames → the blended (B, 3, H, W) outputs, in order."""
        if self.strength == 0.0:
            return styled
        outputs = []
        for index in range(frames.shape[0]):
            current = styled[index]
            if self._previous is not None and not starts_shot[index]:
                previous_in, previous_out = self._previous
                change = (frames[index] - previous_in).abs().mean(dim=0, keepdim=True)
                change = F.avg_pool2d(change[None], 5, stride=1, padding=2, count_include_pad=False)[0]
                weight = torch.exp(-(change / self.tolerance).square()).mul_(self.strength)
                current = torch.lerp(current, previous_out, weight)
            outputs.append(current)
            self._previous = (frames[index], current)
        return torch.stack(outputs)


def thumbnails(frames: Tensor) -> Tensor:
    """(B, 3, H, W) frames → (B, 3, 16, 16) area-averaged thumbnails for cut detection."""
    return F.adaptive_avg_pool2d(frames, _THUMBNAIL)


def mean_abs_change(frames: Tensor, previous: Tensor | None) -> Tensor:
    """(B,) mean |frame_i - frame_{i-1}| over pixels and channels; frame_{-1} is ``previous`` (or NaN)."""
    before = torch.cat([previous[None] if previous is not None else torch.full_like(frames[:1], math.nan), frames[:-1]])
    return (frames - before).abs().mean(dim=(1, 2, 3))


def even_size(width: int, height: int, max_size: int | None) -> tuple[int, int]:
    """The encoded (width, height): longest side at most ``max_size``, both even (yuv420p needs it).

    An odd side loses one pixel by resampling (the whole picture is kept, squeezed by < 1 px).
    """
    scale = min(1.0, max_size / max(width, height)) if max_size else 1.0
    new_w, new_h = max(2, round(width * scale)), max(2, round(height * scale))
    new_w, new_h = new_w - new_w % 2, new_h - new_h % 2
    if min(new_w, new_h) < MIN_SIZE:
        raise VideoError(f"frames of {width}×{height} at --max-size {max_size} would be {new_w}×{new_h}; "
                         f"each side must be at least {MIN_SIZE} pixels")
    return new_w, new_h


def output_container_format(path: str | os.PathLike) -> str:
    """The muxer for an output file name; raises VideoError for extensions not written."""
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise VideoError(f"output {str(path)!r}: unsupported extension {suffix or '(none)'!r}; "
                         f"allowed: {', '.join(OUTPUT_FORMATS)}")
    return OUTPUT_FORMATS[suffix]


def _open_input(path: Path):  # -> av.container.InputContainer
    import av

    if not path.is_file():
        raise VideoError(f"input {str(path)!r} is not a file")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as error:
        raise VideoError(f"input {str(path)!r} is not a video PyAV can read ({error})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"input {str(path)!r} has no video stream")
    return container


def _frame_rate(stream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or rate <= 0:
        raise VideoError("the video stream does not declare a frame rate")
    return Fraction(rate)


def expected_frames(path: str | os.PathLike, start: float = 0.0, duration: float | None = None) -> int | None:
    """Frames :func:`stylize_video` will write (from the container's metadata; None if unknown)."""
    container = _open_input(Path(path))
    try:
        stream = container.streams.video[0]
        rate = _frame_rate(stream)
        if stream.duration is not None and stream.time_base is not None:
            seconds = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            seconds = container.duration / 1_000_000
        elif stream.frames:
            seconds = stream.frames / float(rate)
        else:
            return None
        seconds = max(0.0, seconds - start)
        if duration is not None:
            seconds = min(seconds, duration)
        return round(seconds * float(rate))
    finally:
        container.close()


def _batches(items: Iterator, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def stylize_video(
    model: TransformerNet,
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    *,
    max_size: int | None = None,
    strength: float = 1.0,
    preserve_color: bool = False,
    precision: str = "fp32",
    start: float = 0.0,
    duration: float | None = None,
    batch_size: int = 4,
    temporal_smoothing: float = 0.0,
    temporal_blend: float = 0.0,
    cut_threshold: float = DEFAULT_CUT_THRESHOLD,
    crf: int = 18,
    progress: Callable[[int], None] | None = None,
) -> VideoResult:
    """Stylise ``input_path`` into ``output_path`` (H.264, yuv420p, the input's frame rate, audio copied).

    Args:
        model: a trained :class:`TransformerNet` (from :func:`fast_style.infer.stylize.load_model`).
        input_path: any video PyAV (FFmpeg) decodes; its first video stream is stylised and its
            first audio stream, if any, copied unchanged.
        output_path: ``.mp4``/``.m4v``/``.mov``/``.mkv``; written under a temporary name and
            renamed when complete, so a failure never leaves a half-written file under this name.
        max_size: downsize so the longest side is at most this (pixels); both sides are made even.
        strength: 0 = the input frames, 1 = full style; between blends linearly.
        preserve_color: keep the frames' colours (luminance-only transfer).
        precision: ``"fp32"``, ``"bf16"`` (CPUs with native bf16, CUDA) or ``"fp16"`` (CUDA).
        start: first second to stylise (frames before it are skipped, audio trimmed to match).
        duration: seconds to stylise from ``start`` (default: to the end).
        batch_size: frames per forward pass; memory grows with it, not with the video's length.
        temporal_smoothing: alpha in [0, 1) of the moving average of instance-norm moments
            across frames (0 = off, every frame alone); reset at scene cuts.
        temporal_blend: strength in [0, 1) of :class:`StillBlend` (0 = off): where the input is
            still, keep the previous output; reset at scene cuts.
        cut_threshold: mean absolute thumbnail change (in [0, 1]) that starts a new shot.
        crf: x264 constant rate factor (0-51, lower = better quality, bigger file).
        progress: called with the number of frames written after each batch.

    Returns:
        A :class:`VideoResult` with the frame count, size, rate, detected cuts and flicker.

    Raises:
        VideoError: not a video, no video stream, no frame in the range, bad option.
    """
    import av

    if not isinstance(model, TransformerNet):
        raise TypeError(f"stylize_video needs a TransformerNet (load_model), got {type(model).__name__}")
    if batch_size < 1:
        raise VideoError(f"batch_size must be at least 1, got {batch_size}")
    if start < 0 or (duration is not None and duration <= 0):
        raise VideoError(f"start must be >= 0 and duration > 0, got start={start}, duration={duration}")
    if not 0 <= crf <= 51:
        raise VideoError(f"crf must be in [0, 51], got {crf}")
    if not 0.0 <= cut_threshold:
        raise VideoError(f"cut_threshold must be >= 0, got {cut_threshold}")
    smoother = MomentSmoother(temporal_smoothing)
    blend = StillBlend(temporal_blend)
    device = next(model.parameters()).device
    check_precision(precision, device)
    output_path = Path(output_path)
    muxer = output_container_format(output_path)
    source = _open_input(Path(input_path))
    # The fast engine is what carries the smoothing hook; on CPU it is also the fastest path.
    network = FastTransformerNet(model, DEFAULT_STRIP_ELEMENTS, moment_filter=smoother) if temporal_smoothing else model
    try:
        video_in = source.streams.video[0]
        video_in.thread_type = "AUTO"
        audio_in = source.streams.audio[0] if source.streams.audio else None
        rate = _frame_rate(video_in)
        width, height = even_size(video_in.codec_context.width, video_in.codec_context.height, max_size)
        end = start + duration if duration is not None else math.inf
        if start > 0:
            source.seek(int(start * 1_000_000), backward=True)  # to the keyframe before; frames are then skipped
        half_frame = 0.5 / float(rate)
        result = VideoResult(path=output_path, frames=0, width=width, height=height, fps=rate, audio=audio_in is not None)
        with _as_video_error(f"input {str(input_path)!r}", result), atomic_path(output_path) as partial:
            sink = av.open(str(partial), "w", format=muxer)
            try:
                video_out = sink.add_stream("libx264", rate=rate)
                video_out.width, video_out.height, video_out.pix_fmt = width, height, "yuv420p"
                video_out.options = {"crf": str(crf), "preset": "veryfast"}
                audio_out = sink.add_stream_from_template(audio_in) if audio_in is not None else None

                def frames_in_range() -> Iterator[Tensor]:
                    streams = [video_in] + ([audio_in] if audio_in is not None else [])
                    for packet in source.demux(*streams):
                        if packet.stream is audio_in:
                            _copy_audio(packet, audio_out, sink, start, end)
                            continue
                        for frame in packet.decode():
                            time = frame.time if frame.time is not None else 0.0
                            if time < start - half_frame:
                                continue
                            if time >= end - half_frame:
                                return
                            array = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA")
                            yield torch.from_numpy(array).permute(2, 0, 1)

                previous_in: Tensor | None = None
                previous_out: Tensor | None = None
                previous_thumb: Tensor | None = None
                for batch in _batches(frames_in_range(), batch_size):
                    frames = torch.stack(batch).to(device=device, dtype=torch.float32).div_(255.0)
                    thumbs = thumbnails(frames)
                    thumb_change = mean_abs_change(thumbs, previous_thumb)
                    starts = [bool(not change <= cut_threshold) for change in thumb_change]  # NaN (first frame) starts
                    smoother.begin(starts)
                    out = stylize(network, frames, strength=strength, preserve_color=preserve_color,
                                  precision=precision)
                    out = blend(frames, out, starts)
                    pairs = [i for i, cut in enumerate(starts) if not cut]
                    result.cuts += [result.frames + i for i, cut in enumerate(starts) if cut and result.frames + i > 0]
                    if pairs:
                        result.input_change += float(mean_abs_change(frames, previous_in)[pairs].sum())
                        result.output_change += float(mean_abs_change(out, previous_out)[pairs].sum())
                    previous_in, previous_out, previous_thumb = frames[-1], out[-1], thumbs[-1]
                    pixels = out.mul(255.0).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
                    for array in pixels:
                        frame = av.VideoFrame.from_ndarray(array, format="rgb24")
                        frame.pts = result.frames
                        frame.time_base = 1 / rate
                        sink.mux(video_out.encode(frame))
                        result.frames += 1
                    if progress is not None:
                        progress(len(batch))
                if result.frames == 0:
                    raise VideoError(f"input {str(input_path)!r} has no video frame between {start:g} s and "
                                     f"{'the end' if math.isinf(end) else f'{end:g} s'}")
                sink.mux(video_out.encode(None))
            finally:
                sink.close()
    finally:
        source.close()
    return result


@contextlib.contextmanager
def _as_video_error(what: str, result: VideoResult) -> Iterator[None]:
    """Turn FFmpeg's errors (a damaged packet mid-stream, an encoder refusing) into one VideoError line."""
    import av

    try:
        yield
    except av.error.FFmpegError as error:
        raise VideoError(f"{what}: FFmpeg failed after {result.frames} frames: {error}") from None


def _copy_audio(packet, audio_out, sink, start: float, end: float) -> None:
    """Remux one audio packet into the output if it lies in [start, end), shifted to start at 0."""
    if packet.dts is None or packet.pts is None:  # the demuxer's flush packet
        return
    time_base = packet.time_base
    begins = float(packet.pts * time_base)
    # From the beginning, every packet is kept: AAC's priming packet starts before 0 on purpose.
    if (start > 0 and begins < start) or begins >= end:
        return
    if start > 0:
        offset = round(start / time_base)
        packet.pts -= offset
        packet.dts -= offset
    packet.stream = audio_out
    sink.mux(packet)


__all__ = [
    "DEFAULT_CUT_THRESHOLD",
    "OUTPUT_FORMATS",
    "MomentSmoother",
    "StillBlend",
    "VideoError",
    "VideoResult",
    "even_size",
    "expected_frames",
    "mean_abs_change",
    "output_container_format",
    "stylize_video",
    "thumbnails",
]
