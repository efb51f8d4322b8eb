"""Stylise videos frame by frame, streaming, with the sound kept and the flicker tamed.

A feed-forward network (Johnson, Alahi & Fei-Fei, ECCV 2016) stylises each frame in one pass,
so a video is a stream of photos: decode (PyAV) → batch → :func:`fast_style.infer.stylize.stylize`
→ encode H.264 (yuv420p) at the input's frame rate; the audio stream is copied packet by
packet, unchanged. Only one batch of frames (plus the codecs' own small buffers) is ever held,
so memory does not grow with the video's length.

Flicker: each frame stylised alone answers small changes between frames (motion, sensor noise,
compression) with visibly different strokes. The remedy, ``temporal_blend=strength``
(:class:`StillBlend`), keeps the previous stylised pixels where the input is still, which is
where the shimmer is most visible; it is reset at scene cuts so that one shot never smears into
the next. (A moving average of the instance-norm moments across frames was tried and removed:
measured on pans and noisy still shots it changed the flicker by 1-2 %, up, not down; the
moments of a whole frame barely move there.)

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
from torch import Tensor

from fast_style.atomic import atomic_path
from fast_style.errors import FastStyleError, InvalidValueError
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


class StillBlend:
    """Hold the stylised picture where the input does not change: per-pixel blending with the last output.

    The network answers tiny input changes (sensor noise, compression) with visibly different
    strokes, while the instance-norm moments of the whole frame barely move. Where the input is
    still, this keeps the previous output instead:
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
            raise InvalidValueError(f"temporal blend strength must be in [0, 1), got {strength!r}")
        if not tolerance > 0:
            raise InvalidValueError(f"temporal blend tolerance must be > 0, got {tolerance!r}")
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


def check_time_range(start: float, duration: float | None) -> None:
    """``start`` (s) a finite number >= 0, ``duration`` (s) ``None`` or a finite number > 0.

    Raises:
        InvalidValueError: otherwise (NaN and infinity included), naming both.
    """
    # Written so that NaN fails too (every comparison with NaN is false), and infinity is no time.
    if not (math.isfinite(start) and start >= 0) or (duration is not None and not (math.isfinite(duration) and duration > 0)):
        raise InvalidValueError(f"start must be a finite number >= 0 and duration a finite number > 0, got "
                                f"start={start}, duration={duration}")


def check_video_options(*, batch_size: int = 4, crf: int = 18, cut_threshold: float = DEFAULT_CUT_THRESHOLD,
                        max_size: int | None = None) -> None:
    """:func:`stylize_video`'s encoding options, checked before any frame is decoded.

    Raises:
        InvalidValueError: ``batch_size`` < 1, ``crf`` outside x264's [0, 51], ``cut_threshold``
            negative or NaN (infinity is allowed: no cut is ever detected), ``max_size`` below
            :data:`~fast_style.models.transformer.MIN_SIZE`.
    """
    if batch_size < 1:
        raise InvalidValueError(f"batch_size must be at least 1, got {batch_size}")
    if not 0 <= crf <= 51:
        raise InvalidValueError(f"crf must be an integer in [0, 51] (x264's range, lower is better), got {crf}")
    if not cut_threshold >= 0.0:  # NaN fails too
        raise InvalidValueError(f"cut_threshold must be a number >= 0 (a thumbnail change in [0, 1]), got {cut_threshold}")
    if max_size is not None and max_size < MIN_SIZE:
        raise InvalidValueError(f"max_size must be at least {MIN_SIZE} pixels, got {max_size}")


