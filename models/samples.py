"""Durations and their percentiles: the one store behind FPS, latency and benchmark
numbers."""

from __future__ import annotations

from collections import deque

import numpy as np


class Samples:
    """A bounded store of durations (seconds) with mean and percentiles in milliseconds.

    Keeps the most recent ``limit`` values (None: all), so a run of hours stays small in
    memory. The live stats, the recorder and the benchmark all measure with it.

    >>> s = Samples()
    >>> for t in (0.010, 0.020, 0.030):
    ...     s.add(t)
    >>> s.percentile_ms(50)
    20.0
    """

    def __init__(self, limit: int | None = 50_000) -> None:
        self._values: deque[float] = deque(maxlen=limit)
        self.count = 0
        self.total = 0.0
        self.first: float | None = None  # the first value (often a cold start)

    def add(self, seconds: float) -> None:
        if self.first is None:
            self.first = seconds
        self._values.append(seconds)
        self.count += 1
        self.total += seconds

    def rate_after_first(self) -> float:
        """Items per second from the mean of every value but the first (the same frames
        a pipeline's FPS counts, which starts at the first output); 0 if unknown."""
        if self.count < 2 or self.first is None:
            return 0.0
        rest = self.total - self.first
        return (self.count - 1) / rest if rest > 0 else 0.0

    def __len__(self) -> int:
        return self.count

    @property
    def values(self) -> np.ndarray:
        """The kept durations, oldest first (seconds)."""
        return np.fromiter(self._values, float)

    def percentile_ms(self, q: float) -> float:
        """The ``q``-th percentile (0..100) of the kept values, in milliseconds."""
        if not self._values:
            return float("nan")
        return float(np.percentile(self.values, q)) * 1e3

    def mean_ms(self) -> float:
        """Mean of every value added (not only the kept ones), in milliseconds."""
        return self.total / self.count * 1e3 if self.count else float("nan")

    def summary(self) -> dict[str, float | int]:
        """``count``, ``mean``, ``p50``, ``p95``, ``p99``, ``max`` (milliseconds)."""
        if not self._values:
            return {"count": 0}
        values = np.fromiter(self._values, float) * 1e3
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        return {
            "count": self.count,
            "mean": _r(self.total / self.count * 1e3),
            "p50": _r(p50),
            "p95": _r(p95),
            "p99": _r(p99),
            "max": _r(values.max()),
        }


def _r(value: float) -> float:
    return round(float(value), 3)
