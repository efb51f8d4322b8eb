"""The web page's live mode: one webcam frame in, its stylisation out, with latency and frames/s.

Gradio streams the browser's camera to :func:`stylize_live_frame` (``gr.Image.stream``). Gradio
keeps only the newest frame a browser has sent while the server is busy (each new one replaces the
last), so frames are dropped, never queued: what comes back is always the most recent picture.
Frames stay in memory both ways (:func:`in_memory_image` answers with an inline JPEG, never a
file in Gradio's cache), and :class:`fast_style.infer.video.StillBlend`, the video path's remedy
against flicker, is available per stream.

Pure torch and numpy: testable without a server or a browser.
"""

from __future__ import annotations

import base64
import io
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from fast_style.infer.app.handlers import AppInputError
from fast_style.infer.app.library import StyleLibrary
from fast_style.infer.stylize import stylize
from fast_style.infer.video import StillBlend
from fast_style.io import pil_to_tensor, tensor_to_pil
from fast_style.models.transformer import MIN_SIZE
from fast_style.zoo import UnknownStyleError

# Frames are stylised at most this large (longest side): a webcam's 640×480, the size real time is measured at.
LIVE_MAX_SIDE = 640
# Frames/s is measured over this many recent frames.
FPS_WINDOW = 10


@dataclass
class LiveState:
    """What one browser's stream keeps between frames.

    Attributes:
        style, strength, shape: what the temporal blend was built for (a change restarts it).
        blend: the stream's :class:`StillBlend`, or ``None`` when off.
        done: monotonic times at which the last frames were answered (for frames/s).
    """

    style: str | None = None
    strength: float = 0.0
    shape: tuple[int, ...] = ()
    blend: StillBlend | None = None
    done: deque = field(default_factory=lambda: deque(maxlen=FPS_WINDOW))

    def frames_per_second(self) -> float | None:
        """Answered frames per second over the window, or ``None`` before two frames."""
        if len(self.done) < 2 or self.done[-1] <= self.done[0]:
            return None
        return (len(self.done) - 1) / (self.done[-1] - self.done[0])


def frame_tensor(frame: np.ndarray, max_side: int = LIVE_MAX_SIDE) -> torch.Tensor:
    """A camera frame (H, W, 3 or 4) uint8 → (1, 3, h, w) float in [0, 1], longest side at most ``max_side``.

    Raises:
        AppInputError: not an RGB(A) picture, or smaller than the network takes.
    """
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] not in (3, 4):
        shape = getattr(frame, "shape", type(frame).__name__)
        raise AppInputError(f"A camera frame must be an RGB picture, got {shape}.")
    if min(frame.shape[:2]) < MIN_SIZE:
        raise AppInputError(f"The camera frame is {frame.shape[1]}×{frame.shape[0]}; each side must be at least {MIN_SIZE}.")
    images = pil_to_tensor(Image.fromarray(np.ascontiguousarray(frame[..., :3], dtype=np.uint8)))[None]
    height, width = images.shape[-2:]
    scale = max_side / max(height, width)
    if scale < 1.0:
        size = (max(MIN_SIZE, round(height * scale)), max(MIN_SIZE, round(width * scale)))
        images = F.interpolate(images, size=size, mode="area")
    return images


def stylize_live_frame(
    library: StyleLibrary,
    frame: np.ndarray | None,
    style: str | None,
    temporal_blend: float = 0.0,
    state: LiveState | None = None,
    max_side: int = LIVE_MAX_SIDE,
) -> tuple[np.ndarray | None, str, LiveState]:
    """Stylise one camera frame.

    Args:
        library: the served networks.
        frame: (H, W, 3) uint8 RGB from the browser, or ``None`` (the camera stopped: nothing to do).
        style: a served style name (the style may change between frames).
        temporal_blend: strength in [0, 1) of the temporal blend against flicker (0 = off).
        state: the stream's state from the previous frame (``None`` for the first).
        max_side: frames larger than this (longest side) are stylised downscaled.

    Returns:
        ``(stylised (h, w, 3) uint8 or None, status line, state for the next frame)``; the status
        gives the style, the size, the milliseconds this frame took and the frames/s answered.

    Raises:
        AppInputError: an unknown style, a bad blend strength or a frame that is not a picture.
    """
    state = state if isinstance(state, LiveState) else LiveState()
    if frame is None:
        return None, "Camera stopped: start it again to go on.", state
    if not style:
        raise AppInputError("Choose a style first.")
    if not isinstance(temporal_blend, (int, float)) or not 0.0 <= float(temporal_blend) < 1.0:
        raise AppInputError(f"The temporal blend must be in [0, 1), got {temporal_blend!r}.")
    started = time.perf_counter()
    try:
        model = library.model(style)
    except UnknownStyleError as error:
        raise AppInputError(str(error)) from None
    images = frame_tensor(frame, max_side)
    out = stylize(model, images)
    if (style, float(temporal_blend), tuple(images.shape)) != (state.style, state.strength, state.shape):
        # A new style, strength or frame size restarts the blend: the old output is no longer comparable.
        state.style, state.strength, state.shape = style, float(temporal_blend), tuple(images.shape)
        state.blend = StillBlend(float(temporal_blend)) if temporal_blend > 0 else None
    if state.blend is not None:
        out = state.blend(images, out, [False])
    milliseconds = (time.perf_counter() - started) * 1e3
    state.done.append(time.monotonic())
    fps = state.frames_per_second()
    height, width = images.shape[-2:]
    rate = f"{fps:.1f} frames/s" if fps is not None else "measuring frames/s"
    status = f"{style}: {width}×{height}, {milliseconds:.0f} ms for this frame, {rate}"
    return np.array(tensor_to_pil(out)), status, state


def jpeg_data_url(picture: np.ndarray, quality: int = 85) -> str:
    """(H, W, 3) uint8 → ``data:image/jpeg;base64,...`` (the picture travels inline, no file is written)."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def default_live_styles(names: list[str]) -> list[str]:
    """The styles offered live: the small (real-time) networks first, then the others."""
    small = [name for name in names if name.endswith("-small")]
    return small + [name for name in names if name not in small]


__all__ = ["FPS_WINDOW", "LIVE_MAX_SIDE", "LiveState", "default_live_styles", "frame_tensor", "jpeg_data_url",
           "stylize_live_frame"]
