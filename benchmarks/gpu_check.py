"""GPU check for one call on a lent GPU machine (docs/design.md §6), run by gpu.sh.

``prepare`` (here, with TensorFlow): the dynamic very_low fp32 export and its fp16
variant, with their weights stripped (graph only, a few KB: one call carries at most
64 MiB). The graph is the same for every preset (dynamic height/width), so one file per
precision covers all five qualities.

``run`` (on the GPU machine): refill the weights with seeded random values (UNTRAINED:
speed only), then with the project's own provider chooser, GPU preparation (driver
check, CUDA/cuDNN preloading) and onnxruntime engine (IO binding on CUDA) measure
frames/s for every quality × provider (CUDA, TensorRT when present) × precision ×
batch, CUDA graphs vs plain IO binding at batch 1, plus 720p/1080p frames end to end
when OpenCV is there; write one JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

QUALITIES = {
    "very_low": (48, 64),
    "low": (72, 96),
    "medium": (120, 160),
    "high": (168, 224),
    "very_high": (240, 320),
}
BATCHES = (1, 4, 8)
if os.environ.get("GPU_CHECK_QUICK"):  # a dry run: the two smallest qualities
    QUALITIES = dict(list(QUALITIES.items())[:2])
#: Initializers up to this many elements are kept (shape constants, the RGB mean).
KEEP_ELEMENTS = 16


def prepare(models_dir: Path, out: Path) -> None:
    """Write graph-only fp32/fp16 copies of ``models_dir``'s very_low export to ``out``."""
    import onnx

    from saliency_cam.export.quantize import _to_fp16

    out.mkdir(parents=True, exist_ok=True)
    source = models_dir / "msinet_very_low_fp32.onnx"
    models = {"fp32": onnx.load(str(source)), "fp16": onnx.load_from_string(_to_fp16(source))}
    for precision, model in models.items():
        for init in model.graph.initializer:
            if int(np.prod(init.dims)) > KEEP_ELEMENTS:
                init.ClearField("raw_data")
                del init.float_data[:]
                del init.int32_data[:]  # fp16 values live here without raw_data
                init.doc_string = "stripped"
        onnx.save(model, str(out / f"graph_{precision}.onnx"))


def fill(path: Path, target: Path, seed: int = 0) -> None:
    """Seeded He-scaled random weights into a stripped graph (UNTRAINED: speed only)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    rng = np.random.default_rng(seed)
    dtypes = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.FLOAT16: np.float16}
    for index, init in enumerate(model.graph.initializer):
        if init.doc_string != "stripped":
            continue
        dims = list(init.dims)
        fan_in = int(np.prod(dims[1:])) if len(dims) > 1 else 1
        values = rng.normal(0, np.sqrt(2.0 / max(fan_in, 1)), dims)
        if len(dims) == 1:
            values = np.full(dims, 0.01)
        new = numpy_helper.from_array(values.astype(dtypes[init.data_type]), init.name)
        model.graph.initializer[index].CopyFrom(new)
    onnx.save(model, str(target))


def timed_fps(run, frames_per_call: int, seconds: float = 1.0) -> float:
    run()
    run()
    count, started = 0, time.perf_counter()
    while count < 3 or time.perf_counter() - started < seconds:
        run()
        count += 1
    return count * frames_per_call / (time.perf_counter() - started)


def run(models: Path, out: Path) -> dict:
    """Refill the stripped graphs in ``models`` (working files in ``out``) and measure
    them on every device; a failure is recorded in ``errors`` and the run goes on."""
    from saliency_cam.realtime.runtime.providers import choose_providers, prepare_gpu

    result = environment()
    auto = choose_providers("auto")
    result["auto_choice"] = {"providers": auto.providers, "note": auto.note}
    result["prepare_gpu"] = prepare_gpu(auto) or "ok"
    filled = {}
    for precision in ("fp32", "fp16"):
        filled[precision] = out / f"filled_{precision}.onnx"
        fill(models / f"graph_{precision}.onnx", filled[precision])
    devices = gpu_devices()
    rng = np.random.default_rng(1)
    #: (quality, batch) -> frames and maps of the first device's fp32, to compare with
    reference: dict = {}
    for device in devices:
        measure_device(device, device == devices[0], filled, out, rng, reference, result)
    if "cuda" in devices:
        result["cuda_graphs"] = cuda_graph_rows(filled, result["rows"], out)
    result["end_to_end"] = end_to_end(filled["fp16"], devices[0])
    return result


def environment() -> dict:
    """The result's header: the GPU, the software stack and empty rows/errors."""
    import onnxruntime as ort

    from saliency_cam.models.machine import gpu_name
    from saliency_cam.realtime.runtime.providers import (
        cuda_driver_version,
        onnxruntime_cuda_major,
    )

    return {
        "what": "GPU check: UNTRAINED seeded random weights, speed only",
        "gpu": gpu_name(),
        "python": sys.version.split()[0],
        "machine": platform.platform(),
        "onnxruntime": ort.__version__,
        "onnxruntime_cuda_major": onnxruntime_cuda_major(),
        "cuda_driver_version": cuda_driver_version(),
        "available_providers": ort.get_available_providers(),
        "rows": [],
        "errors": [],
    }


