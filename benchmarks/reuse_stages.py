"""End-to-end FPS with and without ``--reuse`` and where each frame's time goes.

For one quality (default very_high) on a generated webcam-like clip (640×480, a moving
disc over a gradient, 30 fps), it runs, interleaved over ``--rounds``:

- ``inference``: the network alone on a preset-size input (the ceiling without reuse);
- ``video reuse=N``: the whole ``saliency-cam video`` job (decode → resize → network or
  flow+warp → blend → H.264 encode, threaded) for each ``--reuse`` value;
- ``live reuse=N``: the live loop on the same clip, headless (no display);
- with ``--media default budget``, the video job also with the encoder's and OpenCV's
  own thread counts (``media=default``) beside the job's budget (the plain rows).

and records FPS, the ratio to inference-only FPS, the mean time of every stage (decode,
resize in, network, resize out, flow+warp, blend, encode; the network's mean counts
computed frames only) and how many frames the network ran on.

Models: ``--models-dir`` with the quality exported, or (default) seeded random weights
exported into a temporary folder (export extra). Random weights run as fast as trained
ones; the maps mean nothing.

    python benchmarks/reuse_stages.py --models-dir DIR --quality very_high --reuse 1 3

Writes ``benchmarks/results/reuse_stages.json``.
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
from saliency_cam.models.registry import resolve_quality
from saliency_cam.realtime.apps.live import LiveOptions, run_live
from saliency_cam.realtime.apps.video import VideoOutputs, VideoStyle, run_video_job
from saliency_cam.realtime.bench.hardware import fingerprint
from saliency_cam.realtime.bench.pipeline import make_clip
from saliency_cam.realtime.bench.timing import export_random_models, inference_fps
from saliency_cam.realtime.runtime.session import open_session

RESULTS = Path(__file__).resolve().parent / "results" / "reuse_stages.json"


def _stage_means(stats: dict[str, Any]) -> dict[str, float]:
    return {name: s["mean"] for name, s in stats.get("stages_ms", {}).items() if "mean" in s}


#: ``--media``: the video job's encoder/OpenCV threads (run_video_job's media_threads).
MEDIA = {"budget": -1, "default": None}


def video_run(session, clip: Path, out: Path, reuse: int, batch: int, media: str) -> dict[str, Any]:
    """One whole video job."""
    outputs = VideoOutputs.for_main(out)
    result = run_video_job(
        session, clip, outputs, VideoStyle(reuse=reuse), batch=batch, media_threads=MEDIA[media]
    )
    by = result.stats.get("frames_by", {})
    return {
        "fps": result.fps,
        "stages_ms": _stage_means(result.stats),
        "computed": by.get("computed", result.frames),
        "frames": result.frames,
    }


def live_run(models: Path, quality: str, precision: str, backend: str, clip: Path, reuse: int):
    """The live loop on ``clip``, headless."""
    options = LiveOptions(
        source=str(clip),
        quality=quality,
        precision=precision,
        device="cpu",
        backend=backend,
        models_dir=models,
        display=False,
        reuse=reuse,
    )
    result = run_live(options, say=lambda _m: None)
    return {
        "fps": result.stats.fps,
        "stages_ms": _stage_means(result.stats.summary()),
        "computed": result.map_counts.get("computed", result.stats.frames),
        "frames": result.stats.frames,
    }


def main(argv: list[str] | None = None) -> int:
    """Measure every case, summarise, write the JSON (``--out``) and print the speedups."""
    args = parse_args(argv)
    quality = resolve_quality(args.quality).name
    runs, trained, providers = measure(args, quality)
    rows = summarise(runs)
    speedups = reuse_speedups(rows, args.reuse)
    payload = {
        "benchmark": "reuse_stages",
        "command": "python benchmarks/reuse_stages.py " + " ".join(argv or sys.argv[1:]),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quality": quality,
        "precision": args.precision,
        "backend": args.backend,
        "clip": {"width": 640, "height": 480, "frames": args.frames, "fps": 30},
        "weights_trained": trained,
        "note": "UNTRAINED random weights where weights_trained is false: speed only; "
        "medians over rounds, interleaved; compare within this file only",
        "hardware": fingerprint(providers),
        "load_average_end": list(os.getloadavg()),
        "results": rows,
        "reuse_speedup": speedups,
    }
    write_json(args.out, payload)
    print(json.dumps({"written": str(args.out), "reuse_speedup": speedups}))
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line (``argv``, else the process's)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quality", default="very_high")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--reuse", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--frames", type=int, default=60, help="clip length in frames")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1, help="video frames per inference")
    parser.add_argument("--no-live", action="store_true", help="video job only")
    parser.add_argument(
        "--media",
        nargs="+",
        default=["budget"],
        choices=sorted(MEDIA),
        help="encoder/OpenCV threads: budget (media_thread_budget) and/or default (theirs)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def measure(
    args: argparse.Namespace, quality: str
) -> tuple[dict[str, list[dict[str, Any]]], bool, list[str]]:
    """Every case's runs by name (``inference``, ``video reuse=N``, ``live reuse=N``),
    rounds interleaved, in a scratch folder (the clip, random models unless given);
    also whether the weights were trained and the providers the session ran on."""
    with tempfile.TemporaryDirectory(prefix="saliency-reuse-") as tmp:
        work = Path(tmp)
        models = args.models_dir or export_random_models([quality], work / "models")
        clip = make_clip(work / "clip.mp4", args.frames)
        session = open_session(
            quality, args.precision, "cpu", models, backend=args.backend, warmup=1
        )
        runs: dict[str, list[dict[str, Any]]] = {}
        for round_index in range(args.rounds):
            runs.setdefault("inference", []).append({"fps": inference_fps(session, 3.0)})
            for reuse in args.reuse:
                for media in args.media:
                    out = work / f"out_{reuse}_{media}_{round_index}.mp4"
                    key = f"video reuse={reuse}" + ("" if media == "budget" else f" media={media}")
                    runs.setdefault(key, []).append(
                        video_run(session, clip, out, reuse, args.batch, media)
                    )
                    print(key, round(runs[key][-1]["fps"], 2), flush=True)
                if not args.no_live:
                    key = f"live reuse={reuse}"
                    runs.setdefault(key, []).append(
                        live_run(models, quality, args.precision, args.backend, clip, reuse)
                    )
                    print(key, round(runs[key][-1]["fps"], 2), flush=True)
        return runs, session.trained, session.providers


def summarise(runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per case: median FPS, its ratio to inference alone, the last round's
    computed frames and stage means, and every round's FPS."""
    network = float(np.median([r["fps"] for r in runs["inference"]]))
    rows = []
    for key, measured in runs.items():
        fps = float(np.median([r["fps"] for r in measured]))
        row: dict[str, Any] = {"case": key, "fps": round(fps, 2)}
        if key != "inference":
            row["vs_inference"] = round(fps / network, 3)
            last = measured[-1]
            row["computed_frames"] = f"{last['computed']}/{last['frames']}"
            row["stages_ms_mean"] = {k: round(v, 2) for k, v in last["stages_ms"].items()}
        row["fps_per_round"] = [round(r["fps"], 2) for r in measured]
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def reuse_speedups(rows: list[dict[str, Any]], reuses: list[int]) -> dict[str, float]:
    """FPS with ``--reuse N`` over FPS with reuse 1, for the video job and the live loop
    (keyed by kind: with several N, the last one's)."""
    plain = {r["case"]: r["fps"] for r in rows}
    return {
        kind: round(plain[f"{kind} reuse={n}"] / plain[f"{kind} reuse=1"], 3)
        for kind in ("video", "live")
        for n in reuses
        if n != 1 and f"{kind} reuse={n}" in plain and f"{kind} reuse=1" in plain
    }


if __name__ == "__main__":
    sys.exit(main())
