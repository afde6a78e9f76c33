"""Natural-looking frames for int8 calibration, and a disjoint held-out set for fidelity.

Calibration sets the int8 activation ranges, so its frames must look like what the
runtime sees: photographs and scenes with smooth gradients, edges and texture, not
uniform noise. The held-out frames that judge a variant's fidelity must not be the ones
it was calibrated on, or the check would flatter it.

- calibration: random crops (zoomed, shifted, brightness-jittered) of the bundled sample
  pictures + synthetic scenes from seeds 100, 101, …
- held-out: the whole sample pictures mirrored and gamma-adjusted + synthetic scenes
  from seeds 900, 901, …

Every frame is letterboxed to the preset size as the runtime does (uint8 BGR).

>>> frames = calibration_frames((48, 64), count=6)
>>> len(frames), frames[0].shape, frames[0].dtype
(6, (48, 64, 3), dtype('uint8'))
"""

from __future__ import annotations

import cv2
import numpy as np

from saliency_cam.export.parity import sample_images, synthetic_scenes
from saliency_cam.realtime.runtime.letterbox import Letterbox

CALIBRATION_SEED = 100
HELD_OUT_SEED = 900


def _letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return Letterbox.fit(image.shape[:2], size).apply(image)


def _random_crop(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A crop covering 40-90 % of each side, brightness scaled by 0.7-1.3."""
    h, w = image.shape[:2]
    ch, cw = (max(8, int(side * rng.uniform(0.4, 0.9))) for side in (h, w))
    top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    crop = image[top : top + ch, left : left + cw].astype(np.float32) * rng.uniform(0.7, 1.3)
    return np.clip(crop, 0, 255).astype(np.uint8)


def _gamma(image: np.ndarray, gamma: float) -> np.ndarray:
    table = (255.0 * (np.arange(256) / 255.0) ** gamma).round().astype(np.uint8)
    return cv2.LUT(image, table)


def _scenes(seed: int, count: int) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    offset = 0
    while len(out) < count:
        out.extend(image for _, image in synthetic_scenes(seed + offset))
        offset += 1
    return out[:count]


def calibration_frames(size: tuple[int, int], count: int = 24) -> list[np.ndarray]:
    """``count`` uint8 BGR frames at ``size`` (H, W) for int8 calibration: about two
    thirds crops of the sample pictures, the rest synthetic scenes."""
    rng = np.random.default_rng(CALIBRATION_SEED)
    pictures = [image for _, image in sample_images()]
    n_crops = (2 * count) // 3 if pictures else 0
    frames = [_random_crop(pictures[i % len(pictures)], rng) for i in range(n_crops)]
    frames += _scenes(CALIBRATION_SEED, count - n_crops)
    return [_letterbox(frame, size) for frame in frames]


def held_out_frames(size: tuple[int, int], count: int = 8) -> list[np.ndarray]:
    """``count`` uint8 BGR frames at ``size`` (H, W), disjoint from
    :func:`calibration_frames`: mirrored, gamma-adjusted whole sample pictures and
    synthetic scenes from other seeds."""
    pictures = [_gamma(image[:, ::-1], 0.8) for _, image in sample_images()]
    frames = pictures[: count // 2]
    frames += _scenes(HELD_OUT_SEED, count - len(frames))
    return [_letterbox(np.ascontiguousarray(frame), size) for frame in frames]
