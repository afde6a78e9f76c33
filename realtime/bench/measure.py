"""Timing one quality on one device for ``saliency-cam bench``: every contender's session
(opened through the one model opener, with its memory cost), the GEMM probes, the
TensorFlow baseline and the full pipeline runs (every frame, and with map reuse), all
timed in the same interleaved rounds (:mod:`.timing`), then turned into rows
(:mod:`.rows`); with a student (:mod:`.student`), its sessions and video jobs join the
same rounds, so its speed against MSI-Net's is measured under the same drift."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from saliency_cam.models.cost import Cost
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.bench.pipeline import PipelineCase
from saliency_cam.realtime.bench.plan import (
    MEMORY_CALLS,
    BenchConfig,
    Contenders,
    Progress,
    bench_preset,
)
from saliency_cam.realtime.bench.rows import ModelGroup, contender_rows, tensorflow_row
from saliency_cam.realtime.bench.student import STUDENT_ARCH, Student, cross_arch_cc
from saliency_cam.realtime.bench.timing import Case, Timing, measure_interleaved
from saliency_cam.realtime.runtime.providers import ProviderChoice
from saliency_cam.realtime.runtime.session import SaliencySession, open_session


def measure_quality(
    config: BenchConfig,
    choice: ProviderChoice,
    quality: str,
    contenders: Contenders,
    models_dir: Path,
    gemm_shape: tuple[int, int, int] | None,
    workdir: Path,
    progress: Progress,
    student: Student | None = None,
) -> list[dict[str, Any]]:
    """Every contender at one quality on one device, in interleaved rounds; with
    ``student``, the student network's contenders in the same rounds."""
    preset = bench_preset(quality, config.models_dir)
    if preset.kind == "baseline":  # computed in code: one way to run it, one row
        contenders = [("onnxruntime", "fp32")]
    frame = bench_frame(preset.size)
    groups = [
        open_group(preset.arch, preset.name, preset.name, contenders, choice, models_dir, config)
    ]
    if student is not None:
        groups.append(open_student(student, contenders, choice, models_dir, config, groups[0]))
    cases: dict[str, Callable[[], object] | Case] = {
        group.case(b, p): (lambda s=s: s.infer(frame))
        for group in groups
        for (b, p), (s, _) in group.opened.items()
    }
    gemm, probes = _gemm_cases(cases, choice, config.threads, gemm_shape, contenders)
    baseline = None
    # a classical model has no TensorFlow twin to compare with
    if config.tensorflow and not choice.is_gpu and preset.kind != "baseline":
        progress(f"{preset.name}: building the TensorFlow baseline")
        baseline = tensorflow_baseline(groups[0].sessions()["fp32"], frame)
        cases["tensorflow"] = lambda r=baseline[0]: r.run(frame)
    if "pipeline" in config.modes:
        for group in groups:
            group.pipelines = pipeline_cases(config, group, frame, workdir)
            cases.update(
                (name, Case(case.run, frames=case.frames, whole_run=True))
                for name, case in group.pipelines.items()
            )

    progress(f"{preset.name} on {choice.device}: timing {', '.join(cases)}")
    timings = measure_interleaved(
        cases,
        warmup=config.warmup,
        rounds=config.rounds,
        round_seconds=config.round_seconds,
        min_iterations=config.min_iterations,
    )
    gemm_gflops = gemm.gflops(timings["gemm"].median_ms / 1e3) if gemm else None
    peaks = {p: r.gflops(timings[f"gemm/{p}"].median_ms / 1e3) for p, r in probes.items()}
    rows = [
        row
        for group in groups
        for row in contender_rows(group, choice, timings, peaks, gemm_gflops)
    ]
    if baseline is not None:
        fp32 = groups[0].sessions()["fp32"]
        rows.append(tensorflow_row(timings["tensorflow"], baseline, fp32, choice, gemm_gflops))
    del groups, cases, baseline
    gc.collect()
    return rows


def open_group(
    arch: str,
    quality: str,
    model: str,
    contenders: Contenders,
    choice: ProviderChoice,
    models_dir: Path,
    config: BenchConfig,
) -> ModelGroup:
    """``model``'s sessions for ``contenders`` and their CC against its own fp32."""
    opened = open_sessions(model, contenders, choice, models_dir, config.threads)
    return ModelGroup(arch, quality, opened, measure_fidelity(opened))


def open_student(
    student: Student,
    contenders: Contenders,
    choice: ProviderChoice,
    models_dir: Path,
    config: BenchConfig,
    msinet: ModelGroup,
) -> ModelGroup:
    """The student's group: its sessions, its own fidelity, and its CC against MSI-Net's
    onnxruntime fp32 on the same held-out frames (None, with the reason, when either
    network is untrained)."""
    from saliency_cam.export.calibration import held_out_frames

    pairs = student.contenders(contenders)
    group = open_group(
        STUDENT_ARCH, student.quality, student.name, pairs, choice, models_dir, config
    )
    reference = msinet.sessions()["fp32"]
    frames = held_out_frames(reference.size, FIDELITY_FRAMES)
    group.student = True
    group.cross_cc, group.cross_note = cross_arch_cc(reference, group.opened, frames)
    return group


