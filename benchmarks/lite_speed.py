"""Inference FPS of the lite network's exported ONNX against MSI-Net's, on the same
backend and precision, in one process, at each preset asked for; plus the MACs per frame
of both (from the TF-free cost tables).

Both graphs are exported here through the project's exporter (same parity gate, random
weights: speed is the same for trained ones) and run through the runtime's own session
(`open_session`). The two networks run interleaved, one timed batch of frames each in
turn, so a machine shared with other work loads them alike and the ratio stays fair.
int8 variants are derived by the project's quantiser (fidelity against fp32 recorded).

    python benchmarks/lite_speed.py --preset very_high --preset very_low \\
        --precision fp32 --precision int8 --json benchmarks/results/lite_speed_cpu.json

Random weights: speed only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def export_pair(models: Path, preset: str, precisions: list[str]) -> dict[str, str]:
    """Export MSI-Net (``preset``, random weights) and a lite model of the same size
    (user model ``lite_<preset>``, random weights) in ``precisions``; returns
    {arch: model name}. The same exports ``saliency-cam bench`` makes for its student
    rows (``saliency_cam.export.random_students``), both labelled UNTRAINED."""
    from saliency_cam.export.random_students import export_random_students
    from saliency_cam.export.variants import export_presets
    from saliency_cam.models.registry import arch_presets

    names = {"lite": export_random_students([preset], models, precisions, progress=False)[preset]}
    if preset in arch_presets("msinet"):
        export_presets([preset], "random", models_dir=models, precisions=precisions, progress=False)
        names["msinet"] = preset
    return names


def time_pair(
    models: Path, names: dict[str, str], precision: str, backend: str, rounds: int, frames: int
) -> dict[str, dict[str, float]]:
    """FPS of each model (median over ``rounds`` interleaved batches of ``frames``)."""
    import numpy as np

    from saliency_cam.realtime.runtime.session import open_session

    sessions = {
        arch: open_session(name, precision, "cpu", models, backend=backend, aspect="letterbox")
        for arch, name in names.items()
    }
    rng = np.random.default_rng(0)
    out: dict[str, dict[str, float]] = {}
    samples: dict[str, list[float]] = {arch: [] for arch in sessions}
    for session in sessions.values():
        h, w = session.size
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        session.infer(image)  # warm-up
    for _ in range(rounds):
        for arch, session in sessions.items():
            h, w = session.size
            image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            began = time.perf_counter()
            for _ in range(frames):
                session.infer(image)
            samples[arch].append(frames / (time.perf_counter() - began))
    for arch, values in samples.items():
        out[arch] = {"fps": round(statistics.median(values), 2)}
    if "msinet" in out:
        out["lite"]["speedup"] = round(out["lite"]["fps"] / out["msinet"]["fps"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", action="append", default=None)
    parser.add_argument("--precision", action="append", default=None)
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from saliency_cam.models import lite
    from saliency_cam.models.architecture import gflops
    from saliency_cam.models.registry import arch_presets

    presets = args.preset or ["very_high"]
    precisions = args.precision or ["fp32"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="lite-speed-") as scratch:
        models = args.models_dir or Path(scratch)
        for preset in presets:
            h, w = arch_presets("lite")[preset]
            names = export_pair(models, preset, precisions)
            for precision in precisions:
                fps = time_pair(models, names, precision, args.backend, args.rounds, args.frames)
                row = {
                    "preset": preset,
                    "size": [h, w],
                    "precision": precision,
                    "backend": args.backend,
                    "lite_gmacs": round(lite.gmacs(h, w), 4),
                    "msinet_gmacs": round(gflops(h, w) / 2, 3),
                    **{f"{arch}_{k}": v for arch, d in fps.items() for k, v in d.items()},
                    "load_average": os.getloadavg(),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.json:
                    payload = {
                        "machine": platform.machine(),
                        "processor": platform.processor(),
                        "cpu_count": os.cpu_count(),
                        "rows": rows,
                    }
                    args.json.parent.mkdir(parents=True, exist_ok=True)
                    args.json.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
