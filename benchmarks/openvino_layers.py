"""Where OpenVINO int8 spends a very_high frame on this CPU, and how far the kernels are
from the machine's own int8 convolution rate (issue 13's AVX2 goal, very_high >= 5 FPS).

For one model (default: very_high int8) at the aspect-matched input of each ``--frame``
(default 16:9: 184x320, the fastest setup ``backends_cpu.py``'s ``combined`` part found):

- per layer, from OpenVINO's performance counters (median over ``--frames`` runs):
  milliseconds, kernel (``exec_type``), multiply-accumulates and GMAC/s;
- the MACs spent on zero padding (taps of a dilated conv that fall outside the
  feature map), counted exactly from each conv's pads, strides and dilations;
- the best int8 rate one convolution reaches alone on this CPU: a single QDQ 3x3 conv
  (shapes in ``PEAK_SHAPES``) compiled the same way;
- two ceilings in frames/s: every conv at that best rate, and in addition no MAC spent
  on padding. If the second ceiling is below a goal, no backend setting, thread plan or
  padding trick reaches it on this CPU without changing the network.

Models: random (UNTRAINED) exports, speed only.

    python benchmarks/openvino_layers.py --models-dir DIR --export \
        --frame 720x1280 --frame 1280x720 --frame 480x640 \
        --out benchmarks/results/openvino_layers_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.models.registry import resolve_quality
from saliency_cam.realtime.bench.hardware import cpu_features
from saliency_cam.realtime.runtime.aspect import aspect_size
from saliency_cam.realtime.runtime.backends.openvino import core, openvino_version

#: (C_in, C_out, H, W) of the lone 3x3 convs that measure the CPU's int8 conv rate.
PEAK_SHAPES: tuple[tuple[int, int, int, int], ...] = (
    (512, 512, 32, 40),
    (256, 256, 64, 80),
)


def axis_valid_taps(size: int, out: int, kernel: int, stride: int, dilation: int, pad: int) -> int:
    """How many (output position, kernel tap) pairs along one axis read inside the map."""
    return sum(
        1 for o in range(out) for k in range(kernel) if 0 <= o * stride - pad + k * dilation < size
    )


def conv_macs(op: Any) -> tuple[int, int]:
    """(all MACs, MACs whose input tap is inside the feature map) of an OpenVINO
    ``Convolution`` op with static shapes."""
    n, c_in, h, w = (int(d) for d in op.get_input_shape(0))
    _, _, kh, kw = (int(d) for d in op.get_input_shape(1))
    _, c_out, oh, ow = (int(d) for d in op.get_output_shape(0))
    attrs = op.get_attributes()
    (sy, sx), (dy, dx), (py, px) = attrs["strides"], attrs["dilations"], attrs["pads_begin"]
    total = n * c_out * c_in * oh * ow * kh * kw
    valid = (
        n
        * c_out
        * c_in
        * axis_valid_taps(h, oh, kh, sy, dy, py)
        * axis_valid_taps(w, ow, kw, sx, dx, px)
    )
    return total, valid


def profile_model(path: Path, shape: list[int], frames: int) -> tuple[float, list[dict]]:
    """Median frame time (s) and per-layer rows of ``path`` compiled at ``shape``."""
    ov_core = core()
    model = ov_core.read_model(str(path))
    model.reshape({model.inputs[0].get_any_name(): shape})
    macs = {
        op.get_friendly_name(): conv_macs(op)
        for op in model.get_ordered_ops()
        if op.get_type_name() == "Convolution"
    }
    compiled = ov_core.compile_model(
        model, "CPU", {"PERF_COUNT": "YES", "PERFORMANCE_HINT": "LATENCY"}
    )
    request = compiled.create_infer_request()
    frame = np.random.default_rng(0).uniform(0, 255, shape).astype(np.float32)
    for _ in range(2):
        request.infer({0: frame})
    times: list[float] = []
    per_node: dict[str, list[float]] = {}
    kinds: dict[str, tuple[str, str]] = {}
    for _ in range(frames):
        start = time.perf_counter()
        request.infer({0: frame})
        times.append(time.perf_counter() - start)
        for info in request.profiling_info:
            per_node.setdefault(info.node_name, []).append(info.real_time.total_seconds())
            kinds[info.node_name] = (info.node_type, info.exec_type)
    rows = []
    for name, seconds in per_node.items():
        median = statistics.median(seconds)
        if median <= 0:
            continue
        node_type, exec_type = kinds[name]
        row: dict[str, Any] = {
            "layer": name,
            "type": node_type,
            "kernel": exec_type,
            "ms": round(median * 1e3, 3),
        }
        if name in macs:
            total, valid = macs[name]
            row |= {
                "gmac": round(total / 1e9, 4),
                "gmac_on_padding": round((total - valid) / 1e9, 4),
                "gmac_per_s": round(total / median / 1e9, 1),
            }
        rows.append(row)
    rows.sort(key=lambda r: -r["ms"])
    return statistics.median(times), rows


def qdq_conv_model(c_in: int, c_out: int, h: int, w: int) -> bytes:
    """A one-conv int8 QDQ ONNX model (the pattern the project's int8 exports use)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = rng.integers(-127, 128, (c_out, c_in, 3, 3), dtype=np.int8)

    def scalar(name: str, value: float | int, dtype: Any) -> Any:
        return numpy_helper.from_array(np.array(value, dtype=dtype), name)

    inits = [
        numpy_helper.from_array(weight, "w_q"),
        scalar("x_scale", 0.02, np.float32),
        scalar("x_zero", 0, np.uint8),
        scalar("w_scale", 0.001, np.float32),
        scalar("w_zero", 0, np.int8),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zero"], ["x_q"]),
        helper.make_node("DequantizeLinear", ["x_q", "x_scale", "x_zero"], ["x_dq"]),
        helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zero"], ["w_dq"]),
        helper.make_node("Conv", ["x_dq", "w_dq"], ["y"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["y"], ["r"]),
        helper.make_node("QuantizeLinear", ["r", "x_scale", "x_zero"], ["r_q"]),
        helper.make_node("DequantizeLinear", ["r_q", "x_scale", "x_zero"], ["out"]),
    ]
    graph = helper.make_graph(
        nodes,
        "int8_conv_peak",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c_in, h, w])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, c_out, h, w])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def lone_conv_rate(c_in: int, c_out: int, h: int, w: int, frames: int) -> dict:
    """GMAC/s of one int8 3x3 conv compiled alone (latency plan, all cores)."""
    ov_core = core()
    model = ov_core.read_model(qdq_conv_model(c_in, c_out, h, w), b"")
    compiled = ov_core.compile_model(
        model, "CPU", {"PERF_COUNT": "YES", "PERFORMANCE_HINT": "LATENCY"}
    )
    request = compiled.create_infer_request()
    x = np.random.default_rng(1).uniform(0, 4, (1, c_in, h, w)).astype(np.float32)
    request.infer({0: x})
    conv_times, kernel = [], ""
    for _ in range(frames):
        request.infer({0: x})
        for info in request.profiling_info:
            if info.node_type == "Convolution":
                conv_times.append(info.real_time.total_seconds())
                kernel = info.exec_type
    seconds = statistics.median(conv_times)
    macs = c_in * c_out * h * w * 9
    return {
        "shape": f"{c_in}->{c_out} 3x3 at {h}x{w}",
        "kernel": kernel,
        "ms": round(seconds * 1e3, 3),
        "gmac_per_s": round(macs / seconds / 1e9, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quality", default="very_high")
    parser.add_argument("--precision", default="int8", choices=["int8", "fp32"])
    parser.add_argument(
        "--frame",
        action="append",
        help="H x W of the source frames (repeatable; default 720x1280, 16:9)",
    )
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--goal-fps", type=float, default=5.0)
    parser.add_argument("--export", action="store_true", help="export the model if missing")
    args = parser.parse_args()

    quality = resolve_quality(args.quality)
    if args.export:
        from saliency_cam.realtime.bench.timing import export_random_models

        export_random_models([quality.name], args.models_dir, precisions=("fp32", args.precision))
    path = args.models_dir / f"msinet_{quality.name}_{args.precision}.onnx"

    load_start = list(os.getloadavg())
    peaks = [lone_conv_rate(*shape, frames=args.frames) for shape in PEAK_SHAPES]
    best_rate = max(p["gmac_per_s"] for p in peaks) * 1e9
    runs = []
    for frame in args.frame or ["720x1280"]:
        frame_h, frame_w = (int(v) for v in frame.lower().split("x"))
        h, w = aspect_size((frame_h, frame_w), quality.size, "match")
        frame_s, layers = profile_model(path, [1, h, w, 3], args.frames)
        summary = {"frame": frame, "input": f"{h}x{w}", "fps": round(1 / frame_s, 2)}
        summary |= ceilings(layers, frame_s, best_rate, args.goal_fps)
        runs.append({"summary": summary, "layers": layers})
        print(" ".join(f"{key}={value}" for key, value in summary.items()), flush=True)
    result = {
        "benchmark": "openvino_layers",
        "command": "python " + " ".join(sys.argv),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu_features": cpu_features(),  # no avx512*/vnni: the AVX2 kind
        "logical_cores": os.cpu_count(),
        "openvino": openvino_version(),
        "model": f"{quality.name} {args.precision} (UNTRAINED random weights: speed only)",
        "load_average_start": load_start,
        "lone_conv": peaks,
        "runs": runs,
        "load_average_end": list(os.getloadavg()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


def ceilings(layers: list[dict], frame_s: float, best_rate: float, goal_fps: float) -> dict:
    """The conv rate the model reached and the two frames/s ceilings (module doc).

    The layer times are scaled to the measured frame time, so a busy machine (whose
    per-layer counters then overlap the frame) cannot make the ceilings look higher."""
    convs = [r for r in layers if "gmac" in r]
    all_ms = sum(r["ms"] for r in layers)
    scale = frame_s * 1e3 / all_ms
    conv_s = sum(r["ms"] for r in convs) * scale / 1e3
    other_s = frame_s - conv_s
    total = sum(r["gmac"] for r in convs) * 1e9
    padding = sum(r["gmac_on_padding"] for r in convs) * 1e9
    no_padding = 1 / ((total - padding) / best_rate + other_s)
    return {
        "layer_time_vs_frame_time": round(all_ms / (frame_s * 1e3), 3),
        "conv_share_of_layer_time": round(conv_s / frame_s, 4),
        "conv_gmac": round(total / 1e9, 3),
        "conv_gmac_on_padding": round(padding / 1e9, 3),
        "model_gmac_per_s": round(total / conv_s / 1e9, 1),
        "lone_conv_best_gmac_per_s": round(best_rate / 1e9, 1),
        "model_vs_lone_conv_rate": round(total / conv_s / best_rate, 3),
        "ceiling_fps_every_conv_at_lone_rate": round(1 / (total / best_rate + other_s), 2),
        "ceiling_fps_and_no_padding": round(no_padding, 2),
        "goal_fps": goal_fps,
        "goal_reachable_without_changing_the_network": no_padding >= goal_fps,
    }


if __name__ == "__main__":
    main()
