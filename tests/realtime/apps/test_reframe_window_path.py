"""Window search (summed-area table) against brute force, and the camera path's
promises: still on a noisy still subject, bounded on a moving one, jumps only at cuts."""

from __future__ import annotations

import numpy as np
import pytest

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.apps.reframe.path import PathSettings, shot_paths, smooth_path
from saliency_cam.realtime.apps.reframe.quality import path_jitter
from saliency_cam.realtime.apps.reframe.window import (
    best_window,
    parse_aspect,
    window_size,
)


def _brute_force(saliency: np.ndarray, w: int, h: int, bounds) -> float:
    x0, y0, x1, y1 = bounds
    return max(
        float(saliency[y : y + h, x : x + w].sum())
        for y in range(y0, y1 - h + 1)
        for x in range(x0, x1 - w + 1)
    )


@pytest.mark.parametrize("seed", range(6))
def test_best_window_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    height, width = rng.integers(8, 24, size=2)
    saliency = rng.random((height, width)) ** 3
    w, h = int(rng.integers(1, width + 1)), int(rng.integers(1, height + 1))
    bounds = (0, 0, int(width), int(height))
    if seed % 2:  # keep-out margins
        bounds = (1, 2, int(width) - 1, int(height))
        w, h = min(w, width - 2), min(h, height - 2)
    best = best_window(saliency, (w, h), bounds=bounds)
    expected = _brute_force(saliency, w, h, bounds)
    assert best.mass == pytest.approx(expected, rel=1e-9)
    found = float(saliency[best.y : best.y + h, best.x : best.x + w].sum())
    assert found == pytest.approx(expected, rel=1e-9)
    assert bounds[0] <= best.x and best.x + w <= bounds[2]
    assert bounds[1] <= best.y and best.y + h <= bounds[3]


def test_flat_map_gives_the_centre_crop_and_sizes_fit() -> None:
    best = best_window(np.zeros((90, 160)), (50, 90))
    assert (best.x, best.y) == (55, 0)
    assert window_size(1920, 1080, (9, 16)) == (608, 1080)
    assert window_size(1080, 1920, (16, 9)) == (1080, 608)
    assert window_size(160, 90, (16, 9)) == (160, 90)
    assert parse_aspect("4:5") == (4, 5)
    with pytest.raises(SaliencyCamError):
        parse_aspect("wide")


FPS = 25.0
WIDTH = 640.0
WINDOW = 200.0


def test_noisy_still_subject_gives_a_still_camera() -> None:
    rng = np.random.default_rng(1)
    optimum = 300 + rng.normal(0, 10, 150)  # per-frame optimum jitters ±10 px
    path = smooth_path(optimum, fps=FPS, frame_extent=WIDTH, window_extent=WINDOW)
    assert np.ptp(path) == 0.0
    assert abs(path[0] - 300) < 15
    assert path_jitter(path) == 0.0 < path_jitter(optimum)


def test_moving_subject_is_followed_within_speed_and_acceleration_bounds() -> None:
    rng = np.random.default_rng(2)
    truth = np.concatenate([np.full(25, 120.0), np.linspace(120, 520, 100), np.full(75, 520.0)])
    optimum = truth + rng.normal(0, 8, truth.size)
    settings = PathSettings(smoothness=0.5, max_pan=0.5, ramp_s=0.5)
    path = smooth_path(
        optimum, fps=FPS, frame_extent=WIDTH, window_extent=WINDOW, settings=settings
    )
    velocity = np.diff(path)
    max_speed = settings.max_pan * WIDTH / FPS
    max_accel = max_speed / (settings.ramp_s * FPS)
    assert np.abs(velocity).max() <= max_speed + 1e-9
    assert np.abs(np.diff(velocity)).max() <= max_accel + 1e-9
    # it follows: ends on the subject and stays within a window width of it throughout
    assert abs(path[-1] - 520) < 0.1 * WINDOW
    assert np.abs(path - truth).max() < WINDOW / 2
    assert path_jitter(path) <= 0.1 * path_jitter(optimum)


def test_the_path_jumps_only_at_the_cut() -> None:
    rng = np.random.default_rng(3)
    optimum = np.concatenate([np.full(60, 150.0), np.full(60, 480.0)]) + rng.normal(0, 6, 120)
    path = shot_paths(optimum, [60], fps=FPS, frame_extent=WIDTH, window_extent=WINDOW)
    steps = np.abs(np.diff(path))
    assert steps[59] > 250  # frame 59 -> 60: the cut
    assert np.delete(steps, 59).max() == 0.0  # still everywhere else
    assert path_jitter(path, [60]) == 0.0
