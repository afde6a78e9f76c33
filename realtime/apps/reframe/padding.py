"""Padding instead of cropping (as AutoFlip does when the salient content is wider than
the target): the whole frame, scaled to fit the output, on a blurred copy of itself or
on black bars.

>>> import numpy as np
>>> pad_frame(np.zeros((90, 160, 3), np.uint8), (90, 160), "black").shape
(160, 90, 3)
"""

from __future__ import annotations

import cv2
import numpy as np

from saliency_cam.models.errors import SaliencyCamError

PAD_STYLES: tuple[str, ...] = ("blur", "black")


def resolve_pad_style(name: str) -> str:
    key = name.strip().lower()
    if key not in PAD_STYLES:
        raise SaliencyCamError(f"unknown padding {name!r}: choose one of {', '.join(PAD_STYLES)}")
    return key


def pad_frame(frame: np.ndarray, size: tuple[int, int], style: str = "blur") -> np.ndarray:
    """``frame`` fitted whole into an output of ``size = (w, h)``; the rest is a blurred,
    darkened cover-scaled copy of the frame (``blur``) or black (``black``)."""
    out_w, out_h = size
    height, width = frame.shape[:2]
    scale = min(out_w / width, out_h / height)
    inner_w, inner_h = max(1, round(width * scale)), max(1, round(height * scale))
    if style == "blur":
        cover = max(out_w / width, out_h / height)
        big = cv2.resize(
            frame, (max(out_w, round(width * cover)), max(out_h, round(height * cover)))
        )
        top, left = (big.shape[0] - out_h) // 2, (big.shape[1] - out_w) // 2
        background = big[top : top + out_h, left : left + out_w]
        # blur a small copy: the same look for a fraction of the cost
        small = cv2.resize(background, (max(1, out_w // 8), max(1, out_h // 8)))
        small = cv2.GaussianBlur(small, (0, 0), 3)
        canvas = (cv2.resize(small, (out_w, out_h)) * 0.6).astype(np.uint8)
    else:
        canvas = np.zeros((out_h, out_w, 3), np.uint8)
    inner = cv2.resize(frame, (inner_w, inner_h), interpolation=cv2.INTER_AREA)
    top, left = (out_h - inner_h) // 2, (out_w - inner_w) // 2
    canvas[top : top + inner_h, left : left + inner_w] = inner
    return canvas
