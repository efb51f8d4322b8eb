"""What the web app does when someone presses Stylise: plain functions, testable without a browser.

A photo file in, a stylised picture out (at most ``max_size`` on its longest side, never larger
than the photo), written as PNG or JPEG for download, with the network actually used named under it
(a served style, its small network, a blend, or the user's own painting through the arbitrary network).
Bad input raises :class:`AppInputError` with a message meant for the page; the UI shows it and keeps serving.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from fast_style.errors import FastStyleError, InvalidValueError
from fast_style.infer.app.library import OWN_PAINTING, Served, StyleLibrary
from fast_style.infer.stylize import stylize
from fast_style.io import ImageReadError, Photo, read_photo, save_image, tensor_to_pil
from fast_style.models.transformer import MIN_SIZE
from fast_style.zoo import UnknownStyleError

DOWNLOAD_FORMATS = {"PNG": ".png", "JPEG": ".jpg"}
DEFAULT_MAX_SIZE = 1024
DEFAULT_MAX_PIXELS = 40_000_000  # a 40 MP upload is refused before it is decoded


# A quoted absolute path ('/tmp/gradio/…/x.png', 'C:\\…'): server detail a client has no use for.
_QUOTED_PATH = re.compile(r"'(?:/|[A-Za-z]:\\)[^']*'")


class AppInputError(FastStyleError, ValueError):
    """Something about the request the user can fix; the message is shown on the page."""


@dataclass
class Result:
    """One stylisation: the photo as used, the stylised picture, the file to download, the network used."""

    before: Image.Image
    after: Image.Image
    download: Path
    message: str
    network: str = ""  # "candy — dedicated network candy.pth" (:attr:`fast_style.infer.app.library.Served.label`)


class DownloadFolder:
    """A private folder of result files, keeping only the newest ``keep`` so the disk stays bounded.

    Gradio copies each returned file into its own cache (cleaned by ``delete_cache``), so a file
    here is only needed until the response is sent.
    """

    def __init__(self, keep: int = 64, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="fast_style_app_"))
        self.root.mkdir(parents=True, exist_ok=True)
        self._files: deque[Path] = deque()
        self._keep = keep
        self._lock = threading.Lock()

    def new_path(self, stem: str, suffix: str) -> Path:
        """A fresh unique file path; the oldest files beyond ``keep`` are deleted."""
        path = self.root / uuid.uuid4().hex[:8] / f"{stem}{suffix}"
        path.parent.mkdir()
        with self._lock:
            self._files.append(path)
            while len(self._files) > self._keep:
                old = self._files.popleft()
                old.unlink(missing_ok=True)
                if old.parent.exists() and not any(old.parent.iterdir()):
                    old.parent.rmdir()
        return path


def _check_request(photo_path: str | os.PathLike | None, style: str | None, strength: float, max_size: int,
                   file_format: str) -> None:
    """Raise AppInputError for a request that cannot be served, before any work."""
    if photo_path is None:
        raise AppInputError("Upload a photo first (drag it onto the photo box, paste it, or take a webcam snapshot).")
    if style is None or style == "":
        raise AppInputError("Choose a style first.")
    if file_format not in DOWNLOAD_FORMATS:
        raise AppInputError(f"Unknown download format {file_format!r}; allowed: {', '.join(DOWNLOAD_FORMATS)}.")
    if not 0.0 <= _number(strength, "Strength") <= 1.0:
        raise AppInputError(f"Strength must be between 0 and 1, got {strength}.")
    if _number(max_size, "Output size") < MIN_SIZE:
        raise AppInputError(f"Output size must be at least {MIN_SIZE} pixels, got {max_size}.")


def _number(value: object, label: str) -> float:
    """``value`` as a finite number, or an AppInputError (the HTTP API can send anything, NaN included)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise AppInputError(f"{label} must be a number, got {value!r}.")
    return number


def page_message(error: FastStyleError) -> str:
    """What the page shows for a user-facing error: its message without server paths."""
    if isinstance(error, AppInputError):
        return str(error)
    # Other errors (a broken network file in --models, a network that overflows) name server files.
    return _QUOTED_PATH.sub("'…'", str(error))


def _upload_error(error: ImageReadError, path: str | os.PathLike, what: str) -> AppInputError:
    """``error`` for the page: the upload called "the upload" (its message names Gradio's temporary copy;
    the user knows the file by its picture)."""
    reason = str(error).replace(repr(str(path)), "the upload").replace(str(path), "the upload")
    return AppInputError(f"That upload cannot be used as a {what}: {reason}")


def _read_upload(photo_path: str | os.PathLike, max_size: int, max_pixels: int) -> Photo:
    """The uploaded photo, at most ``max_size`` on its longest side, or an AppInputError for the page."""
    try:
        photo = read_photo(photo_path, max_size=int(max_size), max_pixels=max_pixels)
    except ImageReadError as error:
        raise _upload_error(error, photo_path, "photo") from None
    width, height = photo.size
    if min(width, height) < MIN_SIZE:
        raise AppInputError(f"The photo is {width}×{height} pixels; each side must be at least {MIN_SIZE}.")
    return photo


