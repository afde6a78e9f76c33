"""Measuring a running pipeline: FPS, per-stage timings, latency percentiles, and the
``--stats`` JSON (with the hardware and execution provider it ran on).

>>> fps = FPSMonitor(window=30)
>>> for _ in range(3):
...     fps.tick()
>>> stats = RunStats()
>>> stats.stage("infer", 0.012)
>>> stats.summary()["stages_ms"]["infer"]["p50"]
12.0
"""

from __future__ import annotations

import os
import platform
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from saliency_cam.models import machine
from saliency_cam.models.samples import Samples


class FPSMonitor:
    """Frames per second over a sliding window of the most recent frame times.

    >>> fps = FPSMonitor(window=30)
    >>> fps.tick(0.0); fps.tick(0.1); fps.tick(0.2)
    >>> round(fps.fps, 6)
    10.0
    """

    def __init__(self, window: int = 30, clock: Callable[[], float] = time.perf_counter) -> None:
        self._times: deque[float] = deque(maxlen=max(2, window))
        self._clock = clock

    def tick(self, now: float | None = None) -> None:
        """Record that a frame was delivered (now, or at ``now``)."""
        self._times.append(self._clock() if now is None else now)

    @property
    def fps(self) -> float:
        """Frames per second over the window; 0 until two frames were seen."""
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0

    def reset(self) -> None:
        self._times.clear()


def _r(value: float) -> float:
    return round(float(value), 3)


@contextmanager
def timed(timings: dict[str, float], name: str) -> Iterator[None]:
    """Add the duration of the ``with`` block to ``timings[name]`` (seconds).

    >>> t: dict[str, float] = {}
    >>> with timed(t, "infer"):
    ...     pass
    >>> "infer" in t
    True
    """
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start


#: Stage names that are waiting, not work (left out of the per-frame processing time).
WAIT_STAGES: frozenset[str] = frozenset({"wait"})


class RunStats:
    """Everything measured during one run. Fed from one thread (the output stage).

    ``record`` takes one finished frame: when it was captured, when its output was
    done, its per-stage timings and how many frames the source dropped before it.
    """

    def __init__(self, fps_window: int = 30) -> None:
        self.stages: dict[str, Samples] = {}
        self.latency = Samples()
        #: per frame, the time spent working on it (its stage times, queue waits excluded)
        self.processing = Samples()
        self.monitor = FPSMonitor(fps_window)
        self.frames = 0
        self.dropped = 0
        self.counts: dict[str, int] = {}
        self.started = time.perf_counter()
        self.first_output: float | None = None
        self.last_output: float | None = None

    def stage(self, name: str, seconds: float) -> None:
        """Add one duration for stage ``name``."""
        samples = self.stages.get(name)
        if samples is None:
            samples = self.stages[name] = Samples()
        samples.add(seconds)

    def record(
        self,
        captured: float,
        done: float,
        timings: Mapping[str, float] = (),  # type: ignore[assignment]
        dropped: int = 0,
        label: str | None = None,
    ) -> None:
        """Account for one output frame (times from ``time.perf_counter``)."""
        self.frames += 1
        self.dropped += dropped
        self.latency.add(done - captured)
        timings = dict(timings)
        for name, seconds in timings.items():
            self.stage(name, seconds)
        self.processing.add(sum(v for k, v in timings.items() if k not in WAIT_STAGES))
        if label is not None:
            self.counts[label] = self.counts.get(label, 0) + 1
        self.monitor.tick(done)
        if self.first_output is None:
            self.first_output = done
        self.last_output = done

    @property
    def fps(self) -> float:
        """Average output frames per second from the first output to the last."""
        if self.frames < 2 or self.first_output is None or self.last_output is None:
            return 0.0
        span = self.last_output - self.first_output
        return (self.frames - 1) / span if span > 0 else 0.0

    @property
    def current_fps(self) -> float:
        """FPS over the last few frames (for a HUD)."""
        return self.monitor.fps

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict: frames, drops, FPS, latency and per-stage timings (ms)."""
        return {
            "frames": self.frames,
            "dropped": self.dropped,
            "elapsed_s": _r(time.perf_counter() - self.started),
            "fps": _r(self.fps),
            "latency_ms": self.latency.summary(),
            "processing_ms": self.processing.summary(),
            "stages_ms": {name: s.summary() for name, s in self.stages.items()},
            "frames_by": dict(self.counts),
        }


def hardware_info(providers: list[str] | None = None) -> dict[str, Any]:
    """A fingerprint of where the numbers were taken: CPU, cores, OS, library versions."""
    import cv2
    import onnxruntime as ort

    info: dict[str, Any] = {
        "cpu": machine.cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "machine": platform.machine(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "opencv": cv2.__version__,
        "numpy": np.__version__,
    }
    if providers is not None:
        info["providers"] = list(providers)
    gpus = ", ".join(g["name"] for g in machine.nvidia_gpus())
    if gpus:
        info["gpu"] = gpus
    return info