def gpu_devices() -> list[str]:
    """CUDA, TensorRT where onnxruntime has it, or ``GPU_CHECK_DEVICES`` (a dry run on
    CPU: ``GPU_CHECK_DEVICES=cpu``)."""
    import onnxruntime as ort

    devices = ["cuda"] + (
        ["tensorrt"] if "TensorrtExecutionProvider" in ort.get_available_providers() else []
    )
    if os.environ.get("GPU_CHECK_DEVICES"):
        devices = os.environ["GPU_CHECK_DEVICES"].split(",")
    return devices


def measure_device(
    device: str,
    first: bool,
    filled: dict[str, Path],
    out: Path,
    rng: np.random.Generator,
    reference: dict,
    result: dict,
) -> None:
    """Rows for every precision, quality and batch on ``device`` into ``result``; the
    ``first`` device's fp32 maps become the reference the others are compared with."""
    from saliency_cam.realtime.runtime.backends.base import EngineOptions
    from saliency_cam.realtime.runtime.backends.onnxruntime import OnnxRuntimeEngine
    from saliency_cam.realtime.runtime.providers import choose_providers

    try:
        choice = choose_providers(device)
    except Exception as exc:  # noqa: BLE001 - record and go on
        result["errors"].append(f"{device}: {str(exc)[:300]}")
        return
    for precision in ("fp32", "fp16"):
        try:
            started = time.perf_counter()
            engine = OnnxRuntimeEngine(
                filled[precision],
                choice,
                # the table is plain IO binding; graphs are measured per shape below
                EngineOptions(precision=precision, cuda_graphs=False),
                model_sha=f"gpucheck{precision}",
                cache_root=out / "trt_cache",
            )
            load_s = time.perf_counter() - started
        except Exception as exc:  # noqa: BLE001 - record and go on
            result["errors"].append(f"{device} {precision}: {str(exc)[:300]}")
            continue
        for quality, (h, w) in QUALITIES.items():
            for batch in BATCHES:
                frames = rng.integers(0, 255, (batch, h, w, 3), dtype=np.uint8)
                try:
                    maps = engine.run(frames)
                    fps = timed_fps(lambda f=frames, e=engine: e.run(f), batch, 0.6)
                except Exception as exc:  # noqa: BLE001
                    result["errors"].append(f"{device} {precision} {quality} b{batch}: {exc}"[:300])
                    continue
                row = {
                    "device": device,
                    "provider": engine.providers[0],
                    "precision": precision,
                    "quality": quality,
                    "input": f"{h}x{w}",
                    "batch": batch,
                    "fps": round(fps, 1),
                    "load_s": round(load_s, 2),
                }
                key = (quality, batch)
                if precision == "fp32" and first:
                    reference[key] = (frames, maps)
                elif key in reference:
                    row["cc_vs_cuda_fp32"] = cc_vs_reference(engine, *reference[key])
                result["rows"].append(row)
                print(json.dumps(row), flush=True)


def cc_vs_reference(engine, frames: np.ndarray, maps: np.ndarray) -> float:
    """CC of ``engine``'s maps of ``frames`` with the reference ``maps``."""
    cand = engine.run(frames)
    a, b = maps.ravel().astype(np.float64), cand.ravel().astype(np.float64)
    return round(float(np.corrcoef(a, b)[0, 1]), 5)


