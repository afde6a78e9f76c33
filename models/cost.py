"""What a step cost: wall seconds and the peak resident memory while it ran.

On Linux the kernel's peak-RSS mark (``VmHWM``) is reset when the step starts
(``/proc/self/clear_refs``), so the figure is the step's own peak, not the process's
peak since start; an enclosing measurement keeps the peak seen before a nested reset.
Elsewhere the process peak (``ru_maxrss``) is reported and marked as such; where
neither exists the memory figure is None.

>>> with measure_cost() as cost:
...     total = sum(range(1000))
>>> cost.seconds >= 0
True
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass
class Cost:
    """Seconds and peak resident memory (MiB) of one step; ``since_start`` is True when
    the memory figure is the whole process's peak (the step's own could not be told)."""

    seconds: float = 0.0
    peak_mib: float | None = None
    since_start: bool = False
    #: Resident memory when the step started (None where the peak could not be reset):
    #: ``peak_mib - start_mib`` is what the step added at its peak.
    start_mib: float | None = None
    _seen_mib: float = field(default=0.0, repr=False, compare=False)

    def describe(self) -> str:
        """``7.6 s, peak memory 1.6 GB`` (or ``… process peak 1.6 GB``)."""
        text = f"{self.seconds:.1f} s"
        if self.peak_mib is not None:
            kind = "process peak" if self.since_start else "peak memory"
            text += f", {kind} {self.peak_mib / 1024:.1f} GB"
        return text

    @property
    def grown_mib(self) -> float | None:
        """How far the step raised resident memory above where it started, at its peak
        (None when the start is unknown)."""
        if self.peak_mib is None or self.start_mib is None:
            return None
        return max(0.0, self.peak_mib - self.start_mib)

    def to_json(self) -> dict[str, object]:
        return {
            "seconds": round(self.seconds, 3),
            "peak_mib": None if self.peak_mib is None else round(self.peak_mib, 1),
            "peak_since_process_start": self.since_start,
        }


#: Measurements in progress, outermost first: a nested reset must not lose their peaks.
_ACTIVE: list[Cost] = []


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark for this process (first handing the peak so far to
    the measurements in progress); False where that is not possible."""
    current = _status_peak_mib()
    if current is None:
        return False
    for outer in _ACTIVE:
        outer._seen_mib = max(outer._seen_mib, current)
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _status_peak_mib() -> float | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _process_peak_mib() -> float | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS


@contextlib.contextmanager
def measure_cost() -> Iterator[Cost]:
    """Measure the enclosed block; the yielded :class:`Cost` is filled in on exit (also
    when the block raises)."""
    cost = Cost()
    own_peak = _reset_peak()
    if own_peak:  # right after the reset the peak mark is the resident memory now
        cost.start_mib = _status_peak_mib()
    _ACTIVE.append(cost)
    started = time.perf_counter()
    try:
        yield cost
    finally:
        cost.seconds = time.perf_counter() - started
        _ACTIVE.remove(cost)
        peak = _status_peak_mib() if own_peak else None
        if peak is not None:
            peak = max(peak, cost._seen_mib)
        else:
            peak = _process_peak_mib()
            cost.since_start = peak is not None
        cost.peak_mib = peak
