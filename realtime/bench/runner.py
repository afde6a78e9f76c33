"""``saliency-cam bench``: FPS across qualities × devices × backends × precisions, in two
modes (inference only; the full video pipeline), with the TensorFlow baseline and the
machine's own GEMM peak measured in the same run.

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

from saliency_cam.models.cost import Cost
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.manifest import PRECISIONS, Manifest, VariantInfo
from saliency_cam.models.registry import QUALITY_ORDER, Preset, resolve_preset, resolve_quality
from saliency_cam.realtime.bench.timing import Case, Timing, measure_interleaved
from saliency_cam.realtime.runtime.backends import BACKENDS, installed_backends
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
    this onnxruntime has; ``backends`` empty: every installed one; ``precisions``
    empty: those ``--precision auto`` picks from (plus bf16 on OpenVINO where the CPU
    has it).
    ``round_seconds`` sets the pace: the GEMM probe takes twice that, and each full
    pipeline run lasts about three times that (``pipeline_seconds`` overrides)."""

    qualities: list[str] = field(default_factory=lambda: list(QUALITY_ORDER))
    devices: list[str] = field(default_factory=list)
    #: ``onnxruntime``/``openvino``; empty: every installed backend (OpenVINO on the CPU).
    backends: list[str] = field(default_factory=list)
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
    #: (M, K, N) sizes of the GEMM probes (None: gemm.GEMM_SHAPES; tests use small ones)
    gemm_shapes: tuple[tuple[int, int, int], ...] | None = None
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


def resolve_backends(names: list[str]) -> list[str]:
    """The backends to measure: ``names`` checked (``all`` or empty: every installed
    one); asking for one that is not installed is an error naming its extra."""
    wanted = [n.strip().lower() for n in names if n.strip()]
    installed = installed_backends()
    if not wanted or "all" in wanted:
        return installed
    for name in wanted:
        if name not in BACKENDS or name == "auto":
            raise SaliencyCamError(f"unknown backend {name!r}: choose onnxruntime, openvino or all")
        if name not in installed:
            raise SaliencyCamError(
                f"--backend {name}: not installed (pip install 'saliency-cam[{name}]')"
            )
    return list(dict.fromkeys(wanted))


#: What each backend runs: (backend, precision) pairs, onnxruntime fp32 first (the
#: reference every other row is compared with).
Contenders = list[tuple[str, str]]


def contenders_for(
    choice: ProviderChoice, backends: list[str], asked: list[str], say: Progress
) -> Contenders:
    """The (backend, precision) pairs to measure on ``choice``. onnxruntime runs the
    precisions of :func:`precisions_for` except bf16 (it has no bf16 convolutions);
    OpenVINO runs on the CPU only, fp32 and int8 files, and bf16 where the CPU has it."""
    precisions = precisions_for(choice, asked)
    pairs: Contenders = [("onnxruntime", p) for p in precisions if p != "bf16"]
    if "openvino" in backends and not choice.is_gpu:
        from saliency_cam.realtime.runtime.backends.openvino import has_bf16

        openvino = [p for p in precisions if p in ("fp32", "int8")]
        if (not asked or "bf16" in asked) and has_bf16("CPU"):
            openvino.append("bf16")
        elif "bf16" in asked:
            say("openvino: skipping bf16 (this CPU has no bf16 units)")
        pairs += [("openvino", p) for p in openvino]
    if "onnxruntime" not in backends:
        # onnxruntime fp32 stays as the reference the CCs are measured against
        pairs = [("onnxruntime", "fp32")] + [(b, p) for b, p in pairs if b != "onnxruntime"]
    return pairs


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
            and _preset(q, config.models_dir).kind != "baseline"  # computed, never exported
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


