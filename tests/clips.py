"""Test clips made from still photos: slow pans and zooms (one shot per photo), cuts between, a tone.

No video is mirrored with the assets, so the video path is measured on clips made here from the
COCO photos: each shot glides a crop window across one photo while zooming in a little (the
"Ken Burns" move), which gives the small frame-to-frame changes that make stylised video
flicker, and the change of photo is a hard cut.

Test tooling, not part of the installed package: ``tests/test_video.py`` imports it as
``tests.clips`` and ``scripts/bench_video.py`` (run from a checkout, like every bench) the same way.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from fast_style.atomic import atomic_path
from fast_style.infer.video import output_container_format

AUDIO_RATE = 44_100


def _shot_frames(
    photo: Image.Image, width: int, height: int, count: int, zoom: float, pan: float, noise: float, seed: int
) -> Iterator[np.ndarray]:
    """Yield ``count`` frames (H, W, 3) uint8 panning left to right across ``photo`` while zooming by ``zoom``.

    A generator, so that a long shot (a ten-minute memory benchmark) never sits in memory whole.
    """
    generator = np.random.default_rng(seed)
    # The crop window has the output's aspect ratio and starts as large as the photo allows.
    aspect = width / height
    base_w = min(photo.width, photo.height * aspect)
    for index in range(count):
        progress = index / max(1, count - 1)
        crop_w = base_w / (1.0 + (zoom - 1.0) * progress)
        crop_h = crop_w / aspect
        left = (photo.width - crop_w) * (0.5 + pan * (progress - 0.5))
        top = (photo.height - crop_h) / 2
        box = (left, top, left + crop_w, top + crop_h)
        frame = np.asarray(photo.resize((width, height), Image.Resampling.BILINEAR, box=box))
        if noise > 0:  # a camera's sensor noise, fresh in every frame
            frame = np.clip(frame + generator.normal(0.0, noise, frame.shape), 0, 255).round().astype(np.uint8)
        yield frame


def make_clip(
    photos: Sequence[str | os.PathLike],
    path: str | os.PathLike,
    *,
    width: int = 1280,
    height: int = 720,
    fps: int = 25,
    seconds_per_shot: float = 5.0,
    zoom: float = 1.15,
    pan: float = 1.0,
    noise: float = 0.0,
    tone_hz: float | None = 440.0,
) -> Path:
    """Write a clip of one panning shot per photo, hard cuts between them, and an optional sine tone.

    Args:
        photos: image files, one shot each.
        path: ``.mp4``/``.mov``/``.mkv`` output. Even sizes are encoded H.264 yuv420p; odd ones
            H.264 yuv444p (4:2:0 needs even sides), so odd-size inputs can be tested too.
        width, height: frame size in pixels.
        fps: frames per second.
        seconds_per_shot: length of each shot.
        zoom: how much each shot zooms in from its first frame to its last (1 = pan only).
        pan: fraction of the photo's free width the window travels (0 = a still camera).
        noise: standard deviation (0-255 levels) of Gaussian noise added to every frame, as a
            camera's sensor adds it (0 = none); with ``pan=0, zoom=1`` only the noise changes.
        tone_hz: AAC audio, a sine at this pitch for the whole clip; None for no audio stream.

    Returns:
        The written path.
    """
    import av

    if not photos:
        raise ValueError("make_clip needs at least one photo")
    muxer = output_container_format(path)
    per_shot = max(1, round(seconds_per_shot * fps))
    path = Path(path)
    with atomic_path(path) as partial, av.open(str(partial), "w", format=muxer) as sink:
        video = sink.add_stream("libx264", rate=Fraction(fps))
        video.width, video.height = width, height
        video.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        video.options = {"crf": "20", "preset": "veryfast"}
        audio = sink.add_stream("aac", rate=AUDIO_RATE) if tone_hz else None
        written = 0
        for shot, photo_path in enumerate(photos):
            with Image.open(photo_path) as image:
                photo = image.convert("RGB")
            for array in _shot_frames(photo, width, height, per_shot, zoom, pan, noise, seed=shot):
                frame = av.VideoFrame.from_ndarray(array, format="rgb24")
                frame.pts, frame.time_base = written, Fraction(1, fps)
                sink.mux(video.encode(frame))
                written += 1
        sink.mux(video.encode(None))
        if audio is not None:
            _write_tone(sink, audio, round(written / fps * AUDIO_RATE), tone_hz)
    return path


def _write_tone(sink, audio, samples: int, tone_hz: float) -> None:
    """Encode ``samples`` of a mono sine at ``tone_hz`` into the ``audio`` stream of ``sink``."""
    import av

    chunk = 1024  # AAC's frame size
    for begin in range(0, samples, chunk):
        count = min(chunk, samples - begin)
        t = (np.arange(begin, begin + count) / AUDIO_RATE).astype(np.float32)
        tone = (0.2 * np.sin(2 * math.pi * tone_hz * t)).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, begin, Fraction(1, AUDIO_RATE)
        sink.mux(audio.encode(frame))
    sink.mux(audio.encode(None))


__all__ = ["AUDIO_RATE", "make_clip"]


def write_y4m(path: str | os.PathLike, frames: Sequence[np.ndarray], fps: int = 10) -> Path:
    """Frames (H, W, 3) uint8 RGB (even sides) → a YUV4MPEG2 file (4:2:0, full range, BT.601).

    The format Chromium's fake camera plays (``--use-file-for-fake-video-capture=clip.y4m``), looping.
    """
    height, width = frames[0].shape[:2]
    if height % 2 or width % 2:
        raise ValueError(f"4:2:0 needs even sides, got {width}×{height}")
    path = Path(path)
    with atomic_path(path) as partial, open(partial, "wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg XYSCSS=420JPEG\n".encode())
        for frame in frames:
            rgb = frame.astype(np.float32)
            y = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
            u = 128 - 0.168736 * rgb[..., 0] - 0.331264 * rgb[..., 1] + 0.5 * rgb[..., 2]
            v = 128 + 0.5 * rgb[..., 0] - 0.418688 * rgb[..., 1] - 0.081312 * rgb[..., 2]
            # Chroma at half resolution: the mean of each 2×2 block.
            u = u.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
            v = v.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
            handle.write(b"FRAME\n")
            for plane in (y, u, v):
                handle.write(np.clip(np.rint(plane), 0, 255).astype(np.uint8).tobytes())
    return path


def pan_frames(photo: str | os.PathLike, width: int, height: int, count: int, pan: float = 1.0) -> list[np.ndarray]:
    """``count`` frames (H, W, 3) uint8 of one slow pan across ``photo`` (``pan=0``: every frame the same)."""
    with Image.open(photo) as image:
        picture = image.convert("RGB")
    return list(_shot_frames(picture, width, height, count, zoom=1.0, pan=pan, noise=0.0, seed=0))