def missing_frames_warning(written: int, expected: int | None) -> str | None:
    """A line saying that fewer frames decoded than the container announced (a truncated file), or ``None``.

    A frame or two (or 2 %) short is the metadata's rounding, not a cut file.
    """
    if expected is None or expected - written <= max(2, round(0.02 * expected)):
        return None
    return (f"decoded {written} of the {expected} frames the input announces (is it truncated?); "
            f"the output holds the {written} that decoded")


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
    model: TransformerNet, input_path: str | os.PathLike, output_path: str | os.PathLike, *,
    max_size: int | None = None, strength: float = 1.0, preserve_color: bool = False, precision: str = "fp32",
    start: float = 0.0, duration: float | None = None, batch_size: int = 4, temporal_blend: float = 0.0,
    cut_threshold: float = DEFAULT_CUT_THRESHOLD, crf: int = 18, progress: Callable[[int], None] | None = None,
) -> VideoResult:
    """Stylise ``input_path`` into ``output_path`` (H.264, yuv420p, the input's frame rate, audio copied).

    Args:
        model: a trained :class:`TransformerNet` (from :func:`fast_style.infer.stylize.load_model`).
        input_path: any video PyAV (FFmpeg) decodes; its first video stream is stylised and its
            first audio stream, if any, copied unchanged.
        output_path: ``.mp4``/``.m4v``/``.mov``/``.mkv``; written under a temporary name and
            renamed when complete, so a failure never leaves a half-written file under this name.
        max_size: downsize so the longest side is at most this (pixels); both sides are made even.
        strength, preserve_color, precision: as :func:`fast_style.infer.stylize.stylize` takes them.
        start: first second to stylise (frames before it are skipped, audio trimmed to match).
        duration: seconds to stylise from ``start`` (default: to the end).
        batch_size: frames per forward pass; memory grows with it, not with the video's length.
        temporal_blend: strength in [0, 1) of :class:`StillBlend` (0 = off): where the input is
            still, keep the previous output; reset at scene cuts.
        cut_threshold: mean absolute thumbnail change (in [0, 1]) that starts a new shot.
        crf: x264 constant rate factor (0-51, lower = better quality, bigger file).
        progress: called with the number of frames written after each batch.

    Returns:
        A :class:`VideoResult` with the frame count, size, rate, detected cuts and flicker.

    Raises:
        VideoError: not a video, no video stream, no frame in the range.
        InvalidValueError: a bad option (:func:`check_video_options`, :func:`check_time_range`).
    """
    device = _checked_device(model, precision, batch_size, start, duration, crf, cut_threshold, max_size)
    blend = StillBlend(temporal_blend)
    output_path = Path(output_path)
    muxer = output_container_format(output_path)
    source = _open_input(Path(input_path))
    try:
        reader = _FrameReader(source, start, duration, max_size)
        result = VideoResult(path=output_path, frames=0, width=reader.width, height=reader.height, fps=reader.rate,
                             audio=reader.audio is not None)
        meter = _FlickerMeter(cut_threshold, result)
        with _as_video_error(f"input {str(input_path)!r}", result), atomic_path(output_path) as partial, \
                _Encoder(partial, muxer, reader, crf, result) as encoder:
            for batch in _batches(reader.frames(encoder.copy_audio), batch_size):
                frames = torch.stack(batch).to(device=device, dtype=torch.float32).div_(255.0)
                starts = meter.shot_starts(frames)
                out = blend(frames, stylize(model, frames, strength=strength, preserve_color=preserve_color,
                                            precision=precision), starts)
                meter.add(frames, out, starts)
                encoder.write(out)
                if progress is not None:
                    progress(len(batch))
            if result.frames == 0:
                raise VideoError(f"input {str(input_path)!r} has no video frame between {start:g} s and "
                                 f"{'the end' if math.isinf(reader.end) else f'{reader.end:g} s'}")
            encoder.finish()
    finally:
        source.close()
    return result


def _checked_device(model: TransformerNet, precision: str, batch_size: int, start: float, duration: float | None,
                    crf: int, cut_threshold: float, max_size: int | None) -> torch.device:
    """The device ``model`` runs on, once :func:`stylize_video`'s options are checked."""
    if not isinstance(model, TransformerNet):
        raise TypeError(f"stylize_video needs a TransformerNet (load_model), got {type(model).__name__}")
    check_video_options(batch_size=batch_size, crf=crf, cut_threshold=cut_threshold, max_size=max_size)
    check_time_range(start, duration)
    device = next(model.parameters()).device
    check_precision(precision, device)
    return device


class _FrameReader:
    """The input's first video stream from ``start`` for ``duration`` seconds, at the output size.

    Args:
        source: the open input container (its first audio stream, if any, is what gets copied).
        start, duration, max_size: as :func:`stylize_video` takes them.
    """

    def __init__(self, source, start: float, duration: float | None, max_size: int | None) -> None:
        self.source = source
        self.video = source.streams.video[0]
        self.video.thread_type = "AUTO"
        self.audio = source.streams.audio[0] if source.streams.audio else None
        self.rate = _frame_rate(self.video)
        self.width, self.height = even_size(self.video.codec_context.width, self.video.codec_context.height, max_size)
        self.start = start
        self.end = start + duration if duration is not None else math.inf
        if start > 0:
            source.seek(int(start * 1_000_000), backward=True)  # to the keyframe before; frames are then skipped

    def frames(self, on_audio: Callable[[object, float, float], None]) -> Iterator[Tensor]:
        """(3, H, W) uint8 frames in [start, end); each audio packet met goes to ``on_audio(packet, start, end)``."""
        half_frame = 0.5 / float(self.rate)
        streams = [self.video] + ([self.audio] if self.audio is not None else [])
        for packet in self.source.demux(*streams):
            if packet.stream is self.audio:
                on_audio(packet, self.start, self.end)
                continue
            for frame in packet.decode():
                time = frame.time if frame.time is not None else 0.0
                if time < self.start - half_frame:
                    continue
                if time >= self.end - half_frame:
                    return
                array = frame.to_ndarray(format="rgb24", width=self.width, height=self.height, interpolation="AREA")
                yield torch.from_numpy(array).permute(2, 0, 1)


