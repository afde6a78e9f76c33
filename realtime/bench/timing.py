"""Timing loops for the benchmark: warm-up, then interleaved rounds.

On a shared or thermally throttling machine the speed drifts over minutes. Measuring
the contenders of one comparison (fp32 vs int8 vs TensorFlow at one quality) in
alternating rounds exposes them to the same drift, so their *ratio* stays meaningful
even when absolute times wander.

>>> timings = measure_interleaved({"a": lambda: None}, warmup=1, rounds=2,
...                               round_seconds=0.01, min_iterations=4)
>>> timings["a"].iterations >= 4
True
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from saliency_cam.models.samples import Samples

if TYPE_CHECKING:
    from saliency_cam.realtime.runtime.session import SaliencySession


class Timing(Samples):
    """Per-call wall times of one benchmark case (every sample kept), with the figures
    the benchmark reports."""

    def __init__(self) -> None:
        super().__init__(limit=None)

    @property
    def iterations(self) -> int:
        return len(self)

    @property
    def median_ms(self) -> float:
        return self.percentile_ms(50)

    @property
    def p90_ms(self) -> float:
        return self.percentile_ms(90)

    @property
    def fps(self) -> float:
        """Frames per second at the median latency (robust to the odd slow call)."""
        median = self.median_ms
        return 1e3 / median if median > 0 else float("nan")

    def to_json(self) -> dict[str, float | int]:
        return {
            "iterations": self.iterations,
            "median_ms": round(self.median_ms, 4),
            "p90_ms": round(self.p90_ms, 4),
            "mean_ms": round(self.mean_ms(), 4),
            "fps": round(self.fps, 3),
        }


@dataclass
class Case:
    """One thing to time. ``run()`` processes ``frames`` frames; samples are stored per
    frame. A ``whole_run`` case (a full video job) is called once per round and not
    warmed up (its first call still counts; medians over rounds absorb it)."""

    run: Callable[[], object]
    frames: int = 1
    whole_run: bool = False


def measure_interleaved(
    runners: Mapping[str, Callable[[], object] | Case],
    *,
    warmup: int = 3,
    rounds: int = 3,
    round_seconds: float = 1.0,
    min_iterations: int = 10,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Timing]:
    """Time each runner: ``warmup`` untimed calls each, then ``rounds`` rounds in which
    every runner in turn is called for at least ``round_seconds`` and at least
    ``min_iterations / rounds`` times (``whole_run`` cases: once). Returns one
    :class:`Timing` per runner, in seconds per frame."""
    if rounds < 1:
        raise ValueError("rounds must be >= 1")
    cases = {k: v if isinstance(v, Case) else Case(v) for k, v in runners.items()}
    for case in cases.values():
        if not case.whole_run:
            for _ in range(warmup):
                case.run()
    per_round = max(1, -(-min_iterations // rounds))
    timings = {name: Timing() for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            timing = timings[name]
            started = clock()
            count = 0
            while count < (1 if case.whole_run else per_round) or (
                not case.whole_run and clock() - started < round_seconds
            ):
                t0 = clock()
                case.run()
                timing.add((clock() - t0) / case.frames)
                count += 1
    return timings


def inference_fps(session: SaliencySession, seconds: float, min_frames: int = 10) -> float:
    """Frames per second of the network alone on a preset-size input (after one warm-up
    call): the reference the pipeline benchmarks divide by."""
    frame = np.random.default_rng(0).integers(0, 256, (*session.size, 3), dtype=np.uint8)
    session.infer(frame)
    count, start = 0, time.perf_counter()
    while count < min_frames or time.perf_counter() - start < seconds:
        session.infer(frame)
        count += 1
    return count / (time.perf_counter() - start)


def export_random_models(
    qualities: list[str], directory: Path, precisions: tuple[str, ...] = ("fp32",)
) -> Path:
    """Export seeded random-weight (UNTRAINED) variants into ``directory`` for speed
    measurements (needs the export extra); up-to-date ones are kept. Shared by the
    benchmark scripts."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from saliency_cam.export.variants import export_presets

    export_presets(qualities, "random", models_dir=directory, progress=True, precisions=precisions)
    return directory
