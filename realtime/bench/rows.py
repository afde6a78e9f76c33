"""The rows of a ``saliency-cam bench`` result, one per (mode, backend, precision) at a
quality on a device: speed, effective GFLOP/s against the GEMM peak measured in the same
rounds, memory, and fidelity against onnxruntime fp32 (the summary and the report read
these rows). Every row says which network ran (``arch``: msinet or the lite student,
``model``: its name in the models folder); pipeline rows say whether maps were reused
between frames (``reuse``) and their FPS over the same model's inference-only FPS."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    quality: str | None = None,
    student: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """One row. ``quality``: the quality preset the row belongs to where the model has
    another name (the student ``lite_very_high`` at ``very_high``); ``student``: the row
    is the student's (compared with MSI-Net's rows, never counted among them)."""
    preset = bench_preset(variant.preset, variant.directory)
    row: dict[str, Any] = {
        "mode": mode,
        "runtime": runtime,
        "quality": quality or preset.name,
        "arch": preset.arch,
        "model": preset.name,
        "student": student,
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


@dataclass
class ModelGroup:
    """One network's sessions at a quality: MSI-Net's, or the student's. ``prefix``
    keeps their timing cases apart; ``fidelity`` is each session's CC against this
    network's own onnxruntime fp32; ``cross_cc`` (student only) against MSI-Net's."""

    arch: str
    quality: str
    opened: dict[tuple[str, str], tuple[SaliencySession, Cost]]
    fidelity: dict[tuple[str, str], tuple[float | None, str]]
    student: bool = False
    #: timing case name -> full video job (onnxruntime sessions; every-frame and reuse)
    pipelines: dict[str, Any] = field(default_factory=dict)
    cross_cc: dict[tuple[str, str], float | None] | None = None
    cross_note: str = ""

    @property
    def prefix(self) -> str:
        return "student/" if self.student else ""

    def case(self, backend: str, precision: str) -> str:
        """The inference timing case of (backend, precision)."""
        return f"{self.prefix}{backend}/{precision}"

    def pipeline_case(self, precision: str, reuse: int = 1) -> str:
        """The timing case of the video job in ``precision`` (with map reuse)."""
        return f"{self.prefix}pipeline/{precision}" + (f"/reuse{reuse}" if reuse > 1 else "")

    def sessions(self, backend: str = "onnxruntime") -> dict[str, SaliencySession]:
        """This network's ``backend`` sessions by precision."""
        return {p: s for (b, p), (s, _) in self.opened.items() if b == backend}


def session_rows(
    group: ModelGroup,
    key: tuple[str, str],
    choice: ProviderChoice,
    timings: dict[str, Timing],
    gemm_gflops: float | None,
    peak_precision: str = "fp32",
) -> list[dict[str, Any]]:
    """The inference row of one variant on one backend, and its pipeline rows when
    measured. ``gemm_gflops`` is the peak of ``peak_precision`` (the row's own where a
    probe measured it, else fp32)."""
    session, cost = group.opened[key]
    variant = session.variant
    backend, precision = key
    # what every row of this variant shares, inference or pipeline
    common: dict[str, Any] = {
        "runtime": backend,
        "variant": variant,
        "choice": choice,
        "provider": session.providers[0],
        "precision": precision,
        "gemm_gflops": gemm_gflops,
        "quality": group.quality,
        "student": group.student,
        "trained": variant.trained,
        "peak_precision": peak_precision,
    }
    fidelity = group.fidelity.get(key)
    if fidelity is not None:
        common["fidelity_cc"], common["fidelity_source"] = fidelity
        common["fidelity_reference"] = f"{group.arch} onnxruntime fp32"
        if precision != "fp32":
            common["default_ok"] = variant.default_ok
    if group.cross_cc is not None:
        common["cc_vs_msinet_fp32"] = group.cross_cc.get(key)
        common["cc_vs_msinet_note"] = group.cross_note
    memory = {
        "peak_rss_mib": None if cost.peak_mib is None else round(cost.peak_mib, 1),
        "rss_added_mib": None if cost.grown_mib is None else round(cost.grown_mib, 1),
        "memory_step": f"open + {MEMORY_CALLS} frames",
    }
    inference = timings[group.case(backend, precision)]
    rows = [result_row(inference, mode="inference", **common, **memory)]
    if backend != "onnxruntime":  # the video job runs onnxruntime's sessions
        return rows
    every_frame = group.pipeline_case(precision)
    for name, pipeline in group.pipelines.items():
        if pipeline.session is session:
            extra = _pipeline_fields(pipeline, timings[name], inference, timings.get(every_frame))
            rows.append(
                _network_share(result_row(timings[name], mode="pipeline", **extra, **common))
            )
    return rows


def _network_share(row: dict[str, Any]) -> dict[str, Any]:
    """A reuse row's GFLOP/s counts the frames the network ran on only (a third of them
    with ``--reuse 3``): the rest cost a flow and a warp, not the network's work."""
    maps = row.get("maps") or {}
    done = maps.get("computed", 0) + maps.get("propagated", 0)
    if row.get("reuse", 1) > 1 and done:
        share = maps["computed"] / done
        row["effective_gflops"] = round(row["effective_gflops"] * share, 2)
        if row.get("peak_fraction") is not None:
            row["peak_fraction"] = round(row["peak_fraction"] * share, 4)
    return row


def _pipeline_fields(
    pipeline: Any, whole: Timing, inference: Timing, every_frame: Timing | None
) -> dict[str, Any]:
    """What a pipeline row adds: the clip, latency and stages, the maps the network
    computed and those reuse propagated, and end-to-end FPS next to the network alone
    (same variant, same rounds); a reuse row also its FPS over the every-frame run's."""
    by = pipeline.stats.get("frames_by", {})
    fields: dict[str, Any] = {
        "clip": {"height": 480, "width": 640, "frames": pipeline.frames},
        "latency_ms": pipeline.stats.get("latency_ms"),
        "stages_ms": pipeline.stats.get("stages_ms"),
        "reuse": pipeline.reuse,
        "maps": {"computed": by.get("computed", 0), "propagated": by.get("propagated", 0)},
        "inference_fps": round(inference.fps, 2),
        "end_to_end_vs_inference": round(whole.fps / inference.fps, 3) if inference.fps else None,
    }
    if pipeline.reuse > 1:
        fields["reuse_cuts"] = len(pipeline.stats.get("reuse", {}).get("cuts", []))
        if every_frame is not None and every_frame.fps:
            fields["reuse_vs_every_frame"] = round(whole.fps / every_frame.fps, 3)
    return fields


def contender_rows(
    group: ModelGroup,
    choice: ProviderChoice,
    timings: dict[str, Timing],
    peaks: dict[str, float],
    gemm_gflops: float | None,
) -> list[dict[str, Any]]:
    """The rows of every opened contender of ``group``: each measured against its own
    precision's GEMM peak where a probe measured it (``peaks``), else the fp32 one."""
    rows = []
    for key in group.opened:
        precision = key[1]
        rows.extend(
            session_rows(
                group,
                key,
                choice,
                timings,
                peaks.get(precision, gemm_gflops),
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
