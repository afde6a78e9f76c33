"""``--backend auto``: the fastest installed backend × precision that passes fidelity,
measured briefly on first use and remembered per machine.

The cache key is the hardware fingerprint (CPU model and flags, cores, OS, machine),
the package versions (onnxruntime, OpenVINO), the device, the threads and the model
files' checksums; the answer lives in ``<runtime cache>/backend_choice.json`` (written
under a file lock, temp name + rename). An explicit ``--backend`` always wins; delete
the file (or pass ``remeasure=True``) to measure again.

>>> pick = BackendPick("openvino", "int8", "auto: openvino int8 31.0 FPS ...")
>>> pick.backend, pick.precision
('openvino', 'int8')
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.models import machine
from saliency_cam.models.manifest import Manifest
from saliency_cam.models.paths import models_dir as resolve_models_dir
from saliency_cam.models.paths import runtime_cache_dir
from saliency_cam.models.registry import resolve_preset
from saliency_cam.realtime.runtime.backends import installed_backends
from saliency_cam.realtime.runtime.precision import usable_by_default
from saliency_cam.realtime.runtime.providers import ProviderChoice

CACHE_NAME = "backend_choice.json"
#: Seconds of timed runs per candidate (split over interleaved rounds).
MEASURE_SECONDS = 1.2
ROUNDS = 3


@dataclass(frozen=True)
class BackendPick:
    """What ``auto`` chose, and the one line saying why (shown in the HUD and --stats)."""

    backend: str
    precision: str
    note: str = ""


def cpu_fingerprint() -> dict[str, str]:
    """CPU model, the SIMD flags that change kernels, cores, OS and machine."""
    wanted = ("avx2", "avx512", "amx", "vnni", "fma", "f16c")
    flags = " ".join(sorted(f for f in machine.cpu_flags() if f.startswith(wanted)))
    return {
        "cpu": machine.cpu_model(),
        "flags": flags,
        "cores": str(os.cpu_count() or 0),
        "system": f"{platform.system()} {platform.machine()}",
    }


def package_versions() -> dict[str, str]:
    """Versions of the inference packages that decide the speed."""
    out = {}
    for name in ("onnxruntime", "onnxruntime-gpu", "onnxruntime-openvino", "openvino"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def cache_key(
    quality: str, precision: str, device: str, threads: int | None, shas: list[str]
) -> str:
    """Hex key of one decision: same machine, packages, request and model files.

    ``threads`` is deliberately not part of it: every door (a command, ``--workers``
    with its per-worker thread budget, the server, the API) must get the same answer on
    one machine, and a re-measurement at another thread count can flip a near tie.
    """
    del threads  # kept in the signature for callers; see above
    payload = {
        "hardware": cpu_fingerprint(),
        "packages": package_versions(),
        "request": [quality, precision, device],
        "models": sorted(shas),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def candidates(
    quality: str,
    precision: str,
    choice: ProviderChoice,
    models_dir: str | os.PathLike[str] | None,
    backends: list[str] | None = None,
) -> list[tuple[str, str]]:
    """(backend, precision) pairs worth measuring: exported, passing fidelity (unless the
    precision was named), on a backend that is installed and can run it."""
    name = resolve_preset(quality, models_dir).name
    manifest = Manifest.load(resolve_models_dir(models_dir))
    backends = backends or installed_backends()
    out: list[tuple[str, str]] = []
    for backend in backends:
        if backend == "openvino" and choice.is_gpu:
            continue  # an NVIDIA/AMD GPU beats OpenVINO's CPU plan; Intel GPUs are named
        if precision != "auto":
            wanted = [precision]
        elif backend == "openvino":
            wanted = ["bf16", "int8", "fp32"] if _has_bf16() else ["int8", "fp32"]
        else:
            wanted = list(choice.precisions)
        for item in wanted:
            if item == "bf16" and backend != "openvino":
                continue
            info = manifest.find(name, item)
            if precision == "auto" and not usable_by_default(info):
                continue
            if precision != "auto" and (info is None or not info.path.is_file()):
                continue
            out.append((backend, item))
    return out or [("onnxruntime", "fp32" if precision == "auto" else precision)]


def _has_bf16() -> bool:
    from saliency_cam.realtime.runtime.backends.openvino import has_bf16

    return has_bf16("CPU")


def measure(run: Callable[[], object], seconds: float) -> float:
    """Frames per second of ``run`` over about ``seconds`` (at least 2 calls)."""
    count, started = 0, time.perf_counter()
    while count < 2 or time.perf_counter() - started < seconds:
        run()
        count += 1
    return count / (time.perf_counter() - started)


def choose_backend(
    quality: str,
    precision: str,
    device: str,
    choice: ProviderChoice,
    models_dir: str | os.PathLike[str] | None,
    open_candidate: Callable[[str, str], object],
    *,
    threads: int | None = None,
    remeasure: bool = False,
    cache_dir: Path | None = None,
) -> BackendPick:
    """Pick backend × precision for ``quality`` (``precision`` may be ``auto``).

    ``open_candidate(backend, precision)`` returns an opened session (``infer`` and
    ``size``); it is only called when there is more than one candidate and no cached
    answer for this machine.
    """
    pairs = candidates(quality, precision, choice, models_dir)
    if len(pairs) == 1:
        backend, chosen = pairs[0]
        return BackendPick(backend, chosen, "")
    name = resolve_preset(quality, models_dir).name
    manifest = Manifest.load(resolve_models_dir(models_dir))
    shas = [getattr(manifest.find(name, p), "sha256", "") for _, p in pairs]
    key = cache_key(name, precision, device, threads, shas)
    path = (cache_dir or runtime_cache_dir()) / CACHE_NAME
    if not remeasure:
        cached = _read(path).get(key)
        if cached:
            return BackendPick(cached["backend"], cached["precision"], cached["note"] + " (cached)")
    sessions: dict[tuple[str, str], Any] = {pair: open_candidate(*pair) for pair in pairs}
    rng = np.random.default_rng(0)
    speeds: dict[tuple[str, str], list[float]] = {pair: [] for pair in pairs}
    for _ in range(ROUNDS):  # interleaved, so load drift hits every candidate alike
        for pair, session in sessions.items():
            frame = rng.integers(0, 255, (*session.size, 3), dtype=np.uint8)
            speeds[pair].append(measure(partial(session.infer, frame), MEASURE_SECONDS / ROUNDS))
    fps = {pair: float(np.median(values)) for pair, values in speeds.items()}
    best = max(fps, key=lambda pair: fps[pair])
    others = ", ".join(f"{b} {p} {fps[(b, p)]:.1f}" for b, p in pairs if (b, p) != best)
    day = datetime.now(timezone.utc).date().isoformat()
    note = f"auto: {best[0]} {best[1]} {fps[best]:.1f} FPS (vs {others}; measured {day})"
    _write(
        path,
        key,
        {
            "backend": best[0],
            "precision": best[1],
            "note": note,
            "fps": {f"{b} {p}": round(v, 2) for (b, p), v in fps.items()},
        },
    )
    return BackendPick(best[0], best[1], note)


def _read(path: Path) -> dict[str, dict]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write(path: Path, key: str, entry: dict) -> None:
    """Add one decision under a file lock (two apps starting together keep both)."""
    from filelock import FileLock

    from saliency_cam.models.atomic import atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=30):
        data = _read(path)
        data[key] = entry
        atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
