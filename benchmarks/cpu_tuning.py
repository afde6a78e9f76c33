"""CPU tuning study: which onnxruntime settings make MSI-Net fastest on this machine,
alone and inside the full video pipeline.

Everything is timed in interleaved rounds (so drift on a shared machine hits every
setting alike) on random-weight (UNTRAINED) variants:

- inference at each quality given: the session as the runtime opens it (default), one
  intra-op thread, thread spinning off, graph optimisation EXTENDED instead of ALL, IO
  binding into a preallocated output, and int8 in QDQ vs QOperator format;
- the video job (decode → infer → blend → encode, 640×480 clip) with the default
  session, spinning off, and one intra-op thread: on a 2-core machine the decoder and
  encoder threads compete with onnxruntime's.

    python benchmarks/cpu_tuning.py --quality very_low --quality medium \\
        --json benchmarks/results/cpu_tuning.json

Uses the benchmark's random-weight models folder (exports what is missing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.models.manifest import Manifest, VariantInfo
from saliency_cam.models.registry import resolve_quality
from saliency_cam.realtime.bench.hardware import fingerprint
from saliency_cam.realtime.bench.pipeline import PipelineCase, make_clip
from saliency_cam.realtime.bench.runner import bench_models_dir
from saliency_cam.realtime.bench.timing import Case, measure_interleaved
from saliency_cam.realtime.runtime.session import SaliencySession


def ort_session(variant: VariantInfo, *, threads: int | None, spin: bool, level: str):
    """A SaliencySession whose onnxruntime session uses the given settings."""
    import onnxruntime as ort

    session = SaliencySession(variant, "cpu", warmup=0)
    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    if threads:
        options.intra_op_num_threads = threads
    session._session = ort.InferenceSession(  # noqa: SLF001 - a study of session settings
        str(variant.path), options, providers=["CPUExecutionProvider"]
    )
    return session


def io_binding_runner(variant: VariantInfo, frame: np.ndarray) -> Callable[[], object]:
    """run_with_iobinding into one preallocated output buffer."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(variant.path), providers=["CPUExecutionProvider"])
    inp, out = session.get_inputs()[0].name, session.get_outputs()[0].name
    batch = np.ascontiguousarray(frame[None])
    result = np.empty((1, variant.height, variant.width, 1), np.float32)
    binding = session.io_binding()
    binding.bind_cpu_input(inp, batch)
    binding.bind_output(out, "cpu", 0, np.float32, result.shape, result.ctypes.data)

    def run(keep: tuple[np.ndarray, ...] = (batch, result)) -> None:
        # ``keep`` holds the bound buffers alive: onnxruntime only has their addresses
        session.run_with_iobinding(binding)

    return run


def qoperator_variant(fp32: VariantInfo, workdir: Path) -> VariantInfo:
    """The int8 variant in QOperator format, made in a scratch copy of the folder."""
    from saliency_cam.export.quantize import quantize_variant

    scratch = workdir / "qoperator"
    scratch.mkdir(exist_ok=True)
    shutil.copy(fp32.path, scratch / fp32.file)
    manifest = Manifest(scratch)
    manifest.put(VariantInfo(**{**fp32.to_json(), "directory": scratch}))
    manifest.save()
    return quantize_variant(Manifest.load(scratch).find(fp32.preset), "int8", scratch,
                            quant_format="qoperator")  # fmt: skip


def study(quality: str, models: Path, workdir: Path, round_seconds: float) -> dict[str, Any]:
    from saliency_cam.export.calibration import held_out_frames

    preset = resolve_quality(quality)
    manifest = Manifest.load(models)
    fp32, int8 = manifest.find(preset.name, "fp32"), manifest.find(preset.name, "int8")
    frame = held_out_frames(preset.size, 1)[0]
    settings = {
        "default": SaliencySession(fp32, "cpu", warmup=0),
        "threads=1": ort_session(fp32, threads=1, spin=True, level="ORT_ENABLE_ALL"),
        "spinning off": ort_session(fp32, threads=None, spin=False, level="ORT_ENABLE_ALL"),
        "graph EXTENDED": ort_session(fp32, threads=None, spin=True, level="ORT_ENABLE_EXTENDED"),
        "int8 QDQ": SaliencySession(int8, "cpu", warmup=0),
        "int8 QOperator": SaliencySession(qoperator_variant(fp32, workdir), "cpu", warmup=0),
    }
    cases: dict[str, Callable[[], object] | Case] = {
        name: (lambda s=s: s.infer(frame)) for name, s in settings.items()
    }
    cases["io binding, preallocated"] = io_binding_runner(fp32, frame)
    print(f"{preset.name}: inference settings", file=sys.stderr, flush=True)
    inference = measure_interleaved(cases, rounds=3, round_seconds=round_seconds)

    frames = int(min(300, max(24, 3 * round_seconds * inference["default"].fps)))
    clip = make_clip(workdir / f"clip_{preset.name}.mp4", frames)
    pipes = {
        "default": settings["default"],
        "spinning off": settings["spinning off"],
        "threads=1": settings["threads=1"],
        "int8 QDQ": settings["int8 QDQ"],
        "int8 QDQ, spinning off": ort_session(int8, threads=None, spin=False,
                                              level="ORT_ENABLE_ALL"),
    }  # fmt: skip
    pipe_cases: dict[str, Callable[[], object] | Case] = {
        name: Case(PipelineCase(s, clip, frames, workdir / "out.mp4").run, frames, True)
        for name, s in pipes.items()
    }
    print(f"{preset.name}: video pipeline settings", file=sys.stderr, flush=True)
    pipeline = measure_interleaved(pipe_cases, rounds=3)
    return {
        "quality": preset.name,
        "inference": {k: v.to_json() for k, v in inference.items()},
        "pipeline": {k: v.to_json() for k, v in pipeline.items()},
        "pipeline_clip_frames": frames,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quality", action="append", help="repeatable [very_low, medium]")
    parser.add_argument("--round-seconds", type=float, default=1.0)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    qualities = args.quality or ["very_low", "medium"]

    from saliency_cam.export.variants import export_presets

    models = bench_models_dir()
    export_presets(qualities, "random", models_dir=models, precisions=["fp32", "int8"])
    load_before = list(os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="saliency-cam-tuning-") as work:
        studies = [study(q, models, Path(work), args.round_seconds) for q in qualities]
    result = {
        "study": "cpu_tuning",
        "note": "UNTRAINED random weights: speed only",
        "fingerprint": {**fingerprint(["CPUExecutionProvider"]), "load_average": load_before},
        "load_average_after": list(os.getloadavg()),
        "studies": studies,
    }
    for entry in studies:
        for mode in ("inference", "pipeline"):
            for name, timing in entry[mode].items():
                print(f"{entry['quality']:>9} {mode:>9} {name:<26} {timing['fps']:8.1f} FPS "
                      f"(median {timing['median_ms']:.1f} ms)")  # fmt: skip
    if args.json:
        from saliency_cam.models.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(result, indent=2) + "\n")
        print(f"written to {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
