"""A saliency map as a response: 8-bit PNG (the same pixels as ``saliency-cam image``),
16-bit PNG, .npy, a rendered view (overlay / heatmap / side), or JSON with the top
fixation points.

>>> body, media_type = encode_map(saliency, image, "png", note="...")   # doctest: +SKIP
"""

from __future__ import annotations

import io
from typing import Any

import cv2
import numpy as np

from saliency_cam.realtime.apps.image import encode_png
from saliency_cam.realtime.render.blend import render, to_uint8

#: ``format`` choices of ``POST /v1/saliency``.
FORMATS: tuple[str, ...] = ("png", "png16", "npy", "json", "overlay", "heatmap", "side")

_MEDIA_TYPES = {"npy": "application/x-npy", "json": "application/json"}


def fixation_points(saliency: np.ndarray, count: int = 5) -> list[dict[str, float]]:
    """The ``count`` highest local maxima of the map, strongest first: where people
    look first. Peaks are at least ~1/16 of the picture's smaller side apart."""
    height, width = saliency.shape
    size = max(3, (min(height, width) // 16) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    peaks = (saliency >= cv2.dilate(saliency, kernel)) & (saliency > 0)
    ys, xs = np.nonzero(peaks)
    order = np.argsort(-saliency[ys, xs], kind="stable")
    points: list[dict[str, float]] = []
    for i in order:
        x, y = int(xs[i]), int(ys[i])
        # a flat top gives neighbouring equal peaks: keep the first of each cluster
        if any((p["x"] - x) ** 2 + (p["y"] - y) ** 2 < size**2 for p in points):
            continue
        points.append({"x": x, "y": y, "value": round(float(saliency[y, x]), 6)})
        if len(points) == count:
            break
    return points


def stamp_untrained(picture: np.ndarray) -> np.ndarray:
    """Write UNTRAINED across the top of a rendered picture (random weights)."""
    scale = max(0.4, picture.shape[1] / 900.0)
    cv2.putText(
        picture,
        "UNTRAINED",
        (8, int(30 * scale) + 4),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (60, 60, 255),
        max(1, int(2 * scale)),
        cv2.LINE_AA,
    )
    return picture


def encode_map(
    saliency: np.ndarray,
    image: np.ndarray,
    fmt: str,
    *,
    note: str = "",
    trained: bool = True,
    alpha: float = 0.5,
    colormap: str = "inferno",
    points: int = 5,
    extra: dict[str, Any] | None = None,
) -> tuple[bytes, str]:
    """``(body, media type)`` for ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "png":
        return encode_png(to_uint8(saliency), note=note), "image/png"
    if fmt == "png16":
        levels = np.clip(saliency * 65535.0 + 0.5, 0, 65535).astype(np.uint16)
        return encode_png(levels, note=note), "image/png"
    if fmt == "npy":
        buffer = io.BytesIO()
        np.save(buffer, saliency.astype(np.float32, copy=False))
        return buffer.getvalue(), _MEDIA_TYPES["npy"]
    if fmt == "json":
        import json

        height, width = saliency.shape
        body = {
            "width": width,
            "height": height,
            "fixations": fixation_points(saliency, points),
            "mean": round(float(saliency.mean()), 6),
            **(extra or {}),
        }
        return json.dumps(body).encode("utf-8"), _MEDIA_TYPES["json"]
    picture = render(image, saliency, fmt, alpha, colormap)
    if not trained:
        picture = stamp_untrained(picture)
    return encode_png(picture, note=note), "image/png"
