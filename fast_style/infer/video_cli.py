"""Command line of video stylisation (``scripts/stylize_video.py``): one clip in, one clip out.

Exit status (:func:`fast_style.cli.run`): 0 written, 1 the input could not be stylised (not a
video, no frames, ...), 2 a usage or setup error. The output appears only when complete. No
Lightning, no Hydra.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from fast_style.atomic import FULL_DISK_BYTES, check_writable
from fast_style.cli import (
    add_device_argument,
    add_network_arguments,
    add_precision_argument,
    add_style_image_arguments,
    command,
    resolve_source,
)
from fast_style.errors import EXIT_PARTIAL, InvalidValueError
from fast_style.infer.stylize import check_options, load_model, resolve_device
from fast_style.infer.video import (
    DEFAULT_CUT_THRESHOLD,
    VideoError,
    check_time_range,
    check_video_options,
    expected_frames,
    missing_frames_warning,
    output_container_format,
    stylize_video,
)
from fast_style.io import require_file


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Stylise a video with a trained fast_style network, frame by frame, keeping the sound.",
    )
    add_style_image_arguments(parser, add_network_arguments(parser))
    parser.add_argument("--input", required=True, help="the video to stylise (anything FFmpeg reads)")
    parser.add_argument("--output", required=True, help="output .mp4/.m4v/.mov/.mkv (H.264, yuv420p, audio copied)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    parser.add_argument("--max-size", type=int, default=None, help="downsize so the longest side is at most this")
    parser.add_argument("--strength", type=float, default=1.0, help="0 = the video, 1 = full style (default 1)")
    parser.add_argument("--preserve-color", action="store_true", help="keep the video's colours (luminance-only)")
    add_precision_argument(parser)
    add_device_argument(parser)
    parser.add_argument("--start", type=float, default=0.0, help="first second to stylise (default 0)")
    parser.add_argument("--duration", type=float, default=None, help="seconds to stylise (default: to the end)")
    parser.add_argument("--batch-size", type=int, default=4, help="frames per forward pass (memory grows with it)")
    parser.add_argument("--temporal-smoothing", nargs="?", const="", help=argparse.SUPPRESS)  # removed: main says so
    parser.add_argument("--temporal-blend", type=float, default=0.0, metavar="STRENGTH",
                        help="where the input is still, keep the previous stylised pixels (in [0, 1), e.g. 0.8; "
                             "reset at scene cuts): removes the shimmer of static scenes; 0 = off")
    parser.add_argument("--cut-threshold", type=float, default=DEFAULT_CUT_THRESHOLD,
                        help=f"thumbnail change that marks a scene cut (default {DEFAULT_CUT_THRESHOLD})")
    parser.add_argument("--crf", type=int, default=18, help="x264 quality, 0-51, lower is better (default 18)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _validate(args: argparse.Namespace) -> None:
    """The options, checked before the network is loaded (README: a usage error is exit 2, before the work)."""
    output_container_format(args.output)
    if Path(args.output).exists() and not args.overwrite:
        raise InvalidValueError(f"{args.output!r} exists; pass --overwrite to replace it")
    if Path(args.output).resolve() == Path(args.input).resolve():
        raise InvalidValueError("--output must differ from --input")
    check_time_range(args.start, args.duration)
    if not 0.0 <= args.temporal_blend < 1.0:
        raise InvalidValueError(f"--temporal-blend must be in [0, 1), got {args.temporal_blend}")
    check_video_options(batch_size=args.batch_size, crf=args.crf, cut_threshold=args.cut_threshold,
                        max_size=args.max_size)


@command
def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 written, 1 bad input video, 2 usage/setup error)."""
    args = build_parser().parse_args(argv)
    if args.temporal_smoothing is not None:
        raise InvalidValueError("--temporal-smoothing was removed (it did not lower the flicker); use --temporal-blend 0.8")
    started = time.perf_counter()
    _validate(args)
    resolved = resolve_source(args)
    require_file(args.input, "--input")  # after the network's name (cheap), before its weights are read
    device = resolve_device(args.device)
    model = load_model(resolved, device, style_image=args.style_image, style_image_size=args.style_image_size)
    check_options(model, strength=args.strength, precision=args.precision)
    check_writable(Path(args.output).parent, min_free=FULL_DISK_BYTES)  # read-only or full: exit 2 before the first frame

    from tqdm import tqdm

    try:
        total = expected_frames(args.input, args.start, args.duration)
        with tqdm(total=total, unit="frame", disable=args.quiet, file=sys.stderr) as bar:
            result = stylize_video(
                model, args.input, args.output, max_size=args.max_size, strength=args.strength,
                preserve_color=args.preserve_color, precision=args.precision, start=args.start,
                duration=args.duration, batch_size=args.batch_size, temporal_blend=args.temporal_blend,
                cut_threshold=args.cut_threshold, crf=args.crf, progress=bar.update,
            )
    except VideoError as error:
        error.exit_code = EXIT_PARTIAL  # the command line was fine; the input video is what failed
        raise
    elapsed = time.perf_counter() - started
    sound = "audio copied" if result.audio else "no audio in the input"
    print(f"{result.frames} frames ({result.duration:.2f} s at {float(result.fps):.3g} fps, {result.width}×{result.height}, "
          f"{sound}) written to {str(result.path)!r} in {elapsed:.1f} s ({result.frames / elapsed:.2f} frames/s); "
          f"flicker {result.flicker:.2f} (output/input change between frames), {len(result.cuts)} cut(s)")
    short = missing_frames_warning(result.frames, total)
    if short is not None:
        print(f"warning: {short}", file=sys.stderr)
        return EXIT_PARTIAL
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
