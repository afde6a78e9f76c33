"""Fixations → continuous saliency (density) maps, as the original datasets make them.

A fixation map counts the fixations at each pixel; the density map is that count
convolved with an isotropic Gaussian of standard deviation ``sigma`` pixels (zero
outside the image: no mirrored mass at the borders), scaled so its maximum is 1.
The original datasets used σ = 16 px (DUT-OMRON, OSIE at 600×800) and σ = 30 px (FIWI);
:data:`DEFAULT_SIGMA_FRACTION` gives user data a size-relative default instead.

>>> density_map(np.array([[10.0, 5.0]]), (32, 48), sigma=4).argmax()  # doctest: +SKIP
"""

from __future__ import annotations

import math

import numpy as np

#: σ of the Gaussian for user data, as a fraction of the image's larger side when no σ
#: is given: about one degree of visual angle for a screen-sized stimulus (16 px / 800 px
#: is OSIE's choice, 0.02).
DEFAULT_SIGMA_FRACTION = 0.02
#: The kernel reaches this many σ on each side (the mass beyond is < 1e-4 of the peak).
TRUNCATE = 4.0


def default_sigma(shape: tuple[int, int]) -> float:
    """σ in pixels for an image of ``shape`` when the user gives none."""
    return DEFAULT_SIGMA_FRACTION * max(shape)


def fixation_counts(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) float32 counts of 0-based (x, y) ``points`` (pixel ``i`` covers
    ``[i, i+1)``, as :func:`saliency_cam.models.metrics.fixation_map` counts them); points
    outside the image are dropped (eye trackers record off-screen gaze)."""
    height, width = shape
    counts = np.zeros((height, width), np.float32)
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    cols = np.floor(pts[:, 0]).astype(np.int64)
    rows = np.floor(pts[:, 1]).astype(np.int64)
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    np.add.at(counts, (rows[inside], cols[inside]), 1.0)
    return counts


def blur(counts: np.ndarray, sigma: float, border: str = "zero") -> np.ndarray:
    """Gaussian blur (``sigma`` ≤ 0: none), max scaled to 1. ``border="zero"`` treats
    the outside as empty; ``"reflect"`` mirrors it, as the original's
    ``scipy.ndimage.gaussian_filter`` does when it converts DUT-OMRON, OSIE and FIWI."""
    import cv2

    out = np.asarray(counts, np.float32)
    if sigma > 0:
        radius = max(1, math.ceil(TRUNCATE * sigma))
        mode = cv2.BORDER_REFLECT if border == "reflect" else cv2.BORDER_CONSTANT
        out = cv2.GaussianBlur(out, (2 * radius + 1, 2 * radius + 1), sigma, sigma, borderType=mode)
    top = float(out.max())
    return out / top if top > 0 else out


def density_map(
    points: np.ndarray, shape: tuple[int, int], sigma: float | None = None
) -> np.ndarray:
    """Density map (H, W) float32 in [0, 1] from 0-based (x, y) fixation ``points``."""
    return blur(fixation_counts(points, shape), default_sigma(shape) if sigma is None else sigma)


def density_from_mask(mask: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """Density map from a binary fixation map (MIT1003 ``fixPts``, CAT2000 ``FIXATIONLOCS``)."""
    shape = mask.shape[:2]
    counts = (np.asarray(mask) != 0).astype(np.float32)
    return blur(counts, default_sigma(shape) if sigma is None else sigma)
