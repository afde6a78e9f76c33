"""Reframing quality and speed, and files/minute with 1 vs 2 workers.

1. **quality** on generated clips with a salient disc that moves left to right, holds
   still, then a hard cut (tests/support/subject_media.py). The maps are an *oracle*
   (the disc, blurred) plus per-frame random low-frequency noise of 0.35× its peak, as a
   stand-in for a trained model's maps: only UNTRAINED random weights exist on these
   machines, and their maps are noise. Reported per target aspect: saliency mass kept
   by the reframed window vs a centre crop (goal ≥ 1.5×) — measured on the *clean*
   oracle map, i.e. how much of the real object the crop keeps — and path jitter (mean
   |accel| of the window centre) vs the unsmoothed per-frame optimum (goal ≤ 0.1×).
2. **speed**: ``run_reframe_job`` (both passes, one 9:16 target) vs ``run_video_job``
   (the ``saliency-cam video`` job, overlay) on the same 640×360 clip with the same
   session, interleaved rounds; ratio = reframe FPS / video FPS (goal ≥ 0.8).
3. **files/minute**: ``saliency-cam video FOLDER --workers 1`` vs ``--workers 2`` (and
   the same for ``reframe``) as subprocesses on a folder of generated clips.

    python benchmarks/reframe_bench.py --models-dir DIR [--quality very_low]

Writes ``benchmarks/results/reframe.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))

from subject_media import make_subject_clip, subject_saliency  # noqa: E402

from saliency_cam.models.atomic import write_json  # noqa: E402
from saliency_cam.realtime.apps.reframe.job import (  # noqa: E402
    ReframeTarget,
    run_reframe_job,
)
from saliency_cam.realtime.apps.video import VideoOutputs, run_video_job  # noqa: E402
from saliency_cam.realtime.pipeline.stats import hardware_info  # noqa: E402
from saliency_cam.realtime.runtime.session import open_session  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "reframe.json"
ASPECTS = ((9, 16), (1, 1), (4, 5))


def noisy_oracle(seed: int, level: float = 0.35):
    """The oracle map plus fresh low-frequency noise every frame (a model's imprecision)."""
    rng = np.random.default_rng(seed)

    def saliency(frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        coarse = rng.random((6, 10)).astype(np.float32)
        noise = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
        return np.clip(subject_saliency(frame) + level * noise, 0, None)

    return saliency


def clean_kept(source: Path, path_json: Path) -> dict[str, float]:
    """Mass of the *clean* oracle map (the true salient object) inside the reframed
    window, the per-frame optimum and the centre crop, averaged over frames."""
    from saliency_cam.realtime.io.video import iter_frames

    plan = json.loads(path_json.read_text())
    w, h = plan["window"]
    sums = {"reframed": [], "per_frame_optimum": [], "centre_crop": []}
    for frame, step in zip(iter_frames(source), plan["frames"], strict=True):
        truth = subject_saliency(frame)
        total = float(truth.sum()) or 1.0
        cx, cy = (frame.shape[1] - w) // 2, (frame.shape[0] - h) // 2
        for name, (x, y) in {
            "reframed": (step["x"], step["y"]),
            "per_frame_optimum": (step["optimum_x"], step["optimum_y"]),
            "centre_crop": (cx, cy),
        }.items():
            sums[name].append(float(truth[y : y + h, x : x + w].sum()) / total)
    return {name: float(np.mean(values)) for name, values in sums.items()}


def measure_quality(folder: Path) -> list[dict[str, Any]]:
    rows = []
    for seed in range(3):
        clip = make_subject_clip(folder / f"q{seed}.mp4", 320, 180, 150, 25, cut=110, seed=seed)
        targets = [
            ReframeTarget(
                a, folder / f"q{seed}_{a[0]}x{a[1]}.mp4", folder / f"q{seed}_{a[0]}x{a[1]}.json"
            )
            for a in ASPECTS
        ]
        result = run_reframe_job(noisy_oracle(seed), clip, targets)
        for track in result.tracks:
            truth = clean_kept(clip, track.target.path_json)
            rows.append(
                {
                    "clip": clip.name,
                    "aspect": "{}:{}".format(*track.target.aspect),
                    "cuts": result.cuts,
                    "object_kept": round(truth["reframed"], 4),
                    "object_kept_centre_crop": round(truth["centre_crop"], 4),
                    "object_kept_per_frame_optimum": round(truth["per_frame_optimum"], 4),
                    "gain_vs_centre": round(truth["reframed"] / truth["centre_crop"], 3),
                    "noisy_map": track.quality.as_dict(),
                    "jitter_ratio": track.quality.as_dict()["jitter_ratio"],
                }
            )
    return rows


def measure_speed(folder: Path, models_dir: Path, quality: str, rounds: int) -> dict[str, Any]:
    clip = make_subject_clip(folder / "speed.mp4", 640, 360, 150, 25, cut=110)
    session = open_session(quality, models_dir=models_dir, device="cpu")
    video_fps, reframe_fps = [], []
    for r in range(rounds):
        out = VideoOutputs.for_main(folder / f"video_{r}.mp4")
        video_fps.append(run_video_job(session, clip, out).fps)
        target = ReframeTarget((9, 16), folder / f"reframe_{r}.mp4")
        reframe_fps.append(run_reframe_job(session.predict, clip, [target]).fps)
    video, reframe = float(np.median(video_fps)), float(np.median(reframe_fps))
    return {
        "clip": "640x360, 150 frames",
        "quality": quality,
        "video_fps": [round(v, 2) for v in video_fps],
        "reframe_fps": [round(v, 2) for v in reframe_fps],
        "video_fps_median": round(video, 2),
        "reframe_fps_median": round(reframe, 2),
        "ratio": round(reframe / video, 3),
    }


def measure_workers(folder: Path, models_dir: Path, quality: str, files: int) -> list[dict]:
    clips = folder / "library"
    clips.mkdir()
    for i in range(files):
        make_subject_clip(clips / f"c{i}.mp4", 320, 180, 75, 25, cut=50, seed=i)
    rows = []
    for command in ("video", "reframe"):
        for workers in (1, 2):
            out = folder / f"out_{command}_{workers}"
            args = [
                sys.executable,
                "-m",
                "saliency_cam.realtime.cli.main",
                command,
                str(clips),
                "-o",
                str(out),
                "--workers",
                str(workers),
                "--threads",
                "1",
                "-q",
                quality,
                "--models-dir",
                str(models_dir),
                "--device",
                "cpu",
                "--no-progress",
            ]
            started = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True)
            seconds = time.perf_counter() - started
            rows.append(
                {
                    "command": " ".join(["saliency-cam", *args[3:]]).replace(str(folder), "TMP"),
                    "workers": workers,
                    "files": files,
                    "seconds": round(seconds, 2),
                    "files_per_minute": round(files / seconds * 60.0, 2),
                    "files_per_hour": round(files / seconds * 3600.0, 1),
                }
            )
            shutil.rmtree(out)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, required=True)
    parser.add_argument("--quality", default="very_low")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        quality_rows = measure_quality(folder)
        speed = measure_speed(folder, args.models_dir, args.quality, args.rounds)
        workers = measure_workers(folder, args.models_dir, args.quality, args.files)
    session = open_session(args.quality, models_dir=args.models_dir, device="cpu")
    summary = {
        aspect: {
            "gain_vs_centre": round(float(np.mean([r["gain_vs_centre"] for r in rows])), 3),
            "jitter_ratio": round(float(np.mean([r["jitter_ratio"] for r in rows])), 4),
        }
        for aspect in {r["aspect"] for r in quality_rows}
        for rows in [[r for r in quality_rows if r["aspect"] == aspect]]
    }
    data = {
        "note": "quality on oracle maps + noise (no trained weights here); speed and "
        "files/min with UNTRAINED random weights (speed does not depend on weights)",
        "model": session.variant.label(),
        "hardware": hardware_info(session.providers),
        "quality": quality_rows,
        "quality_summary": summary,
        "speed": speed,
        "workers": workers,
    }
    write_json(args.json, data)
    print(summary)
    print(speed)
    for row in workers:
        print(row)


if __name__ == "__main__":
    main()
