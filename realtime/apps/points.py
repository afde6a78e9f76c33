"""Structured outputs for tools that consume saliency (``--points K``): the K most salient
points of a map (peaks after non-maximum suppression, each with its saliency) and the
map's centroid (the saliency-weighted mean position), in the map's pixel coordinates.

>>> import numpy as np
>>> m = np.zeros((100, 100), np.float32); m[20, 30] = 1.0; m[70, 80] = 0.5
>>> points = fixation_points(m, 2)
>>> [(p.x, p.y, p.saliency) for p in points.points]
[(30, 20, 1.0), (80, 70, 0.5)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np


@dataclass(frozen=True)
class Fixation:
    """One peak: pixel column ``x``, row ``y`` and the map's value there (0..1)."""

    x: int
    y: int
    saliency: float


@dataclass(frozen=True)
class MapPoints:
    """The top points of one map, most salient first, and its centroid ``(x, y)``."""

    points: list[Fixation]
    centroid: tuple[float, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "points": [{"x": p.x, "y": p.y, "saliency": round(p.saliency, 6)} for p in self.points],
            "centroid": {"x": round(self.centroid[0], 3), "y": round(self.centroid[1], 3)},
        }

    def csv_cells(self, k: int) -> list[str]:
        """``centroid_x, centroid_y, p1_x, p1_y, p1_saliency, …`` for ``k`` points (empty
        cells where the map had fewer peaks)."""
        cells = [f"{self.centroid[0]:.3f}", f"{self.centroid[1]:.3f}"]
        for rank in range(k):
            if rank < len(self.points):
                p = self.points[rank]
                cells += [str(p.x), str(p.y), f"{p.saliency:.6f}"]
            else:
                cells += ["", "", ""]
        return cells


def csv_header(k: int) -> list[str]:
    """Column names matching :meth:`MapPoints.csv_cells`, after ``frame, time_s``."""
    names = ["frame", "time_s", "centroid_x", "centroid_y"]
    for rank in range(1, k + 1):
        names += [f"p{rank}_x", f"p{rank}_y", f"p{rank}_saliency"]
    return names


def fixation_points(saliency: np.ndarray, k: int, *, radius: int | None = None) -> MapPoints:
    """The ``k`` highest peaks of ``saliency`` (H, W) float in [0, 1], each at least
    ``radius`` pixels from a higher one (default: a tenth of the shorter side), and the
    saliency-weighted centroid (the centre for an all-zero map)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    h, w = saliency.shape[:2]
    work = np.array(saliency, dtype=np.float32, copy=True)
    r = max(1, radius if radius is not None else min(h, w) // 10)
    points: list[Fixation] = []
    for _ in range(k):
        y, x = np.unravel_index(int(np.argmax(work)), work.shape)
        value = float(work[y, x])
        if value <= 0.0:  # nothing salient left (suppressed areas hold -1)
            break
        points.append(Fixation(int(x), int(y), float(saliency[y, x])))
        cv2.circle(work, (int(x), int(y)), r, -1.0, thickness=-1)
    total = float(saliency.sum(dtype=np.float64))
    if total > 0:
        columns = saliency.sum(axis=0, dtype=np.float64)  # weights per x, then per y
        rows = saliency.sum(axis=1, dtype=np.float64)
        centroid = (float(columns @ np.arange(w)) / total, float(rows @ np.arange(h)) / total)
    else:
        centroid = ((w - 1) / 2.0, (h - 1) / 2.0)
    return MapPoints(points, centroid)