def _measure_quality(
    config: BenchConfig,
    choice: ProviderChoice,
    quality: str,
    contenders: Contenders,
    models_dir: Path,
    gemm_shape: tuple[int, int, int] | None,
    workdir: Path,
    progress: Progress,
) -> list[dict[str, Any]]:
    """Every contender at one quality on one device, in interleaved rounds."""
    from saliency_cam.realtime.bench.gemm import gemm_runner, precision_gemm_runner

    preset = _preset(quality, config.models_dir)
    if preset.kind == "baseline":  # computed in code: one way to run it, one row
        contenders = [("onnxruntime", "fp32")]
    frame = _test_frame(preset.size)
    opened = _open_sessions(preset.name, contenders, choice, models_dir, config.threads)
    fidelity = _fidelity(opened)
    all_sessions = {key: session for key, (session, _) in opened.items()}
    # the TensorFlow baseline and the pipeline runs use onnxruntime's sessions
    sessions = {p: s for (b, p), s in all_sessions.items() if b == "onnxruntime"}
    cases: dict[str, Callable[[], object] | Case] = {
        f"{s.backend}/{p}": (lambda s=s: s.infer(frame)) for (b, p), s in all_sessions.items()
    }
    gemm = gemm_runner(choice, config.threads, gemm_shape) if gemm_shape else None
    if gemm is not None:
        cases["gemm"] = gemm.run
    # int8 and bf16 rows are measured against their own precision's peak (an int8 row
    # against the fp32 peak read 1164 % on AMX), probed in the same rounds
    probes = {}
    if gemm_shape and not choice.is_gpu:
        for precision in dict.fromkeys(p for _, p in contenders):
            probe = precision_gemm_runner(precision, config.threads, gemm_shape)
            if probe is not None:
                probes[precision] = probe
                cases[f"gemm/{precision}"] = probe.run
    baseline = None
    # a classical model has no TensorFlow twin to compare with
    if config.tensorflow and not choice.is_gpu and preset.kind != "baseline":
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
    peaks = {p: r.gflops(timings[f"gemm/{p}"].median_ms / 1e3) for p, r in probes.items()}
    rows = []
    for (backend, precision), (session, cost) in opened.items():
        pipeline = pipelines.get(precision) if backend == "onnxruntime" else None
        peak = peaks.get(precision, gemm_gflops)
        rows.extend(
            _session_rows(
                session, choice, timings, pipeline, peak, cost, fidelity.get(
                    (backend, precision)
                ), peak_precision=precision if precision in peaks else "fp32"
            )
        )  # fmt: skip
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
    del sessions, all_sessions, opened, cases, baseline, pipelines
    gc.collect()
    return rows


#: Calls run inside the memory measurement after opening (the first ones plan memory).
MEMORY_CALLS = 3


def _open_sessions(
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


def _fidelity(
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
    rows = [_row(inference, mode="inference", **common, **memory)]
    if pipeline is not None:
        whole = timings[f"pipeline/{precision}"]
        rows.append(
            _row(
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


def _only_exported(
    plan: dict[str, tuple[ProviderChoice, Contenders]], config: BenchConfig, say: Progress
) -> dict[str, tuple[ProviderChoice, Contenders]]:
    """With the user's own models and no precision asked for, measure the default
    precisions that are exported for every quality (fp32 is always required)."""
    assert config.models_dir is not None
    manifest = Manifest.load(config.models_dir)
    out = {}
    for device, (choice, contenders) in plan.items():
        kept = [
            (b, p)
            for b, p in contenders
            if p == "fp32"
            or all(manifest.find(_preset(q, config.models_dir).name, p) for q in config.qualities)
        ]
        for p in dict.fromkeys(p for b, p in contenders if (b, p) not in kept):
            say(f"{device}: skipping {p} (not exported in {config.models_dir} for every quality)")
        out[device] = (choice, kept)
    return out


def _now() -> float:
    import time

    return time.perf_counter()


def run_bench(config: BenchConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Run the whole matrix; return the JSON-ready result (schema :data:`SCHEMA`)."""
    from saliency_cam.realtime.bench.gemm import GEMM_SHAPES, gemm_peak, precision_peaks
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
    config.backends = resolve_backends(config.backends)
    plan = {
        c.device: (c, contenders_for(c, config.backends, config.precisions, say)) for c in choices
    }
    if config.models_dir is not None and not config.precisions:
        plan = _only_exported(plan, config, say)
    needed = list(dict.fromkeys(p for _, pairs in plan.values() for _, p in pairs))
    models_dir, untrained = prepare_models(config, needed, say)

    started = datetime.now(timezone.utc)
    info = fingerprint(sorted({p for c in choices for p in c.providers}))
    gemm: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="saliency-cam-bench-") as work:
        for device, (choice, contenders) in plan.items():
            shape = None
            if config.gemm:
                say(f"{device}: measuring the fp32 GEMM peak")
                seconds = max(0.2, 2 * config.round_seconds)
                shapes = config.gemm_shapes or GEMM_SHAPES
                peak = gemm_peak(choice, config.threads, seconds=seconds, shapes=shapes)
                gemm[device] = peak.to_json()
                shape = peak.best_shape
                if not choice.is_gpu:
                    wanted = tuple(dict.fromkeys(p for _, p in contenders if p != "fp32"))
                    say(f"{device}: measuring the {', '.join(wanted) or 'no other'} peaks")
                    gemm[device]["precisions"] = precision_peaks(
                        config.threads, shape, wanted, seconds=seconds
                    )
            for quality in config.qualities:
                rows.extend(
                    _measure_quality(
                        config, choice, quality, contenders, models_dir, shape, Path(work), say
                    )
                )
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


def _loadavg() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None
