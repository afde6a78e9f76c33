"""How good a reframing is: saliency mass kept (against the centre crop) and jitter.

>>> import numpy as np
>>> path_jitter(np.array([0.0, 1.0, 2.0, 3.0]))     # constant velocity: no jitter
0.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def path_jitter(centres: np.ndarray, cuts: list[int] | None = None) -> float:
    """Mean absolute acceleration (pixels/frame²) of a window-centre track, within shots
    (the jump at a cut is not jitter). ``centres`` is (N,) or (N, 2)."""
    values = np.asarray(centres, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    bounds = [0, *sorted(c for c in (cuts or []) if 0 < c < len(values)), len(values)]
    total, count = 0.0, 0
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        if stop - start >= 3:
            accel = np.abs(np.diff(values[start:stop], n=2, axis=0)).sum(axis=1)
            total += float(accel.sum())
            count += len(accel)
    return total / count if count else 0.0


@dataclass
class QualityReport:
    """The measures one reframed output reports.

    ``kept``: mean fraction of each frame's saliency mass inside the output window;
    ``kept_centre``: the same for a fixed centre crop of the same size; ``kept_optimum``:
    for the unsmoothed per-frame optimum (the ceiling); ``jitter``/``jitter_optimum``:
    :func:`path_jitter` of the smoothed path and of the per-frame optimum.
    """

    kept: float
    kept_centre: float
    kept_optimum: float
    jitter: float
    jitter_optimum: float
    shots: int
    padded_shots: int = 0

    @property
    def gain(self) -> float:
        """Mass kept relative to the centre crop (≥ 1 is better than centre)."""
        return self.kept / self.kept_centre if self.kept_centre > 0 else float("inf")

    @property
    def jitter_ratio(self) -> float:
        """Path jitter relative to the per-frame optimum's (≤ 0.1 is the goal)."""
        return self.jitter / self.jitter_optimum if self.jitter_optimum > 0 else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "mass_kept": round(self.kept, 4),
            "mass_kept_centre_crop": round(self.kept_centre, 4),
            "mass_kept_per_frame_optimum": round(self.kept_optimum, 4),
            "gain_vs_centre": round(self.gain, 3),
            "jitter": round(self.jitter, 4),
            "jitter_per_frame_optimum": round(self.jitter_optimum, 4),
            "jitter_ratio": round(self.jitter_ratio, 4),
            "shots": self.shots,
            "padded_shots": self.padded_shots,
        }

    def line(self) -> str:
        """One line for the command's output."""
        return (
            f"saliency kept {self.kept:.1%} (centre crop {self.kept_centre:.1%}, "
            f"{self.gain:.2f}×; per-frame optimum {self.kept_optimum:.1%}), "
            f"jitter {self.jitter:.3f} px/frame² (per-frame optimum {self.jitter_optimum:.3f}, "
            f"{self.jitter_ratio:.3f}×), {self.shots} shot(s)"
            + (f", {self.padded_shots} padded" if self.padded_shots else "")
        )
