"""Throughput of ``saliency-cam video`` against inference alone, per clip size and quality.

For each clip (640×480 and 1280×720, ~3 s at 30 fps, generated) and each quality, it
measures on CPU:

- ``infer_fps``: the network alone (``session.infer`` on an input already at the
  preset size), measured before and after the video run and averaged (shared machines
  drift);
- ``frame_fps``: one frame at a time, letterbox + inference + map back to frame size;
- ``video_fps``: the whole video job as the CLI runs it (decode → infer → render +
  H.264 encode, threaded) — frames divided by wall time from the first decode to the
  closed output file;
- ``ratio`` = ``video_fps / infer_fps`` (goal ≥ 0.9 from medium up).

Models: ``--models-dir`` with exported variants, or (default) seeded random weights
exported into a temporary folder (needs the export extra). Random weights run exactly as
fast as trained ones; the numbers say nothing about map quality.

    python benchmarks/video_throughput.py                  # all qualities, both sizes
    python benchmarks/video_throughput.py --qualities medium high --seconds 2

Writes ``benchmarks/results/video_throughput.json``.
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
from saliency_cam.realtime.apps.video import VideoOutputs, VideoStyle, run_video_job
from saliency_cam.realtime.bench.pipeline import make_clip
from saliency_cam.realtime.bench.timing import export_random_models, inference_fps
from saliency_cam.realtime.io.pattern import TestPattern
from saliency_cam.realtime.io.video import VideoInfo
from saliency_cam.realtime.pipeline.stats import hardware_info
from saliency_cam.realtime.runtime.session import SaliencySession, open_session

SIZES: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720))
RESULTS = Path(__file__).resolve().parent / "results" / "video_throughput.json"


def frame_fps(session: SaliencySession, clip_frame: np.ndarray, frames: int) -> float:
    """Frames per second of letterbox + inference + undo at the clip's size."""
    session.predict(clip_frame)
    start = time.perf_counter()
    for _ in range(frames):
        session.predict(clip_frame)
    return frames / (time.perf_counter() - start)


def measure(
    session: SaliencySession, clip: Path, out_dir: Path, infer_seconds: float
) -> dict[str, Any]:
    """One (clip, quality) cell."""
    info = VideoInfo.from_path(clip)
    first = TestPattern((info.height, info.width)).frame(0)
    before = inference_fps(session, infer_seconds)
    per_frame = frame_fps(session, first, 10)
    outputs = VideoOutputs.for_main(out_dir / f"{clip.stem}_{session.variant.preset}.mp4")
    result = run_video_job(session, clip, outputs, VideoStyle(view="overlay"))
    after = inference_fps(session, infer_seconds)
    network = (before + after) / 2
    video = result.fps
    return {
        "frames": result.frames,
        "video_fps": round(video, 2),
        "infer_fps": round(network, 2),
        "infer_fps_before_after": [round(before, 2), round(after, 2)],
        "frame_fps": round(per_frame, 2),
        "ratio": round(video / network, 3),
        "stages_ms_mean": {
            name: s.get("mean") for name, s in result.stats.get("stages_ms", {}).items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--qualities", nargs="+", default=list(QUALITY_ORDER))
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--seconds", type=float, default=3.0, help="clip length")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--infer-seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    qualities = [resolve_quality(q).name for q in args.qualities]

    with tempfile.TemporaryDirectory(prefix="saliency-bench-") as tmp:
        work = Path(tmp)
        models = args.models_dir or export_random_models(qualities, work / "models")
        clips = [
            make_clip(work / f"clip_{w}x{h}.mp4", round(args.seconds * args.fps), (h, w), args.fps)
            for w, h in SIZES
        ]
        rows: list[dict[str, Any]] = []
        providers: list[str] = []
        trained: dict[str, bool] = {}
        for quality in qualities:
            session = open_session(quality, device="cpu", models_dir=models, threads=args.threads)
            providers = session.providers
            trained[quality] = session.trained
            for clip, (w, h) in zip(clips, SIZES, strict=True):
                cell = measure(session, clip, work, args.infer_seconds)
                rows.append({"quality": quality, "clip": f"{w}x{h}", **cell})
                print(
                    f"{quality:>9} {w}x{h}: video {cell['video_fps']:6.1f} FPS, "
                    f"inference {cell['infer_fps']:6.1f} FPS, ratio {cell['ratio']:.2f}",
                    flush=True,
                )
    payload = {
        "benchmark": "video_throughput",
        "command": "python benchmarks/video_throughput.py " + " ".join(argv or sys.argv[1:]),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "clip": {"seconds": args.seconds, "fps": args.fps, "view": "overlay", "codec": "libx264"},
        "weights_trained": trained,
        "note": "UNTRAINED random weights where weights_trained is false: speed only",
        "hardware": hardware_info(providers),
        "load_average": list(os.getloadavg()),
        "results": rows,
    }
    write_json(args.out, payload)
    print(json.dumps({"written": str(args.out)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
