"""The one image loader: every command and the API read pictures through it, so the same
photo gives the same map whichever way it comes in (``image``, ``--source folder``,
``evaluate``, the server).

>>> image = load_image("holiday.jpg")     # doctest: +SKIP
>>> image.dtype, image.shape[2]            # doctest: +SKIP
(dtype('uint8'), 3)
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from saliency_cam.models.errors import InputError, first_line
from saliency_cam.models.media import IMAGE_SUFFIXES
from saliency_cam.realtime.runtime.letterbox import PAD_VALUE
from saliency_cam.realtime.runtime.session import as_bgr_uint8

__all__ = ["IMAGE_SUFFIXES", "decode_image", "load_image"]


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read ``path`` as an upright BGR uint8 image (H, W, 3).

    EXIF orientation is applied; grayscale becomes 3 channels; 16-bit and float images
    are scaled to 8 bits; transparent pixels are composited over mid-grey (the network's
    neutral padding value), so they read as "nothing there". Pillow reads it; formats
    Pillow lacks fall back to OpenCV. Raises :class:`InputError` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return decode_image(path.read_bytes(), str(path))


def decode_image(data: bytes, name: str = "image") -> np.ndarray:
    """:func:`load_image` for bytes already in memory (uploads); ``name`` labels errors."""
    path = name
    if not data:
        raise InputError(f"{path}: empty file (0 bytes)")
    try:
        return _load_with_pillow(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from exc
    except Exception as pillow_error:  # Pillow: UnidentifiedImageError, OSError, …
        image = _load_with_opencv(data)
        if image is None:
            from PIL import UnidentifiedImageError

            reason = (
                "unknown format or damaged"
                if isinstance(pillow_error, UnidentifiedImageError)
                else first_line(pillow_error)
            )
            raise InputError(f"{path}: not a readable image ({reason})") from pillow_error
        return image


def _load_with_pillow(data: bytes) -> np.ndarray:
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as opened:
        opened.load()  # decode now: truncated files fail here, inside the try
        image = ImageOps.exif_transpose(opened) or opened
        mode = image.mode
        if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
            return as_bgr_uint8(_scale_to_8bit(np.asarray(image)))
        if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
            mode == "P" and "transparency" in image.info
        ):
            rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
            alpha = rgba[..., 3:4] / 255.0
            rgb = rgba[..., :3] * alpha + PAD_VALUE * (1.0 - alpha)
            return np.ascontiguousarray(np.round(rgb)[..., ::-1]).astype(np.uint8)
        if mode == "L":
            return as_bgr_uint8(np.asarray(image))
        rgb = np.asarray(image.convert("RGB"))
        return np.ascontiguousarray(rgb[..., ::-1])


def _scale_to_8bit(values: np.ndarray) -> np.ndarray:
    """16-bit / 32-bit integer or float single-channel data → uint8."""
    if values.dtype.kind == "f":
        finite = values[np.isfinite(values)]
        top = float(finite.max()) if finite.size else 1.0
        scale = 255.0 if top <= 1.0 else 1.0  # 0..1 floats are common in TIFF
        return np.clip(np.nan_to_num(values) * scale, 0, 255).round().astype(np.uint8)
    wide = values.astype(np.int64)
    if wide.max(initial=0) > 255:  # 16-bit data (Pillow reads it as mode I)
        return np.clip(wide / 257.0, 0, 255).round().astype(np.uint8)
    return np.clip(wide, 0, 255).astype(np.uint8)


def _load_with_opencv(data: bytes) -> np.ndarray | None:
    import cv2

    buffer = np.frombuffer(data, np.uint8)
    try:
        image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    except cv2.error:  # e.g. a header claiming more than CV_IO_MAX_IMAGE_PIXELS (a bomb)
        return None  # the caller reports Pillow's reason, which names the size
    if image is None or image.size == 0:
        return None
    return as_bgr_uint8(image)
