"""Backends, aspect matching and batching on this CPU, one run, interleaved rounds
(the machines are shared: compare ratios from one run only; docs/design.md §6).

1. backends: onnxruntime fp32/int8 vs OpenVINO f32/int8 (and bf16 where the CPU has
   it) per quality: frames/s at the preset size, CC vs onnxruntime fp32 on the bundled
   sample pictures, peak RSS of a process that loads the model and runs 3 frames;
2. aspect: generated 16:9 and 9:16 clips with a moving salient disc, ``predict`` frames/s
   aspect-matched vs letterboxed, and CC between the two maps;
3. batch: ``run_video_job`` frames/s at batch 1, 4, 8 on a 16:9 clip;
4. combined: the levers together at one quality (very_high by default) on the 16:9
   clip: onnxruntime int8 letterboxed (the old way), onnxruntime int8 aspect-matched,
   OpenVINO int8 aspect-matched with its latency plan (one frame at a time, live) and
   with its throughput plan (streams, 4 frames in flight, file jobs); frames/s of
   ``predict`` (resize + network + map back), CC of each against onnxruntime fp32
   letterboxed (the old output) and fp32 at the same input size, and the issue's AVX2
   goal (very_high >= 5 FPS) checked on the best.

``--export`` first exports (once) the random-weight fp32 and int8 variants (and bf16 where
the CPU has bf16 units) the parts need into ``--models-dir`` (needs the export extra;
very_high int8 takes ~2 GB and a minute or two).

Models: random (UNTRAINED) exports, speed only; CCs on them say how much the numerics
agree, not how good the maps are.

    python benchmarks/backends_cpu.py --models-dir DIR --export \
        --out benchmarks/results/backends_cpu.json
    # a quick check that it runs (numbers meaningless):
    python benchmarks/backends_cpu.py --models-dir /tmp/m --export --qualities very_low \
        --rounds 1 --seconds 0.1 --combined-quality very_low --out /tmp/b.json
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np

from saliency_cam.export.parity import sample_images
from saliency_cam.models import machine
from saliency_cam.models.manifest import Manifest
from saliency_cam.models.metrics import cc
from saliency_cam.realtime.runtime.backends.openvino import has_bf16, openvino_version
from saliency_cam.realtime.runtime.session import open_session


def cpu_kind() -> str:
    """The CPU kind and its wide-vector flags, as every benchmark records them."""
    wide = sorted(f for f in machine.cpu_flags() if f.startswith(("avx512", "amx")))
    return " ".join([machine.cpu_kind(), *wide])


def fps_of(run, seconds: float) -> float:
    run()
    count, start = 0, time.perf_counter()
    while count < 2 or time.perf_counter() - start < seconds:
        run()
        count += 1
    return count / (time.perf_counter() - start)


RSS_SCRIPT = """
import sys, numpy as np
from saliency_cam.realtime.runtime.session import open_session
s = open_session(sys.argv[1], sys.argv[2], "cpu", sys.argv[3], backend=sys.argv[4])
for _ in range(3):
    s.infer(np.full((*s.size, 3), 126, np.uint8))
