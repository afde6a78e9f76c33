"""Upload limits, checked before any full decode: the request body's size (as it
streams in), an image's pixel count (from its header), a video's kind and length.

No user-supplied name reaches the filesystem: a video keeps only its suffix, and only
if it is a known video suffix.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.models.errors import InputError, first_line
from saliency_cam.models.media import VIDEO_SUFFIXES
from saliency_cam.realtime.apps.serve.errors import ApiError, send_error
from saliency_cam.realtime.io.images import decode_image

Scope = dict[str, Any]


class _TooLarge(Exception):
    pass


def too_large(limit_bytes: int) -> ApiError:
    return ApiError(
        413,
        "too_large",
        f"upload larger than this server's limit of {limit_bytes / 1024 / 1024:g} MiB",
        limit="max_upload_bytes",
        max_bytes=limit_bytes,
    )


class BodyLimit:
    """ASGI middleware: answer 413 when a request body exceeds ``limit_for(path)`` bytes,
    from Content-Length when sent, else by counting while it streams (nothing larger is
    ever buffered)."""

    def __init__(self, app: Callable[..., Any], limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Callable[..., Any], send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send_error(send, too_large(limit))
            return
        seen = 0
        exceeded = replaced = False

        async def counted_receive() -> dict[str, Any]:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message: dict[str, Any]) -> None:
            # the framework may turn our exception into its own 400: answer 413 instead
            nonlocal replaced
            if not exceeded:
                await send(message)
            elif not replaced and message["type"] == "http.response.start":
                replaced = True
                await send_error(send, too_large(limit))

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _TooLarge:
            if not replaced:
                await send_error(send, too_large(limit))


def too_many_pixels(name: str, width: int, height: int, max_pixels: int) -> ApiError:
    """422 naming the pixel limit (an image, a live frame or a video's frames)."""
    return ApiError(
        422,
        "too_many_pixels",
        f"{name}: {width}x{height} is {width * height:,} pixels, more than this "
        f"server's limit of {max_pixels:,}",
        limit="max_pixels",
        max_pixels=max_pixels,
    )


def check_pixels(data: bytes, max_pixels: int, name: str) -> int:
    """The pixel count an image's header declares, refused (422) over ``max_pixels``
    before anything is decoded (a small file can declare a huge picture: a
    decompression bomb). Formats whose header Pillow cannot read (PAM, Radiance HDR,
    …) are refused too: their size would be known only by allocating it."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # our own limit applies, with our own error
    if not data:
        raise InputError(f"{name}: empty file (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Exception as exc:
        raise InputError(
            f"{name}: not an image this server reads (JPEG, PNG, WebP, TIFF, BMP, GIF, "
            f"PPM, …; damaged or unknown format: {first_line(exc)})"
        ) from exc
    if width * height > max_pixels:
        raise too_many_pixels(name, width, height, max_pixels)
    return width * height


def read_image(data: bytes, name: str, max_pixels: int) -> np.ndarray:
    """Decode an uploaded image (BGR uint8) with the same loader as ``saliency-cam
    image``, after :func:`check_pixels`. Raises InputError for empty, corrupt or
    undecodable data (never a decoder's own exception: that would be a 500)."""
    check_pixels(data, max_pixels, name)
    try:
        image = decode_image(data, name)
    except InputError:
        raise
    except Exception as exc:  # OpenCV's fallback decoder raises cv2.error, MemoryError, …
        raise InputError(f"{name}: not a readable image ({first_line(exc)})") from exc
    if image.shape[0] * image.shape[1] > max_pixels:  # EXIF rotation keeps the count
        raise too_many_pixels(name, image.shape[1], image.shape[0], max_pixels)
    return image


def video_suffix(filename: str | None) -> str:
    """The upload's suffix if it is a video suffix we read (the name itself is dropped)."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ApiError(
            415,
            "unsupported_type",
            f"{filename or 'upload'}: not a video file type ({', '.join(sorted(VIDEO_SUFFIXES))})",
        )
    return suffix
