"""``saliency-cam bench``: FPS across qualities × devices × precisions, in two modes
(inference only; the full video pipeline), with the TensorFlow baseline and the
machine's own GEMM peak measured in the same run.

Speed does not depend on weight values, so by default the benchmark exports seeded
random (UNTRAINED) variants into its own cache folder and runs anywhere, offline; every
result says so. ``models_dir`` benchmarks variants already exported there instead.

Within one quality, every contender (each precision, TensorFlow, the pipeline runs and
a GEMM probe) is timed in alternating rounds, so on a shared machine their ratios stay
meaningful when absolute speed drifts (:mod:`.benchmark_timing`).

>>> result = run_bench(BenchConfig(qualities=["very_low"], rounds=1))   # doctest: +SKIP
>>> result["summary"]["ort_vs_tf"]["very_low"]                          # doctest: +SKIP
4.3
"""

from __future__ import annotations

import gc
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.manifest import PRECISIONS, Manifest, VariantInfo
from saliency_cam.models.registry import QUALITY_ORDER, Preset, resolve_preset, resolve_quality
from saliency_cam.realtime.bench.timing import Case, Timing, measure_interleaved
from saliency_cam.realtime.runtime.precision import precision_order
from saliency_cam.realtime.runtime.providers import (
    ProviderChoice,
    available_devices,
    choose_providers,
)
from saliency_cam.realtime.runtime.session import SaliencySession, open_session

SCHEMA = "saliency-cam-bench/1"
MODES: tuple[str, ...] = ("inference", "pipeline")
UNTRAINED_NOTE = (
    "UNTRAINED random weights: speed does not depend on weight values; the maps mean nothing"
)
#: Precisions measured when none are asked for: what each device kind is fast at.

Progress = Callable[[str], None]


@dataclass
class BenchConfig:
    """What to measure and how long. ``devices`` empty: every device whose provider
    this onnxruntime has; ``precisions`` empty: those ``--precision auto`` picks from.
    ``round_seconds`` sets the pace: the GEMM probe takes twice that, and each full
    pipeline run lasts about three times that (``pipeline_seconds`` overrides)."""

    qualities: list[str] = field(default_factory=lambda: list(QUALITY_ORDER))
    devices: list[str] = field(default_factory=list)
    precisions: list[str] = field(default_factory=list)
    modes: list[str] = field(default_factory=lambda: list(MODES))
    tensorflow: bool = True
    models_dir: Path | None = None
    warmup: int = 3
    rounds: int = 3
    round_seconds: float = 1.0
    min_iterations: int = 10
    pipeline_seconds: float | None = None
    threads: int | None = None
    gemm: bool = True
    label: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["models_dir"] = str(self.models_dir) if self.models_dir else None
        return data


def bench_models_dir() -> Path:
    """Where the benchmark keeps its random-weight variants (separate from real models,
    so benchmarking never replaces a trained export)."""
    from platformdirs import user_cache_dir

    env = os.environ.get("SALIENCY_CAM_BENCH_MODELS_DIR")
    return Path(env).expanduser() if env else Path(user_cache_dir("saliency-cam")) / "bench-models"


def resolve_devices(names: list[str]) -> list[ProviderChoice]:
    """Provider choices for ``names``; empty means CPU plus every GPU provider present."""
    names = names or available_devices()
    choices = [choose_providers(name) for name in dict.fromkeys(n.lower() for n in names)]
    return list({c.device: c for c in choices}.values())


def precisions_for(choice: ProviderChoice, asked: list[str]) -> list[str]:
    """The precisions to measure on ``choice``; fp32 always comes first (the reference)."""
    for precision in asked:
        if precision not in PRECISIONS:
            raise SaliencyCamError(
                f"unknown precision {precision!r}: choose from {', '.join(PRECISIONS)}"
            )
    wanted = asked or list(precision_order(choice))  # what --precision auto would choose from
    return list(dict.fromkeys(["fp32", *wanted]))


def _preset(name: str, models_dir: Path | None) -> Preset:
    """A quality, or — with the user's own models folder — any model there by name
    (a user model trained with ``saliency-cam train``)."""
    return resolve_preset(name, models_dir) if models_dir is not None else resolve_quality(name)


