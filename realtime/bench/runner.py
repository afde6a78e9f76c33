"""``saliency-cam bench``: FPS across qualities × devices × backends × precisions, in two
modes (inference only; the full video pipeline), with the TensorFlow baseline and the
machine's own GEMM peak measured in the same run.

Networks: MSI-Net at each quality and (``student``) the lite network distilled from it at
the same preset, timed in the same rounds (:mod:`.student`). The pipeline mode runs the
video job on every frame and (``reuse`` > 1) with map reuse between frames, each next to
its model's inference-only FPS.

Backends: onnxruntime (every device) and, on the CPU, OpenVINO (f32, int8 from the same
QDQ file, bf16 where the CPU has it) when installed. Every inference row carries the
peak resident memory of opening that model and running it (``models/cost.py``), and
each non-fp32 row its CC against onnxruntime fp32 (the manifest's, where it was measured
on that backend; else measured here on held-out frames).

Speed does not depend on weight values, so by default the benchmark exports seeded
random (UNTRAINED) variants into its own cache folder and runs anywhere, offline; every
result says so. ``models_dir`` benchmarks variants already exported there instead.

Within one quality, every contender (each precision, TensorFlow, the pipeline runs and
a GEMM probe) is timed in alternating rounds, so on a shared machine their ratios stay
meaningful when absolute speed drifts (:mod:`.benchmark_timing`).

This module runs the matrix; what is measured is settled in :mod:`.plan`, one quality
is timed in :mod:`.measure` and its rows are made in :mod:`.rows` (their public names
are importable from here too).

>>> result = run_bench(BenchConfig(qualities=["very_low"], rounds=1))   # doctest: +SKIP
>>> result["summary"]["ort_vs_tf"]["very_low"]                          # doctest: +SKIP
4.3
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.registry import QUALITY_ORDER
from saliency_cam.realtime.bench.measure import FIDELITY_FRAMES, measure_quality
from saliency_cam.realtime.bench.plan import (
    MEMORY_CALLS,
    MODES,
    BenchConfig,
    Contenders,
    Progress,
    bench_models_dir,
    bench_preset,
    contenders_for,
    only_exported,
    precisions_for,
    prepare_models,
    resolve_backends,
    resolve_devices,
)
from saliency_cam.realtime.bench.student import Student, prepare_students
from saliency_cam.realtime.runtime.providers import ProviderChoice

# the runner's public names, wherever they are defined (the CLI, the report, benchmarks
# and tests import them here)
__all__ = [
    "FIDELITY_FRAMES",
    "MEMORY_CALLS",
    "MODES",
    "SCHEMA",
    "UNTRAINED_NOTE",
    "BenchConfig",
    "Contenders",
    "Progress",
    "bench_models_dir",
    "contenders_for",
    "precisions_for",
    "prepare_models",
    "resolve_backends",
    "resolve_devices",
    "run_bench",
]

SCHEMA = "saliency-cam-bench/1"
UNTRAINED_NOTE = (
    "UNTRAINED random weights: speed does not depend on weight values; the maps mean nothing"
)


def run_bench(config: BenchConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Run the whole matrix; return the JSON-ready result (schema :data:`SCHEMA`)."""
    from saliency_cam.realtime.bench.hardware import fingerprint
    from saliency_cam.realtime.bench.summary import summarize

    say = progress or (lambda _msg: None)
    config.qualities = [bench_preset(q, config.models_dir).name for q in config.qualities] or list(
        QUALITY_ORDER
    )
    for mode in config.modes:
        if mode not in MODES:
            raise SaliencyCamError(f"unknown mode {mode!r}: choose from {', '.join(MODES)}")
    if config.reuse < 1:
        raise SaliencyCamError(f"reuse must be 1 (every frame) or more, not {config.reuse}")
    choices = resolve_devices(config.devices)
    config.backends = resolve_backends(config.backends)
    plan = {
        c.device: (c, contenders_for(c, config.backends, config.precisions, say)) for c in choices
    }
    if config.models_dir is not None and not config.precisions:
        plan = only_exported(plan, config, say)
    needed = list(dict.fromkeys(p for _, pairs in plan.values() for _, p in pairs))
    models_dir, untrained = prepare_models(config, needed, say)
    students = prepare_students(config, models_dir, needed, say)

    started = datetime.now(timezone.utc)
    info = fingerprint(sorted({p for c in choices for p in c.providers}))
    gemm, rows = _measure_plan(config, plan, models_dir, students, say)
    trained = all(r.get("trained", True) for r in rows if r["runtime"] != "tensorflow")
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "created": started.isoformat(timespec="seconds"),
        "label": config.label,
        "untrained": not trained,
        "note": UNTRAINED_NOTE if not trained else "",
        "models_dir": str(models_dir),
        "random_weights_exported": untrained,
        "settings": config.to_json(),
        "fingerprint": info,
        "load_average_after": _loadavg(),
        "gemm": gemm,
        "results": rows,
    }
    result["summary"] = summarize(result)
    return result


def _measure_plan(
    config: BenchConfig,
    plan: dict[str, tuple[ProviderChoice, Contenders]],
    models_dir: Path,
    students: dict[str, Student],
    say: Progress,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every device of ``plan`` (its GEMM peaks first), then every quality on it (with
    its student, where there is one): the devices' peaks and the rows."""
    gemm: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="saliency-cam-bench-") as work:
        for device, (choice, contenders) in plan.items():
            shape = None
            if config.gemm:
                gemm[device], shape = _gemm_peaks(config, choice, contenders, say)
            for quality in config.qualities:
                student = students.get(quality)
                rows += measure_quality(
                    config, choice, quality, contenders, models_dir, shape, Path(work), say, student
                )
    return gemm, rows


def _gemm_peaks(
    config: BenchConfig, choice: ProviderChoice, contenders: Contenders, say: Progress
) -> tuple[dict[str, Any], tuple[int, int, int]]:
    """The device's fp32 GEMM peak (its JSON, with the CPU's other precisions' peaks
    under ``precisions``) and the shape that reached it (the probe for every quality)."""
    from saliency_cam.realtime.bench.gemm import GEMM_SHAPES, gemm_peak, precision_peaks

    device = choice.device
    say(f"{device}: measuring the fp32 GEMM peak")
    seconds = max(0.2, 2 * config.round_seconds)
    shapes = config.gemm_shapes or GEMM_SHAPES
    peak = gemm_peak(choice, config.threads, seconds=seconds, shapes=shapes)
    found = peak.to_json()
    shape = peak.best_shape
    if not choice.is_gpu:
        wanted = tuple(dict.fromkeys(p for _, p in contenders if p != "fp32"))
        say(f"{device}: measuring the {', '.join(wanted) or 'no other'} peaks")
        found["precisions"] = precision_peaks(config.threads, shape, wanted, seconds=seconds)
    return found, shape


def _loadavg() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None
