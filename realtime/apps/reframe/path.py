"""A smooth virtual-camera path through one shot, from noisy per-frame optima.

Method (offline, O(n), no solver): **robust zero-phase pre-filter → hold/pan follower
with hard velocity and acceleration bounds → zero-phase easing**.

1. A running median (kills single-frame outliers: a flash, a model glitch) then a
   Gaussian, both centred (zero phase: no lag, the whole shot is known in advance).
2. A follower state machine: the camera *holds* while the target stays within a dead
   band around it; when the target leaves the band it *pans* with the time-optimal
   bang-bang profile (accelerate at most ``A``, cruise at most ``V``, brake so it stops
   on the target: ``v* = sign(e)·min(V, sqrt(2·A·|e|))``) and goes back to holding once
   it has arrived. It is fed the target ``lead`` frames ahead, so it starts moving when
   the subject does instead of trailing it.
3. A short centred moving average eases the starts and stops.

Why this rather than an L1/L2 trend filter: the bounds are *hard* by construction
(every step clips velocity and acceleration, and averaging bounded paths stays bounded),
a still subject gives an exactly still camera (the dead band absorbs noise the filters
leave), and it needs no convex solver. An L1 trend filter gives similar
piecewise-linear paths but only penalises, not bounds, speed, and needs cvxpy.

>>> import numpy as np
>>> noisy = 320 + np.random.default_rng(0).normal(0, 8, 100)      # a still subject
>>> path = smooth_path(noisy, fps=25, frame_extent=640, window_extent=200)
>>> float(np.ptp(path))                                             # the camera holds
0.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PathSettings:
    """How the camera moves. ``smoothness`` 0..1 scales the filters and the dead band;
    ``max_pan`` is the top speed in frame widths (or heights) per second; the camera
    reaches it in ``ramp_s`` seconds (so the acceleration bound is ``max_pan/ramp_s``)."""

    smoothness: float = 0.5
    max_pan: float = 0.5
    ramp_s: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.smoothness <= 1.0:
            raise ValueError("smoothness must be in 0..1")
        if self.max_pan <= 0 or self.ramp_s <= 0:
            raise ValueError("max_pan and ramp_s must be > 0")


def _odd(n: float) -> int:
    n = max(1, int(round(n)))
    return n if n % 2 else n + 1


def running_median(values: np.ndarray, size: int) -> np.ndarray:
    """Centred running median over ``size`` (odd) samples; edges repeat the end values."""
    if size <= 1 or len(values) < 2:
        return values.astype(np.float64)
    half = size // 2
    padded = np.pad(values.astype(np.float64), half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, size)
    return np.median(windows, axis=1)


def centred_average(values: np.ndarray, sigma: float, *, gaussian: bool = True) -> np.ndarray:
    """Zero-phase smoothing (a normalised Gaussian, or a box of width ``2·sigma+1``);
    edges repeat the end values, so a constant stays exactly constant."""
    if sigma <= 0 or len(values) < 2:
        return values.astype(np.float64)
    half = int(np.ceil(3 * sigma)) if gaussian else int(round(sigma))
    if half < 1:
        return values.astype(np.float64)
    taps = np.arange(-half, half + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (taps / sigma) ** 2) if gaussian else np.ones_like(taps)
    kernel /= kernel.sum()
    padded = np.pad(values.astype(np.float64), half, mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def follow(
    target: np.ndarray,
    *,
    max_speed: float,
    max_accel: float,
    dead_band: float,
    lead: int = 0,
) -> np.ndarray:
    """The hold/pan state machine over ``target`` (pixels per frame units): returns the
    camera position per frame, with ``|v| ≤ max_speed`` and ``|Δv| ≤ max_accel``."""
    n = len(target)
    if n == 0:
        return np.zeros(0)
    ahead = target[np.minimum(np.arange(n) + lead, n - 1)]
    position, velocity, panning = float(ahead[0]), 0.0, False
    out = np.empty(n, np.float64)
    for t in range(n):
        error = float(ahead[t]) - position
        if not panning and abs(error) > dead_band:
            panning = True
        if panning:
            wanted = np.sign(error) * min(max_speed, np.sqrt(2.0 * max_accel * abs(error)))
        else:
            wanted = 0.0
        velocity += float(np.clip(wanted - velocity, -max_accel, max_accel))
        velocity = float(np.clip(velocity, -max_speed, max_speed))
        position += velocity
        # arrived: within one braking step of the target and slow enough to stop
        if (
            panning
            and abs(float(ahead[t]) - position) <= max(max_accel, 1e-9) * 2
            and (abs(velocity) <= max_accel)
        ):
            panning = False
            velocity = 0.0
        out[t] = position
    return out


def smooth_path(
    optimum: np.ndarray,
    *,
    fps: float,
    frame_extent: float,
    window_extent: float,
    settings: PathSettings | None = None,
) -> np.ndarray:
    """The camera path (window centre per frame, pixels) for one shot along one axis.

    ``optimum``: the per-frame best window centres; ``frame_extent``/``window_extent``:
    the frame and window sizes along that axis (the path stays where the window fits).
    """
    settings = settings or PathSettings()
    centres = np.asarray(optimum, dtype=np.float64)
    low, high = window_extent / 2.0, frame_extent - window_extent / 2.0
    if len(centres) == 0 or high <= low:
        return np.full(len(centres), (low + high) / 2.0)
    s = settings.smoothness
    fps = max(float(fps), 1e-6)
    # the window can only go where it fits: clip the target, not the finished path
    target = running_median(np.clip(centres, low, high), _odd(1 + s * fps * 0.6))
    target = centred_average(target, s * fps * 0.25)
    max_speed = settings.max_pan * frame_extent / fps
    max_accel = max_speed / max(1.0, settings.ramp_s * fps)
    dead_band = (0.02 + 0.13 * s) * window_extent
    path = follow(
        target,
        max_speed=max_speed,
        max_accel=max_accel,
        dead_band=dead_band,
        lead=int(round(settings.ramp_s * fps * 0.5)),
    )
    path = centred_average(path, s * fps * 0.1, gaussian=False)
    return np.clip(path, low, high)


def shot_paths(
    optimum: np.ndarray,
    cuts: list[int],
    **kwargs,
) -> np.ndarray:
    """:func:`smooth_path` run separately in every shot (``cuts`` = first frame of each
    new shot), so the camera may jump only at a cut."""
    optimum = np.asarray(optimum, dtype=np.float64)
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(optimum)), len(optimum)]
    out = np.empty(len(optimum), np.float64)
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        out[start:stop] = smooth_path(optimum[start:stop], **kwargs)
    return out