def _serve_request(library: StyleLibrary, style: str | None, *, network: str | None, fast: bool,
                   blend_with: str | None, mix: float, painting: str | os.PathLike | None, max_pixels: int) -> Served:
    """The network that answers the page's request (see :func:`stylize_photo`), or an AppInputError for the page.

    A specific ``network`` is served as it is: the fast switch and the blend do not apply to it.
    """
    mix = _number(mix, "The mix") if blend_with and not network else 0.0
    if not 0.0 <= mix <= 1.0:
        raise AppInputError(f"The mix must be between 0 and 1, got {mix:g}.")
    try:
        if network:
            return library.serve(network)
        return library.serve(style, fast=bool(fast), blend_with=blend_with, mix=mix, painting=painting,
                             max_pixels=max_pixels)
    except (UnknownStyleError, InvalidValueError) as error:
        raise AppInputError(str(error)) from None
    except ImageReadError as error:
        raise _upload_error(error, painting, "painting") from None


def _download_path(downloads: DownloadFolder, photo_path: str | os.PathLike, style: str, file_format: str) -> Path:
    """A new download file named after the photo and the style (``photo_candy.png``)."""
    return downloads.new_path(f"{Path(str(photo_path)).stem}_{re.sub(r'[^A-Za-z0-9_]+', '_', style)}",
                              DOWNLOAD_FORMATS[file_format])


def _result_message(served: Served, photo: Photo, strength: float, preserve_color: bool) -> str:
    """The page's Markdown under the result: the network used on its own line, then the picture's size and options."""
    width, height = photo.size
    colors = ", photo's colours" if preserve_color else ""
    return f"{served.label}  \n{width}×{height} pixels, strength {strength:g}{colors}"


def stylize_photo(
    library: StyleLibrary,
    photo_path: str | os.PathLike | None,
    style: str | None,
    *,
    strength: float = 1.0,
    preserve_color: bool = False,
    max_size: int = DEFAULT_MAX_SIZE,
    file_format: str = "PNG",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    downloads: DownloadFolder,
    progress: Callable[[float, str], None] = lambda fraction, text: None,
    blend_with: str | None = None,
    mix: float = 0.0,
    fast: bool = False,
    painting: str | os.PathLike | None = None,
    network: str | None = None,
) -> Result:
    """Stylise one uploaded photo with a served style or the user's own painting.

    Args:
        library: the served networks.
        photo_path: the uploaded file (Gradio's temporary copy), or None if nothing was uploaded.
        style: a name from ``library.names()`` (one of ``library.styles()`` on the page), or
            :data:`fast_style.infer.app.library.OWN_PAINTING` to use ``painting``.
        strength: 0 = the photo, 1 = full style.
        preserve_color: luminance-only transfer (the photo's colours).
        max_size: longest side of the result in pixels; a smaller photo keeps its size.
        file_format: ``"PNG"`` or ``"JPEG"`` for the download.
        max_pixels: uploads with more pixels are refused (decompression-bomb guard).
        downloads: where the download file is written.
        progress: called with (fraction done, what is happening).
        blend_with: a second style that blends with ``style`` (``library.blendable``), or ``None``/``""``.
        mix: the second style's share of the blend, 0 (only ``style``) to 1 (only ``blend_with``).
        fast: the style's small network where it has one (``library.small_network``).
        painting: the uploaded painting for :data:`~fast_style.infer.app.library.OWN_PAINTING` (read with
            ``max_pixels`` as the photo is; its fold is kept by content hash).
        network: a specific served network (``candy@styles15``) instead of ``style`` (the page's
            "advanced" choice); ``fast`` and the blend do not apply to it.

    Returns:
        A :class:`Result`.

    Raises:
        AppInputError: no photo, not an image, too big or too small, unknown style, bad option.
    """
    _check_request(photo_path, network or style, strength, max_size, file_format)
    progress(0.05, "loading the style network")
    served = _serve_request(library, style, network=network, fast=fast, blend_with=blend_with, mix=mix,
                            painting=painting, max_pixels=max_pixels)
    progress(0.15, "reading the photo")
    photo = _read_upload(photo_path, max_size, max_pixels)
    width, height = photo.size
    progress(0.3, f"stylising {width}×{height} with {served.style}")
    out = stylize(served.model, photo.rgb, strength=float(strength), preserve_color=bool(preserve_color))
    progress(0.9, "saving")
    download = _download_path(downloads, photo_path, served.style, file_format)
    save_image(out, download, alpha=photo.alpha)
    return Result(before=tensor_to_pil(photo.rgb), after=tensor_to_pil(out), download=download,
                  message=_result_message(served, photo, float(strength), bool(preserve_color)), network=served.label)


__all__ = ["DEFAULT_MAX_PIXELS", "DEFAULT_MAX_SIZE", "DOWNLOAD_FORMATS", "OWN_PAINTING", "AppInputError", "DownloadFolder",
           "Result", "stylize_photo"]