def cuda_graph_rows(filled: dict, plain_rows: list, out: Path) -> list:
    """Batch 1 on CUDA with CUDA graphs (a fresh engine per quality, so each shape is
    captured) next to the plain IO-binding row of the same quality and precision."""
    from saliency_cam.realtime.runtime.backends.base import EngineOptions
    from saliency_cam.realtime.runtime.backends.onnxruntime import OnnxRuntimeEngine
    from saliency_cam.realtime.runtime.providers import choose_providers

    plain = {
        (r["precision"], r["quality"]): r["fps"]
        for r in plain_rows
        if r["device"] == "cuda" and r["batch"] == 1
    }
    rows = []
    rng = np.random.default_rng(3)
    for precision, model in filled.items():
        for quality, (h, w) in QUALITIES.items():
            frames = rng.integers(0, 255, (1, h, w, 3), dtype=np.uint8)
            row: dict = {"precision": precision, "quality": quality, "input": f"{h}x{w}"}
            engine = None
            try:
                engine = OnnxRuntimeEngine(
                    model,
                    choose_providers("cuda"),
                    EngineOptions(precision=precision),
                    model_sha=f"gpucheck{precision}",
                    cache_root=out / "runtime_cache",
                )
                reference = engine.run(frames)  # plain runs; the second starts the build
                engine.run(frames)
                if engine.graphs is not None:
                    engine.graphs.wait(600)  # built in the background; next run captures
                fps = timed_fps(lambda f=frames, e=engine: e.run(f), 1, 0.6)
                graph_map = engine.run(frames)
                row["fps_graph"] = round(fps, 1)
                row["max_abs_diff_vs_plain"] = float(np.abs(graph_map - reference).max())
            except Exception as exc:  # noqa: BLE001 - record and go on
                row["error"] = str(exc)[:300]
            row["engine_note"] = engine.note if engine is not None else ""
            if (precision, quality) in plain and "fps_graph" in row:
                row["fps_plain"] = plain[(precision, quality)]
                row["graph_vs_plain"] = round(row["fps_graph"] / row["fps_plain"], 3)
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def end_to_end(model: Path, device: str) -> list:
    """720p/1080p frames through the session's letterbox/aspect path (needs OpenCV)."""
    try:
        import cv2  # noqa: F401
    except ImportError:
        return ["skipped: no OpenCV on this machine"]
    from saliency_cam.realtime.runtime.aspect import aspect_size
    from saliency_cam.realtime.runtime.backends.base import EngineOptions
    from saliency_cam.realtime.runtime.backends.onnxruntime import OnnxRuntimeEngine
    from saliency_cam.realtime.runtime.letterbox import Letterbox
    from saliency_cam.realtime.runtime.providers import choose_providers

    engine = OnnxRuntimeEngine(model, choose_providers(device), EngineOptions(precision="fp16"))
    rows = []
    rng = np.random.default_rng(2)
    for name, (fh, fw) in {"720p": (720, 1280), "1080p": (1080, 1920)}.items():
        frame = rng.integers(0, 255, (fh, fw, 3), dtype=np.uint8)
        # GPU_CHECK_QUICK keeps only the smallest qualities: use what there is
        for quality in [q for q in ("medium", "very_high") if q in QUALITIES] or [*QUALITIES][-1:]:
            for mode in ("letterbox", "match"):
                box = Letterbox.fit((fh, fw), aspect_size((fh, fw), QUALITIES[quality], mode))

                def step(box=box, frame=frame):
                    small = engine.run(box.apply(frame)[None])[0, :, :, 0]
                    return box.undo(small)

                fps = timed_fps(step, 1, 0.6)
                rows.append(
                    {
                        "video": name,
                        "quality": quality,
                        "aspect": mode,
                        "input": f"{box.target[0]}x{box.target[1]}",
                        "fps": round(fps, 1),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("models_dir", type=Path)
    p.add_argument("out", type=Path)
    r = sub.add_parser("run")
    r.add_argument("models", type=Path)
    r.add_argument("out", type=Path)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.models_dir, args.out)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    result = run(args.models, args.out)
    (args.out / "gpu_check.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