def prepare_models(
    config: BenchConfig, precisions: list[str], progress: Progress
) -> tuple[Path, bool]:
    """The models directory to use and whether it holds our random-weight exports.

    Without ``config.models_dir``: export (or reuse) random-weight variants into
    :func:`bench_models_dir`. With it: use what is there; a missing variant is an error
    naming the export command.
    """
    if config.models_dir is not None:
        manifest = Manifest.load(config.models_dir)
        missing = [
            f"{q} {p}"
            for q in config.qualities
            for p in precisions
            if manifest.find(_preset(q, config.models_dir).name, p) is None
        ]
        if missing:
            raise SaliencyCamError(
                f"{config.models_dir} lacks {', '.join(missing)}: export them "
                f"('saliency-cam export --precision …') or leave out --models-dir to benchmark "
                "random-weight variants"
            )
        return config.models_dir, False
    from saliency_cam.export import require_export_extra

    require_export_extra("exporting the benchmark's random-weight models (or pass --models-dir)")
    from saliency_cam.export.variants import export_presets

    directory = bench_models_dir()
    progress(f"exporting random-weight (UNTRAINED) variants into {directory} (once)")
    export_presets(
        config.qualities, "random", models_dir=directory, precisions=precisions, progress=True
    )
    return directory, True


def _test_frame(size: tuple[int, int]):  # -> np.ndarray
    """One natural-looking uint8 BGR frame at the preset size."""
    from saliency_cam.export.calibration import held_out_frames

    return held_out_frames(size, 1)[0]


