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
EPS = float(np.finfo(np.float64).eps)  # exactly 2**-52, not a truncated 2.2204e-16


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

    MIT ``KLdiv.m``: P = S/ΣS, Q = G/ΣG, ``Σ Q·log(ε + Q/(P + ε))`` with ε = MATLAB's
    ``eps`` (2^-52, natural log), no min-max normalisation. Lower is better, 0 for
    ``pred`` proportional to ``gt``. A constant prediction is a uniform distribution;
    an all-zero ``gt`` gives NaN (the MIT code would report a perfect 0). Negative
    values raise :class:`MetricInputError`.

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


def _minmax(arr: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] as the MIT code does; a constant map becomes all ones (a flat
    prediction: every pixel ties, and as a distribution it is uniform)."""
    low, high = arr.min(), arr.max()
    if high == low:
        return np.ones_like(arr)
    return (arr - low) / (high - low)


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _fixation_mask(fixations: np.ndarray, name: str = "fixations") -> np.ndarray:
    return _as_map(fixations, name) != 0


def _trapezoid(x: np.ndarray, y: np.ndarray, axis: int = 0) -> np.ndarray:
    """Trapezoid area under y(x) along ``axis`` (np.trapz was renamed in NumPy 2)."""
    dx = np.diff(x, axis=axis)
    ny = y.shape[axis]
    mean_y = (np.take(y, range(1, ny), axis=axis) + np.take(y, range(ny - 1), axis=axis)) / 2
    return np.sum(dx * mean_y, axis=axis)


def sim(pred: np.ndarray, gt: np.ndarray) -> float:
    """Similarity (histogram intersection) of ``pred`` and the continuous map ``gt``.

    MIT ``similarity.m``: resize S to G's size, min-max normalise each map, divide each
    by its sum, ``Σ min(P, Q)``. Range [0, 1], 1 only for identical normalised maps. A
    constant map (prediction or ``gt``) is uniform; an all-zero ``gt`` gives NaN.

    >>> sim(np.array([[0.0, 1.0]]), np.array([[0.0, 2.0]]))
    1.0
    """
    g = _as_map(gt, "ground truth")
    s = _pred_at(pred, g.shape)
    if not g.any():
        return float("nan")
    p = _minmax(s)
    q = _minmax(g)
    return float(np.minimum(p / p.sum(), q / q.sum()).sum())


def nss(pred: np.ndarray, fixations: np.ndarray) -> float:
    """Normalized Scanpath Saliency: mean standardised prediction at fixated pixels.

    MIT ``NSS.m``: resize S to F's size, ``(S − mean) / std`` with MATLAB's ``std``
    (N−1 denominator), mean over pixels where F ≠ 0. Higher is better, 0 is chance;
    invariant to affine rescaling ``a*S + b`` with ``a > 0``. No fixations gives NaN; a
    constant prediction scores 0.

    >>> round(nss(np.array([[0.0, 0.0, 0.0, 1.0]]), np.array([[0, 0, 0, 1]])), 4)
    1.5
    """
    mask = _fixation_mask(fixations)
    s = _pred_at(pred, mask.shape)
    if not mask.any():
        return float("nan")
    if s.size < 2 or s.max() == s.min():
        return 0.0
    z = (s - s.mean()) / s.std(ddof=1)
    return float(z[mask].mean())


def auc_judd(
    pred: np.ndarray,
    fixations: np.ndarray,
    *,
    jitter: bool = True,
    seed: int | np.random.Generator | None = 0,
) -> float:
    """AUC-Judd: area under the ROC curve with every fixated pixel's value as a threshold.

    MIT ``AUC_Judd.m``: resize S to F's size, add ``rand·1e-7`` jitter (breaks the ties
    of maps with many equal values), min-max normalise; thresholds θᵢ are the values at
    the N_f fixated pixels sorted descending; TPᵢ = i/N_f, FPᵢ = (#{S ≥ θᵢ} − i)/(N_pix − N_f);
    add (0, 0) and (1, 1); trapezoid area. Invariant to strictly increasing rescalings
    of S (up to the jitter). With ``jitter=False`` tied fixation values are counted
    together (TPᵢ = #{S_F ≥ θᵢ}/N_f), which equals the MIT formula whenever they are
    distinct and keeps the curve a valid ROC otherwise. No fixations, or every pixel
    fixated, gives NaN; a constant prediction scores 0.5 in expectation (exactly 0.5
    without jitter).

    >>> s = np.array([[0.1, 0.2, 0.3, 0.4]])
    >>> auc_judd(s, np.array([[0, 0, 1, 1]]), jitter=False)
    1.0
    """
    mask = _fixation_mask(fixations)
    s = _pred_at(pred, mask.shape)
    n_fix = int(mask.sum())
    n_pix = mask.size
    if n_fix == 0 or n_fix == n_pix:
        return float("nan")
    if jitter:
        s = s + _rng(seed).random(s.shape) / 1e7
    s = _minmax(s).ravel()
    at_fix = np.sort(s[mask.ravel()])[::-1]
    ascending = np.sort(s)
    above = n_pix - np.searchsorted(ascending, at_fix, side="left")
    # Fixated pixels at or above each threshold (i for distinct values; ties grouped).
    hits = n_fix - np.searchsorted(at_fix[::-1], at_fix, side="left")
    tp = np.concatenate(([0.0], hits / n_fix, [1.0]))
    fp = np.concatenate(([0.0], (above - hits) / (n_pix - n_fix), [1.0]))
    return float(_trapezoid(fp, tp))


def _auc_splits(at_fix: np.ndarray, negatives: np.ndarray, n_neg: int, step: float) -> float:
    """Mean trapezoid AUC over splits; ``negatives`` is (n_neg, n_splits) of values in
    [0, 1]. Thresholds from 1 down to 0 in ``step``: thresholds above a split's maximum
    only repeat the (0, 0) point, so one threshold list serves every split."""
    count = int(np.floor(1.0 / step + 1e-9)) + 1
    thresholds = (np.arange(count) * step)[::-1]
    tp = (at_fix[None, :] >= thresholds[:, None]).mean(axis=1)
    fp = (negatives[None, :, :] >= thresholds[:, None, None]).sum(axis=1) / n_neg
    n_splits = negatives.shape[1]
    ones = np.ones((1, n_splits))
    tp_curve = np.concatenate((0 * ones, np.repeat(tp[:, None], n_splits, axis=1), ones))
    fp_curve = np.concatenate((0 * ones, fp, ones))
    return float(_trapezoid(fp_curve, tp_curve, axis=0).mean())


def auc_borji(
    pred: np.ndarray,
    fixations: np.ndarray,
    *,
    n_splits: int = 100,
    step: float = 0.1,
    seed: int | np.random.Generator | None = 0,
) -> float:
    """AUC-Borji: ROC area against uniformly random negative pixels.

    MIT ``AUC_Borji.m``: resize S to F's size, min-max normalise; for each of ``n_splits``
    splits draw N_f pixels uniformly at random **with replacement** as negatives (flat
    indices ``rng.integers(0, H*W, size=(N_f, n_splits))``, so a run is reproducible);
    thresholds from 1 down to 0 in ``step``; TP over fixated pixels, FP over the random
    pixels; add (0, 0) and (1, 1); trapezoid area per split, mean over splits. Invariant
    to strictly increasing rescalings that keep the 0.1-binned order (e.g. affine ones).
    N_f ≤ 1 gives NaN (as the MIT code); a constant prediction scores exactly 0.5.

    >>> s = np.array([[0.0, 0.0, 1.0, 0.0]])
    >>> 0.5 < auc_borji(s, np.array([[0, 1, 1, 0]]), seed=1) < 1.0
    True
    """
    mask = _fixation_mask(fixations)
    s = _minmax(_pred_at(pred, mask.shape)).ravel()
    n_fix = int(mask.sum())
    if n_fix <= 1:
        return float("nan")
    picks = _rng(seed).integers(0, s.size, size=(n_fix, n_splits))
    return _auc_splits(s[mask.ravel()], s[picks], n_fix, step)


def auc_shuffled(
    pred: np.ndarray,
    fixations: np.ndarray,
    other_fixations: np.ndarray,
    *,
    n_splits: int = 100,
    step: float = 0.1,
    seed: int | np.random.Generator | None = 0,
) -> float:
    """Shuffled AUC (sAUC): like AUC-Borji, but negatives are other images' fixations.

    MIT ``AUC_shuffled.m``: ``other_fixations`` is a binary map (F's size) of the
    fixations pooled from other images; each split draws N = min(N_f, N_other) of those
    locations **without replacement** (``rng.choice`` per split); thresholds from 1
    down to 0 in ``step``; trapezoid area per split, mean over splits. Penalises pure
    centre bias. No fixations or no other fixations gives NaN; a constant prediction
    scores exactly 0.5.

    >>> s = np.array([[1.0, 0.0, 0.0, 0.0]])
    >>> auc_shuffled(s, np.array([[1, 0, 0, 0]]), np.array([[0, 0, 1, 1]]))
    1.0
    """
    mask = _fixation_mask(fixations)
    other = _fixation_mask(other_fixations, "other fixations")
    if other.shape != mask.shape:
        raise MetricInputError(
            f"other fixations {other.shape} must have the fixation map's size {mask.shape}"
        )
    s = _minmax(_pred_at(pred, mask.shape)).ravel()
    n_fix = int(mask.sum())
    locations = np.flatnonzero(other)
    if n_fix == 0 or locations.size == 0:
        return float("nan")
    n_neg = min(n_fix, locations.size)
    rng = _rng(seed)
    picks = np.stack(
        [locations[rng.choice(locations.size, n_neg, replace=False)] for _ in range(n_splits)],
        axis=1,
    )
    return _auc_splits(s[mask.ravel()], s[picks], n_neg, step)


def information_gain(pred: np.ndarray, fixations: np.ndarray, baseline: np.ndarray) -> float:
    """Information gain (bits per fixation) of the prediction over a baseline map.

    MIT ``InfoGain.m``: resize S and the baseline B to F's size, min-max normalise each,
    divide each by its sum, mean over fixated pixels of ``log2(ε + P) − log2(ε + B)``
    with ε = MATLAB's ``eps`` (2^-52). Positive when the prediction beats the baseline. Use
    :func:`center_bias_map` or :func:`uniform_map` for B. No fixations gives NaN; a
    constant prediction (or baseline) is uniform. Note the min-max step: a fixation on
    the prediction's minimum costs ~52 bits, as in the benchmark.

    >>> f = np.array([[0, 1]])
    >>> round(information_gain(np.array([[1.0, 3.0]]), f, uniform_map((1, 2))), 9)
    1.0
    """
    mask = _fixation_mask(fixations)
    s = _pred_at(pred, mask.shape)
    b = _pred_at(_as_map(baseline, "baseline"), mask.shape)
    if not mask.any():
        return float("nan")
    p = _minmax(s)
    q = _minmax(b)
    p, q = p / p.sum(), q / q.sum()
    return float(np.mean(np.log2(EPS + p[mask]) - np.log2(EPS + q[mask])))


def uniform_map(shape: tuple[int, int]) -> np.ndarray:
    """A flat baseline map of ``shape`` (H, W): IG against it is IG over chance."""
    return np.ones((int(shape[0]), int(shape[1])), dtype=np.float64)


def center_bias_map(shape: tuple[int, int], sigma: float = 0.25) -> np.ndarray:
    """A centred Gaussian baseline map of ``shape`` (H, W), peak 1.

    The standard deviation is ``sigma`` times the height (vertically) and the width
    (horizontally), so the blob stretches with the image as observers' centre bias does.

    >>> m = center_bias_map((3, 5))
    >>> m.shape, float(m[1, 2])
    ((3, 5), 1.0)
    """
    height, width = int(shape[0]), int(shape[1])
    if height < 1 or width < 1 or sigma <= 0:
        raise MetricInputError(f"center_bias_map needs a positive shape and sigma, got {shape}")
    y = (np.arange(height) - (height - 1) / 2) / (sigma * height)
    x = (np.arange(width) - (width - 1) / 2) / (sigma * width)
    return np.exp(-0.5 * (y[:, None] ** 2 + x[None, :] ** 2))


def fixation_map(
    points: np.ndarray,
    shape: tuple[int, int],
    *,
    source_shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """Rasterise fixation points into a binary map of ``shape`` (H, W).

    ``points`` is an (N, 2) array of **(x, y)** pixel coordinates, 0-based. If the points
    were recorded on an image of ``source_shape`` (H, W), they are scaled to ``shape``
    first. Points outside the image are dropped; several points on a pixel count once.

    >>> fixation_map(np.array([[0, 0], [2, 1], [9, 9]]), (2, 3)).astype(int).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    height, width = int(shape[0]), int(shape[1])
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if source_shape is not None:
        pts = pts * [width / source_shape[1], height / source_shape[0]]
    pts = pts[np.isfinite(pts).all(axis=1)]
    cols = np.floor(pts[:, 0]).astype(np.int64)
    rows = np.floor(pts[:, 1]).astype(np.int64)
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    out = np.zeros((height, width), dtype=bool)
    out[rows[inside], cols[inside]] = True
    return out


# EMD (MATLAB imresize, POT) lives in models/emd.py; re-exported here with the others
from saliency_cam.models.emd import (  # noqa: E402
    POT_BACKENDS_OFF,
    emd,
    emd_exact,
    matlab_imresize,
    pot_installed,
)

__all__ = ["POT_BACKENDS_OFF", "emd", "emd_exact", "matlab_imresize", "pot_installed"]
