"""What ``saliency-cam bench`` measures, settled before anything is timed: the
configuration (:class:`BenchConfig`), the devices, backends and (backend, precision)
contenders per device, and the models folder (random-weight exports made once, or the
user's own models).

>>> config = BenchConfig(qualities=["very_low"], rounds=1)
>>> resolve_backends(["onnxruntime"])
['onnxruntime']
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.manifest import PRECISIONS, Manifest
from saliency_cam.models.registry import QUALITY_ORDER, Preset, resolve_preset, resolve_quality
from saliency_cam.realtime.runtime.backends import BACKENDS, installed_backends
from saliency_cam.realtime.runtime.precision import precision_order
from saliency_cam.realtime.runtime.providers import (
    ProviderChoice,
    available_devices,
    choose_providers,
)

MODES: tuple[str, ...] = ("inference", "pipeline")
Progress = Callable[[str], None]


@dataclass
class BenchConfig:
    """What to measure and how long. ``devices`` empty: every device whose provider
    this onnxruntime has; ``backends`` empty: every installed one; ``precisions``
    empty: those ``--precision auto`` picks from (plus bf16 on OpenVINO where the CPU
    has it).
    ``round_seconds`` sets the pace: the GEMM probe takes twice that, and each full
    pipeline run lasts about three times that (``pipeline_seconds`` overrides).
    ``student``: also time the lite student network at each quality preset
    (:mod:`.student`); ``reuse``: the pipeline mode also runs the video job with map
    reuse every ``reuse`` frames (``--reuse``; 1: every-frame runs only)."""

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
    student: bool = True
    reuse: int = 3

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

#: Calls run inside the memory measurement after opening (the first ones plan memory).
MEMORY_CALLS = 3


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


def bench_preset(name: str, models_dir: Path | None) -> Preset:
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
            if manifest.find(bench_preset(q, config.models_dir).name, p) is None
            and bench_preset(q, config.models_dir).kind != "baseline"  # computed, never exported
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


def only_exported(
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
            or all(
                manifest.find(bench_preset(q, config.models_dir).name, p) for q in config.qualities
            )
        ]
        for p in dict.fromkeys(p for b, p in contenders if (b, p) not in kept):
            say(f"{device}: skipping {p} (not exported in {config.models_dir} for every quality)")
        out[device] = (choice, kept)
    return out
