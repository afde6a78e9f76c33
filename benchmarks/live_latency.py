"""End-to-end FPS and latency of the live app against inference alone, per quality.

A synthetic live source — a 640×480 test pattern produced on its own clock at ``--fps``
(default 30) like a camera, newest frame only — feeds the live app headless
(:func:`~saliency_cam.realtime.apps.live.run_live` without a window: capture → letterbox
+ inference → render + HUD, each in its own thread). For each quality it records:

- ``infer_fps``: the network alone (``session.infer`` on an input already at the
  preset size), measured before and after the live run and averaged (shared machines
  drift);
- ``live_fps``: pictures shown per second; ``latency_ms``: capture → shown, p50/p95;
- ``ratio`` = ``live_fps / infer_fps`` (goal ≥ 0.9 from medium up) and
  ``ratio_to_ceiling`` = ``live_fps / min(infer_fps, fps)`` (a 30 FPS camera caps the
  fast qualities at 30);
- ``pipeline_efficiency`` = ``live_fps`` / the inference rate measured inside that run
  (what the threading itself costs, whatever the machine's load);
- ``latency_bound_ms`` = inference time + one frame interval, the goal for p50.

Inference alone and live runs alternate (``--rounds``) so both see the same load on a
shared machine; per-quality figures are medians over the rounds.

Models: ``--models-dir`` with exported variants, or (default) seeded random weights
exported into a temporary folder (needs the export extra). Random weights run exactly as
fast as trained ones; the numbers say nothing about map quality.

    python benchmarks/live_latency.py                        # all qualities, CPU
    python benchmarks/live_latency.py --qualities medium high --seconds 5

Writes ``benchmarks/results/live_latency_<device>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.models.atomic import write_json
from saliency_cam.models.registry import QUALITY_ORDER, resolve_quality
from saliency_cam.realtime.apps.live import LiveOptions, run_live
from saliency_cam.realtime.bench.timing import export_random_models, inference_fps
from saliency_cam.realtime.io.pattern import synthetic_source
from saliency_cam.realtime.pipeline.stats import hardware_info
from saliency_cam.realtime.runtime.session import SaliencySession, open_session

RESULTS = Path(__file__).resolve().parent / "results"
FRAME_SIZE = (480, 640)


def live_run(quality: str, models: Path, args: argparse.Namespace, frames: int) -> dict[str, Any]:
    """The live app, headless, on a fresh synthetic camera for ``frames`` frames."""
    options = LiveOptions(
        quality=quality,
        precision="fp32",
        device=args.device,
        display=False,
        max_frames=frames,
        models_dir=models,
        threads=args.threads,
    )
    with synthetic_source(args.fps, FRAME_SIZE) as camera:
        result = run_live(options, source=camera, say=lambda _msg: None)
    summary = result.stats.summary()
    return {
        "fps": result.stats.fps,
        "infer_fps_in_pipeline": result.inference_fps,
        "frames": summary["frames"],
        "dropped": summary["dropped"],
        "latency_ms": {k: summary["latency_ms"][k] for k in ("p50", "p95", "mean", "max")},
        "stages_ms_mean": {name: s.get("mean") for name, s in summary["stages_ms"].items()},
        "trained": result.trained,
    }


def measure(
    quality: str, models: Path, args: argparse.Namespace
) -> tuple[dict[str, Any], SaliencySession]:
    """One quality: inference alone and the live app, interleaved over ``--rounds``
    (I L I L … I) so both see the same machine load; each live run is compared with
    the inference measured just before and just after it."""
    session = open_session(
        quality, "fp32", args.device, models_dir=models, threads=args.threads, warmup=2
    )
    infers = [inference_fps(session, args.infer_seconds)]
    runs: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        ceiling = min(infers[-1], args.fps)
        frames = int(np.clip(round(args.seconds * ceiling), 15, 600))
        runs.append(live_run(quality, models, args, frames))
        infers.append(inference_fps(session, args.infer_seconds))
    rounds = []
    for k, run in enumerate(runs):
        network = (infers[k] + infers[k + 1]) / 2
        bound = 1000.0 / network + 1000.0 / args.fps
        rounds.append(
            {
                "live_fps": round(run["fps"], 2),
                "infer_fps": round(network, 2),
                "ratio": round(run["fps"] / network, 3),
                "ratio_to_ceiling": round(run["fps"] / min(network, args.fps), 3),
                "pipeline_efficiency": round(run["fps"] / run["infer_fps_in_pipeline"], 3),
                "latency_bound_ms": round(bound, 1),
                **{k: run[k] for k in ("frames", "dropped", "latency_ms", "stages_ms_mean")},
            }
        )

    def median(key: str, sub: str | None = None) -> float:
        values = [r[key][sub] if sub else r[key] for r in rounds]
        return round(float(np.median(values)), 3)

    row = {
        "quality": quality,
        "live_fps": median("live_fps"),
        "infer_fps": median("infer_fps"),
        "ratio": median("ratio"),
        "ratio_to_ceiling": median("ratio_to_ceiling"),
        "pipeline_efficiency": median("pipeline_efficiency"),
        "latency_ms": {"p50": median("latency_ms", "p50"), "p95": median("latency_ms", "p95")},
        "latency_bound_ms": median("latency_bound_ms"),
        "dropped": sum(r["dropped"] for r in rounds),
        "trained": runs[0]["trained"],
        "rounds": rounds,
    }
    row["p50_within_bound"] = row["latency_ms"]["p50"] <= row["latency_bound_ms"]
    row["p95_within_bound"] = row["latency_ms"]["p95"] <= row["latency_bound_ms"]
    return row, session


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--qualities", nargs="+", default=list(QUALITY_ORDER))
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--device", default="cpu", help="cpu | cuda | tensorrt | auto")
    parser.add_argument("--fps", type=float, default=30.0, help="synthetic camera rate")
    parser.add_argument("--seconds", type=float, default=4.0, help="each live run")
    parser.add_argument("--infer-seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved live runs")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    qualities = [resolve_quality(q).name for q in args.qualities]
    load_before = list(os.getloadavg())

    rows: list[dict[str, Any]] = []
    providers: list[str] = []
    with tempfile.TemporaryDirectory(prefix="saliency-live-bench-") as tmp:
        models = args.models_dir or export_random_models(qualities, Path(tmp) / "models")
        for quality in qualities:
            row, session = measure(quality, models, args)
            providers = session.providers
            rows.append(row)
            lat = row["latency_ms"]
            print(
                f"{quality:>9}: live {row['live_fps']:6.1f} FPS, inference {row['infer_fps']:6.1f}"
                f" FPS, ratio {row['ratio']:.2f} (to ceiling {row['ratio_to_ceiling']:.2f}), "
                f"latency p50 {lat['p50']:.0f} / p95 {lat['p95']:.0f} ms "
                f"(bound {row['latency_bound_ms']:.0f}), pipeline efficiency "
                f"{row['pipeline_efficiency']:.2f}, dropped {row['dropped']}",
                flush=True,
            )
    device = providers[0].removesuffix("ExecutionProvider").lower() if providers else "cpu"
    out = args.out or RESULTS / f"live_latency_{device}.json"
    payload = {
        "benchmark": "live_latency",
        "command": "python benchmarks/live_latency.py " + " ".join(argv or sys.argv[1:]),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "source": {"kind": "synthetic live", "fps": args.fps, "size_hw": list(FRAME_SIZE)},
        "view": "overlay with HUD, no window",
        "note": "UNTRAINED random weights where trained is false: speed only",
        "hardware": hardware_info(providers),
        "load_average_before_after": [load_before, list(os.getloadavg())],
        "results": rows,
    }
    write_json(out, payload)
    print(json.dumps({"written": str(out)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