def _gemm_cases(
    cases: dict[str, Callable[[], object] | Case],
    choice: ProviderChoice,
    threads: int | None,
    gemm_shape: tuple[int, int, int] | None,
    contenders: Contenders,
) -> tuple[Any, dict[str, Any]]:
    """Add the GEMM probes to ``cases``: the fp32 one (None without a shape) and, on the
    CPU, one per contender precision that has its own (by precision)."""
    from saliency_cam.realtime.bench.gemm import gemm_runner, precision_gemm_runner

    gemm = gemm_runner(choice, threads, gemm_shape) if gemm_shape else None
    if gemm is not None:
        cases["gemm"] = gemm.run
    # int8 and bf16 rows are measured against their own precision's peak (an int8 row
    # against the fp32 peak read 1164 % on AMX), probed in the same rounds
    probes = {}
    if gemm_shape and not choice.is_gpu:
        for precision in dict.fromkeys(p for _, p in contenders):
            probe = precision_gemm_runner(precision, threads, gemm_shape)
            if probe is not None:
                probes[precision] = probe
                cases[f"gemm/{precision}"] = probe.run
    return gemm, probes


def bench_frame(size: tuple[int, int]):  # -> np.ndarray
    """One natural-looking uint8 BGR frame at the preset size."""
    from saliency_cam.export.calibration import held_out_frames

    return held_out_frames(size, 1)[0]


def open_sessions(
    preset: str,
    contenders: Contenders,
    choice: ProviderChoice,
    models_dir: Path,
    threads: int | None,
) -> dict[tuple[str, str], tuple[SaliencySession, Cost]]:
    """One session per (backend, precision), through the one model opener, each with
    the cost of opening it and running :data:`MEMORY_CALLS` frames: its peak resident
    memory (and how much it added above what was resident before)."""
    import numpy as np

    from saliency_cam.models.cost import measure_cost

    out = {}
    for backend, precision in contenders:
        with measure_cost() as cost:
            session = open_session(
                preset,
                precision,
                choice.device,
                models_dir,
                threads=threads,
                choice=choice if backend == "onnxruntime" else None,
                backend=backend,
            )
            for _ in range(MEMORY_CALLS):
                session.infer(np.full((*session.size, 3), 126, np.uint8))
        out[(backend, precision)] = (session, cost)
    return out


#: Held-out frames the CC is measured on when the manifest has none for that backend.
FIDELITY_FRAMES = 4


def measure_fidelity(
    opened: dict[tuple[str, str], tuple[SaliencySession, Cost]],
) -> dict[tuple[str, str], tuple[float | None, str]]:
    """(CC vs onnxruntime fp32, where it comes from) for every other contender: the
    manifest's when its fidelity was measured on the same backend (onnxruntime int8/fp16,
    OpenVINO bf16), else measured now on :data:`FIDELITY_FRAMES` held-out frames."""
    import numpy as np

    from saliency_cam.export.calibration import held_out_frames
    from saliency_cam.models.metrics import cc

    reference = opened[("onnxruntime", "fp32")][0]
    frames = held_out_frames(reference.size, FIDELITY_FRAMES)
    expected: list[np.ndarray] | None = None
    out: dict[tuple[str, str], tuple[float | None, str]] = {}
    for (backend, precision), (session, _) in opened.items():
        if (backend, precision) == ("onnxruntime", "fp32"):
            continue
        recorded = session.variant.fidelity
        by_openvino = str(recorded.get("provider", "")).startswith("OpenVINO")
        if recorded.get("cc") is not None and by_openvino == (backend == "openvino"):
            out[(backend, precision)] = (recorded["cc"], "manifest")
            continue
        if expected is None:
            expected = [reference.infer(f).astype(np.float64) for f in frames]
        values = [
            cc(session.infer(f).astype(np.float64), e)
            for f, e in zip(frames, expected, strict=True)
        ]
        out[(backend, precision)] = (
            round(float(np.mean(values)), 6),
            f"bench, {FIDELITY_FRAMES} held-out frames",
        )
    return out


def tensorflow_baseline(fp32: SaliencySession, frame: Any) -> tuple[Any, float]:
    """The TensorFlow runner for the same weights and its max difference from ONNX; a
    different network is refused (the comparison would not be fair)."""
    import numpy as np

    from saliency_cam.realtime.bench.tf_baseline import tensorflow_runner

    runner = tensorflow_runner(fp32.variant)
    diff = float(np.abs(runner.run(frame) - fp32.infer(frame)).max())
    if diff > 1e-3:
        raise SaliencyCamError(
            f"TensorFlow baseline differs from the ONNX model by {diff:.2e}: "
            "not the same network, so no fair comparison (run with --no-tf)"
        )
    return runner, diff


def pipeline_cases(
    config: BenchConfig, group: ModelGroup, frame: Any, workdir: Path
) -> dict[str, PipelineCase]:
    """The full video job per onnxruntime precision of ``group`` (and the same with map
    reuse, ``config.reuse`` > 1), by timing case name, on a clip of ``group``'s own long
    enough for ~pipeline_seconds at its inference speed (the student runs many more
    frames in that time than MSI-Net)."""
    from saliency_cam.realtime.bench.pipeline import make_clip

    sessions = group.sessions()
    probe = Timing()
    for _ in range(3):
        started = _now()
        sessions["fp32"].infer(frame)
        probe.add(_now() - started)
    seconds = config.pipeline_seconds or 3 * config.round_seconds
    frames = int(min(600, max(24, seconds * probe.fps)))
    stem = f"clip_{sessions['fp32'].variant.preset}"
    clip = make_clip(workdir / f"{stem}.mp4", frames)
    reuses = [1] + ([config.reuse] if config.reuse > 1 else [])
    return {
        group.pipeline_case(precision, reuse): PipelineCase(
            session,
            clip,
            frames,
            workdir / f"out_{stem}_{precision}_reuse{reuse}.mp4",
            reuse=reuse,
        )
        for precision, session in sessions.items()
        for reuse in reuses
    }


def _now() -> float:
    import time

    return time.perf_counter()
