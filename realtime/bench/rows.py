"""The rows of a ``saliency-cam bench`` result, one per (mode, backend, precision) at a
quality on a device: speed, effective GFLOP/s against the GEMM peak measured in the same
rounds, memory, and fidelity against onnxruntime fp32 (the summary and the report read
these rows)."""

from __future__ import annotations

from typing import Any

from saliency_cam.models.cost import Cost
from saliency_cam.models.manifest import VariantInfo
from saliency_cam.realtime.bench.plan import MEMORY_CALLS, bench_preset
from saliency_cam.realtime.bench.timing import Timing
from saliency_cam.realtime.runtime.providers import ProviderChoice
from saliency_cam.realtime.runtime.session import SaliencySession


def result_row(
    timing: Timing,
    *,
    mode: str,
    runtime: str,
    variant: VariantInfo,
    choice: ProviderChoice | None,
    provider: str,
    precision: str,
    gemm_gflops: float | None,
    **extra: Any,
) -> dict[str, Any]:
    preset = bench_preset(variant.preset, variant.directory)
    row: dict[str, Any] = {
        "mode": mode,
        "runtime": runtime,
        "quality": preset.name,
        "height": preset.height,
        "width": preset.width,
        "device": choice.device if choice else "cpu",
        "backend": runtime,
        "provider": provider,
        "precision": precision,
        "gflops_per_frame": round(preset.gflops, 3),
        **timing.to_json(),
    }
    effective = preset.gflops * timing.fps
    row["effective_gflops"] = round(effective, 2)
    row["gemm_gflops_same_rounds"] = round(gemm_gflops, 2) if gemm_gflops else None
    row["peak_fraction"] = round(effective / gemm_gflops, 4) if gemm_gflops else None
    row.update(extra)
    return row


def session_rows(
    session: SaliencySession,
    choice: ProviderChoice,
    timings: dict[str, Timing],
    pipeline: Any,
    gemm_gflops: float | None,
    cost: Cost,
    fidelity: tuple[float | None, str] | None,
    peak_precision: str = "fp32",
) -> list[dict[str, Any]]:
    """The inference row of one variant on one backend, and its pipeline row when
    measured. ``gemm_gflops`` is the peak of ``peak_precision`` (the row's own where a
    probe measured it, else fp32)."""
    variant = session.variant
    precision = variant.precision
    backend = session.backend
    # what every row of this variant shares, inference or pipeline
    common: dict[str, Any] = {
        "runtime": backend,
        "variant": variant,
        "choice": choice,
        "provider": session.providers[0],
        "precision": precision,
        "gemm_gflops": gemm_gflops,
        "trained": variant.trained,
        "peak_precision": peak_precision,
    }
    if fidelity is not None:
        common["fidelity_cc"], common["fidelity_source"] = fidelity
        if precision != "fp32":
            common["default_ok"] = variant.default_ok
    memory = {
        "peak_rss_mib": None if cost.peak_mib is None else round(cost.peak_mib, 1),
        "rss_added_mib": None if cost.grown_mib is None else round(cost.grown_mib, 1),
        "memory_step": f"open + {MEMORY_CALLS} frames",
    }
    inference = timings[f"{backend}/{precision}"]
    rows = [result_row(inference, mode="inference", **common, **memory)]
    if pipeline is not None:
        whole = timings[f"pipeline/{precision}"]
        rows.append(
            result_row(
                whole,
                mode="pipeline",
                clip={"height": 480, "width": 640, "frames": pipeline.frames},
                latency_ms=pipeline.stats.get("latency_ms"),
                stages_ms=pipeline.stats.get("stages_ms"),
                # end to end next to the network alone, same variant, same rounds
                inference_fps=round(inference.fps, 2),
                end_to_end_vs_inference=round(whole.fps / inference.fps, 3)
                if inference.fps
                else None,
                **common,
            )
        )
    return rows


def contender_rows(
    opened: dict[tuple[str, str], tuple[SaliencySession, Cost]],
    choice: ProviderChoice,
    timings: dict[str, Timing],
    pipelines: dict[str, Any],
    peaks: dict[str, float],
    gemm_gflops: float | None,
    fidelity: dict[tuple[str, str], tuple[float | None, str]],
) -> list[dict[str, Any]]:
    """The rows of every opened contender: each measured against its own precision's
    GEMM peak where a probe measured it (``peaks``), else the fp32 one."""
    rows = []
    for (backend, precision), (session, cost) in opened.items():
        pipeline = pipelines.get(precision) if backend == "onnxruntime" else None
        peak = peaks.get(precision, gemm_gflops)
        rows.extend(
            session_rows(
                session,
                choice,
                timings,
                pipeline,
                peak,
                cost,
                fidelity.get((backend, precision)),
                peak_precision=precision if precision in peaks else "fp32",
            )
        )
    return rows


def tensorflow_row(
    timing: Timing,
    baseline: tuple[Any, float],
    fp32: SaliencySession,
    choice: ProviderChoice,
    gemm_gflops: float | None,
) -> dict[str, Any]:
    """The TensorFlow baseline's row (same weights as ``fp32``; ``baseline`` is its
    runner and its max difference from the ONNX model)."""
    runner, diff = baseline
    return result_row(
        timing,
        mode="inference",
        runtime="tensorflow",
        variant=fp32.variant,
        choice=choice,
        provider="tensorflow-cpu",
        precision="fp32",
        gemm_gflops=gemm_gflops,
        tensorflow=runner.version,
        parity_max_abs=diff,
    )