def _row(
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
    preset = _preset(variant.preset, variant.directory)
    row: dict[str, Any] = {
        "mode": mode,
        "runtime": runtime,
        "quality": preset.name,
        "height": preset.height,
        "width": preset.width,
        "device": choice.device if choice else "cpu",
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


def _measure_quality(
    config: BenchConfig,
    choice: ProviderChoice,
    quality: str,
    precisions: list[str],
    models_dir: Path,
    gemm_shape: tuple[int, int, int] | None,
    workdir: Path,
    progress: Progress,
) -> list[dict[str, Any]]:
    """Every contender at one quality on one device, in interleaved rounds."""
    from saliency_cam.realtime.bench.gemm import gemm_runner

    preset = _preset(quality, config.models_dir)
    frame = _test_frame(preset.size)
    sessions = _open_sessions(preset.name, precisions, choice, models_dir, config.threads)
    cases: dict[str, Callable[[], object] | Case] = {
        f"ort/{p}": (lambda s=s: s.infer(frame)) for p, s in sessions.items()
    }
    gemm = gemm_runner(choice, config.threads, gemm_shape) if gemm_shape else None
    if gemm is not None:
        cases["gemm"] = gemm.run
    baseline = None
    if config.tensorflow and not choice.is_gpu:
        progress(f"{preset.name}: building the TensorFlow baseline")
        baseline = _tensorflow_baseline(sessions["fp32"], frame)
        cases["tensorflow"] = lambda r=baseline[0]: r.run(frame)
    pipelines = (
        _pipeline_cases(config, sessions, frame, workdir / f"clip_{preset.name}.mp4")
        if "pipeline" in config.modes
        else {}
    )
    for precision, case in pipelines.items():
        cases[f"pipeline/{precision}"] = Case(case.run, frames=case.frames, whole_run=True)

    progress(f"{preset.name} on {choice.device}: timing {', '.join(cases)}")
    timings = measure_interleaved(
        cases,
        warmup=config.warmup,
        rounds=config.rounds,
        round_seconds=config.round_seconds,
        min_iterations=config.min_iterations,
    )
    gemm_gflops = gemm.gflops(timings["gemm"].median_ms / 1e3) if gemm else None
    rows = []
    for precision, session in sessions.items():
        rows.extend(_session_rows(session, choice, timings, pipelines.get(precision), gemm_gflops))
    if baseline is not None:
        runner, diff = baseline
        rows.append(
            _row(
                timings["tensorflow"],
                mode="inference",
                runtime="tensorflow",
                variant=sessions["fp32"].variant,
                choice=choice,
                provider="tensorflow-cpu",
                precision="fp32",
                gemm_gflops=gemm_gflops,
                tensorflow=runner.version,
                parity_max_abs=diff,
            )
        )
    del sessions, cases, baseline, pipelines
    gc.collect()
    return rows


def _open_sessions(
    preset: str,
    precisions: list[str],
    choice: ProviderChoice,
    models_dir: Path,
    threads: int | None,
) -> dict[str, SaliencySession]:
    """One session per precision, through the one model opener."""
    return {
        precision: open_session(
            preset, precision, choice.device, models_dir, threads=threads, choice=choice
        )
        for precision in precisions
    }


def _tensorflow_baseline(fp32: SaliencySession, frame: Any) -> tuple[Any, float]:
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


def _pipeline_cases(
    config: BenchConfig, sessions: dict[str, SaliencySession], frame: Any, clip_path: Path
) -> dict[str, Any]:
    """The full video job per precision, on a clip long enough for ~pipeline_seconds at
    the inference speed seen so far."""
    from saliency_cam.realtime.bench.pipeline import PipelineCase, make_clip

    probe = Timing()
    for _ in range(3):
        started = _now()
        sessions["fp32"].infer(frame)
        probe.add(_now() - started)
    seconds = config.pipeline_seconds or 3 * config.round_seconds
    frames = int(min(600, max(24, seconds * probe.fps)))
    clip = make_clip(clip_path, frames)
    return {
        precision: PipelineCase(
            session, clip, frames, clip_path.with_name(f"out_{clip_path.stem}_{precision}.mp4")
        )
        for precision, session in sessions.items()
    }


def _session_rows(
    session: SaliencySession,
    choice: ProviderChoice,
    timings: dict[str, Timing],
    pipeline: Any,
    gemm_gflops: float | None,
) -> list[dict[str, Any]]:
    """The inference row of one variant, and its pipeline row when measured."""
    variant = session.variant
    precision = variant.precision
    # what every row of this variant shares, inference or pipeline
    common: dict[str, Any] = {
        "runtime": "onnxruntime",
        "variant": variant,
        "choice": choice,
        "provider": session.providers[0],
        "precision": precision,
        "gemm_gflops": gemm_gflops,
        "trained": variant.trained,
    }
    if precision != "fp32":
        common["fidelity_cc"] = variant.fidelity.get("cc")
        common["default_ok"] = variant.default_ok
    rows = [_row(timings[f"ort/{precision}"], mode="inference", **common)]
    if pipeline is not None:
        rows.append(
            _row(
                timings[f"pipeline/{precision}"],
                mode="pipeline",
                clip={"height": 480, "width": 640, "frames": pipeline.frames},
                latency_ms=pipeline.stats.get("latency_ms"),
                stages_ms=pipeline.stats.get("stages_ms"),
                **common,
            )
        )
    return rows


def _only_exported(
    plan: dict[str, tuple[ProviderChoice, list[str]]], config: BenchConfig, say: Progress
) -> dict[str, tuple[ProviderChoice, list[str]]]:
    """With the user's own models and no precision asked for, measure the default
    precisions that are exported for every quality (fp32 is always required)."""
    assert config.models_dir is not None
    manifest = Manifest.load(config.models_dir)
    out = {}
    for device, (choice, precisions) in plan.items():
        kept = [
            p
            for p in precisions
            if p == "fp32"
            or all(manifest.find(_preset(q, config.models_dir).name, p) for q in config.qualities)
        ]
        for p in set(precisions) - set(kept):
            say(f"{device}: skipping {p} (not exported in {config.models_dir} for every quality)")
        out[device] = (choice, kept)
    return out


def _now() -> float:
    import time

    return time.perf_counter()


def run_bench(config: BenchConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Run the whole matrix; return the JSON-ready result (schema :data:`SCHEMA`)."""
    from saliency_cam.realtime.bench.gemm import gemm_peak
    from saliency_cam.realtime.bench.hardware import fingerprint
    from saliency_cam.realtime.bench.summary import summarize

    say = progress or (lambda _msg: None)
    config.qualities = [_preset(q, config.models_dir).name for q in config.qualities] or list(
        QUALITY_ORDER
    )
    for mode in config.modes:
        if mode not in MODES:
            raise SaliencyCamError(f"unknown mode {mode!r}: choose from {', '.join(MODES)}")
    choices = resolve_devices(config.devices)
    plan = {c.device: (c, precisions_for(c, config.precisions)) for c in choices}
    if config.models_dir is not None and not config.precisions:
        plan = _only_exported(plan, config, say)
    needed = list(dict.fromkeys(p for _, ps in plan.values() for p in ps))
    models_dir, untrained = prepare_models(config, needed, say)

    started = datetime.now(timezone.utc)
    info = fingerprint(sorted({p for c in choices for p in c.providers}))
    gemm: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="saliency-cam-bench-") as work:
        for device, (choice, precisions) in plan.items():
            shape = None
            if config.gemm:
                say(f"{device}: measuring the fp32 GEMM peak")
                peak = gemm_peak(choice, config.threads, seconds=max(0.2, 2 * config.round_seconds))
                gemm[device] = peak.to_json()
                shape = peak.best_shape
            for quality in config.qualities:
                rows.extend(
                    _measure_quality(
                        config, choice, quality, precisions, models_dir, shape, Path(work), say
                    )
                )
    trained = all(r.get("trained", True) for r in rows if r["runtime"] == "onnxruntime")
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


def _loadavg() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None
