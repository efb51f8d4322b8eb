"""Bounds on what one HTTP request may send the web app: a body too large is refused (413) before it is read.

Gradio bounds uploaded *files* (``max_file_size``, the app's ``--max-upload``) but not the JSON
bodies of its API (``/gradio_api/queue/join``, ``/run/...``): a 200 MB body was read, parsed and
held in memory (1.0 → 2.1 GB). :class:`BodySizeLimit` refuses any body above ``--max-request``
(the upload route above ``--max-upload`` plus room for the form around the file), from its
``Content-Length`` before a byte is read, or as soon as a body sent without one (chunked) goes
past the limit. A live camera frame or a pasted picture travels as a data URL inside the JSON, so
the request limit is a few megabytes, not a few hundred bytes.

Plain ASGI (no Gradio import), so it is tested without a server.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fast_style.errors import InvalidValueError

DEFAULT_MAX_REQUEST = "16mb"
DEFAULT_MAX_UPLOAD = "50mb"
# The multipart form around an uploaded file (boundaries, headers, the file name) is far below this.
FORM_OVERHEAD = 1 << 20
UPLOAD_PATH = "/gradio_api/upload"  # Gradio's upload route (gradio.route_utils.API_PREFIX + "/upload")
_UNITS = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30}
_SIZE = re.compile(r"\s*(\d+)\s*(b|kb|mb|gb)?\s*", re.IGNORECASE)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def parse_size(text: str | int, flag: str) -> int:
    """A size such as ``"50mb"``, ``"512kb"`` or ``"1048576"`` in bytes (units are powers of 1024, as Gradio's).

    Raises:
        InvalidValueError: not a whole number with an optional b/kb/mb/gb unit, or zero; ``flag`` names it.
    """
    match = _SIZE.fullmatch(str(text))
    size = int(match[1]) * _UNITS[(match[2] or "b").lower()] if match else 0
    if size < 1:
        raise InvalidValueError(f"{flag} must be a positive size such as 50mb, 512kb or 1048576 (bytes), got {text!r}")
    return size


class BodySizeLimit:
    """ASGI middleware: a request body above its limit gets ``413 Payload Too Large`` and is never read whole.

    Args:
        app: the wrapped ASGI application.
        max_request: the most bytes any request body may have.
        max_upload: the most bytes a body sent to :data:`UPLOAD_PATH` may have.
    """

    def __init__(self, app: ASGIApp, max_request: int, max_upload: int) -> None:
        self.app, self.max_request, self.max_upload = app, max_request, max_upload

    def limit(self, path: str) -> int:
        """The body limit of a request to ``path`` (after any root path)."""
        return self.max_upload if path.endswith(UPLOAD_PATH) else self.max_request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        received, refused, started = 0, False, False

        async def counted_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # A body without Content-Length that went past the limit: the app sees the client go away.
                    refused = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 below answers instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted_receive, guarded_send)
        if refused and not started:
            await _too_large(send, limit)


async def _too_large(send: Send, limit: int) -> None:
    body = f"request body too large: at most {limit:,} bytes".encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def request_limits(max_request: str | int, max_upload: str | int) -> dict[str, Any]:
    """Gradio ``launch(app_kwargs=...)`` that install :class:`BodySizeLimit` (sizes as :func:`parse_size` reads them).

    Raises:
        InvalidValueError: a size that cannot be read (named by its flag).
    """
    from starlette.middleware import Middleware

    request = parse_size(max_request, "--max-request")
    upload = parse_size(max_upload, "--max-upload") + FORM_OVERHEAD
    return {"middleware": [Middleware(BodySizeLimit, max_request=request, max_upload=upload)]}


__all__ = ["DEFAULT_MAX_REQUEST", "DEFAULT_MAX_UPLOAD", "BodySizeLimit", "parse_size", "request_limits"]
