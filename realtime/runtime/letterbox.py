"""Letterboxing as the original MSI-Net does it (docs/design.md §3), and its exact undo.

Scale by ``min(H_t/H, W_t/W)`` keeping aspect ratio, area interpolation when shrinking
and bicubic when enlarging, pad symmetrically with grey 126 (near zero after mean
subtraction). The map comes back by cropping the padded border off and resizing to the frame.

>>> box = Letterbox.fit((480, 853), (120, 160))
>>> box.inner        # the picture inside the padded input
(90, 160)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 126


@dataclass(frozen=True)
class Letterbox:
    """Geometry mapping a ``source`` (H, W) frame onto a ``target`` (H_t, W_t) input."""

    source: tuple[int, int]
    target: tuple[int, int]
    inner: tuple[int, int]
    top: int
    left: int

    @classmethod
    def fit(cls, source: tuple[int, int], target: tuple[int, int]) -> Letterbox:
        """Compute the geometry for a frame of size ``source`` and network input ``target``."""
        h, w = source
        th, tw = target
        if h <= 0 or w <= 0:
            raise ValueError(f"empty frame {h}×{w}")
        scale = min(th / h, tw / w)
        ih = min(th, max(1, round(h * scale)))
        iw = min(tw, max(1, round(w * scale)))
        # floor before, ceil after, as the original pads
        return cls(source, target, (ih, iw), (th - ih) // 2, (tw - iw) // 2)

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """Resize and pad a uint8 frame (H, W, 3) to the target size."""
        ih, iw = self.inner
        h, w = self.source
        interp = cv2.INTER_AREA if ih <= h and iw <= w else cv2.INTER_CUBIC
        resized = cv2.resize(frame, (iw, ih), interpolation=interp)
        th, tw = self.target
        if (ih, iw) == (th, tw):
            return resized
        return cv2.copyMakeBorder(
            resized,
            self.top,
            th - ih - self.top,
            self.left,
            tw - iw - self.left,
            cv2.BORDER_CONSTANT,
            value=(PAD_VALUE, PAD_VALUE, PAD_VALUE),
        )

    def undo(self, saliency: np.ndarray) -> np.ndarray:
        """Map a (H_t, W_t) float map back to the source size (H, W).

        Crops exactly the region the picture occupied (dropping the padding) and
        resizes it to the frame; the original's scale-then-centre-crop reaches the same
        area but can be one pixel off with odd padding.
        """
        ih, iw = self.inner
        h, w = self.source
        inner = saliency[self.top : self.top + ih, self.left : self.left + iw]
        if (ih, iw) == (h, w):
            return np.ascontiguousarray(inner)
        return cv2.resize(inner, (w, h), interpolation=cv2.INTER_LINEAR)
