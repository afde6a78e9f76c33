"""Earth mover's distance as the MIT saliency benchmark's ``EMD.m`` computes it
(docs/design.md §7): MATLAB-exact ``imresize`` to shrink the maps, then an exact
transport problem solved by POT. Split from ``metrics.py``, which re-exports it.

>>> g = np.zeros((64, 64)); g[10:20, 10:20] = 1
>>> emd(g, g)
0.0
"""

from __future__ import annotations

import math

import numpy as np

from saliency_cam.models.install import install_command


def _cubic(x: np.ndarray) -> np.ndarray:
    """MATLAB ``imresize``'s bicubic kernel (a = -0.5)."""
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * (
        (ax > 1) & (ax <= 2)
    )


def _resize_weights(in_len: int, out_len: int, scale: float | None = None) -> np.ndarray:
    """The (out_len, in_len) matrix MATLAB ``imresize`` applies along one axis: bicubic,
    antialiased when shrinking (kernel stretched by 1/scale), edges mirrored. ``scale``
    is the factor when one was given (MATLAB then maps with it, not with the sizes)."""
    scale = out_len / in_len if scale is None else scale
    stretch = min(scale, 1.0)  # antialiasing widens the kernel only when shrinking
    width = 4.0 / stretch
    out = np.arange(1, out_len + 1, dtype=np.float64)
    centre = out / scale + 0.5 * (1 - 1 / scale)  # 1-based input coordinate
    left = np.floor(centre - width / 2)
    taps = int(np.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]  # 1-based input indices
    w = stretch * _cubic(stretch * (centre[:, None] - idx))
    w /= w.sum(axis=1, keepdims=True)
    # symmetric padding: index 0 -> 1, -1 -> 2, in_len+1 -> in_len, ...
    i0 = idx - 1
    period = 2 * in_len
    i0 = np.mod(i0, period)
    i0 = np.where(i0 >= in_len, period - 1 - i0, i0).astype(int)
    matrix = np.zeros((out_len, in_len))
    for row in range(out_len):
        np.add.at(matrix[row], i0[row], w[row])
    return matrix


def matlab_imresize(
    image: np.ndarray, shape: tuple[int, int], scale: float | None = None
) -> np.ndarray:
    """``imresize(image, [H W])`` (or ``imresize(image, scale)`` with ``scale``) as MATLAB
    computes it: bicubic, antialiased when shrinking, on a 2-D float array."""
    img = np.asarray(image, np.float64)
    rows = _resize_weights(img.shape[0], shape[0], scale)
    cols = _resize_weights(img.shape[1], shape[1], scale)
    return rows @ img @ cols.T


#: POT loads every array library it finds (TensorFlow: seconds, and its log lines);
#: EMD here is numpy only.
POT_BACKENDS_OFF = (
    "POT_BACKEND_DISABLE_TENSORFLOW",
    "POT_BACKEND_DISABLE_PYTORCH",
    "POT_BACKEND_DISABLE_JAX",
    "POT_BACKEND_DISABLE_CUPY",
)


def pot_installed() -> bool:
    """Whether POT (EMD's solver, in the evaluate extra) can be imported."""
    import importlib.util

    return importlib.util.find_spec("ot") is not None


def emd(pred: np.ndarray, gt: np.ndarray, downsize: int = 32) -> float:
    """Earth mover's distance between the prediction and the continuous fixation map, as
    the MIT benchmark's ``EMD.m``: ``gt`` shrunk with MATLAB ``imresize(G, 1/downsize)``,
    ``pred`` resized to that size, each divided by its sum; ground distance = Euclidean
    distance between cells, solved exactly (POT's ``ot.emd2``). Lower is better;
    EMD(G, G) = 0. Needs the ``POT`` package (evaluate extra). The slow metric: the
    problem has (H·W/downsize²)² costs, e.g. 300 cells at 480x640 (a fraction of a
    second) but 2040 at 1080x1920 (seconds per image).

    >>> g = np.zeros((64, 64)); g[10:20, 10:20] = 1
    >>> emd(g, g)
    0.0
    """
    if not pot_installed():
        from saliency_cam.models.metrics import MetricInputError

        raise MetricInputError("EMD needs POT: " + install_command("evaluate"))
    g = np.asarray(gt, np.float64)
    small_shape = (
        max(1, int(np.ceil(g.shape[0] / downsize))),
        max(1, int(np.ceil(g.shape[1] / downsize))),
    )
    g_small = np.clip(matlab_imresize(g, small_shape, 1 / downsize), 0, None)
    p_small = np.clip(matlab_imresize(np.asarray(pred, np.float64), small_shape), 0, None)
    if g_small.sum() <= 0 or p_small.sum() <= 0:
        return math.nan
    return emd_exact(p_small / p_small.sum(), g_small / g_small.sum())


def emd_exact(p: np.ndarray, q: np.ndarray) -> float:
    """Exact EMD between two equal-mass 2-D distributions on the same grid (Euclidean
    ground distance between cell centres)."""
    import os

    for key in POT_BACKENDS_OFF:  # before POT's first import; a user's setting wins
        os.environ.setdefault(key, "1")
    import ot

    ys, xs = np.indices(p.shape)
    cells = np.stack([ys.ravel(), xs.ravel()], axis=1).astype(np.float64)
    cost = ot.dist(cells, cells, metric="euclidean")
    return float(ot.emd2(p.ravel(), q.ravel(), cost))
