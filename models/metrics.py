"""Saliency evaluation metrics as the MIT saliency benchmark defines them.

Pure NumPy (OpenCV only to resize), no TensorFlow. Every function takes 2-D maps and
returns a Python ``float``.

Names: ``pred`` is the predicted saliency map S; ``fixations`` a binary fixation map F
(any non-zero pixel is a fixated pixel, counted once, as the MIT code's ``logical(F)``);
``gt`` a continuous ground-truth saliency map G.

Conventions shared by all metrics (each docstring repeats what applies):

* **Size mismatch**: the prediction (and a baseline) is resized to the ground truth's
  size, as the benchmark does with MATLAB ``imresize``: bicubic when enlarging, area
  averaging when shrinking (OpenCV's stand-in for MATLAB's anti-aliasing), then clipped
  to the map's original value range so bicubic overshoot cannot create negative mass.
* **NaN / inf** in any map raises :class:`MetricInputError`: a non-finite prediction is a
  bug to surface, not a score.
* **Constant prediction**: where the MIT code divides 0 by 0 and returns NaN we return
  the chance-level score instead (AUCs 0.5, NSS 0, CC 0; SIM, KLD and IG treat it as a
  uniform map), so a flat map is scored rather than silently dropped from a mean.
* **Ground truth without signal** (no fixations, an all-zero map; for CC also a constant
  map) gives NaN: there is nothing to score against. Aggregate with ``np.nanmean`` and
  report the count.
* Randomised metrics take ``seed`` (an ``int`` or a ``numpy.random.Generator``) and are
  deterministic for a given seed.

>>> import numpy as np
>>> gt = np.array([[0.0, 1.0], [2.0, 1.0]])
>>> round(cc(gt, gt), 6), abs(kld(gt, gt)) < 1e-9
(1.0, True)
"""

from __future__ import annotations

import numpy as np

from saliency_cam.models.errors import SaliencyCamError

#: MATLAB's ``eps`` (2^-52), the epsilon of the MIT KLD and IG code.
EPS = 2.2204e-16


class MetricInputError(SaliencyCamError, ValueError):
    """A map a metric cannot score: wrong dimensions, NaN/inf, or negative mass."""


def _as_map(values: np.ndarray, name: str) -> np.ndarray:
    """A finite 2-D float64 copy of ``values`` (a trailing channel axis of 1 is dropped)."""
    arr = np.asarray(values)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim != 2 or arr.size == 0:
        raise MetricInputError(f"{name} must be a non-empty 2-D map, got shape {arr.shape}")
    arr = arr.astype(np.float64)
    bad = int(np.count_nonzero(~np.isfinite(arr)))
    if bad:
        raise MetricInputError(
            f"{name} has {bad} NaN/inf values: fix the map (e.g. np.nan_to_num) before scoring"
        )
    return arr


def resize_to(pred: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a map to ``shape`` (H, W) like the benchmark's ``imresize``.

    Bicubic when enlarging, area averaging when shrinking, clipped to the input's value
    range. Returns float64; a map already at ``shape`` is returned unchanged (as float64).

    >>> resize_to(np.ones((2, 2)), (4, 6)).shape
    (4, 6)
    """
    import cv2

    arr = _as_map(pred, "prediction")
    height, width = int(shape[0]), int(shape[1])
    if arr.shape == (height, width):
        return arr
    shrinking = height * width < arr.shape[0] * arr.shape[1]
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    out = cv2.resize(arr, (width, height), interpolation=interp).astype(np.float64)
    return np.clip(out, arr.min(), arr.max())


def _pred_at(pred: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return resize_to(pred, (shape[0], shape[1]))


def _as_distribution(arr: np.ndarray, name: str) -> np.ndarray:
    """``arr / arr.sum()`` for a non-negative map; a constant map (zeros included)
    becomes the uniform distribution."""
    if arr.min() < 0:
        raise MetricInputError(
            f"{name} has negative values ({arr.min():.3g}); distribution metrics need "
            "non-negative maps: min-max normalise it (or exponentiate log-densities)"
        )
    if arr.max() == arr.min():
        return np.full(arr.shape, 1.0 / arr.size)
    return arr / arr.sum()


def _gt_has_signal(gt: np.ndarray) -> bool:
    return bool(gt.max() > gt.min())


def cc(pred: np.ndarray, gt: np.ndarray) -> float:
    """Pearson linear correlation coefficient between ``pred`` and the continuous map ``gt``.

    MIT ``CC.m``: resize S to G's size, standardise both, ``corr2``. Range [-1, 1], higher
    is better; invariant to affine rescaling ``a*S + b`` with ``a > 0``. A constant
    prediction scores 0 (chance); a constant ``gt`` gives NaN.

    >>> cc(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[2.0, 4.0], [6.0, 8.0]]))
    1.0
    """
    g = _as_map(gt, "ground truth")
    s = _pred_at(pred, g.shape)
    if not _gt_has_signal(g):
        return float("nan")
    if s.max() == s.min():
        return 0.0
    s = s - s.mean()
    g = g - g.mean()
    value = float((s * g).sum() / np.sqrt((s * s).sum() * (g * g).sum()))
    return float(np.clip(value, -1.0, 1.0))


def kld(pred: np.ndarray, gt: np.ndarray) -> float:
    """Kullback-Leibler divergence of the prediction from the ground-truth map, KL(G‖S).

    MIT ``KLdiv.m``: P = S/ΣS, Q = G/ΣG, ``Σ Q·log(ε + Q/(P + ε))`` with ε = 2.2204e-16
    (natural log), no min-max normalisation. Lower is better, 0 for ``pred`` proportional
    to ``gt``. A constant prediction is a uniform distribution; an all-zero ``gt`` gives
    NaN (the MIT code would report a perfect 0). Negative values raise
    :class:`MetricInputError`.

    >>> round(kld(np.array([[1.0, 1.0]]), np.array([[1.0, 3.0]])), 4)
    0.1308
    """
    g = _as_map(gt, "ground truth")
    s = _pred_at(pred, g.shape)
    if g.min() < 0:
        _as_distribution(g, "ground truth")  # raises with the explanation
    if g.max() == 0:
        return float("nan")
    q = g / g.sum()
    p = _as_distribution(s, "prediction")
    return float(np.sum(q * np.log(EPS + q / (p + EPS))))
