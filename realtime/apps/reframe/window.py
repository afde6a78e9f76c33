"""The crop window of a target aspect that keeps the most saliency mass.

Box sums come from a summed-area table (integral image): after one O(H·W) pass, the
mass inside any axis-aligned box is four look-ups, so scoring *every* position of a
window is O(H·W) too, however large the window.

>>> import numpy as np
>>> saliency = np.zeros((90, 160), np.float32); saliency[40:50, 120:130] = 1.0
>>> best = best_window(saliency, window_size(160, 90, (9, 16)))
>>> best.x <= 120 and best.x + best.w >= 130
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from saliency_cam.models.errors import SaliencyCamError


def parse_aspect(text: str) -> tuple[int, int]:
    """``"9:16"`` / ``"9x16"`` / ``"1"`` → ``(9, 16)`` / ``(9, 16)`` / ``(1, 1)``.

    >>> parse_aspect("4:5")
    (4, 5)
    """
    match = re.fullmatch(r"\s*(\d+)\s*(?:[:x/]\s*(\d+))?\s*", str(text))
    if not match or int(match.group(1)) == 0 or (match.group(2) and int(match.group(2)) == 0):
        raise SaliencyCamError(f"bad aspect {text!r}: write width:height, e.g. 9:16 or 1:1")
    return int(match.group(1)), int(match.group(2) or 1)


def window_size(width: int, height: int, aspect: tuple[int, int]) -> tuple[int, int]:
    """The largest ``(w, h)`` of aspect ``aw:ah`` inside a ``width``×``height`` frame.

    >>> window_size(1920, 1080, (9, 16))
    (608, 1080)
    """
    aw, ah = aspect
    if width * ah >= height * aw:  # frame wider than the target: full height
        return max(1, min(width, round(height * aw / ah))), height
    return width, max(1, min(height, round(width * ah / aw)))


def even_size(size: tuple[int, int]) -> tuple[int, int]:
    """Round a size down to even numbers (4:2:0 video needs them), at least 2."""
    return max(2, size[0] // 2 * 2), max(2, size[1] // 2 * 2)


@dataclass(frozen=True)
class Window:
    """A crop box in pixels (top-left ``x, y``, size ``w, h``) and the saliency mass in it."""

    x: int
    y: int
    w: int
    h: int
    mass: float = 0.0

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2.0, self.y + self.h / 2.0

    def scaled(self, sx: float, sy: float) -> Window:
        """The same box in a frame scaled by ``sx``, ``sy`` (rounded to whole pixels)."""
        return Window(
            round(self.x * sx),
            round(self.y * sy),
            round(self.w * sx),
            round(self.h * sy),
            self.mass,
        )

    def as_dict(self) -> dict[str, float]:
        return {"x": self.x, "y": self.y, "w": self.w, "h": self.h}


def integral(saliency: np.ndarray) -> np.ndarray:
    """Summed-area table with a leading zero row and column: ``sat[y, x]`` is the sum of
    ``saliency[:y, :x]`` (float64, so long sums do not lose precision)."""
    values = np.asarray(saliency, dtype=np.float64)
    sat = np.zeros((values.shape[0] + 1, values.shape[1] + 1), np.float64)
    np.cumsum(np.cumsum(values, axis=0), axis=1, out=sat[1:, 1:])
    return sat


def box_sums(sat: np.ndarray, w: int, h: int) -> np.ndarray:
    """Mass of every ``w``×``h`` box: ``out[y, x]`` for the box with top-left ``(x, y)``;
    shape ``(H - h + 1, W - w + 1)``."""
    return sat[h:, w:] - sat[:-h, w:] - sat[h:, :-w] + sat[:-h, :-w]


def best_in(sums: np.ndarray, offset: tuple[int, int] = (0, 0)) -> tuple[int, int, float]:
    """Top-left ``(x, y)`` of the highest sum; among ties (flat maps) the position nearest
    the middle, so an empty map gives the centre crop, not the top-left one."""
    top = float(sums.max())
    ys, xs = np.nonzero(sums >= top - 1e-9 * max(1.0, abs(top)))
    cy, cx = (sums.shape[0] - 1) / 2.0, (sums.shape[1] - 1) / 2.0
    pick = int(np.argmin((ys - cy) ** 2 + (xs - cx) ** 2))
    return int(xs[pick]) + offset[0], int(ys[pick]) + offset[1], top


def best_window(
    saliency: np.ndarray,
    size: tuple[int, int],
    *,
    bounds: tuple[int, int, int, int] | None = None,
    sat: np.ndarray | None = None,
) -> Window:
    """The ``size = (w, h)`` window with the most saliency mass inside ``saliency``.

    ``bounds = (x0, y0, x1, y1)`` keeps the window inside that box (keep-out margins);
    ``sat`` reuses an :func:`integral` already computed for this map.
    """
    height, width = saliency.shape[:2]
    x0, y0, x1, y1 = bounds or (0, 0, width, height)
    w, h = size
    if w > x1 - x0 or h > y1 - y0 or w < 1 or h < 1:
        raise SaliencyCamError(f"a {w}×{h} window does not fit in {x1 - x0}×{y1 - y0}")
    sat = integral(saliency) if sat is None else sat
    sums = box_sums(sat[y0 : y1 + 1, x0 : x1 + 1], w, h)
    x, y, mass = best_in(sums, (x0, y0))
    return Window(x, y, w, h, mass)
