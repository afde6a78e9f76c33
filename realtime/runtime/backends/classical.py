"""The classical models behind the same session as the networks: no file, no export, any
input size, computed with OpenCV's core functions and NumPy (``opencv-python``; the
``saliency`` module of opencv-contrib is not needed: ``scenedetect`` pins
``opencv-python``, and the two packages overwrite each other's ``cv2``).

- ``spectral-residual`` (Hou & Zhang, *Saliency detection: a spectral residual
  approach*, CVPR 2007): the grey image at 64×64, its log amplitude spectrum minus a 3×3
  box average of it, back with the original phase; squared magnitude, Gaussian blur.
- ``fine-grained`` (Montabone & Ruiz, *Human detection using a mobile platform and novel
  features derived from a visual saliency mechanism*, Image and Vision Computing 2010):
  per pixel, the grey value minus the mean of its surround (box of half-side 12, 24, 48,
  28, 56, 112 px, centre excluded), "on" and "off" parts rectified, summed over the six
  scales, each normalised to its peak, then added.
- ``centre``: an anisotropic Gaussian at the image centre, σ = a quarter of each side —
  the centre bias of free viewing, ignoring the content.

Every map is scaled to [0, 1] by its peak, like the networks' maps.

>>> engine = ClassicalEngine("centre")
>>> engine.run(np.zeros((1, 48, 64, 3), np.uint8)).shape
(1, 48, 64, 1)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Spectral residual works on a small image: fine structure is not what it finds.
SPECTRAL_SIZE = 64
#: The fine-grained surround half-sides (pixels), as published.
FINE_GRAINED_SCALES: tuple[int, ...] = (12, 24, 48, 28, 56, 112)
#: σ of the centre bias, as a fraction of each side.
CENTRE_SIGMA = 0.25


def _gray(frame_bgr: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)


def _peak_normalised(values: np.ndarray) -> np.ndarray:
    peak = float(values.max())
    if peak <= 0 or not np.isfinite(peak):
        return np.zeros(values.shape, np.float32)
    return (values / peak).astype(np.float32)


def spectral_residual(frame_bgr: np.ndarray) -> np.ndarray:
    """Spectral residual saliency of a uint8 BGR frame, float32 (H, W) in [0, 1]."""
    import cv2

    height, width = frame_bgr.shape[:2]
    small = cv2.resize(
        _gray(frame_bgr), (SPECTRAL_SIZE, SPECTRAL_SIZE), interpolation=cv2.INTER_LINEAR
    )
    spectrum = np.fft.fft2(small.astype(np.float64))
    # log(0) for a flat image's empty frequencies: a tiny floor keeps the residual finite
    log_amplitude = np.log(np.maximum(np.abs(spectrum), 1e-12))
    residual = log_amplitude - cv2.blur(log_amplitude, (3, 3))
    back = np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))
    magnitude = cv2.GaussianBlur(np.abs(back), (5, 5), 8)
    saliency = _peak_normalised(magnitude * magnitude)
    return cv2.resize(saliency, (width, height), interpolation=cv2.INTER_LINEAR)


def fine_grained(frame_bgr: np.ndarray) -> np.ndarray:
    """Fine-grained centre-surround saliency of a uint8 BGR frame, float32 (H, W) in [0, 1]."""
    import cv2

    gray = _gray(frame_bgr)
    # smoothed twice, as the paper does (after Frintrop and Itti)
    gray = cv2.GaussianBlur(cv2.GaussianBlur(gray, (3, 3), 0), (3, 3), 0).astype(np.float64)
    height, width = gray.shape
    table = cv2.integral(gray, sdepth=cv2.CV_64F)
    rows, cols = np.arange(height), np.arange(width)
    on_sum = np.zeros_like(gray)
    off_sum = np.zeros_like(gray)
    for radius in FINE_GRAINED_SCALES:
        top, bottom = np.clip(rows - radius, 0, height), np.clip(rows + radius + 1, 0, height)
        left, right = np.clip(cols - radius, 0, width), np.clip(cols + radius + 1, 0, width)
        box = (
            table[bottom][:, right]
            - table[top][:, right]
            - table[bottom][:, left]
            + table[top][:, left]
        )
        count = np.outer(bottom - top, right - left) - 1.0
        surround = (box - gray) / np.maximum(count, 1.0)  # the centre pixel excluded
        on_sum += np.maximum(gray - surround, 0.0)
        off_sum += np.maximum(surround - gray, 0.0)
    return _peak_normalised(_peak_normalised(on_sum) + _peak_normalised(off_sum))


def centre_bias(height: int, width: int) -> np.ndarray:
    """A Gaussian centre-bias map (H, W), peak 1 at the centre."""
    ys = (np.arange(height) - (height - 1) / 2) / (CENTRE_SIGMA * height)
    xs = (np.arange(width) - (width - 1) / 2) / (CENTRE_SIGMA * width)
    return np.exp(-0.5 * (ys[:, None] ** 2 + xs[None, :] ** 2)).astype(np.float32)


ALGORITHMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "spectral-residual": spectral_residual,
    "fine-grained": fine_grained,
    "centre": lambda frame: centre_bias(*frame.shape[:2]),
}


class ClassicalEngine:
    """An :class:`~saliency_cam.realtime.runtime.backends.base.Engine` computing one
    classical model: uint8 BGR ``[N, H, W, 3]`` in, float32 ``[N, H, W, 1]`` out."""

    backend = "opencv"
    dynamic = True
    batchable = True
    note = ""

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        self.compute = ALGORITHMS[algorithm]
        self.providers: list[str] = ["OpenCV/NumPy CPU"]

    def run(self, batch: np.ndarray) -> np.ndarray:
        """uint8 ``[N, H, W, 3]`` → float32 ``[N, H, W, 1]``."""
        return np.stack([self.compute(frame) for frame in batch])[..., None]