# VmHWM restarts at exec (ru_maxrss would inherit the parent's peak across fork)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(hwm)
"""


def peak_rss_mb(quality: str, precision: str, models: Path, backend: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT, quality, precision, str(models), backend],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return round(int(out.strip().splitlines()[-1]) / 1024, 1)


def combos(quality: str, models: Path) -> list[tuple[str, str]]:
    manifest = Manifest.load(models)
    out = []
    for precision in ("fp32", "int8"):
        if manifest.find(quality, precision) is not None:
            out += [("onnxruntime", precision), ("openvino", precision)]
    if has_bf16() and manifest.find(quality, "bf16") is not None:
        out.append(("openvino", "bf16"))
    return out


def bench_backends(qualities, models: Path, rounds: int, seconds: float) -> list[dict]:
    rows = []
    pictures = [image for _, image in sample_images()]
    for quality in qualities:
        sessions = {
            (b, p): open_session(quality, p, "cpu", models, backend=b)
            for b, p in combos(quality, models)
        }
        frame = cv2.resize(pictures[0], sessions[("onnxruntime", "fp32")].size[::-1])
        speeds: dict = {key: [] for key in sessions}
        for _ in range(rounds):
            for key, session in sessions.items():
                speeds[key].append(fps_of(lambda s=session, f=frame: s.infer(f), seconds))
        reference = [sessions[("onnxruntime", "fp32")].predict(p) for p in pictures]
        base = float(np.median(speeds[("onnxruntime", "fp32")]))
        for (backend, precision), session in sessions.items():
            maps = [session.predict(p) for p in pictures]
            fps = float(np.median(speeds[(backend, precision)]))
            rows.append(
                {
                    "quality": quality,
                    "input": "x".join(map(str, session.size)),
                    "backend": backend,
                    "precision": precision,
                    "provider": session.providers[0],
                    "fps": round(fps, 2),
                    "vs_onnxruntime_fp32": round(fps / base, 3),
                    "cc_vs_onnxruntime_fp32": round(
                        float(
                            np.mean(
                                [
                                    cc(m.astype(float), r.astype(float))
                                    for m, r in zip(maps, reference, strict=True)
                                ]
                            )
                        ),
                        5,
                    ),
                    "peak_rss_mb": peak_rss_mb(quality, precision, models, backend),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
        del sessions
    return rows


def moving_clip(shape: tuple[int, int], count: int) -> list[np.ndarray]:
    """Textured frames with a bright disc moving left to right (a salient object)."""
    h, w = shape
    rng = np.random.default_rng(3)
    base = cv2.resize(
        rng.normal(110, 25, (h // 16, w // 16, 3)).clip(0, 255).astype(np.uint8), (w, h)
    )
    frames = []
    for i in range(count):
        img = base.copy()
        x = int(w * (0.15 + 0.7 * i / max(1, count - 1)))
        cv2.circle(img, (x, int(h * 0.45)), max(6, min(h, w) // 10), (30, 50, 240), -1)
        frames.append(img)
    return frames


def bench_aspect(qualities, models: Path, backend: str, precision: str, rounds: int) -> list[dict]:
    rows = []
    for quality in qualities:
        matched = open_session(quality, precision, "cpu", models, backend=backend)
        boxed = open_session(quality, precision, "cpu", models, backend=backend, aspect="letterbox")
        for name, shape in (("16:9", (360, 640)), ("9:16", (640, 360))):
            frames = moving_clip(shape, 8)
            speeds = {"match": [], "letterbox": []}
            for session in (matched, boxed):  # first run at a new shape plans memory
                session.predict(frames[0])
            for _ in range(rounds):
                for mode, session in (("match", matched), ("letterbox", boxed)):
                    start = time.perf_counter()
                    for f in frames:
                        session.predict(f)
                    speeds[mode].append(len(frames) / (time.perf_counter() - start))
            ccs = [
                cc(matched.predict(f).astype(float), boxed.predict(f).astype(float)) for f in frames
            ]
            fm, fl = float(np.median(speeds["match"])), float(np.median(speeds["letterbox"]))
            rows.append(
                {
                    "quality": quality,
                    "clip": f"{name} {shape[1]}x{shape[0]}",
                    "backend": backend,
                    "precision": precision,
                    "input_match": "x".join(map(str, matched.letterbox_for(shape).target)),
                    "input_letterbox": "x".join(map(str, boxed.letterbox_for(shape).target)),
                    "fps_match": round(fm, 2),
                    "fps_letterbox": round(fl, 2),
                    "gain": round(fm / fl, 3),
                    "cc_match_vs_letterbox": round(float(np.mean(ccs)), 4),
                    "cc_min": round(float(np.min(ccs)), 4),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def bench_batch(quality: str, models: Path, backends, rounds: int, frames: int) -> list[dict]:
    from saliency_cam.realtime.apps.video import VideoOutputs, run_video_job

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        import av

        with av.open(str(clip), "w") as container:
            stream = container.add_stream("libx264", rate=25)
            stream.height, stream.width = 360, 640
            stream.pix_fmt = "yuv420p"
            for img in moving_clip((360, 640), frames):
                for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        for backend, precision in backends:
            session = open_session(
                quality, precision, "cpu", models, backend=backend, mode="throughput"
            )
            speeds: dict = {b: [] for b in (1, 4, 8)}
            for r in range(rounds):
                for batch in (1, 4, 8):
                    out = Path(tmp) / f"out_{backend}_{batch}_{r}.mp4"
                    result = run_video_job(session, clip, VideoOutputs.for_main(out), batch=batch)
                    speeds[batch].append(result.fps)
            for batch, values in speeds.items():
                rows.append(
                    {
                        "quality": quality,
                        "backend": backend,
                        "precision": precision,
                        "clip": f"640x360, {frames} frames, overlay H.264 out",
                        "batch": batch,
                        "fps": round(float(np.median(values)), 2),
                        "vs_batch1": round(
                            float(np.median(values)) / float(np.median(speeds[1])), 3
                        ),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    return rows


def combined_contenders(quality: str, models: Path) -> dict[str, object]:
    """The sessions of the combined part, by name (see the module docstring)."""

    def opened(backend: str, aspect: str, mode: str = "latency") -> object:
        return open_session(
            quality, "int8", "cpu", models, backend=backend, aspect=aspect, mode=mode
        )

    return {
        "onnxruntime int8 letterbox": opened("onnxruntime", "letterbox"),
        "onnxruntime int8 aspect-matched": opened("onnxruntime", "match"),
        "openvino int8 aspect-matched, latency": opened("openvino", "match"),
        "openvino int8 aspect-matched, throughput x4": opened("openvino", "match", "throughput"),
    }


#: The AVX2 goal of issue 13 for very_high, all levers together.
AVX2_VERY_HIGH_GOAL_FPS = 5.0
THROUGHPUT_BATCH = 4


def bench_combined(quality: str, models: Path, rounds: int, seconds: float) -> dict:
    """Aspect matching, OpenVINO int8 and its latency/throughput plans together on a
    16:9 clip, interleaved rounds; the best is the combined figure."""
    shape = (360, 640)
    frames = moving_clip(shape, 8)
    references = combined_references(quality, models, frames)
    sessions = combined_contenders(quality, models)
    runs = {name: combined_runner(name, session, frames) for name, session in sessions.items()}
    for run in runs.values():  # the first run at a new shape compiles / plans memory
        run()
    speeds = interleaved_speeds(runs, rounds, seconds, len(frames))
    rows = []
    for name, session in sessions.items():
        maps = combined_maps(name, session, frames)
        rows.append(combined_row(quality, shape, name, session, maps, speeds[name], references))
        print(json.dumps(rows[-1]), flush=True)
    base = rows[0]["fps"]
    for row in rows:
        row["vs_onnxruntime_int8_letterbox"] = round(row["fps"] / base, 3) if base else None
    figure = combined_figure(quality, rows)
    return {"rows": rows, "figure": figure}


def combined_references(quality: str, models: Path, frames: list[np.ndarray]) -> dict:
    """The maps to compare with, by aspect: the old way (fp32 letterboxed) and fp32 at
    the same aspect-matched input (so the backend's and precision's own error shows
    apart from the aspect's)."""
    references = {}
    for aspect in ("letterbox", "match"):
        reference = open_session(quality, "fp32", "cpu", models, aspect=aspect)
        references[aspect] = [reference.predict(f).astype(float) for f in frames]
        del reference
    return references


def combined_runner(name: str, session, frames: list[np.ndarray]):
    """One pass over the clip as the setup runs it: ``THROUGHPUT_BATCH`` frames in
    flight for the throughput plan, else one frame at a time."""
    if "throughput" in name:
        groups = [frames[i : i + THROUGHPUT_BATCH] for i in range(0, len(frames), THROUGHPUT_BATCH)]
        return lambda: [session.predict_batch(g) for g in groups]
    return lambda: [session.predict(f) for f in frames]


def combined_maps(name: str, session, frames: list[np.ndarray]) -> list[np.ndarray]:
    """The clip's maps, one per frame, made the way :func:`combined_runner` makes them."""
    if "throughput" in name:
        return [
            m
            for i in range(0, len(frames), THROUGHPUT_BATCH)
            for m in session.predict_batch(frames[i : i + THROUGHPUT_BATCH])
        ]
    return [session.predict(f) for f in frames]


def interleaved_speeds(runs: dict, rounds: int, seconds: float, frames: int) -> dict:
    """Frames/s of every run per round, the runs taking turns within each round (the
    machine's load drifts: interleaving spreads it over all of them)."""
    speeds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            count, start = 0, time.perf_counter()
            while count < 1 or time.perf_counter() - start < seconds:
                run()
                count += 1
            speeds[name].append(count * frames / (time.perf_counter() - start))
    return speeds


def combined_row(
    quality: str,
    shape: tuple[int, int],
    name: str,
    session,
    maps: list[np.ndarray],
    speeds: list[float],
    references: dict,
) -> dict:
    """One setup's row: its input size, median frames/s and mean CC against the old
    output and against fp32 at its own input."""
    expected = references["letterbox"]
    ccs = [cc(m.astype(float), e) for m, e in zip(maps, expected, strict=True)]
    same = references["letterbox" if "letterbox" in name else "match"]
    ccs_same = [cc(m.astype(float), e) for m, e in zip(maps, same, strict=True)]
    return {
        "quality": quality,
        "clip": f"16:9 {shape[1]}x{shape[0]}, {len(maps)} frames",
        "setup": name,
        "backend": session.backend,
        "provider": session.providers[0],
        "input": "x".join(map(str, session.letterbox_for(shape).target)),
        "fps": round(float(np.median(speeds)), 2),
        "cc_vs_onnxruntime_fp32_letterbox": round(float(np.mean(ccs)), 4),
        "cc_vs_onnxruntime_fp32_same_input": round(float(np.mean(ccs_same)), 4),
    }


def combined_figure(quality: str, rows: list[dict]) -> dict:
    """The best of the new setups (not the two onnxruntime rows) against the goal,
    printed as one line."""
    base = rows[0]["fps"]
    best = max(rows[2:], key=lambda r: r["fps"])
    figure = {
        "quality": quality,
        "setup": best["setup"],
        "fps": best["fps"],
        "vs_onnxruntime_int8_letterbox": best["vs_onnxruntime_int8_letterbox"],
        "cc_vs_onnxruntime_fp32_letterbox": best["cc_vs_onnxruntime_fp32_letterbox"],
        "cc_vs_onnxruntime_fp32_same_input": best["cc_vs_onnxruntime_fp32_same_input"],
        "goal": f"very_high >= {AVX2_VERY_HIGH_GOAL_FPS} FPS on the AVX2 kind (issue 13)",
        "met": quality == "very_high" and best["fps"] >= AVX2_VERY_HIGH_GOAL_FPS,
    }
    print(
        f"combined ({quality}, 16:9, {best['setup']}): {best['fps']:.2f} FPS, "
        f"{best['vs_onnxruntime_int8_letterbox']}x onnxruntime int8 letterboxed "
        f"({base:.2f} FPS), CC {best['cc_vs_onnxruntime_fp32_letterbox']} vs onnxruntime "
        f"fp32 letterboxed, {best['cc_vs_onnxruntime_fp32_same_input']} vs fp32 at the same "
        f"input; goal very_high >= {AVX2_VERY_HIGH_GOAL_FPS} FPS on AVX2: "
        + ("met" if figure["met"] else "not met" if quality == "very_high" else "n/a"),
        flush=True,
    )
    return figure


def export_precisions() -> tuple[str, ...]:
    """What ``--export`` makes: fp32 and int8, and bf16 where the CPU computes it
    natively (OpenVINO lists BF16: AVX512_BF16 or AMX) so the bf16 rows get measured."""
    return ("fp32", "int8", "bf16") if has_bf16() else ("fp32", "int8")


def export_missing(qualities: list[str], models: Path) -> None:
    """Random-weight (UNTRAINED) variants (:func:`export_precisions`) for ``qualities``
    into ``models``; what is already exported and up to date is skipped."""
    from saliency_cam.realtime.bench.timing import export_random_models

    export_random_models(qualities, models, precisions=export_precisions())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--qualities", default="very_low,medium,very_high")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--parts", default="backends,aspect,batch,combined")
    parser.add_argument("--combined-quality", default="very_high")
    parser.add_argument(
        "--export",
        action="store_true",
        help="export missing random-weight fp32/int8 (and bf16 where the CPU has it) first",
    )
    args = parser.parse_args()
    qualities = args.qualities.split(",")
    parts = args.parts.split(",")
    if args.export:
        wanted = qualities + ([args.combined_quality] if "combined" in parts else [])
        export_missing(list(dict.fromkeys(wanted)), args.models_dir)
    import onnxruntime

    result = {
        "benchmark": "backends_cpu",
        "command": "python " + " ".join(sys.argv),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu_kind": cpu_kind(),
        "cpu": platform.processor() or platform.machine(),
        "logical_cores": __import__("os").cpu_count(),
        "load_average_start": list(__import__("os").getloadavg()),
        "onnxruntime": onnxruntime.__version__,
        "openvino": openvino_version(),
        "bf16": has_bf16(),
        "note": "UNTRAINED random weights: speed only; shared 2-core machine; "
        "compare ratios within this run only",
    }
    if "backends" in parts:
        result["backends"] = bench_backends(qualities, args.models_dir, args.rounds, args.seconds)
    if "aspect" in parts:
        result["aspect"] = bench_aspect(
            qualities, args.models_dir, "onnxruntime", "fp32", args.rounds
        )
    if "batch" in parts:
        result["batch"] = bench_batch(
            qualities[0], args.models_dir, [("onnxruntime", "fp32"), ("openvino", "fp32")], 2, 24
        )
    if "combined" in parts:
        result["combined"] = bench_combined(
            args.combined_quality, args.models_dir, args.rounds, args.seconds
        )
    result["load_average_end"] = list(__import__("os").getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