class _FlickerMeter:
    """Scene cuts (thumbnail change above ``cut_threshold``) and the frame-to-frame change, into ``result``."""

    def __init__(self, cut_threshold: float, result: VideoResult) -> None:
        self.cut_threshold, self.result = cut_threshold, result
        self.seen = 0
        self.thumbs: Tensor | None = None  # the current batch's
        self.previous: tuple[Tensor, Tensor, Tensor] | None = None  # the last input, output and thumbnail

    def shot_starts(self, frames: Tensor) -> list[bool]:
        """Per frame of the (B, 3, H, W) batch: does it start a shot? (The very first frame does.)"""
        self.thumbs = thumbnails(frames)
        change = mean_abs_change(self.thumbs, None if self.previous is None else self.previous[2])
        return [bool(not value <= self.cut_threshold) for value in change]  # NaN (first frame) starts

    def add(self, frames: Tensor, out: Tensor, starts: list[bool]) -> None:
        """Count the batch's cuts and its input and output change (pairs across a cut left out)."""
        pairs = [i for i, cut in enumerate(starts) if not cut]
        self.result.cuts += [self.seen + i for i, cut in enumerate(starts) if cut and self.seen + i > 0]
        if pairs:
            before_in, before_out = (None, None) if self.previous is None else self.previous[:2]
            self.result.input_change += float(mean_abs_change(frames, before_in)[pairs].sum())
            self.result.output_change += float(mean_abs_change(out, before_out)[pairs].sum())
        self.previous = (frames[-1], out[-1], self.thumbs[-1])
        self.seen += len(starts)


class _Encoder:
    """H.264 (yuv420p) at the input's frame rate into ``path``, with the input's audio stream copied.

    A context manager: the container is closed on leaving; :meth:`finish` flushes the encoder
    first. Every frame written is counted in ``result.frames`` at once, so that an FFmpeg error
    names how far it got.
    """

    def __init__(self, path: Path, muxer: str, reader: _FrameReader, crf: int, result: VideoResult) -> None:
        import av

        self.sink = av.open(str(path), "w", format=muxer)
        self.rate, self.result = reader.rate, result
        try:
            self.video = self.sink.add_stream("libx264", rate=reader.rate)
            self.video.width, self.video.height, self.video.pix_fmt = reader.width, reader.height, "yuv420p"
            self.video.options = {"crf": str(crf), "preset": "veryfast"}
            self.audio = self.sink.add_stream_from_template(reader.audio) if reader.audio is not None else None
        except BaseException:
            self.sink.close()
            raise

    def __enter__(self) -> _Encoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sink.close()

    def write(self, out: Tensor) -> None:
        """Encode (B, 3, H, W) frames in [0, 1]."""
        import av

        pixels = out.mul(255.0).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        for array in pixels:
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts = self.result.frames
            frame.time_base = 1 / self.rate
            self.sink.mux(self.video.encode(frame))
            self.result.frames += 1

    def copy_audio(self, packet, start: float, end: float) -> None:
        """Remux one audio packet if it lies in [start, end), shifted to start at 0."""
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
        packet.stream = self.audio
        self.sink.mux(packet)

    def finish(self) -> None:
        """Flush the frames the encoder still holds."""
        self.sink.mux(self.video.encode(None))


@contextlib.contextmanager
def _as_video_error(what: str, result: VideoResult) -> Iterator[None]:
    """Turn FFmpeg's errors (a damaged packet mid-stream, an encoder refusing) into one VideoError line."""
    import av

    try:
        yield
    except av.error.FFmpegError as error:
        raise VideoError(f"{what}: FFmpeg failed after {result.frames} frames: {error}") from None


__all__ = [
    "DEFAULT_CUT_THRESHOLD",
    "OUTPUT_FORMATS",
    "StillBlend",
    "VideoError",
    "VideoResult",
    "check_time_range",
    "even_size",
    "expected_frames",
    "mean_abs_change",
    "missing_frames_warning",
    "output_container_format",
    "stylize_video",
    "thumbnails",
]
